import { type Attempt, attemptsUntil, type Point } from "../../core/history.js";
import type { Verdict } from "../../scenario/schema.js";
import type { LogEvent } from "../probes/log.js";
import {
  type Decision,
  type Evidence,
  type FdLeakInput,
  fdEvidence,
  type LimiterEvidence,
  type SeriesGrowth,
} from "./fd-leak.js";
import { decideGrowth, seriesGrowth } from "./growth.js";

/**
 * Pure: does the 7.x AOF directory grow with attempts (failed forks), or is its growth bounded?
 *
 * - `growing`: the generic growth checker on the file count, at least 0.8 files per attempt over at
 *   least 10 attempts (the manifest's bytes reported beside).
 * - `stable`, one of three ways, each "the directory stopped growing and we watched it stay so":
 *   1. the rewrite limiter engaged (its "…triggered the limit…" line), no attempt since, and for the
 *      last `holdMs` the file count stayed within 1 of its count at the limiter's line: growth
 *      bounded by the limiter's threshold (3 files in 7.x), the next retry minutes away;
 *   2. over `attemptsNeeded` attempts the file count stayed within 1 (a rewrite's temp file): a build
 *      that removes what a failed fork made;
 *   3. no attempt at all (the control), a rewrite started, and for `holdMs` after the last one (and
 *      after the rewrite's own temp and incr files were gone) the directory held at most one file
 *      more than its first sample.
 * - otherwise undecided while the run goes on, and `inconclusive` once it has ended.
 */
export interface AofDirInput extends FdLeakInput {
  /** The aof-dir probe's series: NAME.files and NAME.manifestBytes. */
  files: Point[];
  manifestBytes: Point[];
  /** The probe's name, for the series names in the evidence. */
  probe?: string;
  /** How long a bounded directory must be watched holding still; 5 s is 50 serverCron ticks at hz 10. */
  holdMs?: number;
}

export const DEFAULT_HOLD_MS = 5_000;

/**
 * Milliseconds the directory has held still since `from`: no attempt after it, measured from the
 * last point with more than `files` + 1 files (a rewrite in flight holds a temp file and a new incr
 * file for a moment) to the last point. Null when an attempt came since, or nothing was sampled since.
 */
function heldSince(from: number, files: number, points: Point[], attempts: Attempt[]): number | null {
  const since = points.filter((p) => p.t >= from);
  const last = since.at(-1);
  if (!last || attempts.some((a) => a.t > from)) return null;
  const lastOver = since.findLast((p) => p.v > files + 1);
  return last.t - (lastOver?.t ?? from);
}

/** The limiter's evidence, and the holds the two bounded routes rest on. */
function limiterOf(input: AofDirInput, events: LogEvent[]) {
  const limited = events.find((e) => e.kind === "rewrite-limited");
  const atLimit = limited && input.files.find((p) => p.t >= limited.t);
  const heldAfterLimit =
    limited && atLimit ? heldSince(limited.t, atLimit.v, input.files, input.attempts) : null;
  const lastRewrite = events.findLast((e) => e.kind === "rewrite-started");
  const first = input.files[0];
  const heldAfterRewrite =
    input.attempts.length === 0 && lastRewrite && first
      ? heldSince(lastRewrite.t, first.v, input.files, input.attempts)
      : null;
  const limiter: LimiterEvidence = {
    line: limited?.line ?? null,
    atMs: limited?.t ?? null,
    attemptsAtLimit: limited ? attemptsUntil(input.attempts, limited.t).length : null,
    filesAtLimit: atLimit?.v ?? null,
    heldMs: heldAfterLimit ?? heldAfterRewrite,
  };
  return {
    limiter,
    heldAfterLimit,
    heldAfterRewrite,
    rewrites: events.filter((e) => e.kind === "rewrite-started"),
  };
}

export function decideAofDir(input: AofDirInput): Decision | undefined {
  const holdMs = input.holdMs ?? DEFAULT_HOLD_MS;
  const files = `${input.probe ?? "aofdir"}.files`;
  const manifest = seriesGrowth(
    `${input.probe ?? "aofdir"}.manifestBytes`,
    input.manifestBytes,
    input.attempts,
  );
  const growth = decideGrowth({
    series: files,
    points: input.files,
    attempts: input.attempts,
    perAttempt: 0.8,
    tolerance: 1,
    minAttempts: Math.min(10, input.attemptsNeeded),
    attemptsNeeded: input.attemptsNeeded,
    ...(input.ended ? { ended: input.ended } : {}),
    evidence: fdEvidence(input),
    label: "the AOF directory's file count",
    also: [manifest],
  });
  const { limiter, heldAfterLimit, heldAfterRewrite, rewrites } = limiterOf(input, input.events);
  const withLimiter = (d: Decision): Decision => ({ ...d, evidence: { ...d.evidence, limiter } });
  const decided = (verdict: Verdict, reason: string): Decision =>
    withLimiter({
      verdict,
      reason,
      evidence: {
        ...fdEvidence(input),
        growth: [seriesGrowth(files, input.files, input.attempts), manifest],
      },
    });
  const last = input.files.at(-1);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

  if (input.ended?.reason === "container-exited" || (input.files.length === 0 && input.ended))
    return growth && withLimiter(growth);
  if (growth?.verdict === "growing") {
    const seen = limiter.line ? "the limiter's line appeared" : "no limiter line in the log";
    return withLimiter({
      ...growth,
      reason: `${growth.reason}; manifest ${manifest.before} → ${manifest.after} bytes; ${seen}`,
    });
  }
  if (limiter.line && heldAfterLimit !== null && heldAfterLimit >= holdMs) {
    // The first sample, not the growth's "before": a failed attempt's incr file is on disk before its
    // log line arrives, so the point at the first attempt may already hold it.
    return decided(
      "stable",
      `growth stopped: the rewrite limiter engaged after ${limiter.attemptsAtLimit} attempts (files ${input.files[0]?.v} → ${limiter.filesAtLimit}, manifest ${input.manifestBytes[0]?.v} → ${manifest.after} bytes) and the directory held ${last?.v} files with no further attempt for ${seconds(heldAfterLimit)}`,
    );
  }
  if (growth?.verdict === "stable") return withLimiter(growth);
  if (heldAfterRewrite !== null && heldAfterRewrite >= holdMs) {
    return decided(
      "stable",
      `no attempt; ${rewrites.length} rewrite(s) started and the directory held ${last?.v} files (first sample ${input.files[0]?.v}) for ${seconds(heldAfterRewrite)} after the last one`,
    );
  }
  if (!input.ended) return undefined;
  if (limiter.line)
    return decided(
      "inconclusive",
      `the limiter engaged after ${limiter.attemptsAtLimit} attempts but the directory was not seen holding still for ${seconds(holdMs)} (${input.ended.detail})`,
    );
  return growth && withLimiter(growth);
}

/**
 * The AOF directory's side of an aof-dir decision, as report, chart and summary read it: the file
 * count's and the manifest's growth entries and the limiter. Undefined for other checkers' evidence.
 */
export function aofView(
  evidence: Evidence,
):
  | { files: SeriesGrowth | undefined; manifest: SeriesGrowth | undefined; limiter: LimiterEvidence }
  | undefined {
  if (!evidence.limiter) return undefined;
  return {
    files: evidence.growth.find((g) => g.series.endsWith(".files")),
    manifest: evidence.growth.find((g) => g.series.endsWith(".manifestBytes")),
    limiter: evidence.limiter,
  };
}
