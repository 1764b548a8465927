import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultConcurrency, MatrixResult, runMatrix } from "../../harness/campaigns/matrix.js";
import { catalogueVersions, expectationFor } from "../../harness/catalogue/catalogue.js";
import { FdLeakEvidence } from "../../harness/parts/checkers/index.js";
import type { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { cli, countContainers, missingSource, skipTitle } from "./support.js";

/**
 * The matrix on every catalogue release this machine has the tarball for: 7.0.15 on a fresh machine
 * (.ci/run puts Debian's source in the cache), all of them where the cache is full. Releases without
 * a tarball are skipped with a title naming the file.
 */
const seed = await loadScenario("aof-auto-rewrite-enomem");
const versions = catalogueVersions();
const missing = new Map<string, string | undefined>();
for (const v of versions) missing.set(v, await missingSource(v));
const present = versions.filter((v) => !missing.get(v));

let result: MatrixResult | undefined;
/** Each cell's whole run (the last, where a cell was run again), by target: the decision's evidence. */
const runs = new Map<string, RunResult>();
const dir = await mkdtemp(join(tmpdir(), "redis-repro-matrix-"));

beforeAll(async () => {
  if (present.length === 0) return;
  // Two retries: a cell that differs is run again after the others, as CI would see it.
  result = MatrixResult.parse(
    await runMatrix([{ scenario: seed }], present, {
      bases: "auto",
      concurrency: defaultConcurrency(),
      retries: 2,
      onRun: (_job, target, run) => runs.set(target, run),
    }),
  );
}, 1_200_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("redis-repro matrix on the real engine", () => {
  for (const version of versions) {
    const reason = missing.get(version);
    it.skipIf(reason)(skipTitle(`${version} × ${seed.name}: the label the catalogue records`, reason), () => {
      const cell = result?.cells.find((c) => c.target === version);
      expect(cell, version).toBeDefined();
      expect(cell?.status).not.toBe("error");
      const expected = expectationFor(version, seed.name);
      if (expected === "unmeasured") expect(cell?.status).toBe("unmeasured");
      else {
        expect(cell?.outcome).toBe(expected.outcome);
        expect(cell?.label).toBe(expected.label);
        expect(cell?.status).toBe("as-expected");
      }
      expect(cell?.checker).toBe("fd-leak");
      const decided = runs.get(version)?.results[0]?.decision;
      expect(decided?.label).toBe(cell?.label);
      expect(FdLeakEvidence.parse(decided?.evidence).attempts).toBeGreaterThanOrEqual(3);
      expect(cell?.command).toContain(`--target ${version}`);
    });
  }

  it.skipIf(present.length === 0)(
    skipTitle(
      "ran at most the concurrency limit at once, built nothing twice, left no container",
      present.length ? undefined : "no release tarball in the cache",
    ),
    async () => {
      expect(result?.concurrency).toBe(defaultConcurrency());
      expect(result?.builds.map((b) => b.target)).toEqual(present);
      expect(result?.ok).toBe(true);
      for (const cell of result?.cells ?? [])
        if (cell.runId) expect(await countContainers(cell.runId)).toBe(0);
    },
  );

  it.skipIf(missing.get("7.0.15"))(
    skipTitle(
      "the CLI: matrix 7.0.15 --junit FILE --json prints JSON only, writes JUnit, exits 0",
      missing.get("7.0.15"),
    ),
    async () => {
      const junit = join(dir, "sub", "junit.xml");
      const run = await cli(["matrix", "7.0.15", "--junit", junit, "--json"]);
      expect(run.exitCode, run.stderr).toBe(0);
      const parsed = MatrixResult.parse(JSON.parse(run.stdout));
      expect(parsed.cells).toHaveLength(1);
      expect(parsed.cells[0]).toMatchObject({
        target: "7.0.15",
        outcome: "no-bug",
        label: "stable",
        status: "as-expected",
      });
      const xml = await readFile(junit, "utf8");
      expect(xml).toMatch(
        /<testsuite name="aof-auto-rewrite-enomem" tests="1" failures="0" errors="0" skipped="0"/,
      );
      expect(xml).toContain('<testcase classname="redis-repro.aof-auto-rewrite-enomem" name="7.0.15"');
    },
    120_000,
  );
});

describe("matrix and bisect usage errors: one line, exit 2, before any engine work", () => {
  it.each([
    [["matrix", "3.2.13..3.2.0"], /range "3\.2\.13\.\.3\.2\.0" runs backwards/],
    [["matrix", "3.2.0..9.9.9"], /unknown release 9\.9\.9/],
    [["matrix", "--concurrency", "9"], /--concurrency must be a whole number from 1 to 8/],
    [["matrix", "7.0.15", "--scenario", "nope"], /scenario "nope" not found/],
    [["bisect", "--good", "3.2.9"], /bisect needs --good A and --bad B/],
    [["bisect", "--good", "3.2.9+fix-aof-pipe-leak", "--bad", "3.2.0"], /both ends on one release/],
  ])("%j", async (args, message) => {
    const run = await cli(args);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(message);
  });
});
