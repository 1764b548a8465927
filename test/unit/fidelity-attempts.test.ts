import { describe, expect, it } from "vitest";
import { attemptsUntil } from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import {
  decideFdLeak,
  FdLeakSpec,
  fdLeakEvidence,
  pipesPerAttempt,
} from "../../harness/parts/checkers/fd-leak.js";
import {
  attemptsOf,
  connectResults,
  contextFor,
  fdSamples,
  recordedBefore,
  recordedResult,
} from "../helpers/runs.js";

/** The production-settings run: 850 fd samples, ~1687 failed forks, from baseline 8 fds to 10128. */
const result = recordedResult("seed-fidelity-3.2.8.json.gz", "3.2.8");
const history = result.history;
const samples = fdSamples(history);
const failures = history.attempts;
const forkFailed = history.events.filter((e) => e.kind === "fork-failed");
const spec = FdLeakSpec.parse({ checker: "fd-leak" });
const evidence = fdLeakEvidence(history, spec);

describe("the recorded data is what these tests assume", () => {
  it("850 fd samples, one refused probe at the end, every fork failing with ENOMEM", () => {
    expect(samples).toHaveLength(850);
    expect(samples[0]).toMatchObject({ total: 8, pipe: 2 });
    expect(connectResults(history).filter((p) => !p.ok)).toHaveLength(1);
    expect(failures.length).toBeGreaterThan(1600);
    expect(forkFailed.every((e) => e.errno === "Cannot allocate memory" && e.what === "aof-rewrite")).toBe(
      true,
    );
  });
});

describe("counting failed forks on the fidelity run", () => {
  it("the recorded attempts are the failed forks, the first at the evidence's first failure", () => {
    expect(failures[0]?.t).toBe(evidence.firstFailureMs);
    expect(failures.map((a) => [a.t, a.line])).toEqual(forkFailed.map((e) => [e.t, e.line]));
  });

  it("only fork-failed events count as attempts", () => {
    const other = history.events.filter((e) => e.kind !== "fork-failed");
    expect(other.length).toBeGreaterThan(0);
    expect(attemptsOf(other)).toEqual([]);
    expect(attemptsOf(history.events)).toEqual(failures);
  });

  it("attemptsUntil keeps none from after the cut-off", () => {
    const cut = samples[400]?.t ?? 0;
    const until = attemptsUntil(failures, cut);
    expect(until.every((a) => a.t <= cut)).toBe(true);
    expect(until.length).toBe(forkFailed.filter((e) => e.t <= cut).length);
    expect(until.length).toBeGreaterThan(0);
    expect(until.length).toBeLessThan(failures.length);
  });

  it("the cut-off is inclusive: nothing before the first failure, one at it", () => {
    const first = evidence.firstFailureMs ?? 0;
    expect(attemptsUntil(failures, first - 1)).toHaveLength(0);
    expect(attemptsUntil(failures, first).length).toBeGreaterThanOrEqual(1);
  });

  it("attemptsUntil(attempts, t) never decreases as t grows, and reaches the total", () => {
    const times = [
      0,
      ...samples.map((s) => s.t),
      ...connectResults(history).map((p) => p.t),
      ...history.events.map((e) => e.t),
      Number.POSITIVE_INFINITY,
    ].sort((a, b) => a - b);
    let previous = 0;
    for (const t of times) {
      const count = attemptsUntil(failures, t).length;
      expect(count).toBeGreaterThanOrEqual(previous);
      previous = count;
    }
    expect(previous).toBe(failures.length);
    expect(attemptsUntil(failures)).toEqual(attemptsUntil(failures, Number.POSITIVE_INFINITY));
  });

  it("the attempts come at about 10 per second (the scenario's hz), the rate the prediction assumes", () => {
    const first = failures[0]?.t ?? 0;
    const last = failures.at(-1)?.t ?? 0;
    const perSecond = (failures.length - 1) / ((last - first) / 1000);
    expect(perSecond).toBeGreaterThan(9);
    expect(perSecond).toBeLessThan(11);
  });
});

describe("the fd checker replayed on the fidelity run", () => {
  it("pipesPerAttempt is 6 (3 pipes per failed fork), ± 0.5", () => {
    const perAttempt = pipesPerAttempt(samples, failures, evidence.ceiling, 6);
    expect(perAttempt).not.toBeNull();
    expect(Math.abs((perAttempt ?? 0) - 6)).toBeLessThanOrEqual(0.5);
  });

  it("pipes grow by about 6 per failed fork at every point below the ceiling, not only at its end", () => {
    const base = samples[0];
    if (!base) throw new Error("no baseline");
    const below = samples.filter((s) => s.maxFd < 10128 - 6);
    for (const sample of below.filter((_, i) => i % 50 === 25)) {
      const attempts = attemptsUntil(failures, sample.t).length;
      expect(attempts).toBeGreaterThanOrEqual(3);
      // A sample may land between an attempt's log line and its pipes (or the other way): ± 1 attempt.
      expect(Math.abs(sample.pipe - base.pipe - 6 * attempts)).toBeLessThanOrEqual(6);
    }
  });

  it("the checker decides exhaustion (bug), as recorded, with the recorded reason", () => {
    const decision = decideFdLeak(history, contextFor(history));
    if (!decision) throw new Error("expected a decision");
    expect(() => Decision.parse(decision)).not.toThrow();
    expect(decision).toMatchObject({ outcome: "bug", label: result.decision.label });
    expect(decision.label).toBe("exhaustion");
    expect(decision.reason).toBe(result.decision.reason);
    expect(decision.evidence).toMatchObject({
      attempts: failures.length,
      ceiling: 10128,
      baseline: 8,
      refused: { error: "Connection is closed." },
      errno: "Cannot allocate memory",
    });
  });

  it("cut just before the ceiling: undecided while running, and no exhaustion time yet", () => {
    const exhaustedMs = evidence.exhaustedMs ?? 0;
    const cut = recordedBefore(history, exhaustedMs);
    expect(decideFdLeak(cut, contextFor(cut))).toBeUndefined();
    const e = fdLeakEvidence(cut, spec);
    expect(e.exhaustedMs).toBeNull();
    expect(e.attempts).toBeGreaterThan(1600);
  });
});
