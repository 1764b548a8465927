import { z } from "zod";
import type { CheckContext, Checker } from "../../core/checker.js";
import {
  type Attempt,
  attemptsUntil,
  type History,
  type Point,
  seriesNames,
  seriesOf,
} from "../../core/history.js";
import type { Decision, Fact } from "../../core/outcome.js";
import { nodeEvents, type ResourceLabel, resourceDecision, type SpecArg, seconds } from "./common.js";
import { judgeGrowth, SeriesGrowth, seriesGrowth } from "./growth.js";

/**
 * Does the 7.x AOF directory grow with attempts (failed forks), or is its growth bounded?
 *
 * - growing (bug): the growth judgement on the file count, at least 0.8 files per attempt over at
 *   least 10 attempts (the manifest's bytes reported beside).
 * - stable (no bug), one of three ways, each "the directory stopped growing and we watched it stay so":
 *   1. the rewrite limiter engaged (its "…triggered the limit…" line), no attempt since, and for the
 *      last `holdMs` the file count stayed within 1 of its count at the limiter's line: growth
 *      bounded by the limiter's threshold (3 files in 7.x), the next retry minutes away;
 *   2. over the attempt budget the file count stayed within 1 (a rewrite's temp file): a build that
 *      removes what a failed fork made;
 *   3. no attempt at all (the control), a rewrite started, and for `holdMs` after the last one (and
 *      after the rewrite's own temp and incr files were gone) the directory held at most one file
 *      more than its first sample.
 * - otherwise undecided while the run goes on, and inconclusive (unknown) once it has ended.
 * It reads the scenario's aof-dir probe (by name) and the main node's log events.
 */
export const AofDirSpec = z
  .object({
    checker: z.literal("aof-dir"),
    /** The aof-dir probe whose series it reads. */
    probe: z.string().default("aofdir"),
    /** How long a bounded directory must be watched holding still; 5 s is 50 serverCron ticks at hz 10. */
    holdMs: z.number().int().positive().default(5_000),
  })
  .strict();
export type AofDirSpec = z.infer<typeof AofDirSpec>;
export type AofDirSpecInput = z.input<typeof AofDirSpec>;

export const DEFAULT_HOLD_MS = 5_000;

/**
 * The 7.x AOF rewrite limiter as the checker saw it: its "…repeatedly failed and triggered the
 * limit…" line (null: it never engaged), when, after how many attempts and at how many files, and how
 * long the directory then held its file count with no further attempt (a stable decision's hold; for
 * a run with no attempt, the hold after the last rewrite).
 */
export const LimiterEvidence = z.object({
  line: z.string().nullable(),
  atMs: z.number().nullable(),
  attemptsAtLimit: z.number().nullable(),
  filesAtLimit: z.number().nullable(),
  heldMs: z.number().nullable(),
});
export type LimiterEvidence = z.infer<typeof LimiterEvidence>;

export const AofDirEvidence = z.object({
  probe: z.string(),
  attempts: z.number(),
  files: SeriesGrowth,
  manifest: SeriesGrowth,
  /** The directory's first reading (the growth's `before` is the one at the first attempt). */
  firstFiles: z.number().nullable(),
  firstManifestBytes: z.number().nullable(),
  limiter: LimiterEvidence,
  rewrites: z.number(),
  holdMs: z.number(),
  /** The errno text of the first failed fork (ENOMEM under seccomp, EAGAIN under a pids limit). */
  errno: z.string().nullable(),
  /** INFO's aof_rewrites_consecutive_failures, first and last reading, where a probe read it. */
  consecutiveFailures: z.object({ series: z.string(), first: z.number(), last: z.number() }).nullable(),
});
export type AofDirEvidence = z.infer<typeof AofDirEvidence>;

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

function consecutiveFailures(history: History): AofDirEvidence["consecutiveFailures"] {
  const series = seriesNames(history).find((n) => n.endsWith(".aof_rewrites_consecutive_failures"));
  const points = series ? seriesOf(history, series) : [];
  const [first, last] = [points[0], points.at(-1)];
  return series && first && last ? { series, first: first.v, last: last.v } : null;
}

/** Pure: the aof-dir decision on a history, or undefined while it cannot tell yet. */
export function decideAofDir(
  history: History,
  context: CheckContext,
  specInput: SpecArg<AofDirSpecInput> = {},
): Decision<AofDirEvidence> | undefined {
  const spec = AofDirSpec.parse({ ...specInput, checker: "aof-dir" });
  const filesName = `${spec.probe}.files`;
  const files = seriesOf(history, filesName);
  const manifestBytes = seriesOf(history, `${spec.probe}.manifestBytes`);
  const { attempts } = history;
  const events = nodeEvents(history);
  const manifest = seriesGrowth(`${spec.probe}.manifestBytes`, manifestBytes, attempts);
  const { growth, judged } = judgeGrowth({
    series: filesName,
    points: files,
    attempts,
    perAttempt: 0.8,
    tolerance: 1,
    minAttempts: Math.min(10, context.attemptsNeeded),
    attemptsNeeded: context.attemptsNeeded,
    ...(context.ended ? { ended: context.ended } : {}),
    words: "the AOF directory's file count",
  });

  const limited = events.find((e) => e.kind === "rewrite-limited");
  const atLimit = limited && files.find((p) => p.t >= limited.t);
  const heldAfterLimit = limited && atLimit ? heldSince(limited.t, atLimit.v, files, attempts) : null;
  const rewrites = events.filter((e) => e.kind === "rewrite-started");
  const lastRewrite = rewrites.at(-1);
  const first = files[0];
  const heldAfterRewrite =
    attempts.length === 0 && lastRewrite && first ? heldSince(lastRewrite.t, first.v, files, attempts) : null;
  const limiter: LimiterEvidence = {
    line: limited?.line ?? null,
    atMs: limited?.t ?? null,
    attemptsAtLimit: limited ? attemptsUntil(attempts, limited.t).length : null,
    filesAtLimit: atLimit?.v ?? null,
    heldMs: heldAfterLimit ?? heldAfterRewrite,
  };
  const evidence: AofDirEvidence = {
    probe: spec.probe,
    attempts: attempts.length,
    files: growth,
    manifest,
    firstFiles: first?.v ?? null,
    firstManifestBytes: manifestBytes[0]?.v ?? null,
    limiter,
    rewrites: rewrites.length,
    holdMs: spec.holdMs,
    errno: events.find((e) => e.kind === "fork-failed")?.errno ?? null,
    consecutiveFailures: consecutiveFailures(history),
  };
  const decided = (label: ResourceLabel, reason: string) =>
    resourceDecision("aof-dir", label, reason, {
      summary: summaryOf(evidence),
      facts: factsOf(evidence),
      evidence,
      plot: { series: filesName, title: "files in the AOF directory", axis: "files" },
    });
  const last = files.at(-1);

  if (context.ended?.reason === "container-exited" || (files.length === 0 && context.ended))
    return judged && decided(judged.label, judged.reason);
  if (judged?.label === "growing") {
    const seen = limiter.line ? "the limiter's line appeared" : "no limiter line in the log";
    return decided(
      "growing",
      `${judged.reason}; manifest ${manifest.before} → ${manifest.after} bytes; ${seen}`,
    );
  }
  if (limiter.line && heldAfterLimit !== null && heldAfterLimit >= spec.holdMs) {
    // The first sample, not the growth's "before": a failed attempt's incr file is on disk before its
    // log line arrives, so the point at the first attempt may already hold it.
    return decided(
      "stable",
      `growth stopped: the rewrite limiter engaged after ${limiter.attemptsAtLimit} attempts (files ${first?.v} → ${limiter.filesAtLimit}, manifest ${manifestBytes[0]?.v} → ${manifest.after} bytes) and the directory held ${last?.v} files with no further attempt for ${seconds(heldAfterLimit)}`,
    );
  }
  if (judged?.label === "stable") return decided("stable", judged.reason);
  if (heldAfterRewrite !== null && heldAfterRewrite >= spec.holdMs) {
    return decided(
      "stable",
      `no attempt; ${rewrites.length} rewrite(s) started and the directory held ${last?.v} files (first sample ${first?.v}) for ${seconds(heldAfterRewrite)} after the last one`,
    );
  }
  if (!context.ended) return undefined;
  if (limiter.line)
    return decided(
      "inconclusive",
      `the limiter engaged after ${limiter.attemptsAtLimit} attempts but the directory was not seen holding still for ${seconds(spec.holdMs)} (${context.ended.detail})`,
    );
  return judged && decided(judged.label, judged.reason);
}

function factsOf(e: AofDirEvidence): Fact[] {
  const l = e.limiter;
  const rows: Fact[] = [
    { name: "failed forks", value: String(e.attempts) },
    {
      name: "files before → after",
      value: `${e.files.before ?? "—"} → ${e.files.after ?? "—"} (${e.files.perAttempt ?? "—"} per attempt over ${e.files.attempts}; first reading ${e.firstFiles ?? "—"})`,
    },
    { name: "manifest bytes", value: `${e.manifest.before ?? "—"} → ${e.manifest.after ?? "—"}` },
    {
      name: "rewrite limiter",
      value: l.line
        ? `engaged after ${l.attemptsAtLimit} attempts at ${l.filesAtLimit ?? "—"} files${l.heldMs === null ? "" : `, held ${seconds(l.heldMs)}`}`
        : l.heldMs !== null
          ? `not engaged; held ${seconds(l.heldMs)} after the last of ${e.rewrites} rewrite(s)`
          : "not engaged",
    },
  ];
  rows.push({ name: "fork error", value: e.errno ?? "—" });
  if (e.consecutiveFailures)
    rows.push({
      name: "consecutive failures (INFO)",
      value: `${e.consecutiveFailures.first} → ${e.consecutiveFailures.last}`,
    });
  return rows;
}

function summaryOf(e: AofDirEvidence): string {
  const l = e.limiter;
  return `files ${e.files.before ?? "—"} → ${e.files.after ?? "—"} (${e.files.perAttempt ?? "—"}/attempt), manifest ${e.manifest.before ?? "—"} → ${e.manifest.after ?? "—"} B, ${l.line ? `limiter after ${l.attemptsAtLimit} attempts` : "no limiter"}`;
}

export function aofDirChecker(specInput: SpecArg<AofDirSpecInput> = {}): Checker<AofDirEvidence> {
  const spec = AofDirSpec.parse({ ...specInput, checker: "aof-dir" });
  return {
    name: "aof-dir",
    reads: [`${spec.probe}.files`, `${spec.probe}.manifestBytes`],
    decide: (history, context) => decideAofDir(history, context, spec),
  };
}
