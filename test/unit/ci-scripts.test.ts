import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { MatrixResult } from "../../harness/campaigns/matrix.js";
import { catalogueVersions } from "../../harness/catalogue/catalogue.js";
import { projectRoot } from "../../harness/core/paths.js";
import { shardReleases } from "../../scripts/ci/matrix.js";
import { readShards, renderSummary } from "../../scripts/ci/summary.js";

const script = (name: string) => join(projectRoot, "dist", "scripts", "ci", `${name}.js`);

describe("scripts/ci/matrix: the CI shards from the catalogue", () => {
  it("deals every catalogue release into exactly one shard, round-robin, in catalogue order", () => {
    const versions = catalogueVersions();
    const shards = shardReleases(versions, 4);
    expect(shards.map((s) => s.shard)).toEqual(["1", "2", "3", "4"]);
    const dealt = shards.flatMap((s) => s.releases.split(" "));
    expect([...dealt].sort()).toEqual([...versions].sort());
    expect(shards[0]?.releases.split(" ")[1]).toBe(versions[4]);
    const sizes = shards.map((s) => s.releases.split(" ").length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it("never makes an empty shard", () => {
    expect(shardReleases(["3.2.8", "3.2.9"], 4)).toEqual([
      { shard: "1", releases: "3.2.8" },
      { shard: "2", releases: "3.2.9" },
    ]);
  });

  it("the built script prints the matrix the workflow reads", async () => {
    const { stdout } = await execa("node", [script("matrix"), "--shards", "3"]);
    const parsed = JSON.parse(stdout) as { include: { shard: string; releases: string }[] };
    expect(parsed.include).toEqual(shardReleases(catalogueVersions(), 3));
    const bad = await execa("node", [script("matrix"), "--shards", "zero"], { reject: false });
    expect(bad.exitCode).toBe(2);
  });
});

/** A matrix result recorded from a real run (every release × the seed), as a shard would write it. */
const recorded = MatrixResult.parse(
  JSON.parse(
    readFileSync(join(projectRoot, "test", "fixtures", "matrix", "seed-all-releases-1.json"), "utf8"),
  ),
);

/** The recorded result cut down to some releases, each cell with the status given (as the matrix marks it). */
function result(cells: { target: string; expected: string; status: string }[]): MatrixResult {
  return {
    ...recorded,
    cells: cells.map(({ target, expected, status }) => {
      const found = recorded.cells.find((c) => c.target === target);
      if (!found) throw new Error(`no recorded cell for ${target}`);
      return { ...found, expected, status } as MatrixResult["cells"][number];
    }),
  };
}

/** A recorded cell (its label is what the run gave: 3.2.8 exhaustion, 3.2.9 stable) against an expectation. */
function cell(target: string, expected: string, status: string) {
  return { target, expected, status };
}

describe("scripts/ci/summary: one table from the shards", () => {
  it("merges shard results into one table, marks a differing cell, names a shard without a result", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-summary-"));
    await mkdir(join(dir, "matrix-shard1"));
    await mkdir(join(dir, "matrix-shard2"));
    await writeFile(
      join(dir, "matrix-shard1", "matrix-shard1.json"),
      JSON.stringify(result([cell("3.2.8", "exhaustion", "as-expected")])),
    );
    await writeFile(
      join(dir, "matrix-shard2", "matrix-shard2.json"),
      JSON.stringify(result([cell("3.2.9", "exhaustion", "differs")])),
    );
    await writeFile(join(dir, "matrix-shard2", "junit-shard2.xml"), "<testsuites/>");
    const shards = readShards(dir);
    expect(shards.map((s) => s.file)).toEqual([
      "matrix-shard1/matrix-shard1.json",
      "matrix-shard2/matrix-shard2.json",
    ]);
    const { markdown, ok } = renderSummary(shards, 3);
    expect(ok).toBe(false);
    expect(markdown).toContain("| release | aof-auto-rewrite-enomem |");
    expect(markdown).toContain("| 3.2.8 | exhaustion ✓ |");
    expect(markdown).toContain("| 3.2.9 | stable ✗ differs (expected exhaustion) |");
    // An expectation may be an outcome: the label the run gave is shown against it.
    const byOutcome = renderSummary([{ file: "m.json", result: result([cell("3.2.9", "bug", "differs")]) }]);
    expect(byOutcome.markdown).toContain("| 3.2.9 | stable ✗ differs (expected bug) |");
    expect(markdown).toContain("1 of 3 shard(s) left no result");

    // The built script, as the workflow calls it: the same table, exit 1 because a cell differs.
    const run = await execa("node", [script("summary"), dir, "--shards", "3"], { reject: false });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe(markdown.trimEnd());
  });

  it("all as expected is exit 0; an unreadable file is named", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-summary-"));
    await writeFile(
      join(dir, "matrix-a.json"),
      JSON.stringify(result([cell("3.2.8", "exhaustion", "as-expected")])),
    );
    expect(renderSummary(readShards(dir), 1).ok).toBe(true);
    await writeFile(join(dir, "matrix-b.json"), "{");
    const { markdown, ok } = renderSummary(readShards(dir));
    expect(ok).toBe(false);
    expect(markdown).toMatch(/`matrix-b\.json`: unreadable/);
  });
});
