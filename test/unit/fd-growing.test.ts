import { describe, expect, it } from "vitest";
import type { CheckContext } from "../../harness/core/checker.js";
import type { History } from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import { decideFdLeak, type FdLeakEvidence } from "../../harness/parts/checkers/fd-leak.js";
import { clientsWhenFull, HOLE_PROBES, HOLE_SPAN_MS } from "../../harness/parts/checkers/fd-table.js";
import type { ConnectResult } from "../../harness/parts/probes/connect.js";
import {
  attemptsOf,
  connectResults,
  contextFor,
  edited,
  fdSamples,
  oomKilled,
  recordedBefore,
  recordedResult,
  timeLimit,
} from "../helpers/runs.js";

/**
 * CONFIG SET appendonly yes every 100 ms under ENOMEM: 3.2.8 leaks 6 pipe fds per failed fork up to
 * the ceiling, but closes the AOF it opened after each attempt, so fresh clients still get in.
 */
const FILE = "config-set-appendonly-3.2.8-vs-fix.json";
const leaky = recordedResult(FILE, "3.2.8").history;
const fixed = recordedResult(FILE, "3.2.8+fix-aof-pipe-leak").history;

function decided(
  history: History,
  context: CheckContext = contextFor(history),
): Decision & { evidence: FdLeakEvidence } {
  const decision = decideFdLeak(history, context);
  if (!decision) throw new Error("expected a decision, got undefined");
  expect(() => Decision.parse(decision)).not.toThrow();
  return decision;
}
const exhaustedMs = decided(leaky).evidence.exhaustedMs ?? 0;

/** The fresh-client results with the i-th one (in time order among those matching `where`) refused. */
function refuseOne(where: (p: ConnectResult) => boolean, i = 0): History {
  const results = connectResults(leaky);
  const target = results.filter(where)[i];
  if (!target) throw new Error("no probe to refuse");
  return edited(leaky, {
    connect: results.map((p) => (p === target ? { t: p.t, ok: false, error: "Connection is closed." } : p)),
  });
}

describe("the recorded data is what these tests assume", () => {
  it("3.2.8 reached the ceiling, every probe connected, at least 3 of them with the table full", () => {
    expect(exhaustedMs).toBeGreaterThan(0);
    expect(fdSamples(leaky).some((s) => s.maxFd >= 192 - 6)).toBe(true);
    expect(connectResults(leaky).every((p) => p.ok)).toBe(true);
    const fullAt = leaky.events.find((e) => e.kind === "pipes-error")?.t ?? Number.POSITIVE_INFINITY;
    expect(connectResults(leaky).filter((p) => p.t >= fullAt).length).toBeGreaterThanOrEqual(3);
    // Attempts are the failed forks (the scenario's default).
    expect(attemptsOf(leaky.events)).toEqual(leaky.attempts);
  });

  it("the fix stayed at its baseline, every probe connected", () => {
    const samples = fdSamples(fixed);
    expect(samples.every((s) => s.total === samples[0]?.total)).toBe(true);
    expect(connectResults(fixed).every((p) => p.ok)).toBe(true);
  });
});

describe("the fd-leak checker replayed on the recorded CONFIG SET appendonly run", () => {
  it("3.2.8: growing (bug), 6 fds per failed fork, the recorded reason", () => {
    const decision = decided(leaky);
    expect(decision).toMatchObject({ outcome: "bug", label: "growing" });
    expect(decision.reason).toMatch(
      /^6 fds leaked per failed fork up to the ceiling 192 after 31 failed forks, but fresh clients still connect \(\d+ probes over \d\.\d s with the table full\)$/,
    );
    expect(decision.reason).toBe(recordedResult(FILE, "3.2.8").decision.reason);
    expect(decision.evidence).toMatchObject({ fdsPerAttempt: 6, refused: null, exhaustedMs });
    expect(decision.evidence.clientsWhenFull?.probes).toBeGreaterThanOrEqual(HOLE_PROBES);
    expect(decision.facts.find((f) => f.name === "fresh client")?.value).toMatch(
      /^connected with the table full/,
    );
  });

  it("3.2.8+fix-aof-pipe-leak: stable (no bug), the recorded reason", () => {
    const decision = decided(fixed);
    expect(decision).toMatchObject({ outcome: "no-bug", label: "stable" });
    expect(decision.evidence.fdsPerAttempt).toBe(0);
    expect(decision.reason).toBe(recordedResult(FILE, "3.2.8+fix-aof-pipe-leak").decision.reason);
  });

  it("the outcomes hold once the run has ended", () => {
    expect(decided(leaky, contextFor(leaky, { ended: timeLimit })).label).toBe("growing");
    expect(decided(fixed, contextFor(fixed, { ended: timeLimit })).label).toBe("stable");
  });
});

describe("the fd-leak checker on cases derived from the CONFIG SET appendonly run", () => {
  it.each([0, 1, 2])("probe %i at the ceiling refused: exhaustion, not growing", (i) => {
    const decision = decided(refuseOne((p) => p.t >= exhaustedMs, i));
    expect(decision.label).toBe("exhaustion");
    expect(decision.evidence.refused?.error).toBe("Connection is closed.");
    expect(decision.reason).toContain("a fresh client was refused");
  });

  it("a refusal before the ceiling is not exhaustion: still growing", () => {
    const first = connectResults(leaky)[0]?.t ?? 0;
    const decision = decided(refuseOne((p) => p.t < exhaustedMs && p.t > first));
    expect(decision.label).toBe("growing");
    expect(decision.evidence.refused).toBeNull();
  });

  it("fewer than 3 probes at the ceiling: undecided while running, inconclusive once ended", () => {
    const results = connectResults(leaky);
    const atCeiling = results.filter((p) => p.t >= exhaustedMs);
    const history = edited(leaky, { connect: results.filter((p) => p !== atCeiling.at(-1)) });
    expect(decideFdLeak(history, contextFor(history))).toBeUndefined();
    const decision = decided(history, contextFor(history, { ended: timeLimit }));
    expect(decision.label).toBe("inconclusive");
    expect(decision.reason).toContain("fds grew by 6 per failed fork");
  });

  it("cut before the ceiling: undecided while running", () => {
    const cut = recordedBefore(leaky, exhaustedMs);
    expect(decideFdLeak(cut, contextFor(cut))).toBeUndefined();
  });

  it("checked against another leak rate: neither growing nor exhaustion", () => {
    expect(
      decideFdLeak(leaky, contextFor(leaky), { checker: "fd-leak", fdsPerAttempt: 2 })?.outcome ??
        "undecided",
    ).not.toBe("bug");
  });

  it("container exited: inconclusive, whatever the fds did", () => {
    expect(decided(leaky, contextFor(leaky, { ended: oomKilled })).reason).toBe(
      "container died: exit code 137 (OOM killed)",
    );
    expect(decided(fixed, contextFor(fixed, { ended: oomKilled })).outcome).toBe("unknown");
  });
});

describe("clientsWhenFull: the one rule for a full table that fresh clients still get into", () => {
  const ok = (t: number): ConnectResult => ({ t, ok: true });
  it("3 probes from the full moment on, over at least a second, all answered", () => {
    expect(clientsWhenFull([ok(900), ok(1000), ok(1500), ok(2000)], 1000)).toEqual({
      probes: 3,
      spanMs: HOLE_SPAN_MS,
    });
    expect(clientsWhenFull([ok(1000), ok(1500), ok(1999)], 1000)).toBeNull();
    expect(clientsWhenFull([ok(1000), ok(2000)], 1000)).toBeNull();
    expect(clientsWhenFull([ok(1000), { t: 1500, ok: false, error: "x" }, ok(2000)], 1000)).toBeNull();
    expect(clientsWhenFull([ok(1000), ok(1500), ok(2000)], undefined)).toBeNull();
    expect(clientsWhenFull([ok(1000), ok(1500), ok(2000)], Number.POSITIVE_INFINITY)).toBeNull();
  });
});
