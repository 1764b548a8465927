import { z } from "zod";
import { aofView } from "../checkers/aof-dir.js";
import { Environment } from "../environment.js";
import { RunResult, type TargetResult } from "../result.js";
import { type Scenario, scenarioData } from "../scenario/index.js";
import { type HostDir, hostDirs, scrubDeep } from "./scrub.js";
import { freshClient, timeToExhaustion } from "./summary.js";

/**
 * What a report folder holds, as data: report.json is this, report.md and the chart are rendered
 * from it, and `redis-repro report show` reads it back. The whole RunResult is kept so that the
 * summary `run` printed can be printed again from the file alone.
 */
export const REPORT_FORMAT = "redis-repro-report/1";

export const ReportFiles = z.object({
  markdown: z.string(),
  json: z.string(),
  chart: z.string(),
  /** Files in the AOF directory over time, when a target watched it (resource aof-dir). */
  aofChart: z.string().nullable().default(null),
  scenario: z.string(),
  raw: z.array(
    z.object({
      target: z.string(),
      log: z.string(),
      samples: z.string(),
      events: z.string(),
      probes: z.string(),
      /** Every probe series the run recorded (NAME.FIELD), one row per point: t_ms, series, value. */
      series: z.string().nullable().default(null),
    }),
  ),
});
export type ReportFiles = z.infer<typeof ReportFiles>;

/** One target's line of the summary table, with how its source was verified. */
export const ReportTarget = z.object({
  target: z.string(),
  verdict: z.string(),
  expected: z.string().nullable(),
  matches: z.boolean().nullable(),
  reason: z.string(),
  attempts: z.number(),
  fdsPerAttempt: z.number().nullable(),
  baseline: z.number().nullable(),
  peak: z.number().nullable(),
  ceiling: z.number(),
  timeToExhaustionMs: z.number().nullable(),
  freshClient: z.string(),
  errno: z.string().nullable(),
  evidence: z.array(z.string()),
  image: z.string(),
  imageOrigin: z.string(),
  /** The server that ran (null in reports made before Valkey: redis). */
  server: z.string().nullable().default(null),
  version: z.string().nullable(),
  fault: z.string(),
  source: z.object({ check: z.string().nullable(), meaning: z.string() }),
});
export type ReportTarget = z.infer<typeof ReportTarget>;

/** The AOF directory's side of a target (resource aof-dir): files, manifest, the limiter. */
export const ReportAof = z.object({
  target: z.string(),
  verdict: z.string(),
  attempts: z.number(),
  filesBefore: z.number().nullable(),
  filesAfter: z.number().nullable(),
  filesPerAttempt: z.number().nullable(),
  manifestBytesBefore: z.number().nullable(),
  manifestBytesAfter: z.number().nullable(),
  manifestBytesPerAttempt: z.number().nullable(),
  limiterLine: z.string().nullable(),
  attemptsAtLimit: z.number().nullable(),
  /** INFO persistence aof_rewrites_consecutive_failures at the end of the run (7.0+). */
  consecutiveFailures: z.string().nullable(),
});
export type ReportAof = z.infer<typeof ReportAof>;

/** The scenario's verdict on each release as the catalogue records it (measured runs only). */
export const ReportRelease = z.object({
  target: z.string(),
  verdict: z.string(),
  runs: z.number(),
  date: z.string(),
});
export type ReportRelease = z.infer<typeof ReportRelease>;

/** A patch a target was built with, verbatim: what a maintainer reviews. */
export const ReportPatch = z.object({ name: z.string(), text: z.string() });
export type ReportPatch = z.infer<typeof ReportPatch>;

export const Report = z.object({
  format: z.literal(REPORT_FORMAT),
  generatedAt: z.string(),
  title: z.string(),
  outcome: z.string(),
  rerun: z.object({
    command: z.string(),
    /** Set when the command needs something from the report's folder (a scenario given as a file). */
    note: z.string().nullable(),
  }),
  targets: z.array(ReportTarget),
  aof: z.array(ReportAof).default([]),
  releases: z.array(ReportRelease).default([]),
  patches: z.array(ReportPatch).default([]),
  /**
   * The scenario as run. Loose on purpose: a report must stay readable after the scenario schema
   * gains fields, and it is shown, never run, from here (scenario.json beside it is the runnable copy).
   */
  scenario: z.looseObject({ name: z.string() }),
  environment: Environment,
  files: ReportFiles,
  run: RunResult,
});
export type Report = z.infer<typeof Report>;

/** What each sourceCheck value means to a reader who has not seen harness/targets/verify.ts. */
export function sourceMeaning(r: Pick<TargetResult, "sourceCheck" | "imageOrigin">): string {
  const check = r.sourceCheck;
  const published = check ? /^published-(\w+)$/.exec(check) : null;
  if (published) return `tarball ${published[1]} equals the hash Redis published for the release`;
  if (check === "files-digest")
    return "sha256 over the files inside the tarball equals the release's known files digest";
  if (check === "debian-archive")
    return "Debian's orig tarball: its sha256 equals the one in the suite's Sources index, whose sha256 is in InRelease, whose signature gpgv checked against Debian's archive keyring";
  if (check) return check;
  if (r.imageOrigin === "brought") return "brought image, used as is: not built from a verified source";
  return "not recorded";
}

/** File names for a target's raw files: targets hold "/" and ":" (image:ghcr.io/x/redis:7). */
export function rawBaseNames(targets: string[]): string[] {
  const used = new Set<string>();
  return targets.map((t) => {
    const base = t.replace(/[^A-Za-z0-9._+-]+/g, "_").replace(/^\.+/, "_") || "target";
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}-${i}`;
    used.add(name);
    return name;
  });
}

export function reportFiles(
  targets: string[],
  options: { aofChart?: boolean; series?: boolean } = {},
): ReportFiles {
  return {
    markdown: "report.md",
    json: "report.json",
    chart: "fds.svg",
    aofChart: options.aofChart ? "aof-files.svg" : null,
    scenario: "scenario.json",
    raw: rawBaseNames(targets).map((base, i) => ({
      target: targets[i] ?? base,
      // .txt: a folder committed or attached keeps its logs (*.log is commonly git-ignored).
      log: `raw/${base}.log.txt`,
      samples: `raw/${base}.samples.csv`,
      events: `raw/${base}.events.csv`,
      probes: `raw/${base}.probes.csv`,
      series: options.series ? `raw/${base}.series.csv` : null,
    })),
  };
}

/**
 * The rerun command as a reader can use it. A scenario given by path points at a file only the
 * reporter has; the report ships that scenario as scenario.json, so the command names that instead.
 */
export function readerCommand(command: string, scenarioFile: string): Report["rerun"] {
  const parts = command.split(" ");
  const at = parts.indexOf("--scenario");
  const value = at >= 0 ? parts[at + 1] : undefined;
  if (value === undefined || !(value.includes("/") || value.endsWith(".json")))
    return { command, note: null };
  parts[at + 1] = scenarioFile;
  return {
    command: parts.join(" "),
    note: `The scenario was a file of the reporter's; ${scenarioFile} beside this report is that scenario: run the command in the report's folder.`,
  };
}

function targetRow(r: TargetResult): ReportTarget {
  const e = r.decision.evidence;
  return {
    target: r.target,
    verdict: r.decision.verdict,
    expected: r.expected,
    matches: r.matches,
    reason: r.decision.reason,
    attempts: e.attempts,
    fdsPerAttempt: e.fdsPerAttempt,
    baseline: e.baseline,
    peak: e.peak,
    ceiling: e.ceiling,
    timeToExhaustionMs: timeToExhaustion(r),
    freshClient: freshClient(r),
    errno: e.errno,
    evidence: e.logLines,
    image: r.image,
    imageOrigin: r.imageOrigin,
    server: r.server,
    version: r.version,
    fault: r.fault,
    source: { check: r.sourceCheck, meaning: sourceMeaning(r) },
  };
}

function aofRow(r: TargetResult): ReportAof {
  const a = aofView(r.decision.evidence);
  return {
    target: r.target,
    verdict: r.decision.verdict,
    attempts: r.decision.evidence.attempts,
    filesBefore: a?.files?.before ?? null,
    filesAfter: a?.files?.after ?? null,
    filesPerAttempt: a?.files?.perAttempt ?? null,
    manifestBytesBefore: a?.manifest?.before ?? null,
    manifestBytesAfter: a?.manifest?.after ?? null,
    manifestBytesPerAttempt: a?.manifest?.perAttempt ?? null,
    limiterLine: a?.limiter.line ?? null,
    attemptsAtLimit: a?.limiter.attemptsAtLimit ?? null,
    consecutiveFailures: r.info.aof_rewrites_consecutive_failures ?? null,
  };
}

export function outcomeText(run: RunResult): string {
  if (run.ok) return "Every stated expectation was met.";
  const missed = run.results
    .filter((r) => r.matches === false)
    .map((r) => `${r.target} was expected to be ${r.expected} and is ${r.decision.verdict}`);
  return `An expectation was NOT met: ${missed.join("; ")}.`;
}

/**
 * Pure: a run and its scenario in, the report's data out, with every string scrubbed of host paths
 * and secrets (see scrub.ts) before anything is rendered from it.
 */
export interface ReportOptions {
  now?: Date;
  dirs?: HostDir[];
  /** The scenario's recorded verdicts across releases (the catalogue), for "affected releases". */
  releases?: ReportRelease[];
  /** The patches the targets were built with. */
  patches?: ReportPatch[];
}

export function buildReport(run: RunResult, scenario: Scenario, options: ReportOptions = {}): Report {
  const dirs = options.dirs ?? hostDirs();
  const clean = scrubDeep(run, dirs);
  const aofResults = clean.results.filter((r) => aofView(r.decision.evidence));
  const files = reportFiles(
    clean.results.map((r) => r.target),
    {
      aofChart: aofResults.length > 0,
      series: clean.results.some((r) => Object.keys(r.series).length > 0),
    },
  );
  const verdicts = clean.results.map((r) => `${r.target} ${r.decision.verdict}`).join(", ");
  return Report.parse({
    format: REPORT_FORMAT,
    generatedAt: (options.now ?? new Date()).toISOString(),
    title: `${clean.scenario}: ${verdicts}`,
    outcome: outcomeText(clean),
    rerun: readerCommand(clean.command, files.scenario),
    targets: clean.results.map(targetRow),
    aof: aofResults.map(aofRow),
    releases: options.releases ?? [],
    patches: scrubDeep(options.patches ?? [], dirs),
    scenario: scrubDeep(scenarioData(scenario), dirs),
    environment: clean.environment,
    files,
    run: clean,
  });
}
