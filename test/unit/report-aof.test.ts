import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { seriesOf } from "../../harness/core/history.js";
import { projectRoot } from "../../harness/core/paths.js";
import {
  AOF_FILES_METRIC,
  chartGeometry,
  FD_METRIC,
  renderChart,
  seriesMetric,
} from "../../harness/report/chart.js";
import { releaseRows, renderMarkdown } from "../../harness/report/markdown.js";
import { buildReport, Report } from "../../harness/report/model.js";
import { hostPathsIn } from "../../harness/report/scrub.js";
import { writeReport } from "../../harness/report/write.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { loadPatches } from "../../harness/targets/patches.js";
import { drawnYAt, expectedYAt, rasterize, timesAcross } from "../helpers/raster.js";
import { recordedRun } from "../helpers/runs.js";

/** Reports of the recorded 7.0.15 vs 7.0.15+count-failed-aof-fork run (checker aof-dir). */
const run = recordedRun("aof-dir-7.0.15-vs-count-failed-aof-fork.json");
const scenario = await loadScenario("aof-dir-growth-enomem");
const [patch] = await loadPatches(["count-failed-aof-fork"]);
if (!patch) throw new Error("the patch is missing");
const now = new Date("2026-11-27T17:00:00.000Z");
const releases = [
  { target: "6.2.16", verdict: "inconclusive", runs: 1, date: "2026-11-26" },
  { target: "7.0.15", verdict: "growing", runs: 3, date: "2026-11-26" },
  { target: "7.0.15+count-failed-aof-fork", verdict: "stable", runs: 2, date: "2026-11-27" },
  { target: "7.2.6", verdict: "growing", runs: 3, date: "2026-11-27" },
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
/** The same run as if another checker had decided: no limiter evidence, so nothing of the AOF side. */
const fdsOnly = {
  ...run,
  results: run.results.map((r) => {
    const { limiter: _, ...evidence } = r.decision.evidence;
    return { ...r, checker: "fd-leak", decision: { ...r.decision, evidence } };
  }),
};
const base = await mkdtemp(join(tmpdir(), "redis-repro-report-aof-"));
afterAll(() => rm(base, { recursive: true, force: true }));

describe("the AOF side of a report", () => {
  it("one row per aof-dir target: files, manifest bytes, limiter, INFO's consecutive failures", () => {
    expect(report.files.aofChart).toBe("aof-files.svg");
    expect(report.aof).toEqual([
      expect.objectContaining({
        target: "7.0.15",
        verdict: "growing",
        filesBefore: 3,
        filesAfter: 16,
        filesPerAttempt: 1.05,
        limiterLine: null,
        attemptsAtLimit: null,
        consecutiveFailures: "0",
      }),
      expect.objectContaining({
        target: "7.0.15+count-failed-aof-fork",
        verdict: "stable",
        filesBefore: 3,
        filesAfter: 6,
        attemptsAtLimit: 3,
        consecutiveFailures: "3",
      }),
    ]);
  });

  it("report.md has the AOF table, the limiter's line, the files chart and the patch verbatim", () => {
    expect(md).toContain("### The AOF directory");
    expect(md).toContain("| `7.0.15` | **growing** | 15 | 3 → 16 | 1.05 | 88 → 670 | 46.93 | never | 0 |");
    expect(md).toContain(
      "| `7.0.15+count-failed-aof-fork` | **stable** | 3 | 3 → 6 | 0.85 | 88 → 220 | 37.39 | after 3 failed forks | 3 |",
    );
    expect(md).toContain("triggered the limit, will retry in 1 minutes");
    expect(md).toContain("![Files in the AOF directory over time, one line per target](aof-files.svg)");
    expect(md).toContain(["```diff", ...patch.text.trimEnd().split("\n"), "```"].join("\n"));
  });

  it("releases with one verdict in a row share a line; a patched build has its own", () => {
    expect(releaseRows(releases)).toEqual([
      ["`6.2.16`", "inconclusive", "1", "2026-11-26"],
      ["`7.0.15`", "growing", "3", "2026-11-26"],
      ["`7.0.15+count-failed-aof-fork`", "stable", "2", "2026-11-27"],
      ["`7.2.6`", "growing", "3", "2026-11-27"],
    ]);
    const plain = releases.filter((r) => !r.target.includes("+"));
    expect(releaseRows([...plain, { ...plain[2], target: "7.4.1" } as (typeof releases)[0]])).toEqual([
      ["`6.2.16`", "inconclusive", "1", "2026-11-26"],
      ["`7.0.15` … `7.4.1` (3 releases)", "growing", "9", "2026-11-27"],
    ]);
  });

  it("a report of fd checkers only has no AOF table or chart; no probe series, no series file", async () => {
    const plain = buildReport(fdsOnly, scenario, { now, dirs: [] });
    expect(plain.files.aofChart).toBeNull();
    expect(plain.aof).toEqual([]);
    expect(renderMarkdown(plain)).not.toContain("### The AOF directory");
    expect(plain.files.raw.every((r) => r.series?.endsWith(".series.csv"))).toBe(true);
    const bare = { ...fdsOnly, results: fdsOnly.results.map((r) => ({ ...r, series: {} })) };
    expect(buildReport(bare, scenario, { now, dirs: [] }).files.raw.every((r) => r.series === null)).toBe(
      true,
    );
  });
});

describe("the files-over-time chart", () => {
  const svg = renderChart(run, AOF_FILES_METRIC);
  const g = chartGeometry(run, AOF_FILES_METRIC);
  const raster = rasterize(svg);

  it("plots files, not fds, with the limiter's line as a cross and no event loop ceiling", () => {
    expect(svg).toContain("Files in the AOF directory over time");
    expect(svg).toContain("files in appendonlydir/");
    expect(svg).toContain("rewrite limiter engaged");
    expect(svg).not.toContain("event loop ceiling");
    expect(g.ceilings).toEqual([]);
    const [plain, patched] = g.series;
    expect(plain?.points.map((p) => p.fds)).toEqual(seriesOf(first, "aofdir.files").map((p) => p.v));
    expect(plain?.refused).toEqual([]);
    expect(patched?.refused).toHaveLength(1);
    expect(patched?.label).toContain("3 → 6 files · limiter engaged");
    expect(plain?.label).toContain("no limiter line");
  });

  it("each line is drawn where its samples are", () => {
    for (const s of g.series)
      for (const t of timesAcross(s, 5)) {
        const drawn = drawnYAt(raster, g, s, t);
        expect(drawn, `${s.target} at ${t} ms`).toBeDefined();
        expect(Math.abs((drawn ?? 0) - expectedYAt(g, s, t))).toBeLessThanOrEqual(5);
      }
  });

  it("any probe series can be charted: the INFO probe's consecutive failures", () => {
    const metric = seriesMetric("info.aof_rewrites_consecutive_failures");
    const info = chartGeometry(run, metric);
    expect(info.series[1]?.points.at(-1)?.fds).toBe(3);
    expect(info.series[0]?.points.every((p) => p.fds === 0)).toBe(true);
    const svg = renderChart(run, metric);
    expect(svg).toContain("info.aof_rewrites_consecutive_failures over time");
    expect(svg).not.toContain("fresh client refused");
  });

  it("the fd chart of the same run is still the fd chart", () => {
    expect(renderChart(run)).toBe(renderChart(run, FD_METRIC));
    expect(renderChart(run)).toContain("Open fds of redis-server over time");
  });
});

describe("a report folder of an aof-dir run", () => {
  it("holds aof-files.svg and a series CSV per target, read back by the schema", async () => {
    const dir = join(base, "aof");
    const written = await writeReport(dir, run, scenario, { now, dirs: [] });
    expect(written.files).toContain("aof-files.svg");
    expect(await readdir(join(dir, "raw"))).toContain("7.0.15+count-failed-aof-fork.series.csv");
    const csv = (await readFile(join(dir, "raw/7.0.15.series.csv"), "utf8")).trim().split("\n");
    expect(csv[0]).toBe("t_ms,series,value");
    const series = Object.values(run.results[0]?.series ?? {});
    expect(csv).toHaveLength(series.reduce((n, points) => n + points.length, 0) + 1);
    const files = csv
      .filter((line) => line.split(",")[1] === "aofdir.files")
      .map((l) => Number(l.split(",")[2]));
    expect(files).toEqual(seriesOf(first, "aofdir.files").map((p) => p.v));
    const back = Report.parse(JSON.parse(await readFile(join(dir, "report.json"), "utf8")));
    expect(back.patches.map((p) => p.name)).toEqual(["count-failed-aof-fork"]);
  });
});

describe("the rendered copy under docs/findings/", () => {
  const dir = join(projectRoot, "docs", "findings", "aof-incr-files-7.x");

  it("reads back as a report of both builds, with the patch, and names no host path", async () => {
    const back = Report.parse(JSON.parse(await readFile(join(dir, "report.json"), "utf8")));
    expect(back.aof.map((a) => [a.target, a.verdict])).toEqual([
      ["7.0.15", "growing"],
      ["7.0.15+count-failed-aof-fork", "stable"],
    ]);
    expect(back.patches[0]?.text).toBe(patch.text);
    for (const e of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((x) => x.isFile()))
      expect(hostPathsIn(await readFile(join(e.parentPath, e.name), "utf8")), e.name).toEqual([]);
  });
});

describe("the summary run and report show print", () => {
  it("has the AOF rows and the limiter's line for an aof-dir run, and none for an fd run", async () => {
    const { renderSummary } = await import("../../harness/report/summary.js");
    const text = renderSummary(run);
    expect(text).toMatch(/^rewrite limiter +never engaged +engaged after 3 failed forks$/m);
    expect(text).toMatch(/^consecutive failures +0 +3$/m);
    expect(text).toMatch(/^AOF files before → after +3 → 16 +3 → 6$/m);
    expect(text).toContain("    1:M 27 Nov 2026 17:50:44.641 # Background AOF rewrite has repeatedly failed");
    expect(renderSummary(fdsOnly)).not.toMatch(/^rewrite limiter /m);
  });
});
