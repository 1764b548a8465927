import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eventsOf, FAULT_START, seriesOf } from "../../harness/core/history.js";
import { AofDirEvidence, FdLeakEvidence } from "../../harness/parts/checkers/index.js";
import { chartGeometry } from "../../harness/report/chart.js";
import { Report } from "../../harness/report/model.js";
import { hostPathsIn } from "../../harness/report/scrub.js";
import { writeReport } from "../../harness/report/write.js";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { drawnYAt, rasterize } from "../helpers/raster.js";
import { cli, countContainers, missingSource, skipTitle } from "./support.js";

/**
 * Issue #15 on the real engine: 7.0.15 opens a new incr file per failed rewrite fork and never counts
 * the failure, so its retry limiter never engages; count-failed-aof-fork counts it, and the directory
 * stops growing once the limiter's threshold (3) is reached.
 */
const missing7 = await missingSource("7.0.15");
const PATCHED = "7.0.15+count-failed-aof-fork";
const growth = await loadScenario("aof-dir-growth-enomem");
const control = await loadScenario("aof-dir-fork-ok-control");
const base = await mkdtemp(join(tmpdir(), "redis-repro-aof-it-"));
afterAll(() => rm(base, { recursive: true, force: true }));

describe("the AOF rewrite limiter: 7.0.15 vs 7.0.15+count-failed-aof-fork", () => {
  it.skipIf(missing7)(
    skipTitle(
      "unpatched grows with no limiter line; patched stops after 3 failed forks and logs it",
      missing7,
    ),
    async () => {
      const run = await runScenario(growth, ["7.0.15", PATCHED], { bases: "auto" });
      const [plain, patched] = run.results;
      if (!plain || !patched) throw new Error("two results expected");

      const a = AofDirEvidence.parse(plain.decision.evidence);
      const b = AofDirEvidence.parse(patched.decision.evidence);
      expect(plain.checker).toBe("aof-dir");
      expect(plain).toHaveOutcome("bug");
      expect(plain).toHaveOutcome("growing");
      expect(a.files.perAttempt ?? 0).toBeGreaterThanOrEqual(0.8);
      expect(a.manifest.perAttempt ?? 0).toBeGreaterThan(0);
      expect(a.limiter.line).toBeNull();
      expect(eventsOf(plain.history, "rewrite-limited")).toEqual([]);
      // The scenario's INFO probe: the limiter's counter, sampled every tick, never moved.
      const plainCounter = seriesOf(plain.history, "info.aof_rewrites_consecutive_failures");
      expect(plainCounter.length).toBeGreaterThan(0);
      expect(plainCounter.every((p) => p.v === 0)).toBe(true);
      expect(a.consecutiveFailures).toMatchObject({ first: 0, last: 0 });

      expect(patched).toHaveOutcome("no-bug");
      expect(patched).toHaveOutcome("stable");
      expect(b.limiter.line).toMatch(
        /Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes/,
      );
      // The limiter's threshold: three failed forks, three files, then nothing for the hold.
      expect(b.limiter.attemptsAtLimit).toBe(3);
      expect(b.limiter.heldMs ?? 0).toBeGreaterThanOrEqual(5_000);
      expect(b.attempts).toBe(3);
      // From the sample before the workload: three files more (one per failed fork).
      const files = seriesOf(patched.history, "aofdir.files");
      expect((files.at(-1)?.v ?? 0) - (files[0]?.v ?? 0)).toBe(3);
      expect(seriesOf(patched.history, "info.aof_rewrites_consecutive_failures").at(-1)?.v).toBe(3);
      expect(b.consecutiveFailures?.last).toBe(3);
      expect(run).toMeetExpectations();
      expect(run.ok).toBe(true);
      expect(await countContainers(run.runId)).toBe(0);

      // The report carries the files chart, aof-dir's rows and the patch itself, and no host path.
      const dir = join(base, "pair");
      await writeReport(dir, run, growth);
      const report = Report.parse(JSON.parse(await readFile(join(dir, "report.json"), "utf8")));
      expect(report.files.chart).toBe("chart.svg");
      const fact = (t: (typeof report.targets)[number], name: string) =>
        t.facts.find((f) => f.name === name)?.value;
      expect(report.targets.map((t) => [t.target, t.label, fact(t, "consecutive failures (INFO)")])).toEqual([
        ["7.0.15", "growing", "0 → 0"],
        [PATCHED, "stable", "0 → 3"],
      ]);
      expect(report.patches.map((p) => p.name)).toEqual(["count-failed-aof-fork"]);
      const md = await readFile(join(dir, "report.md"), "utf8");
      expect(md).toContain("![files in the AOF directory, one line per target](chart.svg)");
      expect(md).toContain("+            server.stat_aofrw_consecutive_failures++;");
      expect(await readFile(join(dir, "raw/7.0.15.series.csv"), "utf8")).toMatch(/^t_ms,series,value,text\n/);
      expect(await readFile(join(dir, "raw/7.0.15.log.txt"), "utf8")).toContain("Creating AOF incr file");
      for (const e of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((x) =>
        x.isFile(),
      ))
        expect(hostPathsIn(await readFile(join(e.parentPath, e.name), "utf8")), e.name).toEqual([]);

      // In the chart the unpatched line ends higher than the patched one, which ends where its data does.
      const g = chartGeometry(report.run);
      if (!g) throw new Error("aof-dir's decisions have a plot");
      expect(g.title).toBe("files in the AOF directory");
      const raster = rasterize(await readFile(join(dir, "chart.svg"), "utf8"));
      const [up, flat] = g.series;
      if (!up || !flat) throw new Error("two series expected");
      const lastUp = up.points.at(-1);
      const lastFlat = flat.points.at(-1);
      if (!lastUp || !lastFlat) throw new Error("no points");
      expect(lastUp.v).toBeGreaterThan(lastFlat.v);
      const drawn = drawnYAt(raster, g, flat, lastFlat.t - 200);
      expect(drawn).toBeDefined();
      expect(Math.abs((drawn ?? 0) - g.y(lastFlat.v))).toBeLessThanOrEqual(5);
    },
    180_000,
  );

  it.skipIf(missing7)(
    skipTitle("bisect over the patch names it as the fix", missing7),
    async () => {
      const run = await cli([
        "bisect",
        "--scenario",
        growth.name,
        "--bad",
        "7.0.15",
        "--good",
        PATCHED,
        "--json",
      ]);
      expect(run.exitCode, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout);
      expect(out.outcome).toMatchObject({
        kind: "found",
        last: "7.0.15",
        first: PATCHED,
        from: { outcome: "bug", label: "growing" },
        to: { outcome: "no-bug", label: "stable" },
      });
      expect(out.conclusion).toContain("the fix is the patch count-failed-aof-fork");
    },
    180_000,
  );

  it.skipIf(missing7)(
    skipTitle("the patched build's limiter engages under the pids-limit fault (EAGAIN) too", missing7),
    async () => {
      const run = await runScenario(growth, [PATCHED], { bases: "auto", faultOverride: "pids-limit" });
      const [patched] = run.results;
      if (!patched) throw new Error("one result expected");
      expect(patched).toHaveOutcome("stable");
      expect(patched.faults).toEqual(["pids-limit"]);
      const e = AofDirEvidence.parse(patched.decision.evidence);
      expect(e.errno).toBe("Resource temporarily unavailable");
      expect(e.limiter.attemptsAtLimit).toBe(3);
      expect(await countContainers(run.runId)).toBe(0);
    },
    120_000,
  );

  it.skipIf(missing7)(
    skipTitle("control: with fork working both builds rewrite and keep base + incr + manifest", missing7),
    async () => {
      const run = await runScenario(control, ["7.0.15", PATCHED], { bases: "auto" });
      expect(run.results).toHaveLength(2);
      for (const r of run.results) {
        expect(r.faults).toEqual([]);
        expect(eventsOf(r.history, FAULT_START)).toEqual([]);
        expect(r).toHaveOutcome("stable");
        const e = AofDirEvidence.parse(r.decision.evidence);
        expect(e.attempts).toBe(0);
        expect(eventsOf(r.history, "rewrite-started").length).toBeGreaterThan(0);
        expect(eventsOf(r.history, "rewrite-limited")).toEqual([]);
        expect(seriesOf(r.history, "aofdir.files").at(-1)?.v).toBeLessThanOrEqual(4);
        expect(seriesOf(r.history, "info.aof_rewrites_consecutive_failures").at(-1)?.v).toBe(0);
      }
      expect(run.ok).toBe(true);
      expect(await countContainers(run.runId)).toBe(0);
    },
    120_000,
  );

  it.skipIf(missing7)(
    skipTitle(
      "the patch leaves the seed's fd scenario as it was on 7.0.15: stable, no fd per fork",
      missing7,
    ),
    async () => {
      const seed = await loadScenario("aof-auto-rewrite-enomem");
      // Past the limiter's threshold the patched build stops forking, so the budget is the threshold.
      const scenario = { ...seed, budgets: { ...seed.budgets, attempts: 3 } };
      const run = await runScenario(scenario, ["7.0.15", PATCHED], { bases: "auto" });
      expect(run.results).toHaveLength(2);
      for (const r of run.results) {
        expect(r).toHaveOutcome("stable");
        expect(FdLeakEvidence.parse(r.decision.evidence).fdsPerAttempt ?? 0).toBeLessThan(1);
      }
      expect(await countContainers(run.runId)).toBe(0);
    },
    120_000,
  );
});
