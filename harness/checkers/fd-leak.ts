import { z } from "zod";
import type { ConnectProbe } from "../probes/connect.js";
import type { FdSample } from "../probes/fds.js";
import type { LogEvent } from "../probes/log.js";
import { Verdict } from "../scenario.js";

/**
 * Pure: samples, log events and probes in, verdict with evidence out. `exhaustion`: pipe fds grow by
 * about fdsPerAttempt per failed fork, reach the ceiling, and a fresh client is refused. `stable`:
 * over at least `attemptsNeeded` failed forks the count stays within `tolerance` of its baseline and
 * fresh clients connect. Anything else is undecided while the run goes on and `inconclusive` once it ends.
 */
export interface FdLeakInput {
  samples: FdSample[];
  events: LogEvent[];
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

export const AofEvidence = z.object({
  attempts: z.number(),
  filesBefore: z.number().nullable(),
  filesAfter: z.number().nullable(),
  incrPerAttempt: z.number().nullable(),
  manifestBytesBefore: z.number().nullable(),
  manifestBytesAfter: z.number().nullable(),
});
export type AofEvidence = z.infer<typeof AofEvidence>;

/** A verdict on the scenario's resource; fd evidence is always kept, AOF-directory evidence when watched. */
export const Decision = z.object({
  verdict: Verdict,
  reason: z.string(),
  evidence: FdEvidence,
  aof: AofEvidence.nullable().default(null),
});
export type Decision = z.infer<typeof Decision>;

const round = (n: number) => Math.round(n * 100) / 100;

export function failedForks(events: LogEvent[], until = Number.POSITIVE_INFINITY): LogEvent[] {
  return events.filter((e) => e.kind === "fork-failed" && e.t <= until);
}

/** Pipe fds added per failed fork, measured before the ceiling bends the line. */
export function pipesPerAttempt(input: FdLeakInput): number | null {
  const base = input.baseline;
  if (!base) return null;
  const unbent = input.samples.filter((s) => s.maxFd < input.ceiling - input.fdsPerAttempt);
  for (let i = unbent.length - 1; i >= 0; i--) {
    const sample = unbent[i];
    if (!sample) continue;
    const attempts = failedForks(input.events, sample.t).length;
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
export function fdEvidence(input: FdLeakInput): FdEvidence {
  return analyse(input).evidence;
}

function analyse(input: FdLeakInput) {
  const { samples, events, probes, baseline, ceiling } = input;
  const failures = failedForks(events);
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

  const evidence: FdEvidence = {
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
    errno: firstFailure?.errno ?? null,
    logLines: [firstFailure, firstPipesError, firstRegisterError].flatMap((e) => (e ? [e.line] : [])),
  };
  return { evidence, failures, attempts, perAttempt, firstFailure, exhaustedMs, refused };
}

export function decideFdLeak(input: FdLeakInput): Decision | undefined {
  const { samples, events, probes, baseline, ceiling } = input;
  const { evidence, failures, attempts, perAttempt, firstFailure, exhaustedMs, refused } = analyse(input);
  const decided = (verdict: Verdict, reason: string): Decision => ({ verdict, reason, evidence, aof: null });

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
