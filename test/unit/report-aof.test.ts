import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { seriesOf } from "../../harness/core/history.js";
import { projectRoot } from "../../harness/core/paths.js";
import { chartGeometry, renderChart } from "../../harness/report/chart.js";
import { releaseRows, renderMarkdown } from "../../harness/report/markdown.js";
import { buildReport, REPORT_FORMAT, Report, type ReportRelease } from "../../harness/report/model.js";
import { hostPathsIn } from "../../harness/report/scrub.js";
import { renderSummary } from "../../harness/report/summary.js";
import { writeReport } from "../../harness/report/write.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { loadPatches } from "../../harness/targets/patches.js";
import { decidedRun } from "../helpers/decided.js";
import { drawnYAt, expectedYAt, rasterize, timesAcross } from "../helpers/raster.js";

/** The recorded 7.0.15 vs 7.0.15+count-failed-aof-fork run, decided by its scenario's checker (aof-dir). */
const scenario = await loadScenario("aof-dir-growth-enomem");
const run = decidedRun("aof-dir-7.0.15-vs-count-failed-aof-fork.json", scenario.checker);
const [patch] = await loadPatches(["count-failed-aof-fork"]);
if (!patch) throw new Error("the patch is missing");
const now = new Date("2026-11-27T17:00:00.000Z");
const releases: ReportRelease[] = [
  { target: "6.2.16", outcome: "unknown", label: "inconclusive", runs: 1, date: "2026-11-26" },
  { target: "7.0.15", outcome: "bug", label: "growing", runs: 3, date: "2026-11-26" },
  { target: "7.0.15+count-failed-aof-fork", outcome: "no-bug", label: "stable", runs: 2, date: "2026-11-27" },
  { target: "7.2.6", outcome: "bug", label: "growing", runs: 3, date: "2026-11-27" },
];
const report = buildReport(run, scenario, {
  now,
  dirs: [],
  releases,
  patches: [{ name: patch.name, text: patch.text }],
});
const md = renderMarkdown(report);
const [first] = run.results;
if (!first) throw new Error("the fixture has no result");
const base = await mkdtemp(join(tmpdir(), "redis-repro-report-aof-"));
afterAll(() => rm(base, { recursive: true, force: true }));

describe("a report decided by aof-dir", () => {
  it("its rows are aof-dir's facts: files, manifest bytes, the limiter, INFO's consecutive failures", () => {
    const names = report.targets[0]?.facts.map((f) => f.name) ?? [];
    expect(names).toEqual(
      expect.arrayContaining([
        "files before → after",
        "manifest bytes",
        "rewrite limiter",
        "consecutive failures (INFO)",
      ]),
    );
    // The table's rows after outcome and checker are those facts, in the checker's order.
    const lines = md.split("\n");
    const at = lines.findIndex((l) => l.startsWith("| checker |"));
    expect(lines.slice(at + 1, at + 1 + names.length).map((l) => l.split(" | ")[0]?.slice(2))).toEqual(names);
    expect(md).toContain(
      "| rewrite limiter | not engaged | engaged after 3 attempts at 6 files, held 5.1 s |",
    );
    expect(md).toContain("| consecutive failures (INFO) | 0 → 0 | 0 → 3 |");
    expect(md).not.toMatch(/\| fds|event loop ceiling/);
  });

  it("quotes the limiter's line, shows the files chart and the patch verbatim", () => {
    expect(md).toContain(
      "1:M 27 Nov 2026 17:50:44.641 # Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes",
    );
    expect(md).toContain("![files in the AOF directory, one line per target](chart.svg)");
    expect(md).not.toContain("dashed: the ceiling");
    expect(md).toContain(["```diff", ...patch.text.trimEnd().split("\n"), "```"].join("\n"));
  });

  it("releases with one label in a row share a line; a patched build has its own", () => {
    expect(releaseRows(releases)).toEqual([
      ["`6.2.16`", "inconclusive (unknown)", "1", "2026-11-26"],
      ["`7.0.15`", "growing (bug)", "3", "2026-11-26"],
      ["`7.0.15+count-failed-aof-fork`", "stable (no-bug)", "2", "2026-11-27"],
      ["`7.2.6`", "growing (bug)", "3", "2026-11-27"],
    ]);
    const plain = releases.filter((r) => !r.target.includes("+"));
    expect(releaseRows([...plain, { ...plain[2], target: "7.4.1" } as ReportRelease])).toEqual([
      ["`6.2.16`", "inconclusive (unknown)", "1", "2026-11-26"],
      ["`7.0.15` … `7.4.1` (3 releases)", "growing (bug)", "9", "2026-11-27"],
    ]);
    expect(md).toContain("| release | label (outcome) | runs | last run |");
  });

  it("the summary `run` and `report show` print has the same rows, and the limiter's line", () => {
    const text = renderSummary(report.run);
    expect(text).toMatch(/^rewrite limiter +not engaged +engaged after 3 attempts at 6 files, held 5\.1 s$/m);
    expect(text).toMatch(/^consecutive failures \(INFO\) +0 → 0 +0 → 3$/m);
    expect(text).toMatch(
      /^files before → after +3 → 16 \(1\.05 per attempt over 12; first reading 3\) +3 → 6/m,
    );
    expect(text).toContain("    1:M 27 Nov 2026 17:50:44.641 # Background AOF rewrite has repeatedly failed");
  });
});

describe("the chart of an aof-dir decision: files over time", () => {
  const svg = renderChart(run) ?? "";
  const geometry = chartGeometry(run);
  if (!geometry) throw new Error("aof-dir's decisions have a plot");
  const g = geometry;
  const raster = rasterize(svg);

  it("plots the AOF directory's files, no ceiling, no crosses", () => {
    expect(svg).toContain(">files in the AOF directory</text>");
    expect(svg).not.toContain("ceiling");
    expect(g.ceilings).toEqual([]);
    const [plain, patched] = g.series;
    expect(plain?.points.map((p) => p.v)).toEqual(seriesOf(first.history, "aofdir.files").map((p) => p.v));
    expect(plain?.points.at(-1)?.v).toBe(17);
    expect(patched?.points.at(-1)?.v).toBe(6);
    expect(g.series.every((s) => s.crosses.length === 0)).toBe(true);
    expect(patched?.label).toContain(
      "stable (no-bug) · files 3 → 6 (0.85/attempt), manifest 88 → 220 B, limiter after 3 attempts",
    );
  });

  it("each line is drawn where its samples are", () => {
    for (const s of g.series)
      for (const t of timesAcross(s, 5)) {
        const drawn = drawnYAt(raster, g, s, t);
        expect(drawn, `${s.target} at ${t} ms`).toBeDefined();
        expect(Math.abs((drawn ?? 0) - expectedYAt(g, s, t))).toBeLessThanOrEqual(5);
      }
  });
});

describe("a report folder of an aof-dir run", () => {
  it("holds the chart and a series CSV per target with the AOF directory's readings, read back by the schema", async () => {
    const dir = join(base, "aof");
    const written = await writeReport(dir, run, scenario, { now, dirs: [] });
    expect(written.files).toContain("chart.svg");
    expect(await readdir(join(dir, "raw"))).toContain("7.0.15+count-failed-aof-fork.series.csv");
    const csv = (await readFile(join(dir, "raw/7.0.15.series.csv"), "utf8")).trim().split("\n");
    expect(csv[0]).toBe("t_ms,series,value,text");
    const files = csv
      .filter((line) => line.split(",")[1] === "aofdir.files")
      .map((l) => Number(l.split(",")[2]));
    expect(files.at(0)).toBe(3);
    expect(files.at(-1)).toBe(17);
    expect(files).toHaveLength(seriesOf(first.history, "aofdir.files").length);
    const back = Report.parse(JSON.parse(await readFile(join(dir, "report.json"), "utf8")));
    expect(back.patches.map((p) => p.name)).toEqual(["count-failed-aof-fork"]);
  });
});

describe("the rendered copy under docs/findings/", () => {
  const dir = join(projectRoot, "docs", "findings", "aof-incr-files-7.x");

  it("reads back as a report of both builds in this format, with the patch, and names no host path", async () => {
    const back = Report.parse(JSON.parse(await readFile(join(dir, "report.json"), "utf8")));
    expect(back.format).toBe(REPORT_FORMAT);
    expect(back.targets.map((t) => [t.target, t.checker, t.outcome, t.label])).toEqual([
      ["7.0.15", "aof-dir", "bug", "growing"],
      ["7.0.15+count-failed-aof-fork", "aof-dir", "no-bug", "stable"],
    ]);
    expect(back.patches[0]?.text).toBe(patch.text);
    expect(back.files.chart).toBe("chart.svg");
    for (const e of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((x) => x.isFile()))
      expect(hostPathsIn(await readFile(join(e.parentPath, e.name), "utf8")), e.name).toEqual([]);
  });
});
