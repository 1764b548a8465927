import { extname } from "node:path";
import { z } from "zod";
import { Fact, Outcome } from "../core/outcome.js";
import { Environment } from "../engine/environment.js";
import { RunResult, type TargetResult } from "../run/result.js";
import type { Scenario } from "../scenario/index.js";
import { type HostDir, hostDirs, scrubDeep } from "./scrub.js";
import { quotedLines } from "./summary.js";

/**
 * What a report folder holds, as data: report.json is this, report.md and the chart are rendered
 * from it, and `redis-repro report show` reads it back. The whole RunResult is kept so that the
 * summary `run` printed can be printed again from the file alone.
 * Format 2: outcomes and labels; rows are the deciding checker's facts; the chart is its plot.
 */
export const REPORT_FORMAT = "redis-repro-report/2";

export const RawFiles = z.object({
  target: z.string(),
  /** Each node's log (main first). .txt: a folder committed or attached keeps its logs (*.log is often ignored). */
  logs: z.array(z.object({ node: z.string(), file: z.string() })),
  /** Every event of the history: t_ms, node, kind, name, value, what, errno, line. */
  events: z.string(),
  /** Every series of the history, one row per point: t_ms, series, value, text. */
  series: z.string(),
  /** The attempts: t_ms, line. */
  attempts: z.string(),
});
export type RawFiles = z.infer<typeof RawFiles>;

/** A scenario given as a script, copied into the report so that its rerun command can run. */
export const ReportScript = z.object({
  /** The copy, beside report.json (scenario.ts, scenario.mjs…). */
  file: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ReportScript = z.infer<typeof ReportScript>;

export const ReportFiles = z.object({
  markdown: z.string(),
  json: z.string(),
  /** The deciding checker's plot; null when no decision has one (the report says so). */
  chart: z.string().nullable(),
  /** The scenario as data: runnable for a data scenario, a record for a script. */
  scenario: z.string(),
  script: ReportScript.nullable(),
  raw: z.array(RawFiles),
});
export type ReportFiles = z.infer<typeof ReportFiles>;

/** One target's column of the summary: its decision in words, the checker's facts, where it came from. */
export const ReportTarget = z.object({
  target: z.string(),
  checker: z.string(),
  outcome: Outcome,
  label: z.string(),
  expected: z.string().nullable(),
  matches: z.boolean().nullable(),
  reason: z.string(),
  summary: z.string(),
  facts: z.array(Fact),
  /** The decisions of a composition's parts, in words: "fd-leak: exhaustion (bug): …". */
  parts: z.array(z.string()),
  /** Log lines quoted as evidence: the first attempt's, and the first of each error the server logged. */
  lines: z.array(z.string()),
  image: z.string(),
  imageOrigin: z.string(),
  /** The server that ran (null in reports made before Valkey: redis). */
  server: z.string().nullable().default(null),
  version: z.string().nullable(),
  faults: z.array(z.string()),
  source: z.object({ check: z.string().nullable(), meaning: z.string() }),
});
export type ReportTarget = z.infer<typeof ReportTarget>;

/** The scenario's outcome on each release as the catalogue records it (measured runs only). */
export const ReportRelease = z.object({
  target: z.string(),
  outcome: Outcome,
  label: z.string(),
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
  /** Whether every stated expectation was met, in a sentence. */
  expectations: z.string(),
  rerun: z.object({
    command: z.string(),
    /** Set when the command needs something from the report's folder (a scenario given as a file). */
    note: z.string().nullable(),
  }),
  /** Why there is no chart, when there is none. */
  chartNote: z.string().nullable(),
  targets: z.array(ReportTarget),
  releases: z.array(ReportRelease).default([]),
  patches: z.array(ReportPatch).default([]),
  /**
   * The scenario as run. Loose on purpose: a report must stay readable after the scenario schema
   * gains fields, and it is shown, never run, from here (scenario.json beside it is the copy).
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

/** The nodes a result has logs of, main first. */
function nodesOf(r: Pick<TargetResult, "history">): string[] {
  const others = Object.keys(r.history.logs).filter((n) => n !== "main");
  return ["main", ...others.sort()];
}

export function reportFiles(
  results: Pick<TargetResult, "target" | "history">[],
  options: { chart?: boolean; script?: ReportScript | null } = {},
): ReportFiles {
  return {
    markdown: "report.md",
    json: "report.json",
    chart: options.chart ? "chart.svg" : null,
    scenario: "scenario.json",
    script: options.script ?? null,
    raw: rawBaseNames(results.map((r) => r.target)).map((base, i) => {
      const r = results[i];
      const nodes = r ? nodesOf(r) : ["main"];
      return {
        target: r?.target ?? base,
        logs: nodes.map((node) => ({
          node,
          file:
            node === "main"
              ? `raw/${base}.log.txt`
              : `raw/${base}.${node.replace(/[^A-Za-z0-9._-]+/g, "_")}.log.txt`,
        })),
        events: `raw/${base}.events.csv`,
        series: `raw/${base}.series.csv`,
        attempts: `raw/${base}.attempts.csv`,
      };
    }),
  };
}

/** The scenario script's copy beside a report: scenario plus the script's own extension. */
export function scriptCopyName(path: string): string {
  return `scenario${extname(path) || ".ts"}`;
}

/**
 * The rerun command as a reader can use it. A scenario given by path points at a file only the
 * reporter has: the report ships a copy (scenario.json for data; for a script, the script itself
 * with its sha256), and the command names that copy instead.
 */
export function readerCommand(
  command: string,
  scenarioFile: string,
  script: ReportScript | null = null,
): Report["rerun"] {
  const parts = command.split(" ");
  const at = parts.indexOf("--scenario");
  const value = at >= 0 ? parts[at + 1] : undefined;
  if (script) {
    if (at >= 0) parts[at + 1] = script.file;
    return {
      command: parts.join(" "),
      note: `The scenario was a script of the reporter's: ${script.file} beside this report is a copy of it (sha256 ${script.sha256}); run the command in the report's folder (what the script imports must resolve there, e.g. redis-repro installed). ${scenarioFile} is a record of its data, not runnable: its steps and checker are code.`,
    };
  }
  if (value === undefined || !(value.includes("/") || value.endsWith(".json")))
    return { command, note: null };
  parts[at + 1] = scenarioFile;
  return {
    command: parts.join(" "),
    note: `The scenario was a file of the reporter's; ${scenarioFile} beside this report is that scenario: run the command in the report's folder.`,
  };
}

/** A decision's parts in words, depth first (a composition of compositions reads as a list). */
function partLines(r: TargetResult): string[] {
  const out: string[] = [];
  const walk = (parts: TargetResult["decision"]["parts"], depth: number) => {
    for (const p of parts ?? []) {
      out.push(`${"  ".repeat(depth)}${p.checker}: ${p.label} (${p.outcome}): ${p.reason}`);
      walk(p.parts, depth + 1);
    }
  };
  walk(r.decision.parts, 0);
  return out;
}

function targetRow(r: TargetResult): ReportTarget {
  const d = r.decision;
  return {
    target: r.target,
    checker: d.checker,
    outcome: d.outcome,
    label: d.label,
    expected: r.expected,
    matches: r.matches,
    reason: d.reason,
    summary: d.summary,
    facts: d.facts,
    parts: partLines(r),
    lines: quotedLines(r),
    image: r.image,
    imageOrigin: r.imageOrigin,
    server: r.server,
    version: r.version,
    faults: r.faults,
    source: { check: r.sourceCheck, meaning: sourceMeaning(r) },
  };
}

export function expectationsText(run: RunResult): string {
  if (run.ok) return "Every stated expectation was met.";
  const missed = run.results
    .filter((r) => r.matches === false)
    .map(
      (r) =>
        `${r.target} was expected to give ${r.expected} and gives ${r.decision.label} (${r.decision.outcome})`,
    );
  return `An expectation was NOT met: ${missed.join("; ")}.`;
}

/** Why a run has no chart: which checkers decided without a plot. */
export function chartNote(run: RunResult): string | null {
  if (run.results.some((r) => r.decision.plot)) return null;
  const checkers = [...new Set(run.results.map((r) => r.decision.checker))].join(", ");
  return `No chart: the decision${run.results.length === 1 ? "" : "s"} of ${checkers} name${run.results.length === 1 ? "s" : ""} no series to plot.`;
}

/**
 * Pure: a run and its scenario in, the report's data out, with every string scrubbed of host paths
 * and secrets (see scrub.ts) before anything is rendered from it.
 */
export interface ReportOptions {
  now?: Date;
  dirs?: HostDir[];
  /** The scenario's recorded outcomes across releases (the catalogue), for "affected releases". */
  releases?: ReportRelease[];
  /** The patches the targets were built with. */
  patches?: ReportPatch[];
  /** The scenario script copied beside the report, when the scenario was given as one. */
  script?: ReportScript | null;
}

export function buildReport(run: RunResult, scenario: Scenario, options: ReportOptions = {}): Report {
  const dirs = options.dirs ?? hostDirs();
  const clean = scrubDeep(run, dirs);
  const script = options.script ?? null;
  const files = reportFiles(clean.results, { chart: clean.results.some((r) => r.decision.plot), script });
  const gave = clean.results.map((r) => `${r.target} ${r.decision.label}`).join(", ");
  return Report.parse({
    format: REPORT_FORMAT,
    generatedAt: (options.now ?? new Date()).toISOString(),
    title: `${clean.scenario}: ${gave}`,
    expectations: expectationsText(clean),
    rerun: readerCommand(clean.command, files.scenario, script),
    chartNote: chartNote(clean),
    targets: clean.results.map(targetRow),
    releases: options.releases ?? [],
    patches: scrubDeep(options.patches ?? [], dirs),
    scenario: scrubDeep({ name: scenario.name, ...scenario.data }, dirs),
    environment: clean.environment,
    files,
    run: clean,
  });
}
