import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { renderSweep, type SweepCell, type SweepResult } from "../campaigns/sweep.js";
import { errorText, UserError } from "../core/errors.js";
import { leakText } from "../parts/checkers/leaks.js";
import type { RunResult } from "../run/result.js";
import { renderChart, seriesMetric } from "./chart.js";
import { prepareReportDir } from "./write.js";

/** The series a leaking cell's chart draws: the first leaking one, an fd kind before the total. */
export function chartSeries(cell: SweepCell): string | undefined {
  const leaking = cell.growth.filter((g) => g.leaking);
  return (leaking.find((g) => g.series !== "fds.total") ?? leaking[0])?.series;
}

/** Checks DIR before the sweep spends its time: new, empty, or an earlier sweep's folder. */
export const prepareSweepReport = (dir: string) => prepareReportDir(dir, "sweep.json");

export const cellFile = (c: { target: string; path: string; fault: string }) =>
  `${c.target}--${c.path}--${c.fault}`.replace(/[^A-Za-z0-9._+-]/g, "_");

/**
 * A sweep's folder: sweep.md (the table, then each leaking cell with its chart), sweep.json, and
 * charts/<target>--<path>--<fault>.svg for every leaking cell (the leaking series over time, with
 * the attempts marked). `runs` are the cells' whole runs, by cellFile.
 */
export async function writeSweepReport(
  dir: string,
  result: SweepResult,
  runs: Map<string, RunResult>,
): Promise<string[]> {
  const abs = await prepareSweepReport(dir);
  const files: [string, string][] = [];
  const md = ["# redis-repro sweep", "", "```", renderSweep(result).trimEnd(), "```", ""];
  for (const cell of result.cells) {
    const series = chartSeries(cell);
    const run = runs.get(cellFile(cell));
    if (!series || !run) continue;
    const name = `charts/${cellFile(cell)}.svg`;
    files.push([
      name,
      renderChart(run, {
        ...seriesMetric(series),
        label: (r) =>
          `${r.target} — ${r.decision.verdict} · ${r.attempts.length} attempts · ${leakText(cell.growth)}`,
      }),
    ]);
    md.push(
      `## ${cell.target} × ${cell.path} × ${cell.fault}: ${cell.text}`,
      "",
      cell.reason,
      "",
      ...cell.logLines.map((l) => `    ${l}`),
      "",
      `![${series}](${name})`,
      "",
      `Rerun: \`${cell.command}\``,
      "",
    );
  }
  files.push(["sweep.md", `${md.join("\n")}\n`], ["sweep.json", `${JSON.stringify(result, null, 2)}\n`]);
  try {
    await rm(join(abs, "charts"), { recursive: true, force: true });
    await rm(join(abs, "sweep.json"), { force: true });
    await mkdir(join(abs, "charts"), { recursive: true });
    for (const [name, text] of files) await writeFile(join(abs, name), text);
  } catch (error) {
    throw new UserError(
      `cannot write the sweep report to ${dir} (${errorText(error)}); give a folder you can write`,
    );
  }
  return files.map(([name]) => name);
}
