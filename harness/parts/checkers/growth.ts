import { type Attempt, attemptsUntil, type Point } from "../../core/history.js";
import type { Verdict } from "../../scenario/schema.js";
import type { Decision, Evidence, SeriesGrowth } from "./fd-leak.js";

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Per attempt: the least-squares slope of the series against the number of attempts seen by each
 * point's time. A slope, not (last − first) / attempts, because the log that counts attempts and the
 * sampler that reads the series see the same event at different moments (a file exists a little
 * before its log line arrives): a constant lag shifts the line, not its slope.
 */
export function slope(points: Point[], attempts: Attempt[]): number | null {
  const xy = points.map((p) => [attemptsUntil(attempts, p.t).length, p.v] as const);
  if (xy.length < 2) return null;
  const mx = xy.reduce((s, [x]) => s + x, 0) / xy.length;
  const my = xy.reduce((s, [, y]) => s + y, 0) / xy.length;
  const sxx = xy.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = xy.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  return sxx === 0 ? null : sxy / sxx;
}

/**
 * How a series moved over the attempts: its value when the first attempt came, its value at the
 * end, the attempts seen by then, and the growth per attempt. The end is the lower of the last two
 * points, so a transient bump (a file a background job is about to close) does not count as growth.
 */
export function seriesGrowth(name: string, points: Point[], attempts: Attempt[]): SeriesGrowth {
  const first = attempts[0];
  const before = first ? ([...points].reverse().find((p) => p.t <= first.t) ?? points[0]) : points[0];
  const last = points.at(-1);
  const previous = points.at(-2);
  const end = last && previous && previous.t >= (first?.t ?? 0) && previous.v < last.v ? previous : last;
  const seen = end ? attemptsUntil(attempts, end.t).length : 0;
  const during = first && end ? points.filter((p) => p.t >= (before?.t ?? first.t) && p.t <= end.t) : [];
  const perAttempt = seen > 0 ? slope(during, attempts) : null;
  return {
    series: name,
    before: before?.v ?? null,
    after: end?.v ?? null,
    attempts: seen,
    perAttempt: perAttempt === null ? null : round(perAttempt),
  };
}

export interface GrowthInput {
  series: string;
  points: Point[];
  attempts: Attempt[];
  /** At or above this per attempt: growing. */
  perAttempt: number;
  /** At most this much growth over the budget: stable. */
  tolerance: number;
  minAttempts: number;
  attemptsNeeded: number;
  /** Set once the run is over: undecided becomes inconclusive. */
  ended?: { reason: string; detail: string };
  /** The rest of the evidence (fds), carried into the decision. */
  evidence: Evidence;
  /** Words for the reason: "the AOF directory's files". */
  label?: string;
  /** Other series reported beside the judged one (e.g. the manifest's bytes). */
  also?: SeriesGrowth[];
}

/** Pure: does `series` grow with the attempts? Any probe series, any resource. */
export function decideGrowth(input: GrowthInput): Decision | undefined {
  const growth = seriesGrowth(input.series, input.points, input.attempts);
  const label = input.label ?? input.series;
  const decided = (verdict: Verdict, reason: string): Decision => ({
    verdict,
    reason,
    evidence: { ...input.evidence, growth: [growth, ...(input.also ?? [])] },
  });
  const attempts = input.attempts.length;
  if (input.ended?.reason === "container-exited")
    return decided("inconclusive", `container died: ${input.ended.detail}`);
  if (input.points.length === 0 && input.ended)
    return decided("inconclusive", `${label} could not be read (no sample of ${input.series})`);
  const grown = growth.before !== null && growth.after !== null ? round(growth.after - growth.before) : null;
  if (
    growth.perAttempt !== null &&
    growth.attempts >= input.minAttempts &&
    growth.perAttempt >= input.perAttempt
  ) {
    return decided(
      "growing",
      `${label} grew by ${grown} over ${growth.attempts} attempts (${growth.perAttempt} per attempt): ${growth.before} → ${growth.after}`,
    );
  }
  if (grown !== null && growth.attempts >= input.attemptsNeeded && grown <= input.tolerance) {
    return decided(
      "stable",
      `${label} stayed within ${input.tolerance} of ${growth.before} over ${growth.attempts} attempts`,
    );
  }
  if (!input.ended) return undefined;
  if (attempts === 0)
    return decided("inconclusive", `no attempt seen before the run ended (${input.ended.detail})`);
  return decided(
    "inconclusive",
    `${attempts} attempts, ${label} went from ${growth.before} to ${growth.after} (${input.ended.detail})`,
  );
}
