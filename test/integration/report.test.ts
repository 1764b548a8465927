import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { seriesOf } from "../../harness/core/history.js";
import { FdLeakEvidence } from "../../harness/parts/checkers/index.js";
import { type ChartGeometry, chartGeometry } from "../../harness/report/chart.js";
import { Report } from "../../harness/report/model.js";
import { hostPathsIn } from "../../harness/report/scrub.js";
import { renderSummary } from "../../harness/report/summary.js";
import { writeReport } from "../../harness/report/write.js";
import { RunResult } from "../../harness/run/result.js";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { drawnYAt, expectedYAt, hitsInPlot, rasterize, timesAcross } from "../helpers/raster.js";
import { cli, countContainers, missingSource, skipTitle } from "./support.js";

const missing328 = await missingSource("3.2.8");
const missing7 = await missingSource("7.0.15");
const seed = await loadScenario("aof-auto-rewrite-enomem");
const base = await mkdtemp(join(tmpdir(), "redis-repro-report-it-"));
afterAll(() => rm(base, { recursive: true, force: true }));

/** The chart's geometry: the fd-leak decisions of these runs always have a plot. */
function geometryOf(report: Report): ChartGeometry {
  const g = chartGeometry(report.run);
  if (!g) throw new Error("no decision of the run has a plot");
  return g;
}

async function readBack(dir: string): Promise<Report> {
  return Report.parse(JSON.parse(await readFile(join(dir, "report.json"), "utf8")));
}

/** Every file of the folder: none may name this machine's directories or the folder itself. */
async function expectNoHostPaths(dir: string): Promise<void> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries.filter((x) => x.isFile())) {
    const text = await readFile(join(e.parentPath, e.name), "utf8");
    expect(hostPathsIn(text), e.name).toEqual([]);
    expect(text, e.name).not.toContain(base);
  }
}

describe("bug reports from real runs", () => {
  it.skipIf(missing7)(
    skipTitle("a real 7.0.15 run: report folder, read back by the schema and by `report show`", missing7),
    async () => {
      const run = await runScenario(seed, ["7.0.15"], { bases: "auto" });
      expect(await countContainers(run.runId)).toBe(0);
      const dir = join(base, "seven");
      const written = await writeReport(dir, run, seed);

      const report = await readBack(dir);
      expect(report.run).toEqual(RunResult.parse(run));
      expect(report.targets[0]?.label).toBe("stable");
      expect(report.targets[0]?.outcome).toBe("no-bug");
      expect(report.files.chart).toBe("chart.svg");
      expect(report.targets[0]?.source.check).toMatch(/^(files-digest|published-sha\d+)$/);

      const shown = await cli(["report", "show", dir]);
      expect(shown.stderr).toBe("");
      expect(shown.exitCode).toBe(0);
      // The cli() helper (execa) drops the final newline.
      expect(`${shown.stdout}\n`).toBe(renderSummary(run));

      const [result] = run.results;
      if (!result) throw new Error("no result");
      const log = await readFile(join(dir, "raw/7.0.15.log.txt"), "utf8");
      expect(log).toContain("Can't rewrite append only file in background: fork: Cannot allocate memory");
      // Every reading of the fd sampler is a row of the series file, as recorded.
      const rows = (await readFile(join(dir, "raw/7.0.15.series.csv"), "utf8")).trim().split("\n");
      expect(rows[0]).toBe("t_ms,series,value,text");
      const totals = rows.filter((row) => row.split(",")[1] === "fds.total");
      expect(totals.length).toBeGreaterThan(3);
      expect(totals).toHaveLength(seriesOf(result.history, "fds.total").length);

      // The one line is flat at its baseline across the run.
      const svg = await readFile(join(dir, "chart.svg"), "utf8");
      expect(Buffer.byteLength(svg)).toBe(written.chartBytes);
      const g = geometryOf(report);
      const raster = rasterize(svg);
      const [series] = g.series;
      if (!series) throw new Error("no series");
      for (const t of timesAcross(series, 6)) {
        const drawn = drawnYAt(raster, g, series, t);
        expect(drawn, `drawn at ${t} ms`).toBeDefined();
        expect(Math.abs((drawn ?? 0) - expectedYAt(g, series, t))).toBeLessThanOrEqual(5);
      }
      const top = Math.min(...hitsInPlot(raster, g, series.colour).map((h) => h.y));
      expect(g.y(FdLeakEvidence.parse(result.decision.evidence).baseline ?? 0) - top).toBeLessThan(12);

      const md = await readFile(join(dir, "report.md"), "utf8");
      expect(md).toContain(run.command);
      expect(md).toContain(`| kernel | ${run.environment.kernel} |`);
      await expectNoHostPaths(dir);
    },
    180_000,
  );

  it.skipIf(missing7)(
    skipTitle(
      "`run --report DIR` writes the folder, and `report show DIR` prints what run printed",
      missing7,
    ),
    async () => {
      const dir = join(base, "cli");
      const ran = await cli(["run", "--target", "7.0.15", "--report", dir]);
      expect(ran.exitCode, ran.stderr).toBe(0);
      expect(ran.stderr).toContain(`report: ${join(dir, "report.md")}`);
      const shown = await cli(["report", "show", dir]);
      expect(shown.exitCode).toBe(0);
      expect(shown.stdout).toBe(ran.stdout);
      const report = await readBack(dir);
      expect(report.rerun.command).toBe(
        "npx redis-repro run --scenario aof-auto-rewrite-enomem --target 7.0.15",
      );
      expect(await countContainers(report.run.runId)).toBe(0);
      const json = await cli(["report", "show", dir, "--json"]);
      expect(RunResult.parse(JSON.parse(json.stdout)).runId).toBe(report.run.runId);
    },
    180_000,
  );

  it.skipIf(missing328)(
    skipTitle("3.2.8 vs 3.2.8+fix-aof-pipe-leak: the chart shows the climb and the flat line", missing328),
    async () => {
      const run = await runScenario(seed, ["3.2.8", "3.2.8+fix-aof-pipe-leak"], { bases: "auto" });
      expect(await countContainers(run.runId)).toBe(0);
      const dir = join(base, "seed");
      const written = await writeReport(dir, run, seed);
      console.info(`[report] ${run.runId}: chart.svg is ${written.chartBytes} bytes`);
      // The matcher says the reason when a target gives something else.
      expect(run).toHaveOutcome("exhaustion", "3.2.8");
      expect(run).toHaveOutcome("stable", "3.2.8+fix-aof-pipe-leak");
      const report = await readBack(dir);
      expect(report.targets.map((t) => [t.target, t.outcome, t.label])).toEqual([
        ["3.2.8", "bug", "exhaustion"],
        ["3.2.8+fix-aof-pipe-leak", "no-bug", "stable"],
      ]);
      const [leakyRun, fixedRun] = report.run.results;
      if (!leakyRun || !fixedRun) throw new Error("two results expected");
      const leakyEvidence = FdLeakEvidence.parse(leakyRun.decision.evidence);

      const svg = await readFile(join(dir, "chart.svg"), "utf8");
      const g = geometryOf(report);
      const raster = rasterize(svg);
      const [leaky, fixed] = g.series;
      if (!leaky || !fixed) throw new Error("two series expected");
      const ceiling = leakyEvidence.ceiling ?? 0;
      expect(ceiling).toBeGreaterThan(0);
      expect(g.ceilings).toContain(ceiling);
      // 3.2.8: drawn where its samples are, higher at each later time, its top at the ceiling.
      const ys = timesAcross(leaky, 6).map((t) => drawnYAt(raster, g, leaky, t) ?? Number.NaN);
      for (const [i, t] of timesAcross(leaky, 6).entries())
        expect(Math.abs((ys[i] ?? 0) - expectedYAt(g, leaky, t))).toBeLessThanOrEqual(5);
      for (let i = 1; i < ys.length; i++) expect(ys[i]).toBeLessThan(ys[i - 1] ?? 0);
      const top = hitsInPlot(raster, g, leaky.colour).reduce((a, b) => (b.y < a.y ? b : a));
      expect(Math.abs(top.y - g.y(ceiling))).toBeLessThanOrEqual(8);
      // The fix: flat at its baseline, never more than a ring's height above it.
      const baseline = FdLeakEvidence.parse(fixedRun.decision.evidence).baseline ?? 0;
      for (const t of timesAcross(fixed, 6))
        expect(Math.abs((drawnYAt(raster, g, fixed, t) ?? 0) - g.y(baseline))).toBeLessThanOrEqual(5);
      const fixTop = Math.min(...hitsInPlot(raster, g, fixed.colour).map((h) => h.y));
      expect(g.y(baseline) - fixTop).toBeLessThan(12);
      // Rings mark the forks seen while watched; the decision's count may take one more late log line.
      expect(Math.abs(leaky.rings.length - leakyEvidence.attempts)).toBeLessThanOrEqual(2);

      const shown = await cli(["report", "show", dir]);
      expect(shown.exitCode).toBe(0);
      // The cli() helper (execa) drops the final newline.
      expect(`${shown.stdout}\n`).toBe(renderSummary(run));
      const md = await readFile(join(dir, "report.md"), "utf8");
      const quoted = report.targets[0]?.lines ?? [];
      expect(quoted.join("\n")).toContain("Can't rewrite append only file in background: fork:");
      for (const line of quoted) expect(md).toContain(line);
      expect((await stat(join(dir, "raw/3.2.8+fix-aof-pipe-leak.log.txt"))).size).toBeGreaterThan(0);
      await expectNoHostPaths(dir);
    },
    180_000,
  );

  it("`report show` on a folder without report.json is one line and exit 2", async () => {
    const empty = await mkdtemp(join(base, "empty-"));
    const shown = await cli(["report", "show", empty]);
    expect(shown.exitCode).toBe(2);
    expect(shown.stdout).toBe("");
    expect(shown.stderr).toBe(
      `redis-repro: no report.json in ${empty}: give the folder that \`redis-repro run --report DIR\` wrote`,
    );
    const bare = await cli(["report"]);
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toBe("redis-repro: report needs a subcommand: show: run `redis-repro report --help`");
  });

  it("`run --report` on a file is refused before anything runs", async () => {
    const file = join(base, "not-a-folder");
    await writeFile(file, "x");
    // The CLI's phase marks (REDIS_REPRO_TRACE) show how far it got: not to the run's start.
    const trace = join(base, "refused-trace.json");
    const ran = await cli(["run", "--target", "7.0.15", "--report", file], { REDIS_REPRO_TRACE: trace });
    expect(ran.exitCode).toBe(2);
    expect(ran.stderr).toBe(
      `redis-repro: --report ${file}: that is a file, not a folder; give a new or empty folder`,
    );
    const marks = Object.keys(JSON.parse(await readFile(trace, "utf8")));
    expect(marks).toContain("main");
    expect(marks).not.toContain("start");
    expect(marks).not.toContain("images");
  });
});
