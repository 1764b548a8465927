import { z } from "zod";
import type { CheckContext, Checker, Ended } from "../../core/checker.js";
import { type Attempt, attemptsUntil, type History, type Point, seriesOf } from "../../core/history.js";
import type { Decision } from "../../core/outcome.js";
import { diedText, type ResourceLabel, resourceDecision, round, type SpecArg } from "./common.js";

/** How one series moved over the attempts: what a growth decision (or a sweep's cell) rests on. */
export const SeriesGrowth = z.object({
  series: z.string(),
  before: z.number().nullable(),
  after: z.number().nullable(),
  /** Attempts seen by the last point judged. */
  attempts: z.number(),
  perAttempt: z.number().nullable(),
  /** The leaks checker's judgement of this series against its threshold (absent where none judged it). */
  leaking: z.boolean().optional(),
});
export type SeriesGrowth = z.infer<typeof SeriesGrowth>;

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
  ended?: Ended;
  /** Words for the reason: "the AOF directory's file count" (default: the series' name). */
  words?: string;
}

/**
 * Pure: does `series` grow with the attempts? growing at or above perAttempt over at least
 * minAttempts; stable within tolerance over the attempt budget; otherwise undecided while the run
 * goes on and inconclusive once it has ended. The growth is returned whatever the label.
 */
export function judgeGrowth(input: GrowthInput): {
  growth: SeriesGrowth;
  judged?: { label: ResourceLabel; reason: string };
} {
  const growth = seriesGrowth(input.series, input.points, input.attempts);
  const words = input.words ?? input.series;
  const decided = (label: ResourceLabel, reason: string) => ({ growth, judged: { label, reason } });
  const attempts = input.attempts.length;
  if (input.ended?.reason === "container-exited") return decided("inconclusive", diedText(input.ended));
  if (input.points.length === 0 && input.ended)
    return decided("inconclusive", `${words} could not be read (no sample of ${input.series})`);
  const grown = growth.before !== null && growth.after !== null ? round(growth.after - growth.before) : null;
  if (
    growth.perAttempt !== null &&
    growth.attempts >= input.minAttempts &&
    growth.perAttempt >= input.perAttempt
  )
    return decided(
      "growing",
      `${words} grew by ${grown} over ${growth.attempts} attempts (${growth.perAttempt} per attempt): ${growth.before} → ${growth.after}`,
    );
  if (grown !== null && growth.attempts >= input.attemptsNeeded && grown <= input.tolerance)
    return decided(
      "stable",
      `${words} stayed within ${input.tolerance} of ${growth.before} over ${growth.attempts} attempts`,
    );
  if (!input.ended) return { growth };
  if (attempts === 0)
    return decided("inconclusive", `no attempt seen before the run ended (${input.ended.detail})`);
  return decided(
    "inconclusive",
    `${attempts} attempts, ${words} went from ${growth.before} to ${growth.after} (${input.ended.detail})`,
  );
}

/** Growth of any series per attempt: growing at or above `perAttempt`, stable within `tolerance`. */
export const GrowthSpec = z
  .object({
    checker: z.literal("growth"),
    series: z.string().regex(/^[^.]+\..+$/, "a series PROBE.FIELD, e.g. incr.files"),
    perAttempt: z.number().positive().default(0.8),
    tolerance: z.number().min(0).default(1),
    /** Attempts a growing decision needs (a stable one needs the scenario's budgets.attempts). */
    minAttempts: z.number().int().positive().default(10),
  })
  .strict();
export type GrowthSpec = z.infer<typeof GrowthSpec>;
export type GrowthSpecInput = z.input<typeof GrowthSpec>;

export const GrowthEvidence = z.object({
  /** Every attempt recorded; `growth.attempts` counts those its last judged point had seen. */
  attempts: z.number(),
  growth: SeriesGrowth,
  perAttempt: z.number(),
  tolerance: z.number(),
  minAttempts: z.number(),
});
export type GrowthEvidence = z.infer<typeof GrowthEvidence>;

/** Pure: the growth checker's decision on a history, or undefined while it cannot tell. */
export function decideGrowth(
  history: History,
  context: CheckContext,
  spec: GrowthSpec,
): Decision<GrowthEvidence> | undefined {
  const { growth, judged } = judgeGrowth({
    series: spec.series,
    points: seriesOf(history, spec.series),
    attempts: history.attempts,
    perAttempt: spec.perAttempt,
    tolerance: spec.tolerance,
    minAttempts: spec.minAttempts,
    attemptsNeeded: context.attemptsNeeded,
    ...(context.ended ? { ended: context.ended } : {}),
  });
  if (!judged) return undefined;
  const field = spec.series.slice(spec.series.indexOf(".") + 1);
  return resourceDecision("growth", judged.label, judged.reason, {
    summary: `${spec.series} ${growth.before ?? "—"} → ${growth.after ?? "—"}, ${growth.perAttempt ?? "—"}/attempt over ${growth.attempts} attempts`,
    facts: [
      { name: "series", value: spec.series },
      { name: "value before → after", value: `${growth.before ?? "—"} → ${growth.after ?? "—"}` },
      {
        name: "growth per attempt",
        value: `${growth.perAttempt ?? "—"} (growing at ≥ ${spec.perAttempt} over ≥ ${spec.minAttempts} attempts; stable within ${spec.tolerance})`,
      },
      { name: "attempts", value: String(history.attempts.length) },
      { name: "attempts by the last reading judged", value: String(growth.attempts) },
    ],
    evidence: {
      attempts: history.attempts.length,
      growth,
      perAttempt: spec.perAttempt,
      tolerance: spec.tolerance,
      minAttempts: spec.minAttempts,
    },
    plot: { series: spec.series, title: spec.series, axis: field },
  });
}

export function growthChecker(specInput: SpecArg<GrowthSpecInput>): Checker<GrowthEvidence> {
  const spec = GrowthSpec.parse({ ...specInput, checker: "growth" });
  return {
    name: "growth",
    reads: [spec.series],
    decide: (history, context) => decideGrowth(history, context, spec),
  };
}
