import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MatrixResult } from "../../harness/campaigns/matrix.js";
import { mergeMatrix, mergeSweep } from "../../harness/campaigns/merge.js";
import { inShard, parseShard, planDigest, takeShard } from "../../harness/campaigns/shard.js";
import { SweepResult } from "../../harness/campaigns/sweep.js";
import { cliBin, projectRoot } from "../../harness/core/paths.js";
import { matrixJunit } from "../../harness/report/matrix.js";
import { userError } from "../helpers/errors.js";

/** Shards recorded from real runs: `matrix 3.2.8 3.2.9 --scenario aof-auto-rewrite-enomem --scenario bgrewriteaof-enomem --shard I/2 --json`, `sweep 3.2.8 3.2.9 --path aof-rewrite-bgrewriteaof --shard I/2 --json`. */
const fixture = (name: string) => join(projectRoot, "test", "fixtures", "shards", name);
const matrixPart = (i: number) => ({
  file: `matrix-${i}.json`,
  result: MatrixResult.parse(
    JSON.parse(readFileSync(fixture(`matrix-seed-bgrewriteaof-${i}of2.json`), "utf8")),
  ),
});
const sweepPart = (i: number, recorded = "sweep-bgrewriteaof", file = "sweep") => ({
  file: `${file}-${i}.json`,
  result: SweepResult.parse(JSON.parse(readFileSync(fixture(`${recorded}-${i}of2.json`), "utf8"))),
});

describe("--shard I/N: a deterministic split of the cells", () => {
  it("parses I/N and refuses anything else in one line", () => {
    expect(parseShard("2/4")).toEqual({ index: 2, count: 4 });
    expect(parseShard("1/1")).toEqual({ index: 1, count: 1 });
    for (const bad of ["0/4", "5/4", "2", "2/0", "a/b", "2/4/6", "-1/4", ""])
      expect(userError(() => parseShard(bad)).message).toMatch(/^--shard must be I\/N with 1 ≤ I ≤ N/);
  });

  it("deals cell k to shard (k mod N) + 1", () => {
    expect([0, 1, 2, 3, 4, 5].filter((k) => inShard(k, { index: 2, count: 3 }))).toEqual([1, 4]);
  });

  it("the shards of a plan cover every cell once, differ in size by one at most, and agree on the plan", () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 40 }), fc.integer({ min: 1, max: 9 }), (keys, count) => {
        const cells = keys.map((key, i) => ({ key, i }));
        const parts = Array.from({ length: count }, (_, i) =>
          takeShard(cells, (c) => c.key, [], { index: i + 1, count }),
        );
        const dealt = parts.flatMap((p) => p.cells.map((c) => c.i)).sort((a, b) => a - b);
        expect(dealt).toEqual(cells.map((c) => c.i));
        const sizes = parts.map((p) => p.cells.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(new Set(parts.map((p) => p.info?.plan)).size).toBe(1);
        expect(parts[0]?.info?.planned).toBe(cells.length);
      }),
    );
  });

  it("another plan has another digest (a shard of another command line is told apart)", () => {
    expect(planDigest(["a", "b"])).not.toBe(planDigest(["b", "a"]));
    expect(planDigest(["a", "b"])).toBe(planDigest(["a", "b"]));
  });

  it("no shard: every cell, no plan recorded", () => {
    expect(takeShard([1, 2, 3], String, [], undefined)).toEqual({ cells: [1, 2, 3], info: undefined });
  });
});

describe("merge: the shards' results as one", () => {
  it("two recorded matrix shards give the whole table, in the plan's order", () => {
    const { result, problems } = mergeMatrix([matrixPart(2), matrixPart(1)]);
    expect(problems).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.targets).toEqual(["3.2.8", "3.2.9"]);
    expect(result.scenarios).toEqual(["aof-auto-rewrite-enomem", "bgrewriteaof-enomem"]);
    expect(result.cells.map((c) => [c.scenario, c.target, c.outcome, c.label])).toEqual([
      ["aof-auto-rewrite-enomem", "3.2.8", "bug", "exhaustion"],
      ["aof-auto-rewrite-enomem", "3.2.9", "no-bug", "stable"],
      ["bgrewriteaof-enomem", "3.2.8", "bug", "exhaustion"],
      ["bgrewriteaof-enomem", "3.2.9", "no-bug", "stable"],
    ]);
    expect(result.counts).toEqual({ "as-expected": 4, differs: 0, unmeasured: 0, error: 0 });
    expect(result.shard).toBeUndefined();
    expect(MatrixResult.parse(result)).toEqual(result);
    expect(matrixJunit(result)).toMatch(/<testsuites name="redis-repro matrix" tests="4" failures="0"/);
  });

  it("a missing shard is named and fails the merge; its cells are not made up", () => {
    const { result, problems } = mergeMatrix([matrixPart(2)]);
    expect(problems).toEqual([
      "missing shard(s) 1/2: their cells are not in this table (1 of 2 shard(s) given)",
    ]);
    expect(result.ok).toBe(false);
    expect(result.cells.map((c) => c.target)).toEqual(["3.2.9", "3.2.9"]);
  });

  it("refuses a shard twice, shards of different plans, and a whole result among shards", () => {
    expect(userError(() => mergeMatrix([matrixPart(1), matrixPart(1)])).message).toBe(
      "matrix-1.json and matrix-1.json are both shard 1/2: give each shard once",
    );
    const other = matrixPart(2);
    other.result = {
      ...other.result,
      shard: { ...(other.result.shard as NonNullable<typeof other.result.shard>), plan: "0000000000000000" },
    };
    expect(userError(() => mergeMatrix([matrixPart(1), other])).message).toMatch(
      /are parts of different plans: every shard must run the same command line/,
    );
    const { shard: _, ...whole } = matrixPart(2).result;
    expect(
      userError(() => mergeMatrix([matrixPart(1), { file: "whole.json", result: whole }])).message,
    ).toMatch(/^whole\.json is a whole result and matrix-1\.json one shard of a plan/);
  });

  it("whole results of different runs merge when no cell is in two of them", () => {
    const { shard: _a, ...one } = matrixPart(1).result;
    const { shard: _b, ...two } = matrixPart(2).result;
    expect(
      mergeMatrix([
        { file: "a", result: one },
        { file: "b", result: two },
      ]).result.cells,
    ).toHaveLength(4);
    expect(
      userError(() =>
        mergeMatrix([
          { file: "a", result: one },
          { file: "b", result: one },
        ]),
      ).message,
    ).toBe(
      "cell 3.2.8 × aof-auto-rewrite-enomem is in both a and b: merge parts that split one plan, not runs that overlap",
    );
  });

  it("two recorded sweep shards give the whole sweep: 3.2.8 leaks under both faults, 3.2.9 is clean", () => {
    const { result, problems } = mergeSweep([sweepPart(1), sweepPart(2)]);
    expect(problems).toEqual([]);
    expect(result.faults).toEqual(["seccomp-enomem", "pids-limit"]);
    expect(result.cells.map((c) => [c.fault, c.target, c.outcome, c.label])).toEqual([
      ["seccomp-enomem", "3.2.8", "bug", "exhaustion"],
      ["seccomp-enomem", "3.2.9", "no-bug", "stable"],
      ["pids-limit", "3.2.8", "bug", "exhaustion"],
      ["pids-limit", "3.2.9", "no-bug", "stable"],
    ]);
    expect(result.clean).toBe(false);
  });
});

describe("merging healed sweeps (--heal)", () => {
  /** Recorded: `sweep 3.2.8 3.2.9 --heal --path aof-rewrite-bgrewriteaof --fault libfiu:fork:ENOMEM --shard I/2 --json`. */
  const healedPart = (i: number) => sweepPart(i, "sweep-healed-bgrewriteaof", "healed");

  it("keeps each cell's recovery and the heal: 3.2.8 leaks and does not recover, 3.2.9 recovers", () => {
    const { result, problems } = mergeSweep([healedPart(2), healedPart(1)]);
    expect(problems).toEqual([]);
    expect(result.heal).toEqual({ attempts: 15, withinMs: 10_000 });
    expect(result.cells.map((c) => [c.target, c.outcome, c.recovery?.outcome])).toEqual([
      ["3.2.8", "bug", "bug"],
      ["3.2.9", "no-bug", "no-bug"],
    ]);
    expect(result.cells[0]?.text).toMatch(/^6 fd\/attempt \(pipe\); (refused; )?not recovered: fds\.total/);
    expect(result.cells[1]?.text).toMatch(/^clean; recovered \+\d+\.\d s$/);
  });

  it("refuses to join a healed sweep with one whose faults stayed on, in one line", () => {
    const whole = <T extends { result: SweepResult }>(part: T) => {
      const { shard: _shard, ...result } = part.result;
      return { ...part, result };
    };
    expect(() => mergeSweep([whole(healedPart(1)), whole(sweepPart(2))])).toThrow(
      /^healed-1\.json healed its faults \(--heal\), sweep-2\.json kept its faults on: merge sweeps run the same way$/,
    );
  });
});

describe("redis-repro merge (the built CLI)", () => {
  const cli = cliBin;
  it("merges files or a folder; exit 0 whole, 1 a shard missing, 2 a kind mixed or a file unreadable", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-merge-"));
    for (const i of [1, 2]) await writeFile(join(dir, `m${i}.json`), JSON.stringify(matrixPart(i).result));
    await writeFile(join(dir, "other.json"), JSON.stringify({ not: "a result" }));
    const whole = await execa("node", [cli, "merge", dir, "--junit", join(dir, "all.xml")], {
      reject: false,
    });
    expect(whole.exitCode).toBe(0);
    expect(whole.stdout).toMatch(
      /^3\.2\.8 +exhaustion ✓ +6 fd\/failed fork, fds \d+ → 194 .* exhaustion ✓ /m,
    );
    expect(whole.stdout).toMatch(/^3\.2\.9 +stable ✓ +0 fd\/failed fork, .* stable ✓ /m);
    expect(whole.stdout).toContain("4 as expected, 0 differ, 0 unmeasured, 0 failed to run");
    expect(readFileSync(join(dir, "all.xml"), "utf8")).toContain('tests="4"');
    const half = await execa("node", [cli, "merge", join(dir, "m2.json")], { reject: false });
    expect(half.exitCode).toBe(1);
    // Its cells met their expectations; what fails it is the part that is not there.
    expect(half.stdout).toMatch(
      /every measured expectation met\nmissing shard\(s\) 1\/2: their cells are not in this table/,
    );
    await writeFile(join(dir, "s1.json"), JSON.stringify(sweepPart(1).result));
    const mixed = await execa("node", [cli, "merge", join(dir, "m1.json"), join(dir, "s1.json")], {
      reject: false,
    });
    expect(mixed.exitCode).toBe(2);
    expect(mixed.stderr).toMatch(/is a sweep's result and .* a matrix's: merge one kind at a time/);
    const bad = await execa("node", [cli, "merge", join(dir, "other.json")], { reject: false });
    expect(bad.exitCode).toBe(2);
  }, 120_000);
});
