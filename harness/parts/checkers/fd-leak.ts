import { z } from "zod";
import { type Attempt, attemptsUntil } from "../../core/history.js";
import { Verdict } from "../../scenario/schema.js";
import type { ConnectProbe } from "../probes/connect.js";
import type { FdSample } from "../probes/fds.js";
import type { LogEvent } from "../probes/log.js";

/**
 * Pure: samples, log events and probes in, verdict with evidence out. `exhaustion`: pipe fds grow by
 * about fdsPerAttempt per failed fork, reach the ceiling, and a fresh client is refused. `stable`:
 * over at least `attemptsNeeded` failed forks the count stays within `tolerance` of its baseline and
 * fresh clients connect. Anything else is undecided while the run goes on and `inconclusive` once it ends.
 */
export interface FdLeakInput {
  samples: FdSample[];
  events: LogEvent[];
  /** What the scenario counts as an attempt (by default, each failed fork's log line). */
  attempts: Attempt[];
  probes: ConnectProbe[];
  baseline?: FdSample;
  ceiling: number;
  attemptsNeeded: number;
  tolerance: number;
  fdsPerAttempt: number;
  /** Set once the run is over (time limit, container gone): undecided becomes inconclusive. */
  ended?: { reason: "time-limit" | "container-exited" | "error"; detail: string };
}

export const FdEvidence = z.object({
  attempts: z.number(),
  fdsPerAttempt: z.number().nullable(),
  baseline: z.number().nullable(),
  baselinePipes: z.number().nullable(),
  peak: z.number().nullable(),
  peakMaxFd: z.number().nullable(),
  ceiling: z.number(),
  firstFailureMs: z.number().nullable(),
  exhaustedMs: z.number().nullable(),
  refusedProbe: z.string().nullable(),
  errno: z.string().nullable(),
  logLines: z.array(z.string()),
});
export type FdEvidence = z.infer<typeof FdEvidence>;

/** How one series moved over the attempts: what a growth verdict (or a sweep's cell) rests on. */
export const SeriesGrowth = z.object({
  series: z.string(),
  before: z.number().nullable(),
  after: z.number().nullable(),
  /** Attempts seen by the last sample of the series. */
  attempts: z.number(),
  perAttempt: z.number().nullable(),
  /** The leaks checker's judgement of this series against its threshold (absent where none judged it). */
  leaking: z.boolean().optional(),
});
export type SeriesGrowth = z.infer<typeof SeriesGrowth>;

/**
 * The 7.x AOF rewrite limiter as the aof-dir checker saw it: its "…repeatedly failed and triggered
 * the limit…" line (null: it never engaged), when, after how many attempts and at how many files,
 * and how long the directory then held its file count with no further attempt (a `stable` verdict's
 * hold; for a run with no attempt, the hold after the last rewrite).
 */
export const LimiterEvidence = z.object({
  line: z.string().nullable(),
  atMs: z.number().nullable(),
  attemptsAtLimit: z.number().nullable(),
  filesAtLimit: z.number().nullable(),
  heldMs: z.number().nullable(),
});
export type LimiterEvidence = z.infer<typeof LimiterEvidence>;

/**
 * The one evidence type: fds (always watched on the main node), the growth of the series the
 * checker looked at, and the rewrite limiter when the checker watched an AOF directory. Run, matrix,
 * bisect, catalogue and report all read this.
 */
export const Evidence = FdEvidence.extend({
  growth: z.array(SeriesGrowth).default([]),
  limiter: LimiterEvidence.optional(),
});
export type Evidence = z.infer<typeof Evidence>;

/** The part of the evidence a table row or the catalogue keeps: counts, not log lines. */
export const EvidenceSummary = Evidence.pick({
  attempts: true,
  fdsPerAttempt: true,
  baseline: true,
  peak: true,
  growth: true,
});
export type EvidenceSummary = z.infer<typeof EvidenceSummary>;

export function summariseEvidence(e: Evidence): EvidenceSummary {
  return {
    attempts: e.attempts,
    fdsPerAttempt: e.fdsPerAttempt,
    baseline: e.baseline,
    peak: e.peak,
    growth: e.growth,
  };
}

export const Decision = z.object({
  verdict: Verdict,
  reason: z.string(),
  evidence: Evidence,
});
export type Decision = z.infer<typeof Decision>;

const round = (n: number) => Math.round(n * 100) / 100;

/** Pipe fds added per failed fork, measured before the ceiling bends the line. */
export function pipesPerAttempt(input: FdLeakInput): number | null {
  const base = input.baseline;
  if (!base) return null;
  const unbent = input.samples.filter((s) => s.maxFd < input.ceiling - input.fdsPerAttempt);
  for (let i = unbent.length - 1; i >= 0; i--) {
    const sample = unbent[i];
    if (!sample) continue;
    const attempts = attemptsUntil(input.attempts, sample.t).length;
    if (attempts >= 3) return round((sample.pipe - base.pipe) / attempts);
  }
  return null;
}

/**
 * Growth that lasts: the highest count seen in two consecutive samples. A fixed build holds its six
 * pipes for the instant between creating them and closing them after the failed fork, and a sample
 * can land in that instant; a leak shows in every sample after it.
 */
export function persistentGrowth(samples: FdSample[], baseline: number): number {
  if (samples.length < 2) return (samples[0]?.total ?? baseline) - baseline;
  let peak = Number.NEGATIVE_INFINITY;
  for (let i = 1; i < samples.length; i++) {
    peak = Math.max(peak, Math.min(samples[i - 1]?.total ?? 0, samples[i]?.total ?? 0));
  }
  return peak - baseline;
}

/** The fd evidence of a run so far, whatever the checker. */
export function fdEvidence(input: FdLeakInput): Evidence {
  return analyse(input).evidence;
}

function analyse(input: FdLeakInput) {
  const { samples, events, probes, baseline, ceiling } = input;
  const failures = input.attempts;
  const attempts = failures.length;
  const perAttempt = pipesPerAttempt(input);
  const peak = samples.length ? Math.max(...samples.map((s) => s.total)) : null;
  const peakMaxFd = samples.length ? Math.max(...samples.map((s) => s.maxFd)) : null;
  const firstFailure = failures[0];
  const firstPipesError = events.find((e) => e.kind === "pipes-error");
  const firstRegisterError = events.find((e) => e.kind === "register-error");
  const atCeiling = samples.find((s) => s.maxFd >= ceiling - input.fdsPerAttempt);
  const exhaustedMs = Math.min(
    atCeiling?.t ?? Number.POSITIVE_INFINITY,
    firstPipesError?.t ?? Number.POSITIVE_INFINITY,
  );
  const refused = Number.isFinite(exhaustedMs) ? probes.find((p) => !p.ok && p.t >= exhaustedMs) : undefined;

  const evidence: Evidence = {
    attempts,
    fdsPerAttempt: perAttempt,
    baseline: baseline?.total ?? null,
    baselinePipes: baseline?.pipe ?? null,
    peak,
    peakMaxFd,
    ceiling,
    firstFailureMs: firstFailure?.t ?? null,
    exhaustedMs: Number.isFinite(exhaustedMs) ? exhaustedMs : null,
    refusedProbe: refused ? (refused.error ?? "refused") : null,
    errno: events.find((e) => e.kind === "fork-failed")?.errno ?? null,
    logLines: [firstFailure, firstPipesError, firstRegisterError].flatMap((e) => (e?.line ? [e.line] : [])),
    growth: [],
  };
  return { evidence, failures, attempts, perAttempt, firstFailure, exhaustedMs, refused };
}

export function decideFdLeak(input: FdLeakInput): Decision | undefined {
  const { samples, events, probes, baseline, ceiling } = input;
  const { evidence, failures, attempts, perAttempt, firstFailure, exhaustedMs, refused } = analyse(input);
  const decided = (verdict: Verdict, reason: string): Decision => ({ verdict, reason, evidence });

  if (input.ended?.reason === "container-exited")
    return decided("inconclusive", `container died: ${input.ended.detail}`);

  const leaking = perAttempt !== null && Math.abs(perAttempt - input.fdsPerAttempt) <= 1;
  if (attempts >= 3 && leaking && Number.isFinite(exhaustedMs) && refused) {
    return decided(
      "exhaustion",
      `${perAttempt} fds leaked per failed fork; fds reached the ceiling ${ceiling} after ${attempts} failed forks and a fresh client was refused`,
    );
  }

  // A full table with a hole that fresh clients still find: every fork attempt leaked, but the
  // trigger frees one slot between attempts (CONFIG SET appendonly closes the AOF it opened).
  // "Full" is proven by an attempt that failed for want of a slot (pipes-error), not by being near
  // the ceiling, and clients must keep getting in for a second after that.
  const fullAt = events.find((e) => e.kind === "pipes-error")?.t;
  const probesWhenFull = fullAt === undefined ? [] : probes.filter((p) => p.t >= fullAt);
  const span = probesWhenFull.length ? (probesWhenFull.at(-1)?.t ?? 0) - (probesWhenFull[0]?.t ?? 0) : 0;
  if (
    attempts >= 3 &&
    leaking &&
    probesWhenFull.length >= 3 &&
    span >= 1_000 &&
    probesWhenFull.every((p) => p.ok)
  ) {
    return decided(
      "growing",
      `${perAttempt} fds leaked per failed fork up to the ceiling ${ceiling} after ${attempts} failed forks, but fresh clients still connect (${probesWhenFull.length} probes over ${(span / 1000).toFixed(1)} s with the table full)`,
    );
  }

  if (baseline && firstFailure) {
    const growth = persistentGrowth(
      samples.filter((s) => s.t >= firstFailure.t),
      baseline.total,
    );
    const probesAfter = probes.filter((p) => p.t >= firstFailure.t);
    const enoughAt = failures[input.attemptsNeeded - 1]?.t;
    const probedAfterBudget = enoughAt !== undefined && probesAfter.some((p) => p.t >= enoughAt);
    if (attempts >= input.attemptsNeeded && growth <= input.tolerance) {
      if (probesAfter.some((p) => !p.ok)) {
        const bad = probesAfter.find((p) => !p.ok);
        return decided(
          "inconclusive",
          `fds stayed flat but a fresh client was refused (${bad?.error ?? "?"})`,
        );
      }
      if (probedAfterBudget) {
        return decided(
          "stable",
          `fds stayed within ${growth} of the baseline ${baseline.total} over ${attempts} failed forks and fresh clients connected`,
        );
      }
    }
  }

  if (!input.ended) return undefined;
  if (attempts === 0)
    return decided("inconclusive", `no fork failure seen before the run ended (${input.ended.detail})`);
  if (perAttempt !== null && perAttempt >= 1) {
    return decided(
      "inconclusive",
      `fds grew by ${perAttempt} per failed fork over ${attempts} attempts but exhaustion was not shown (${input.ended.detail})`,
    );
  }
  if (attempts < input.attemptsNeeded) {
    return decided(
      "inconclusive",
      `too few failed forks: ${attempts} of ${input.attemptsNeeded} (${input.ended.detail})`,
    );
  }
  return decided(
    "inconclusive",
    `neither stable nor exhausted after ${attempts} failed forks (${input.ended.detail})`,
  );
}
