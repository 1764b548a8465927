import { describe, expect, it } from "vitest";
import { Decision, decideFdLeak, type FdLeakInput } from "../../harness/parts/checkers/fd-leak.js";
import type { ConnectProbe } from "../../harness/parts/probes/connect.js";
import { attemptsOf, checkerInput, recordedBefore, recordedResult } from "../helpers/runs.js";

/**
 * CONFIG SET appendonly yes every 100 ms under ENOMEM: 3.2.8 leaks 6 pipe fds per failed fork up to
 * the ceiling, but closes the AOF it opened after each attempt, so fresh clients still get in.
 */
const FILE = "config-set-appendonly-3.2.8-vs-fix.json";
const leaky = recordedResult(FILE, "3.2.8");
const fixed = recordedResult(FILE, "3.2.8+fix-aof-pipe-leak");
const exhaustedMs = leaky.decision.evidence.exhaustedMs ?? 0;
const timeLimit = { reason: "time-limit", detail: "time limit 60 s" } as const;

function decided(input: FdLeakInput): Decision {
  const decision = decideFdLeak(input);
  if (!decision) throw new Error("expected a decision, got undefined");
  expect(() => Decision.parse(decision)).not.toThrow();
  return decision;
}

/** The probes with the i-th one (in time order among those matching `where`) refused. */
function refuseOne(probes: ConnectProbe[], where: (p: ConnectProbe) => boolean, i = 0): ConnectProbe[] {
  const target = probes.filter(where)[i];
  if (!target) throw new Error("no probe to refuse");
  return probes.map((p) => (p === target ? { t: p.t, ok: false, error: "Connection is closed." } : p));
}

describe("the recorded data is what these tests assume", () => {
  it("3.2.8 reached the ceiling, every probe connected, at least 3 of them with the table full", () => {
    expect(leaky.decision.evidence.ceiling).toBe(192);
    expect(exhaustedMs).toBeGreaterThan(0);
    expect(leaky.samples.some((s) => s.maxFd >= 192 - 6)).toBe(true);
    expect(leaky.probes.every((p) => p.ok)).toBe(true);
    const fullAt = leaky.events.find((e) => e.kind === "pipes-error")?.t ?? Number.POSITIVE_INFINITY;
    expect(leaky.probes.filter((p) => p.t >= fullAt).length).toBeGreaterThanOrEqual(3);
    // Attempts are the failed forks (the scenario's default), all of them seen before the decision.
    expect(attemptsOf(leaky.events)).toEqual(leaky.attempts);
    expect(leaky.attempts).toHaveLength(leaky.decision.evidence.attempts);
  });

  it("the fix stayed at its baseline, every probe connected", () => {
    expect(fixed.samples.every((s) => s.total === fixed.samples[0]?.total)).toBe(true);
    expect(fixed.probes.every((p) => p.ok)).toBe(true);
  });
});

describe("decideFdLeak replayed on the recorded CONFIG SET appendonly run", () => {
  it("3.2.8: growing, 6 fds per failed fork, with the recorded decision", () => {
    const decision = decided(checkerInput(leaky));
    expect(decision.verdict).toBe("growing");
    expect(decision.reason).toMatch(
      /^6 fds leaked per failed fork up to the ceiling 192 after 31 failed forks, but fresh clients still connect \(\d+ probes over \d\.\d s with the table full\)$/,
    );
    expect(decision.evidence).toMatchObject({ fdsPerAttempt: 6, refusedProbe: null, exhaustedMs });
    expect(decision).toEqual(leaky.decision);
  });

  it("3.2.8+fix-aof-pipe-leak: stable, with the recorded decision", () => {
    const decision = decided(checkerInput(fixed));
    expect(decision.verdict).toBe("stable");
    expect(decision.evidence.fdsPerAttempt).toBe(0);
    expect(decision).toEqual(fixed.decision);
  });

  it("the verdicts hold once the run has ended", () => {
    expect(decided(checkerInput(leaky, { ended: timeLimit })).verdict).toBe("growing");
    expect(decided(checkerInput(fixed, { ended: timeLimit })).verdict).toBe("stable");
  });
});

describe("decideFdLeak on cases derived from the CONFIG SET appendonly run", () => {
  it.each([0, 1, 2])("probe %i at the ceiling refused: exhaustion, not growing", (i) => {
    const probes = refuseOne(leaky.probes, (p) => p.t >= exhaustedMs, i);
    const decision = decided(checkerInput(leaky, { probes }));
    expect(decision.verdict).toBe("exhaustion");
    expect(decision.evidence.refusedProbe).toBe("Connection is closed.");
    expect(decision.reason).toContain("a fresh client was refused");
  });

  it("a refusal before the ceiling is not exhaustion: still growing", () => {
    const probes = refuseOne(leaky.probes, (p) => p.t < exhaustedMs && p.t > (leaky.probes[0]?.t ?? 0));
    const decision = decided(checkerInput(leaky, { probes }));
    expect(decision.verdict).toBe("growing");
    expect(decision.evidence.refusedProbe).toBeNull();
  });

  it("fewer than 3 probes at the ceiling: undecided while running, inconclusive once ended", () => {
    const atCeiling = leaky.probes.filter((p) => p.t >= exhaustedMs);
    const probes = leaky.probes.filter((p) => p !== atCeiling.at(-1));
    expect(decideFdLeak(checkerInput(leaky, { probes }))).toBeUndefined();
    const decision = decided(checkerInput(leaky, { probes, ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toContain("fds grew by 6 per failed fork");
  });

  it("cut before the ceiling: undecided while running", () => {
    expect(decideFdLeak(checkerInput(leaky, recordedBefore(leaky, exhaustedMs)))).toBeUndefined();
  });

  it("checked against another leak rate: neither growing nor exhaustion", () => {
    expect(decideFdLeak(checkerInput(leaky, { fdsPerAttempt: 2 }))?.verdict ?? "undecided").not.toMatch(
      /growing|exhaustion/,
    );
  });

  it("container exited: inconclusive, whatever the fds did", () => {
    const ended = { reason: "container-exited", detail: "exit code 137 (OOM killed)" } as const;
    expect(decided(checkerInput(leaky, { ended })).reason).toBe("container died: exit code 137 (OOM killed)");
    expect(decided(checkerInput(fixed, { ended })).verdict).toBe("inconclusive");
  });
});
