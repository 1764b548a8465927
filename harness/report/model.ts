import { z } from "zod";
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
  scenario: z.string(),
  raw: z.array(
    z.object({
      target: z.string(),
      log: z.string(),
      samples: z.string(),
      events: z.string(),
      probes: z.string(),
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
  version: z.string().nullable(),
  fault: z.string(),
  source: z.object({ check: z.string().nullable(), meaning: z.string() }),
});
export type ReportTarget = z.infer<typeof ReportTarget>;

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

export function reportFiles(targets: string[]): ReportFiles {
  return {
    markdown: "report.md",
    json: "report.json",
    chart: "fds.svg",
    scenario: "scenario.json",
    raw: rawBaseNames(targets).map((base, i) => ({
      target: targets[i] ?? base,
      log: `raw/${base}.log`,
      samples: `raw/${base}.samples.csv`,
      events: `raw/${base}.events.csv`,
      probes: `raw/${base}.probes.csv`,
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
    version: r.version,
    fault: r.fault,
    source: { check: r.sourceCheck, meaning: sourceMeaning(r) },
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
export function buildReport(
  run: RunResult,
  scenario: Scenario,
  options: { now?: Date; dirs?: HostDir[] } = {},
): Report {
  const dirs = options.dirs ?? hostDirs();
  const clean = scrubDeep(run, dirs);
  const files = reportFiles(clean.results.map((r) => r.target));
  const verdicts = clean.results.map((r) => `${r.target} ${r.decision.verdict}`).join(", ");
  return Report.parse({
    format: REPORT_FORMAT,
    generatedAt: (options.now ?? new Date()).toISOString(),
    title: `${clean.scenario}: ${verdicts}`,
    outcome: outcomeText(clean),
    rerun: readerCommand(clean.command, files.scenario),
    targets: clean.results.map(targetRow),
    scenario: scrubDeep(scenarioData(scenario), dirs),
    environment: clean.environment,
    files,
    run: clean,
  });
}
