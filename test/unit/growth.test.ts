import { describe, expect, it } from "vitest";
import { type Attempt, emptyHistory, type Point } from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import {
  GrowthEvidence,
  type GrowthInput,
  growthChecker,
  judgeGrowth,
  seriesGrowth,
} from "../../harness/parts/checkers/growth.js";
import { checkerFrom } from "../../harness/parts/checkers/index.js";
import { contextFor } from "../helpers/runs.js";

/** Synthetic runs: an attempt every 100 ms from t = 100, the series sampled every 100 ms from t = 50. */
const attemptsAt = (n: number, lag = 0): Attempt[] =>
  Array.from({ length: n }, (_, i) => ({ t: 100 * (i + 1) + lag, line: `attempt ${i + 1}` }));
/** `value(k)` where k is how many attempts' effects exist at the sample (each effect at 100·k). */
const sampled = (untilMs: number, value: (effects: number) => number, offset = 50): Point[] => {
  const points: Point[] = [];
  for (let t = offset; t <= untilMs; t += 100) points.push({ t, v: value(Math.floor(t / 100)) });
  return points;
};

const input = (points: Point[], attempts: Attempt[], change: Partial<GrowthInput> = {}): GrowthInput => ({
  series: "dir.files",
  points,
  attempts,
  perAttempt: 0.8,
  tolerance: 1,
  minAttempts: 10,
  attemptsNeeded: 30,
  ...change,
});
const timeLimit = { reason: "time-limit", detail: "time limit 60 s" } as const;

describe("seriesGrowth", () => {
  it("a file per attempt is 1 per attempt, from the value at the first attempt", () => {
    const g = seriesGrowth(
      "dir.files",
      sampled(2050, (k) => 4 + k),
      attemptsAt(20),
    );
    expect(g).toMatchObject({ series: "dir.files", before: 4, perAttempt: 1 });
    // The end is the lower of the last two points: 23 (the last, 24, may be a transient).
    expect(g.after).toBe(23);
    expect(g.attempts).toBe(19);
  });

  it("a transient bump at the last point is not counted as the end", () => {
    const flat = sampled(3050, () => 4);
    const bumped = [...flat.slice(0, -1), { t: flat.at(-1)?.t ?? 0, v: 7 }];
    const g = seriesGrowth("dir.files", bumped, attemptsAt(30));
    expect(g.before).toBe(4);
    expect(g.after).toBe(4);
  });

  it("a constant lag between the series and the log that counts attempts does not change the slope", () => {
    const points = sampled(2050, (k) => 4 + 2 * k, 90);
    const onTime = seriesGrowth("dir.files", points, attemptsAt(20));
    // The log line arrives 20 ms after the file: every sample sees one more file than attempts.
    const late = seriesGrowth("dir.files", points, attemptsAt(20, 20));
    expect(onTime.perAttempt).toBe(2);
    expect(late.perAttempt).toBe(2);
  });

  it("no attempt or no point: nothing per attempt", () => {
    expect(
      seriesGrowth(
        "s",
        sampled(1000, () => 1),
        [],
      ).perAttempt,
    ).toBeNull();
    expect(seriesGrowth("s", [], attemptsAt(5))).toEqual({
      series: "s",
      before: null,
      after: null,
      attempts: 0,
      perAttempt: null,
    });
  });
});

describe("judgeGrowth on synthetic histories", () => {
  it("growing: a file per attempt over at least minAttempts", () => {
    const { judged, growth } = judgeGrowth(
      input(
        sampled(1550, (k) => 4 + k),
        attemptsAt(15),
        { words: "the files" },
      ),
    );
    expect(judged?.label).toBe("growing");
    expect(judged?.reason).toMatch(/^the files grew by \d+ over \d+ attempts \(1 per attempt\): 4 → \d+$/);
    expect(growth).toMatchObject({ series: "dir.files", before: 4, perAttempt: 1 });
  });

  it("not growing before minAttempts, however steep", () => {
    const points = sampled(650, (k) => 4 + 5 * k);
    expect(judgeGrowth(input(points, attemptsAt(6))).judged).toBeUndefined();
    expect(judgeGrowth(input(points, attemptsAt(6), { minAttempts: 5 })).judged?.label).toBe("growing");
  });

  it("growth below perAttempt is not growing", () => {
    const half = sampled(3050, (k) => 4 + Math.floor(k / 2));
    expect(judgeGrowth(input(half, attemptsAt(30), { ended: timeLimit })).judged?.label).toBe("inconclusive");
    expect(judgeGrowth(input(half, attemptsAt(30), { perAttempt: 0.5 })).judged?.label).toBe("growing");
  });

  it("stable: within tolerance over the attempt budget, noise included", () => {
    const noisy = sampled(3250, (k) => 4 + (k % 3 === 1 ? 1 : 0));
    const { judged } = judgeGrowth(input(noisy, attemptsAt(32), { words: "the files" }));
    expect(judged?.label).toBe("stable");
    expect(judged?.reason).toMatch(/^the files stayed within 1 of 4 over \d+ attempts$/);
  });

  it("not stable past the tolerance, nor before the budget", () => {
    const stepped = sampled(3250, (k) => (k > 10 ? 6 : 4));
    expect(judgeGrowth(input(stepped, attemptsAt(32))).judged).toBeUndefined();
    expect(judgeGrowth(input(stepped, attemptsAt(32), { tolerance: 2 })).judged?.label).toBe("stable");
    const flat = sampled(2050, () => 4);
    expect(judgeGrowth(input(flat, attemptsAt(20))).judged).toBeUndefined();
  });

  it("a transient bump at the end does not spoil a stable series", () => {
    const flat = sampled(3250, () => 4);
    const bumped = [...flat, { t: 3300, v: 9 }];
    expect(judgeGrowth(input(bumped, attemptsAt(32))).judged?.label).toBe("stable");
  });

  it("a constant log lag changes neither the slope nor the label", () => {
    const points = sampled(1550, (k) => 4 + k, 90);
    const onTime = judgeGrowth(input(points, attemptsAt(15)));
    const late = judgeGrowth(input(points, attemptsAt(15, 20)));
    expect(onTime.judged?.label).toBe("growing");
    expect(late.judged?.label).toBe("growing");
    expect(late.growth.perAttempt).toBe(onTime.growth.perAttempt);
  });

  it("inconclusive once ended: undecided, no attempt, no sample, container gone", () => {
    const flat = sampled(1050, () => 4);
    expect(judgeGrowth(input(flat, attemptsAt(10))).judged).toBeUndefined();
    const ended = judgeGrowth(input(flat, attemptsAt(10), { ended: timeLimit })).judged;
    expect(ended?.label).toBe("inconclusive");
    expect(ended?.reason).toBe("10 attempts, dir.files went from 4 to 4 (time limit 60 s)");
    expect(judgeGrowth(input(flat, [], { ended: timeLimit })).judged?.reason).toBe(
      "no attempt seen before the run ended (time limit 60 s)",
    );
    expect(judgeGrowth(input([], attemptsAt(10), { ended: timeLimit })).judged?.reason).toBe(
      "dir.files could not be read (no sample of dir.files)",
    );
    const growing = sampled(1550, (k) => 4 + k);
    const died = judgeGrowth(
      input(growing, attemptsAt(15), {
        ended: { reason: "container-exited", detail: "exited with code 137" },
      }),
    ).judged;
    expect(died?.label).toBe("inconclusive");
    expect(died?.reason).toBe("container died: exited with code 137");
  });
});

describe("the growth checker on a history", () => {
  /** INFO's used_memory read every 100 ms from t = 50, a failed rewrite's line every 100 ms from t = 100. */
  function memoryHistory(perAttempt: number, attempts = 12) {
    const h = emptyHistory();
    const points: Point[] = [];
    for (let i = 1; i <= attempts; i++) {
      points.push({ t: 100 * i - 50, v: 1000 + perAttempt * (i - 1) });
      h.attempts.push({ t: 100 * i, line: `rewrite failed ${i}` });
    }
    points.push({ t: 100 * attempts + 50, v: 1000 + perAttempt * attempts });
    points.push({ t: 100 * attempts + 150, v: 1000 + perAttempt * attempts });
    h.series["info.used_memory"] = points;
    return h;
  }
  const spec = {
    checker: "growth",
    series: "info.used_memory",
    perAttempt: 40,
    tolerance: 100,
    minAttempts: 10,
  } as const;

  it("reads the named series and the history's attempts: growing (bug), with its own evidence, facts and plot", () => {
    const checker = checkerFrom(spec);
    expect(checker.name).toBe("growth");
    const h = memoryHistory(50);
    const decision = checker.decide(h, contextFor(h));
    expect(decision).toMatchObject({ checker: "growth", outcome: "bug", label: "growing" });
    expect(() => Decision.parse(decision)).not.toThrow();
    const evidence = GrowthEvidence.parse(decision?.evidence);
    expect(evidence.attempts).toBe(12);
    expect(evidence.growth).toMatchObject({ series: "info.used_memory", before: 1000, perAttempt: 50 });
    // Its evidence is its own: no fd in it.
    expect(Object.keys(evidence).some((k) => /fd|ceiling/i.test(k))).toBe(false);
    expect(decision?.facts.map((f) => f.name)).toEqual([
      "series",
      "value before → after",
      "growth per attempt",
      "attempts",
      "attempts by the last reading judged",
    ]);
    expect(decision?.facts.find((f) => f.name === "growth per attempt")?.value).toBe(
      "50 (growing at ≥ 40 over ≥ 10 attempts; stable within 100)",
    );
    expect(decision?.summary).toBe("info.used_memory 1000 → 1600, 50/attempt over 12 attempts");
    expect(decision?.plot).toMatchObject({ series: "info.used_memory", axis: "used_memory", ceiling: null });
  });

  it("the constructor fills the data form's defaults and takes the kind or leaves it out", () => {
    const h = memoryHistory(1, 40);
    const a = growthChecker({ series: "info.used_memory" }).decide(h, contextFor(h));
    const b = growthChecker({
      checker: "growth",
      series: "info.used_memory",
      perAttempt: 0.8,
      tolerance: 1,
      minAttempts: 10,
    }).decide(h, contextFor(h));
    expect(a?.label).toBe("growing");
    expect(a).toEqual(b);
  });

  it("flat over the budget: stable (no bug)", () => {
    const h = memoryHistory(0, 32);
    expect(checkerFrom(spec).decide(h, contextFor(h))).toMatchObject({ outcome: "no-bug", label: "stable" });
  });
});
