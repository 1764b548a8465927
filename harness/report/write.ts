import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { catalogueDebianTargets, catalogueVersions, expectationFor } from "../catalogue/catalogue.js";
import { aofView } from "../checkers/aof-dir.js";
import { errorText, UserError } from "../errors.js";
import type { RunResult, TargetResult } from "../result.js";
import type { Scenario } from "../scenario/index.js";
import { loadPatches } from "../targets/patches.js";
import { parseTarget } from "../targets/spec.js";
import { aofFilesMetric, renderChart } from "./chart.js";
import { renderMarkdown } from "./markdown.js";
import {
  buildReport,
  type Report,
  type ReportOptions,
  type ReportPatch,
  type ReportRelease,
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

function rawFiles(r: TargetResult) {
  return {
    series: csv(
      ["t_ms", "series", "value"],
      Object.entries(r.series)
        .flatMap(([name, points]) => points.map((p) => [p.t, name, p.v] as const))
        .sort((a, b) => a[0] - b[0])
        .map((row) => [...row]),
    ),
    log: r.log.length ? `${r.log.join("\n")}\n` : "",
    samples: csv(
      ["t_ms", "total", "max_fd", "pipe", "socket", "file", "eventpoll", "other"],
      r.samples.map((s) => [s.t, s.total, s.maxFd, s.pipe, s.socket, s.file, s.eventpoll, s.other]),
    ),
    events: csv(
      ["t_ms", "kind", "what", "errno", "line"],
      r.events.map((e) => [e.t, e.kind, e.what, e.errno, e.line]),
    ),
    probes: csv(
      ["t_ms", "ok", "error"],
      r.probes.map((p) => [p.t, p.ok, p.error]),
    ),
  };
}

/**
 * What a report adds from outside the run: the scenario's recorded verdicts across releases (the
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
      return e === "unmeasured" ? [] : [{ target, verdict: e.verdict, runs: e.runs, date: e.date }];
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
 * Writes a report folder for a finished run: report.md, report.json, fds.svg, scenario.json and
 * raw/<target>.{log,samples.csv,events.csv,probes.csv}. `run --report` calls it; so can any command
 * that produces a RunResult (a matrix writes one folder per scenario run).
 */
export async function writeReport(
  dir: string,
  run: RunResult,
  scenario: Scenario,
  options: { now?: Date; dirs?: HostDir[] } = {},
): Promise<WrittenReport> {
  const abs = await prepareReportDir(dir);
  const context: ReportOptions = { ...(await reportContext(run)), ...options };
  const report = buildReport(run, scenario, context);
  const chart = renderChart(report.run);
  const contents: [string, string][] = [];
  report.run.results.forEach((r, i) => {
    const names = report.files.raw[i];
    if (!names) return;
    const raw = rawFiles(r);
    contents.push([names.log, raw.log], [names.samples, raw.samples], [names.events, raw.events]);
    contents.push([names.probes, raw.probes]);
    if (names.series) contents.push([names.series, raw.series]);
  });
  if (report.files.aofChart) {
    const aofOnly = {
      ...report.run,
      results: report.run.results.filter((r) => aofView(r.decision.evidence)),
    };
    const files = aofOnly.results.map((r) => aofView(r.decision.evidence)?.files?.series).find(Boolean);
    contents.push([report.files.aofChart, renderChart(aofOnly, aofFilesMetric(files))]);
  }
  contents.push(
    [report.files.scenario, `${JSON.stringify(report.scenario, null, 2)}\n`],
    [report.files.chart, chart],
    [report.files.markdown, renderMarkdown(report)],
    // Last: a folder with report.json is a complete report.
    [report.files.json, `${JSON.stringify(report, null, 2)}\n`],
  );
  try {
    // An earlier report's raw files may name targets this run does not have.
    await rm(join(abs, "raw"), { recursive: true, force: true });
    await rm(join(abs, report.files.json), { force: true });
    for (const [name, text] of contents) {
      await mkdir(dirname(join(abs, name)), { recursive: true });
      await writeFile(join(abs, name), text);
    }
  } catch (error) {
    throw new UserError(
      `cannot write the report to ${dir} (${errorText(error)}); give a folder you can write`,
    );
  }
  return { dir: abs, report, files: contents.map(([name]) => name), chartBytes: Buffer.byteLength(chart) };
}
