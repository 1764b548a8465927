import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { catalogueDebianTargets, catalogueVersions, expectationFor } from "../catalogue/catalogue.js";
import { errorText, UserError } from "../core/errors.js";
import type { RunResult, TargetResult } from "../run/result.js";
import type { Scenario } from "../scenario/index.js";
import { loadPatches } from "../targets/patches.js";
import { parseTarget } from "../targets/spec.js";
import { renderChart } from "./chart.js";
import { renderMarkdown } from "./markdown.js";
import {
  buildReport,
  type Report,
  type ReportOptions,
  type ReportPatch,
  type ReportRelease,
  type ReportScript,
  scriptCopyName,
} from "./model.js";
import type { HostDir } from "./scrub.js";

export interface WrittenReport {
  dir: string;
  report: Report;
  /** Paths relative to dir, in the order written (report.json last). */
  files: string[];
  chartBytes: number;
}

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT";

/**
 * Checks DIR before a run spends its time: it must be new, empty, or an earlier report (which is then
 * replaced). Anything else would mix a report with files nobody can tell apart from it.
 */
export async function prepareReportDir(dir: string, marker = "report.json"): Promise<string> {
  const abs = resolve(dir);
  let entries: string[] | undefined;
  try {
    if (!(await stat(abs)).isDirectory())
      throw new UserError(`--report ${dir}: that is a file, not a folder; give a new or empty folder`);
    entries = await readdir(abs);
  } catch (error) {
    if (error instanceof UserError) throw error;
    if (!isMissing(error))
      throw new UserError(
        `--report ${dir}: cannot read it (${errorText(error)}); give a folder you can write`,
      );
  }
  if (entries && entries.length > 0 && !entries.includes(marker))
    throw new UserError(
      `--report ${dir}: the folder holds other files and no ${marker}; give a new or empty folder`,
    );
  try {
    await mkdir(abs, { recursive: true });
  } catch (error) {
    throw new UserError(
      `--report ${dir}: cannot create it (${errorText(error)}); give a folder you can write`,
    );
  }
  return abs;
}

/** RFC 4180: quote a field when it holds a comma, a quote or a line break. */
function csvField(value: string | number | boolean | undefined): string {
  const text = value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csv(head: string[], rows: (string | number | boolean | undefined)[][]): string {
  return `${[head, ...rows].map((row) => row.map(csvField).join(",")).join("\n")}\n`;
}

/** A target's raw files, from its history: logs by node, events, series and attempts. */
function rawFiles(r: TargetResult) {
  const h = r.history;
  return {
    log: (node: string) => {
      const lines = h.logs[node] ?? [];
      return lines.length ? `${lines.join("\n")}\n` : "";
    },
    events: csv(
      ["t_ms", "node", "kind", "name", "value", "what", "errno", "line"],
      h.events.map((e) => [
        e.t,
        e.node,
        e.kind,
        e.name,
        e.value === undefined || e.value === null ? undefined : String(e.value),
        e.what,
        e.errno,
        e.line,
      ]),
    ),
    series: csv(
      ["t_ms", "series", "value", "text"],
      Object.entries(h.series)
        .flatMap(([name, points]) => points.map((p) => [p.t, name, p.v, p.text] as const))
        .sort((a, b) => a[0] - b[0])
        .map((row) => [...row]),
    ),
    attempts: csv(
      ["t_ms", "line"],
      h.attempts.map((a) => [a.t, a.line ?? undefined]),
    ),
  };
}

/**
 * What a report adds from outside the run: the scenario's recorded outcomes across releases (the
 * catalogue) and the text of the patches its targets were built with.
 */
export async function reportContext(
  run: RunResult,
): Promise<{ releases: ReportRelease[]; patches: ReportPatch[] }> {
  // Each release, then its builds with the patches this run used, as the catalogue recorded them.
  const patchSets = [
    ...new Set(
      run.results.flatMap((r) => {
        const spec = parseTarget(r.target);
        return (spec.kind === "release" || spec.kind === "deb") && spec.patches.length
          ? [spec.patches.join("+")]
          : [];
      }),
    ),
  ];
  const releases = [...catalogueVersions(), ...catalogueDebianTargets()].flatMap((version) =>
    [version, ...patchSets.map((p) => `${version}+${p}`)].flatMap((target) => {
      const e = expectationFor(target, run.scenario);
      return e === "unmeasured"
        ? []
        : [{ target, outcome: e.outcome, label: e.label, runs: e.runs, date: e.date }];
    }),
  );
  const names = [
    ...new Set(
      run.results.flatMap((r) => {
        const spec = parseTarget(r.target);
        return spec.kind === "release" || spec.kind === "deb" ? spec.patches : [];
      }),
    ),
  ];
  // The run built with these patches moments ago; a patch removed since is left out, not an error.
  const patches = names.length ? await loadPatches(names).catch(() => []) : [];
  return { releases, patches: patches.map((p) => ({ name: p.name, text: p.text })) };
}

/**
 * The scenario script a run was given as a file, read again to be copied beside the report: what the
 * run loaded, checked by the digest taken when it was loaded. Undefined for data and named scenarios
 * (their rerun works as is).
 */
export async function scenarioScript(
  scenario: Scenario,
): Promise<{ path: string; text: Buffer } | undefined> {
  const source = scenario.source;
  if (source.kind !== "script") return undefined;
  const path = source.file ?? source.ref;
  let text: Buffer;
  try {
    text = await readFile(resolve(path));
  } catch (error) {
    throw new UserError(
      `cannot copy the scenario script ${source.ref} into the report (${errorText(error)}): write the report from the folder the run was started in`,
    );
  }
  const digest = createHash("sha256").update(text).digest("hex");
  if (source.sha256 && digest !== source.sha256)
    throw new UserError(
      `the scenario script ${source.ref} changed since the run loaded it (sha256 ${source.sha256.slice(0, 12)}… then, ${digest.slice(0, 12)}… now): the report would not ship what ran; run it again`,
    );
  return { path, text };
}

/**
 * Writes a report folder for a finished run: report.md, report.json, chart.svg (when a decision has a
 * plot), scenario.json (and, for a script, a copy of it with its sha256) and raw/<target>.{log.txt,
 * events.csv, series.csv, attempts.csv}. `run --report` calls it; so can any command that produces a
 * RunResult.
 */
export async function writeReport(
  dir: string,
  run: RunResult,
  scenario: Scenario,
  options: { now?: Date; dirs?: HostDir[] } = {},
): Promise<WrittenReport> {
  const abs = await prepareReportDir(dir);
  const source = await scenarioScript(scenario);
  const script: ReportScript | null = source
    ? { file: scriptCopyName(source.path), sha256: createHash("sha256").update(source.text).digest("hex") }
    : null;
  const context: ReportOptions = { ...(await reportContext(run)), ...options, script };
  const report = buildReport(run, scenario, context);
  const chart = renderChart(report.run);
  const contents: [string, string | Buffer][] = [];
  report.run.results.forEach((r, i) => {
    const names = report.files.raw[i];
    if (!names) return;
    const raw = rawFiles(r);
    for (const l of names.logs) contents.push([l.file, raw.log(l.node)]);
    contents.push([names.events, raw.events], [names.series, raw.series], [names.attempts, raw.attempts]);
  });
  const scenarioJson = script
    ? {
        $comment: `A record of the scenario script ${script.file} (sha256 ${script.sha256}) as data: its steps and checker are code, so this file cannot run. Run ${script.file}.`,
        ...report.scenario,
      }
    : report.scenario;
  if (script && source) contents.push([script.file, source.text]);
  contents.push([report.files.scenario, `${JSON.stringify(scenarioJson, null, 2)}\n`]);
  if (report.files.chart && chart) contents.push([report.files.chart, chart]);
  contents.push(
    [report.files.markdown, renderMarkdown(report)],
    // Last: a folder with report.json is a complete report.
    [report.files.json, `${JSON.stringify(report, null, 2)}\n`],
  );
  try {
    // An earlier report's raw files may name targets this run does not have; its chart may be gone.
    await rm(join(abs, "raw"), { recursive: true, force: true });
    await rm(join(abs, report.files.json), { force: true });
    await rm(join(abs, "chart.svg"), { force: true });
    for (const [name, text] of contents) {
      await mkdir(dirname(join(abs, name)), { recursive: true });
      await writeFile(join(abs, name), text);
    }
  } catch (error) {
    throw new UserError(
      `cannot write the report to ${dir} (${errorText(error)}); give a folder you can write`,
    );
  }
  return {
    dir: abs,
    report,
    files: contents.map(([name]) => name),
    chartBytes: chart ? Buffer.byteLength(chart) : 0,
  };
}
