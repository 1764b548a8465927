import { describe, expect, it } from "vitest";
import {
  Decision,
  decideFdLeak,
  type FdLeakInput,
  persistentGrowth,
  pipesPerAttempt,
} from "../../harness/parts/checkers/fd-leak.js";
import { seedResult } from "../helpers/fixture.js";
import { attemptsOf, checkerInput, recordedBefore } from "../helpers/runs.js";

const leaky = seedResult("3.2.8");
const fixed = seedResult("3.2.8+fix-aof-pipe-leak");

const inputFrom = checkerInput;

const timeLimit = { reason: "time-limit", detail: "time limit 60 s" } as const;

function decided(input: FdLeakInput): Decision {
  const decision = decideFdLeak(input);
  if (!decision) throw new Error("expected a decision, got undefined");
  expect(() => Decision.parse(decision)).not.toThrow();
  return decision;
}

describe("the recorded data is what these tests assume", () => {
  it("3.2.8 leaked into its ceiling; the fix stayed flat", () => {
    expect(leaky.decision.evidence.ceiling).toBe(192);
    expect(leaky.samples[0]).toMatchObject({ total: 8, pipe: 2, maxFd: 7 });
    expect(leaky.probes.some((p) => !p.ok)).toBe(true);
    expect(leaky.attempts.length).toBe(31);
    expect(fixed.probes.every((p) => p.ok)).toBe(true);
    expect(fixed.attempts.length).toBeGreaterThanOrEqual(30);
  });
});

describe("pipesPerAttempt on the recorded run", () => {
  it("is 6 for 3.2.8 (3 pipes per failed fork) and 0 for the fix", () => {
    expect(pipesPerAttempt(inputFrom(leaky))).toBe(6);
    expect(pipesPerAttempt(inputFrom(fixed))).toBe(0);
  });

  it("only counts samples below the ceiling", () => {
    const input = inputFrom(leaky);
    const bent = input.samples.filter((s) => s.maxFd >= input.ceiling - input.fdsPerAttempt);
    expect(bent.length).toBeGreaterThan(0);
    // Dropping the samples at the ceiling changes nothing: they were never used.
    expect(pipesPerAttempt({ ...input, samples: input.samples.filter((s) => !bent.includes(s)) })).toBe(6);
  });

  it("is null without a baseline or before 3 failed forks", () => {
    expect(pipesPerAttempt(inputFrom(leaky, { baseline: undefined }))).toBeNull();
    const third = leaky.attempts[2]?.t ?? 0;
    expect(pipesPerAttempt(inputFrom(leaky, recordedBefore(leaky, third)))).toBeNull();
  });
});

describe("decideFdLeak on the recorded run", () => {
  it("3.2.8: exhaustion, 6 fds per failed fork, with the recorded evidence", () => {
    const decision = decided(inputFrom(leaky));
    expect(decision.verdict).toBe("exhaustion");
    expect(decision.evidence.fdsPerAttempt).toBe(6);
    expect(decision).toEqual(leaky.decision);
  });

  it("3.2.8+fix-aof-pipe-leak: stable", () => {
    const decision = decided(inputFrom(fixed));
    expect(decision.verdict).toBe("stable");
    expect(decision.reason).toMatch(/^fds stayed within 0 of the baseline 8 over \d+ failed forks/);
    expect(decision.evidence).toMatchObject({
      fdsPerAttempt: 0,
      baseline: 8,
      peak: 8,
      exhaustedMs: null,
      refusedProbe: null,
      errno: "Cannot allocate memory",
    });
  });

  it("the verdicts do not change once the run has ended", () => {
    expect(decided(inputFrom(leaky, { ended: timeLimit })).verdict).toBe("exhaustion");
    expect(decided(inputFrom(fixed, { ended: timeLimit })).verdict).toBe("stable");
  });
});

describe("decideFdLeak on cases derived from the recorded run", () => {
  const exhaustedMs = leaky.decision.evidence.exhaustedMs ?? 0;

  it("3.2.8 cut before the ceiling: undecided while running", () => {
    expect(exhaustedMs).toBeGreaterThan(0);
    expect(decideFdLeak(inputFrom(leaky, recordedBefore(leaky, exhaustedMs)))).toBeUndefined();
  });

  it("3.2.8 cut before the ceiling: inconclusive once the time limit ends the run", () => {
    const decision = decided(inputFrom(leaky, { ...recordedBefore(leaky, exhaustedMs), ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toContain("fds grew by 6 per failed fork");
    expect(decision.reason).toContain("exhaustion was not shown (time limit 60 s)");
    expect(decision.evidence.exhaustedMs).toBeNull();
  });

  it("3.2.8 without the refused probe: not exhaustion", () => {
    const probes = leaky.probes.filter((p) => p.ok);
    expect(decideFdLeak(inputFrom(leaky, { probes }))).toBeUndefined();
    const ended = decided(inputFrom(leaky, { probes, ended: timeLimit }));
    expect(ended.verdict).toBe("inconclusive");
    expect(ended.evidence.refusedProbe).toBeNull();
    // The ceiling was still reached: the evidence says so, the verdict does not claim it.
    expect(ended.evidence.exhaustedMs).toBe(exhaustedMs);
  });

  it("3.2.8 with a refusal only before the ceiling: not exhaustion (the refusal must follow it)", () => {
    const probes = [
      ...leaky.probes.filter((p) => p.ok),
      { t: exhaustedMs - 1, ok: false, error: "Connection is closed." },
    ];
    expect(decideFdLeak(inputFrom(leaky, { probes }))?.verdict).not.toBe("exhaustion");
  });

  it("3.2.8 checked against another leak rate: not exhaustion", () => {
    expect(decideFdLeak(inputFrom(leaky, { fdsPerAttempt: 2 }))?.verdict).not.toBe("exhaustion");
  });

  it.each([
    ["3.2.8", leaky],
    ["fix", fixed],
  ])("%s without any fork-failed event: inconclusive, no fork failure", (_, result) => {
    const events = result.events.filter((e) => e.kind !== "fork-failed");
    const attempts = attemptsOf(events);
    expect(attempts).toEqual([]);
    expect(decideFdLeak(inputFrom(result, { events, attempts }))).toBeUndefined();
    const decision = decided(inputFrom(result, { events, attempts, ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toBe("no fork failure seen before the run ended (time limit 60 s)");
    expect(decision.evidence.attempts).toBe(0);
  });

  it("the fix cut after 10 failed forks: inconclusive, too few failed forks", () => {
    const tenth = fixed.attempts[9]?.t ?? 0;
    const cut = recordedBefore(fixed, tenth + 1);
    expect(cut.attempts).toHaveLength(10);
    expect(decideFdLeak(inputFrom(fixed, cut))).toBeUndefined();
    const decision = decided(inputFrom(fixed, { ...cut, ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toBe("too few failed forks: 10 of 30 (time limit 60 s)");
  });

  it("the fix needs a probe after the 30th failed fork before it is stable", () => {
    const thirtieth = fixed.attempts[29]?.t ?? 0;
    const cut = recordedBefore(fixed, thirtieth + 1);
    const probes = cut.probes.filter((p) => p.t <= thirtieth);
    expect(decideFdLeak(inputFrom(fixed, { ...cut, probes }))).toBeUndefined();
    const probed = [...probes, { t: thirtieth + 1, ok: true }];
    expect(decideFdLeak(inputFrom(fixed, { ...cut, probes: probed }))?.verdict).toBe("stable");
  });

  it.each([
    ["3.2.8", leaky],
    ["fix", fixed],
  ])("%s whose container exited: inconclusive, container died", (_, result) => {
    const decision = decided(
      inputFrom(result, { ended: { reason: "container-exited", detail: "exit code 137 (OOM killed)" } }),
    );
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toBe("container died: exit code 137 (OOM killed)");
  });

  it("the fix with one refused probe after the first failure: not stable", () => {
    const first = fixed.attempts[0]?.t ?? 0;
    const after = fixed.probes.findIndex((p) => p.t >= first);
    expect(after).toBeGreaterThanOrEqual(0);
    const probes = fixed.probes.map((p, i) =>
      i === after ? { t: p.t, ok: false, error: "Connection is closed." } : p,
    );
    const decision = decided(inputFrom(fixed, { probes }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toBe("fds stayed flat but a fresh client was refused (Connection is closed.)");
  });

  it("the fix with a refused probe before the first failure is still stable", () => {
    const first = fixed.attempts[0]?.t ?? 0;
    const probes = [{ t: first - 1, ok: false, error: "starting" }, ...fixed.probes];
    expect(decided(inputFrom(fixed, { probes })).verdict).toBe("stable");
  });

  it("the fix growing past the tolerance in two samples running: not stable", () => {
    const last = fixed.samples.at(-1);
    if (!last) throw new Error("no samples");
    const grown = (dt: number, by: number) => ({
      ...last,
      t: last.t + dt,
      total: last.total + by,
      socket: last.socket + by,
      maxFd: last.maxFd + by,
    });
    expect(
      decideFdLeak(inputFrom(fixed, { samples: [...fixed.samples, grown(100, 4), grown(200, 4)] })),
    ).toBeUndefined();
    expect(
      decideFdLeak(inputFrom(fixed, { samples: [...fixed.samples, grown(100, 3), grown(200, 3)] }))?.verdict,
    ).toBe("stable");
  });

  it("a single sample that caught the fix's six pipes between open and close is not growth", () => {
    const last = fixed.samples.at(-1);
    if (!last) throw new Error("no samples");
    const spike = {
      ...last,
      t: last.t + 100,
      total: last.total + 6,
      pipe: last.pipe + 6,
      maxFd: last.maxFd + 6,
    };
    const after = { ...last, t: last.t + 200 };
    expect(persistentGrowth([...fixed.samples, spike, after], last.total)).toBe(0);
    expect(decideFdLeak(inputFrom(fixed, { samples: [...fixed.samples, spike, after] }))?.verdict).toBe(
      "stable",
    );
  });

  it("an ended run with enough flat failures but no probe after the budget: inconclusive", () => {
    const first = fixed.attempts[0]?.t ?? 0;
    const probes = fixed.probes.filter((p) => p.t < first);
    const decision = decided(inputFrom(fixed, { probes, ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toMatch(
      /^neither stable nor exhausted after \d+ failed forks \(time limit 60 s\)$/,
    );
  });
});
