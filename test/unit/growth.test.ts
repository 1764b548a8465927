import { describe, expect, it } from "vitest";
import { type Attempt, HistoryRecorder, type Point } from "../../harness/core/history.js";
import { decideGrowth, type GrowthInput, seriesGrowth } from "../../harness/parts/checkers/growth.js";
import { checkerFor } from "../../harness/parts/checkers/index.js";
import { emptyEvidence } from "../helpers/runs.js";

/** Synthetic runs: an attempt every 100 ms from t = 100, the series sampled every 100 ms from t = 50. */
const attemptsAt = (n: number, lag = 0): Attempt[] =>
  Array.from({ length: n }, (_, i) => ({ t: 100 * (i + 1) + lag, line: `attempt ${i + 1}` }));
/** `value(k)` where k is how many attempts' effects exist at the sample (each effect at 100·k). */
const sampled = (untilMs: number, value: (effects: number) => number, offset = 50): Point[] => {
  const points: Point[] = [];
  for (let t = offset; t <= untilMs; t += 100) points.push({ t, v: value(Math.floor(t / 100)) });
  return points;
};

const evidence = emptyEvidence();

const input = (points: Point[], attempts: Attempt[], change: Partial<GrowthInput> = {}): GrowthInput => ({
  series: "dir.files",
  points,
  attempts,
  perAttempt: 0.8,
  tolerance: 1,
  minAttempts: 10,
  attemptsNeeded: 30,
  evidence,
  ...change,
});
const timeLimit = { reason: "time-limit", detail: "time limit 60 s" };

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

describe("decideGrowth on synthetic histories", () => {
  it("growing: a file per attempt over at least minAttempts", () => {
    const decision = decideGrowth(
      input(
        sampled(1550, (k) => 4 + k),
        attemptsAt(15),
        { label: "the files" },
      ),
    );
    expect(decision?.verdict).toBe("growing");
    expect(decision?.reason).toMatch(/^the files grew by \d+ over \d+ attempts \(1 per attempt\): 4 → \d+$/);
    expect(decision?.evidence.growth[0]).toMatchObject({ series: "dir.files", before: 4, perAttempt: 1 });
  });

  it("not growing before minAttempts, however steep", () => {
    const points = sampled(650, (k) => 4 + 5 * k);
    expect(decideGrowth(input(points, attemptsAt(6)))).toBeUndefined();
    expect(decideGrowth(input(points, attemptsAt(6), { minAttempts: 5 }))?.verdict).toBe("growing");
  });

  it("growth below perAttempt is not growing", () => {
    const half = sampled(3050, (k) => 4 + Math.floor(k / 2));
    const decision = decideGrowth(input(half, attemptsAt(30), { ended: timeLimit }));
    expect(decision?.verdict).toBe("inconclusive");
    expect(decideGrowth(input(half, attemptsAt(30), { perAttempt: 0.5 }))?.verdict).toBe("growing");
  });

  it("stable: within tolerance over the attempt budget, noise included", () => {
    const noisy = sampled(3250, (k) => 4 + (k % 3 === 1 ? 1 : 0));
    const decision = decideGrowth(input(noisy, attemptsAt(32), { label: "the files" }));
    expect(decision?.verdict).toBe("stable");
    expect(decision?.reason).toMatch(/^the files stayed within 1 of 4 over \d+ attempts$/);
  });

  it("not stable past the tolerance, nor before the budget", () => {
    const stepped = sampled(3250, (k) => (k > 10 ? 6 : 4));
    expect(decideGrowth(input(stepped, attemptsAt(32)))).toBeUndefined();
    expect(decideGrowth(input(stepped, attemptsAt(32), { tolerance: 2 }))?.verdict).toBe("stable");
    const flat = sampled(2050, () => 4);
    expect(decideGrowth(input(flat, attemptsAt(20)))).toBeUndefined();
  });

  it("a transient bump at the end does not spoil a stable series", () => {
    const flat = sampled(3250, () => 4);
    const bumped = [...flat, { t: 3300, v: 9 }];
    expect(decideGrowth(input(bumped, attemptsAt(32)))?.verdict).toBe("stable");
  });

  it("a constant log lag changes neither the slope nor the verdict", () => {
    const points = sampled(1550, (k) => 4 + k, 90);
    const onTime = decideGrowth(input(points, attemptsAt(15)));
    const late = decideGrowth(input(points, attemptsAt(15, 20)));
    expect(onTime?.verdict).toBe("growing");
    expect(late?.verdict).toBe("growing");
    expect(late?.evidence.growth[0]?.perAttempt).toBe(onTime?.evidence.growth[0]?.perAttempt);
  });

  it("inconclusive once ended: undecided, no attempt, no sample, container gone", () => {
    const flat = sampled(1050, () => 4);
    expect(decideGrowth(input(flat, attemptsAt(10)))).toBeUndefined();
    const ended = decideGrowth(input(flat, attemptsAt(10), { ended: timeLimit }));
    expect(ended?.verdict).toBe("inconclusive");
    expect(ended?.reason).toBe("10 attempts, dir.files went from 4 to 4 (time limit 60 s)");
    expect(decideGrowth(input(flat, [], { ended: timeLimit }))?.reason).toBe(
      "no attempt seen before the run ended (time limit 60 s)",
    );
    expect(decideGrowth(input([], attemptsAt(10), { ended: timeLimit }))?.reason).toBe(
      "dir.files could not be read (no sample of dir.files)",
    );
    const growing = sampled(1550, (k) => 4 + k);
    const died = decideGrowth(
      input(growing, attemptsAt(15), {
        ended: { reason: "container-exited", detail: "exited with code 137" },
      }),
    );
    expect(died?.verdict).toBe("inconclusive");
    expect(died?.reason).toBe("container died: exited with code 137");
  });

  it("reports the other series beside the judged one, and keeps the fd evidence", () => {
    const also = seriesGrowth(
      "dir.bytes",
      sampled(1550, (k) => 100 * k),
      attemptsAt(15),
    );
    const decision = decideGrowth(
      input(
        sampled(1550, (k) => 4 + k),
        attemptsAt(15),
        { also: [also] },
      ),
    );
    expect(decision?.evidence.growth.map((g) => g.series)).toEqual(["dir.files", "dir.bytes"]);
    expect(decision?.evidence.ceiling).toBe(192);
  });
});

describe("checkerFor a growth spec, on a recorded history", () => {
  it("reads the named series and the attempts the recorder counted", () => {
    const recorder = new HistoryRecorder({ pattern: "rewrite failed" });
    for (let i = 1; i <= 12; i++) {
      recorder.reading("info", 100 * i - 50, { used_memory: 1000 + 50 * (i - 1) });
      recorder.logLine(`rewrite failed ${i}`, 100 * i);
    }
    recorder.reading("info", 1250, { used_memory: 1000 + 50 * 12 });
    recorder.reading("info", 1350, { used_memory: 1000 + 50 * 12 });
    const checker = checkerFor({
      checker: "growth",
      series: "info.used_memory",
      perAttempt: 40,
      tolerance: 100,
      minAttempts: 10,
    });
    expect(checker.name).toBe("growth");
    const decision = checker.decide(recorder.history, { ceiling: 192, attemptsNeeded: 30 });
    expect(decision?.verdict).toBe("growing");
    expect(decision?.evidence.attempts).toBe(12);
    expect(decision?.evidence.growth[0]).toMatchObject({
      series: "info.used_memory",
      before: 1000,
      perAttempt: 50,
    });
  });
});
