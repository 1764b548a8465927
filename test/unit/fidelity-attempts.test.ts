import { describe, expect, it } from "vitest";
import { attemptsUntil } from "../../harness/core/history.js";
import { Decision, decideFdLeak, fdEvidence, pipesPerAttempt } from "../../harness/parts/checkers/fd-leak.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { numericDirective } from "../../harness/targets/config.js";
import { attemptsOf, checkerInput, recordedBefore, recordedResult } from "../helpers/runs.js";

/** The production-settings run: 850 fd samples, ~1687 failed forks, from baseline 8 fds to 10128. */
const result = recordedResult("seed-fidelity-3.2.8.json.gz", "3.2.8");
const { evidence } = result.decision;
const failures = result.attempts;
const forkFailed = result.events.filter((e) => e.kind === "fork-failed");

describe("the recorded data is what these tests assume", () => {
  it("850 fd samples, one refused probe at the end, every fork failing with ENOMEM", () => {
    expect(result.samples).toHaveLength(850);
    expect(result.samples[0]).toMatchObject({ total: 8, pipe: 2 });
    expect(result.probes.filter((p) => !p.ok)).toHaveLength(1);
    expect(failures.length).toBeGreaterThan(1600);
    expect(forkFailed.every((e) => e.errno === "Cannot allocate memory" && e.what === "aof-rewrite")).toBe(
      true,
    );
  });
});

describe("counting failed forks on the fidelity run", () => {
  it("the recorded attempts are the failed forks, as many as the recorded evidence counts", () => {
    expect(failures.length).toBe(evidence.attempts);
    expect(failures[0]?.t).toBe(evidence.firstFailureMs);
    expect(failures.map((a) => [a.t, a.line])).toEqual(forkFailed.map((e) => [e.t, e.line]));
  });

  it("replaying the log through the recorder counts only fork-failed lines", () => {
    const other = result.events.filter((e) => e.kind !== "fork-failed");
    expect(other.length).toBeGreaterThan(0);
    expect(attemptsOf(other)).toEqual([]);
    expect(attemptsOf(result.events)).toEqual(failures);
  });

  it("attemptsUntil keeps none from after the cut-off", () => {
    const cut = result.samples[400]?.t ?? 0;
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
      ...result.samples.map((s) => s.t),
      ...result.probes.map((p) => p.t),
      ...result.events.map((e) => e.t),
      Number.POSITIVE_INFINITY,
    ].sort((a, b) => a - b);
    let previous = 0;
    for (const t of times) {
      const count = attemptsUntil(failures, t).length;
      expect(count).toBeGreaterThanOrEqual(previous);
      previous = count;
    }
    expect(previous).toBe(evidence.attempts);
    expect(attemptsUntil(failures)).toEqual(attemptsUntil(failures, Number.POSITIVE_INFINITY));
  });

  it("the attempts come at about hz per second, the rate the prediction assumes", async () => {
    const scenario = await loadScenario("seed-fidelity-enomem");
    const first = failures[0]?.t ?? 0;
    const last = failures.at(-1)?.t ?? 0;
    const perSecond = (failures.length - 1) / ((last - first) / 1000);
    const hz = numericDirective(scenario.redis, "hz", 10);
    expect(scenario.redis.hz).toBeDefined();
    expect(perSecond).toBeGreaterThan(hz * 0.9);
    expect(perSecond).toBeLessThan(hz * 1.1);
  });
});

describe("the fd checker replayed on the fidelity run", () => {
  it("pipesPerAttempt is 6 (3 pipes per failed fork), ± 0.5", () => {
    const perAttempt = pipesPerAttempt(checkerInput(result));
    expect(perAttempt).not.toBeNull();
    expect(Math.abs((perAttempt ?? 0) - 6)).toBeLessThanOrEqual(0.5);
    expect(perAttempt).toBe(evidence.fdsPerAttempt);
  });

  it("pipes grow by about 6 per failed fork at every point below the ceiling, not only at its end", () => {
    const base = result.samples[0];
    if (!base) throw new Error("no baseline");
    const below = result.samples.filter((s) => s.maxFd < evidence.ceiling - 6);
    for (const sample of below.filter((_, i) => i % 50 === 25)) {
      const attempts = attemptsUntil(failures, sample.t).length;
      expect(attempts).toBeGreaterThanOrEqual(3);
      // A sample may land between an attempt's log line and its pipes (or the other way): ± 1 attempt.
      expect(Math.abs(sample.pipe - base.pipe - 6 * attempts)).toBeLessThanOrEqual(6);
    }
  });

  it("decideFdLeak gives exhaustion, with the recorded decision", () => {
    const decision = decideFdLeak(checkerInput(result));
    if (!decision) throw new Error("expected a decision");
    expect(() => Decision.parse(decision)).not.toThrow();
    expect(decision.verdict).toBe("exhaustion");
    expect(decision.evidence).toMatchObject({
      attempts: evidence.attempts,
      ceiling: 10128,
      baseline: 8,
      refusedProbe: "Connection is closed.",
      errno: "Cannot allocate memory",
    });
    expect(decision).toEqual(result.decision);
  });

  it("cut just before the ceiling: undecided while running, and no exhaustion time yet", () => {
    const exhaustedMs = evidence.exhaustedMs ?? 0;
    const cut = checkerInput(result, recordedBefore(result, exhaustedMs));
    expect(decideFdLeak(cut)).toBeUndefined();
    expect(fdEvidence(cut).exhaustedMs).toBeNull();
    expect(fdEvidence(cut).attempts).toBeGreaterThan(1600);
  });
});
