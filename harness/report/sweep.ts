import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BASELINE_TOLERANCE, HEAL_SETTLE_MS, type SweepCell, type SweepResult } from "../campaigns/sweep.js";
import { errorText, UserError } from "../core/errors.js";
import type { RunResult } from "../run/result.js";
import { renderChart } from "./chart.js";
import { type JunitCase, renderJunit } from "./junit.js";
import { alignColumns } from "./table.js";
import { prepareReportDir } from "./write.js";

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A cell's label, or "error" for a run that failed. */
const gave = (c: Pick<SweepCell, "outcome" | "label">) =>
  c.label === null || c.outcome === null
    ? "error"
    : c.label === c.outcome
      ? c.label
      : `${c.label} (${c.outcome})`;

/** One table per fault: paths down, targets across, each cell its few words and the attempts seen. */
export function renderSweep(result: SweepResult): string {
  const out = [
    `sweep · ${result.paths.length} path(s) × ${result.targets.length} target(s) × ${result.faults.length} fault(s) · ${result.concurrency} at once · runs ${secs(result.runWallMs)}, total ${secs(result.wallMs)} · redis-repro ${result.harness.version}`,
    ...(result.heal
      ? [
          `each fault healed ${HEAL_SETTLE_MS / 1000} s after ${result.heal.attempts} failed attempts (a path's smaller budget where it has one); recovered: fds.total back within ${BASELINE_TOLERANCE} of its baseline, the data and AOF (7.x) directories within 1 file, fresh clients and a write served, the path's fork working, all within ${secs(result.heal.withinMs)} of the heal`,
        ]
      : []),
  ];
  for (const fault of result.faults) {
    out.push("", `fault ${fault}:`);
    const rows = result.paths.map((path) => [
      path,
      ...result.targets.map((target) => {
        const c = result.cells.find((x) => x.path === path && x.target === target && x.fault === fault);
        return c ? `${c.text}${c.attempts !== null ? ` [${c.attempts}]` : ""}` : "n/a";
      }),
    ]);
    out.push(...alignColumns([["path", ...result.targets], ...rows]));
  }
  out.push(
    "",
    `[N]: attempts seen. ${result.heal ? "Leaks, cells that did not recover" : "Leaks"} and undecided cells:`,
  );
  for (const c of result.cells.filter((x) => x.outcome !== "no-bug")) {
    out.push(`${c.target} × ${c.path} × ${c.fault}: ${gave(c)}: ${c.reason}`);
    if (c.logLines[0]) out.push(`    log: ${c.logLines[0]}`);
    out.push(`    rerun: ${c.command}`);
  }
  out.push(result.clean ? "every cell clean" : "something leaks or could not be decided (see above)");
  return `${out.join("\n")}\n`;
}

/**
 * The sweep as JUnit: a suite per target × fault, a case per path. A leak (bug) is a failure, what CI
 * on a new release should stop on; an undecided cell (unknown) is skipped with its reason; a run that
 * broke is an error.
 */
export function sweepJunit(result: SweepResult): string {
  const suites = result.targets.flatMap((target) =>
    result.faults.map((fault) => ({
      name: `${target} ${fault}`,
      timestamp: result.startedAt,
      cases: result.cells
        .filter((c) => c.target === target && c.fault === fault)
        .map((c): JunitCase => {
          const growth = c.growth.map((g) => `${g.series} ${g.perAttempt ?? "—"}/attempt`).join("; ");
          const out = `${gave(c)}; attempts ${c.attempts ?? "—"}; ${growth || "no series judged"}; ${c.reason}\nrerun: ${c.command}`;
          const base = {
            classname: `redis-repro.sweep.${target}.${fault}`,
            name: c.path,
            seconds: c.seconds,
            out,
          };
          if (c.outcome === null) return { ...base, result: "error", type: "run", message: c.reason };
          if (c.outcome === "bug")
            return {
              ...base,
              result: "failure",
              type:
                c.recovery?.outcome === "bug" && c.growth.every((g) => !g.leaking) ? "not-recovered" : "leak",
              message: c.text,
              detail: c.reason,
            };
          if (c.outcome === "unknown") return { ...base, result: "skipped", message: c.reason };
          return { ...base, result: "passed" };
        }),
    })),
  );
  return renderJunit({ name: "redis-repro sweep", seconds: result.wallMs / 1000, suites });
}

/** Checks DIR before the sweep spends its time: new, empty, or an earlier sweep's folder. */
export const prepareSweepReport = (dir: string) => prepareReportDir(dir, "sweep.json");

export const cellFile = (c: { target: string; path: string; fault: string }) =>
  `${c.target}--${c.path}--${c.fault}`.replace(/[^A-Za-z0-9._+-]/g, "_");

/**
 * A sweep's folder: sweep.md (the table, then each cell that is not clean with its chart), sweep.json,
 * and charts/<target>--<path>--<fault>.svg for every such cell whose decision has a plot (the leaking
 * series over time, with the attempts marked). `runs` are the cells' whole runs, by cellFile.
 */
export async function writeSweepReport(
  dir: string,
  result: SweepResult,
  runs: Map<string, RunResult>,
): Promise<string[]> {
  const abs = await prepareSweepReport(dir);
  const files: [string, string][] = [];
  const md = ["# redis-repro sweep", "", "```", renderSweep(result).trimEnd(), "```", ""];
  for (const cell of result.cells.filter((c) => c.outcome !== "no-bug")) {
    const run = runs.get(cellFile(cell));
    if (!run) continue;
    const chart = renderChart(run);
    const name = `charts/${cellFile(cell)}.svg`;
    if (chart) files.push([name, chart]);
    md.push(
      `## ${cell.target} × ${cell.path} × ${cell.fault}: ${cell.text}`,
      "",
      cell.reason,
      "",
      ...cell.logLines.map((l) => `    ${l}`),
      "",
      chart ? `![${cell.text}](${name})` : "No chart: the decision names no series to plot.",
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
