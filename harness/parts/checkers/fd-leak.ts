import { z } from "zod";
import type { CheckContext, Checker } from "../../core/checker.js";
import { attemptsUntil, type History, seriesOf } from "../../core/history.js";
import type { Decision, Fact } from "../../core/outcome.js";
import { connectResults } from "../probes/connect.js";
import { type FdSample, fdSamples } from "../probes/fds.js";
import {
  containerDied,
  diedText,
  nodeEvents,
  type ResourceLabel,
  resourceDecision,
  round,
  type SpecArg,
  seconds,
  UNKNOWN_LABEL,
} from "./common.js";
import {
  ClientsWhenFull,
  ceilingOf,
  ceilingText,
  clientsWhenFull,
  fdCheckerProbes,
  holeText,
  pipesErrorAt,
} from "./fd-table.js";
import { comparePrediction, FdPrediction, predictExhaustionSeconds } from "./prediction.js";

/**
 * The seed's checker: does each failed fork leak `fdsPerAttempt` fds until the event loop is full?
 * - exhaustion (bug): pipe fds grow by about fdsPerAttempt per failed fork, reach the ceiling, and a
 *   fresh client is refused after that;
 * - growing (bug): they grow the same way up to a full table, but fresh clients still get in for a
 *   second after it (a trigger that frees a slot between attempts);
 * - stable (no bug): over at least the scenario's attempt budget the count stays within `tolerance`
 *   of its baseline (in two readings running) and fresh clients connect, one after the budget;
 * - inconclusive (unknown) once the run has ended without either, with the reason.
 * With `predict`, a leak that reached the ceiling must do so in (ceiling − baseline) /
 * (fdsPerAttempt · hz) seconds within the tolerance (a fraction), or the outcome is unknown.
 */
export const FdLeakSpec = z
  .object({
    checker: z.literal("fd-leak"),
    /** fds above baseline still counted as flat (transient client sockets, background closes). */
    tolerance: z.number().int().min(0).default(3),
    /** Pipe fds a leaking attempt leaves behind (3 pipes). */
    fdsPerAttempt: z.number().positive().default(6),
    /** Fidelity: the measured time to exhaustion must agree with the seed's arithmetic within `tolerance`. */
    predict: z
      .object({ tolerance: z.number().positive().max(1) })
      .strict()
      .optional(),
  })
  .strict();
export type FdLeakSpec = z.infer<typeof FdLeakSpec>;
export type FdLeakSpecInput = z.input<typeof FdLeakSpec>;

export const FdLeakEvidence = z.object({
  /** Attempts (by default each failed fork's log line): what "per failed fork" divides by. */
  attempts: z.number(),
  /** Pipe fds added per attempt, measured below the ceiling (null before 3 attempts or without a baseline). */
  fdsPerAttempt: z.number().nullable(),
  /** What the spec says a leaking attempt leaves. */
  expectedPerAttempt: z.number(),
  baseline: z.number().nullable(),
  baselinePipes: z.number().nullable(),
  peak: z.number().nullable(),
  /** The highest total seen in two samples in a row: a fixed build's six pipes live for an instant. */
  lastingPeak: z.number().nullable(),
  peakMaxFd: z.number().nullable(),
  ceiling: z.number().nullable(),
  maxclients: z.number().nullable(),
  nofile: z.number().nullable(),
  firstFailureMs: z.number().nullable(),
  /** When the highest fd came within fdsPerAttempt of the ceiling, or an attempt failed for want of a slot. */
  exhaustedMs: z.number().nullable(),
  /** The first fresh client refused at or after exhaustedMs. */
  refused: z.object({ t: z.number(), error: z.string() }).nullable(),
  clientsWhenFull: ClientsWhenFull.nullable(),
  /** Fresh-client probes made. */
  probes: z.number(),
  /** The errno text of the first failed fork. */
  errno: z.string().nullable(),
  /** The first failed fork's, pipes-error's and register-error's lines. */
  logLines: z.array(z.string()),
  prediction: FdPrediction.nullable(),
});
export type FdLeakEvidence = z.infer<typeof FdLeakEvidence>;

/** How long an exhaustion waits for the refused client's own log line (register-error) to arrive. */
export const SETTLE_MS = 300;

/** Redis's hz when the config probe did not read it. */
const DEFAULT_HZ = 10;

/** Pipe fds added per failed fork, measured before the ceiling bends the line. */
export function pipesPerAttempt(
  samples: FdSample[],
  attempts: History["attempts"],
  ceiling: number | null,
  fdsPerAttempt: number,
): number | null {
  const base = samples[0];
  if (!base) return null;
  const top = ceiling ?? Number.POSITIVE_INFINITY;
  const unbent = samples.filter((s) => s.maxFd < top - fdsPerAttempt);
  for (let i = unbent.length - 1; i >= 0; i--) {
    const sample = unbent[i];
    if (!sample) continue;
    const seen = attemptsUntil(attempts, sample.t).length;
    if (seen >= 3) return round((sample.pipe - base.pipe) / seen);
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

/** The fd evidence of the history so far. */
export function fdLeakEvidence(history: History, spec: FdLeakSpec): FdLeakEvidence {
  const samples = fdSamples(history);
  const events = nodeEvents(history);
  const probes = connectResults(history);
  const limits = ceilingOf(history);
  const top = limits.ceiling ?? Number.POSITIVE_INFINITY;
  const baseline = samples[0];
  const firstFailure = history.attempts[0];
  const firstPipesError = events.find((e) => e.kind === "pipes-error");
  const firstRegisterError = events.find((e) => e.kind === "register-error");
  const atCeiling = samples.find((s) => s.maxFd >= top - spec.fdsPerAttempt);
  const exhaustedMs = Math.min(
    atCeiling?.t ?? Number.POSITIVE_INFINITY,
    firstPipesError?.t ?? Number.POSITIVE_INFINITY,
  );
  const refused = Number.isFinite(exhaustedMs) ? probes.find((p) => !p.ok && p.t >= exhaustedMs) : undefined;
  return {
    attempts: history.attempts.length,
    fdsPerAttempt: pipesPerAttempt(samples, history.attempts, limits.ceiling, spec.fdsPerAttempt),
    expectedPerAttempt: spec.fdsPerAttempt,
    baseline: baseline?.total ?? null,
    baselinePipes: baseline?.pipe ?? null,
    peak: samples.length ? Math.max(...samples.map((s) => s.total)) : null,
    lastingPeak: samples.length ? persistentGrowth(samples, 0) : null,
    peakMaxFd: samples.length ? Math.max(...samples.map((s) => s.maxFd)) : null,
    ...limits,
    firstFailureMs: firstFailure?.t ?? null,
    exhaustedMs: Number.isFinite(exhaustedMs) ? exhaustedMs : null,
    refused: refused ? { t: refused.t, error: refused.error ?? "refused" } : null,
    clientsWhenFull: null,
    probes: probes.length,
    errno: events.find((e) => e.kind === "fork-failed")?.errno ?? null,
    logLines: [firstFailure, firstPipesError, firstRegisterError].flatMap((e) => (e?.line ? [e.line] : [])),
    prediction: null,
  };
}

/** The seed's arithmetic against what was measured: null without a baseline or a ceiling to predict from. */
function predictionOf(history: History, e: FdLeakEvidence, tolerance: number): FdPrediction | null {
  if (e.baseline === null || e.ceiling === null) return null;
  const read = seriesOf(history, "config.hz").at(-1)?.v;
  const hz = read ?? DEFAULT_HZ;
  const predicted = predictExhaustionSeconds(e.ceiling, e.baseline, e.expectedPerAttempt, hz);
  const measured =
    e.exhaustedMs === null || e.firstFailureMs === null ? null : (e.exhaustedMs - e.firstFailureMs) / 1000;
  return {
    ...comparePrediction(predicted, measured, tolerance),
    hz,
    hzFrom: read === undefined ? "default" : "config",
  };
}

type Judged = { label: ResourceLabel; reason: string } | undefined;

function judge(history: History, context: CheckContext, spec: FdLeakSpec, e: FdLeakEvidence): Judged {
  const decided = (label: ResourceLabel, reason: string) => ({ label, reason });
  const died = containerDied(context);
  if (died) return decided("inconclusive", diedText(died));
  const { attempts, fdsPerAttempt: perAttempt, exhaustedMs, refused } = e;
  const ceiling = e.ceiling ?? "unknown";
  const leaking = perAttempt !== null && Math.abs(perAttempt - spec.fdsPerAttempt) <= 1;
  if (attempts >= 3 && leaking && exhaustedMs !== null && refused) {
    // The refused client's own log line may still be on its way: give it a moment to arrive.
    const logged = nodeEvents(history).some((ev) => ev.kind === "register-error");
    if (!logged && !context.ended && context.now < refused.t + SETTLE_MS) return undefined;
    return decided(
      "exhaustion",
      `${perAttempt} fds leaked per failed fork; fds reached the ceiling ${ceiling} after ${attempts} failed forks and a fresh client was refused`,
    );
  }

  const probes = connectResults(history);
  const hole = clientsWhenFull(probes, pipesErrorAt(history));
  if (attempts >= 3 && leaking && hole) {
    e.clientsWhenFull = hole;
    return decided(
      "growing",
      `${perAttempt} fds leaked per failed fork up to the ceiling ${ceiling} after ${attempts} failed forks, but fresh clients still connect (${holeText(hole)})`,
    );
  }

  const samples = fdSamples(history);
  const baseline = samples[0];
  const firstFailure = history.attempts[0];
  if (baseline && firstFailure) {
    const growth = persistentGrowth(
      samples.filter((s) => s.t >= firstFailure.t),
      baseline.total,
    );
    const probesAfter = probes.filter((p) => p.t >= firstFailure.t);
    const enoughAt = history.attempts[context.attemptsNeeded - 1]?.t;
    const probedAfterBudget = enoughAt !== undefined && probesAfter.some((p) => p.t >= enoughAt);
    if (attempts >= context.attemptsNeeded && growth <= spec.tolerance) {
      const bad = probesAfter.find((p) => !p.ok);
      if (bad)
        return decided(
          "inconclusive",
          `fds stayed flat but a fresh client was refused (${bad.error ?? "?"})`,
        );
      if (probedAfterBudget)
        return decided(
          "stable",
          `fds stayed within ${growth} of the baseline ${baseline.total} over ${attempts} failed forks and fresh clients connected`,
        );
    }
  }

  const ended = context.ended;
  if (!ended) return undefined;
  if (attempts === 0)
    return decided("inconclusive", `no fork failure seen before the run ended (${ended.detail})`);
  if (perAttempt !== null && perAttempt >= 1)
    return decided(
      "inconclusive",
      `fds grew by ${perAttempt} per failed fork over ${attempts} attempts but exhaustion was not shown (${ended.detail})`,
    );
  if (attempts < context.attemptsNeeded)
    return decided(
      "inconclusive",
      `too few failed forks: ${attempts} of ${context.attemptsNeeded} (${ended.detail})`,
    );
  return decided(
    "inconclusive",
    `neither stable nor exhausted after ${attempts} failed forks (${ended.detail})`,
  );
}

function facts(e: FdLeakEvidence, label: ResourceLabel): Fact[] {
  const rows: Fact[] = [
    { name: "failed forks", value: String(e.attempts) },
    {
      name: "fds per failed fork",
      value: `${e.fdsPerAttempt ?? "—"} (a leak leaves ${e.expectedPerAttempt})`,
    },
    { name: "fds baseline → peak", value: peakText(e, label) },
    { name: "event loop ceiling", value: ceilingText(e) },
    {
      name: "time to exhaustion",
      value:
        e.exhaustedMs === null
          ? "not reached"
          : e.firstFailureMs === null
            ? `at ${seconds(e.exhaustedMs)}`
            : `${seconds(e.exhaustedMs - e.firstFailureMs)} after the first failed fork`,
    },
    { name: "fresh client", value: clientText(e) },
    { name: "fork error", value: e.errno ?? "—" },
  ];
  const p = e.prediction;
  if (p)
    rows.push({
      name: "predicted time to exhaustion",
      value: `${p.predictedSeconds} s at hz ${p.hz}${p.hzFrom === "default" ? " (not read: Redis's default)" : ""}; measured ${p.measuredSeconds === null ? "—" : `${p.measuredSeconds} s`}${p.deviation === null ? "" : `, off by ${Math.round(p.deviation * 1000) / 10} % (tolerance ${Math.round(p.tolerance * 100)} %)`}`,
    });
  return rows;
}

/**
 * The peak; for a stable build also the lasting one, which its reason quotes, where a sample caught
 * the instant a failing fork's pipes were open.
 */
function peakText(e: FdLeakEvidence, label: ResourceLabel): string {
  const lasting =
    label === "stable" && e.lastingPeak !== null && e.lastingPeak !== e.peak
      ? ` (${e.lastingPeak} lasting)`
      : "";
  return `${e.baseline ?? "—"} → ${e.peak ?? "—"}${lasting}`;
}

function clientText(e: FdLeakEvidence): string {
  if (e.refused) return `refused at ${seconds(e.refused.t)}: ${e.refused.error}`;
  if (e.clientsWhenFull) return `connected with the table full (${holeText(e.clientsWhenFull)})`;
  return e.probes ? `connected (${e.probes} probes)` : "not probed";
}

function summaryOf(e: FdLeakEvidence, label: ResourceLabel): string {
  const client = e.refused
    ? "client refused"
    : e.clientsWhenFull
      ? "clients still connect"
      : "clients connect";
  return `${e.fdsPerAttempt ?? "—"} fd/failed fork, fds ${peakText(e, label)} (ceiling ${e.ceiling ?? "—"}), ${e.attempts} failed forks, ${client}`;
}

/** Pure: the fd-leak decision on a history, or undefined while it cannot tell yet. */
export function decideFdLeak(
  history: History,
  context: CheckContext,
  specInput: FdLeakSpecInput = { checker: "fd-leak" },
): Decision<FdLeakEvidence> | undefined {
  const spec = FdLeakSpec.parse(specInput);
  const e = fdLeakEvidence(history, spec);
  const judged = judge(history, context, spec, e);
  if (!judged) return undefined;
  let { label, reason } = judged;
  if (spec.predict) {
    e.prediction = predictionOf(history, e, spec.predict.tolerance);
    const p = e.prediction;
    // A leak that filled the table is measured against the arithmetic; no other outcome has a time to compare.
    if (label === "exhaustion" || label === "growing") {
      if (!p)
        [label, reason] = [UNKNOWN_LABEL, `${reason}; no prediction could be made (no baseline or ceiling)`];
      else if (!p.within)
        [label, reason] = [
          UNKNOWN_LABEL,
          `${reason}, but the table filled ${p.measuredSeconds === null ? "at no measured time" : `${p.measuredSeconds} s`} after the first failed fork where ${p.predictedSeconds} s was predicted (off by ${p.deviation === null ? "—" : `${Math.round(p.deviation * 1000) / 10} %`}, more than the tolerance ${Math.round(p.tolerance * 100)} %)`,
        ];
    }
  }
  const marks = e.refused ? [{ t: e.refused.t, label: "client refused" }] : [];
  return resourceDecision("fd-leak", label, reason, {
    summary: summaryOf(e, label),
    facts: facts(e, label),
    evidence: e,
    plot: { series: "fds.total", title: "open fds of the main node", axis: "fds", ceiling: e.ceiling, marks },
  });
}

/** The fd-leak checker: its decision, and the probes it asks the run for (fds, fresh client, maxclients, hz). */
export function fdLeakChecker(specInput: SpecArg<FdLeakSpecInput> = {}): Checker<FdLeakEvidence> {
  const spec = FdLeakSpec.parse({ ...specInput, checker: "fd-leak" });
  return {
    name: "fd-leak",
    // Near the ceiling (3 attempts' worth) no probe until an attempt failed for want of a slot.
    probes: fdCheckerProbes({
      margin: 3 * spec.fdsPerAttempt,
      full: (history) => pipesErrorAt(history) !== undefined,
    }),
    decide: (history, context) => decideFdLeak(history, context, spec),
  };
}
