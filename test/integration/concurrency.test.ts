import { describe, expect, it } from "vitest";
import { listManagedImages } from "../../harness/engine/images.js";
import { cli, countContainers, missingSource, skipTitle } from "./support.js";

/**
 * Several users (or CI jobs) on one engine: runs side by side each give their outcomes, neither
 * removes the other's containers or images (a run's start sweeps only dead runs' leftovers), and
 * nothing is left once both are done.
 */
const missing = await missingSource("3.2.8");
let counter = 0;
const newId = (name: string) => `concurrent-${process.pid}-${name}-${++counter}`;

interface RunJson {
  ok: boolean;
  results: { target: string; matches: boolean | null; decision: { outcome: string; label: string } }[];
}
interface MatrixJson {
  ok: boolean;
  cells: { target: string; outcome: string | null; label: string | null; status: string }[];
}

async function imageTags(): Promise<Set<string>> {
  return new Set((await listManagedImages()).map((i) => i.tag));
}

describe.skipIf(missing)(skipTitle("runs side by side on one engine", missing), () => {
  it("two runs at once: both give the expected outcomes, nothing left, no image removed", async () => {
    const before = await imageTags();
    const [a, b] = [newId("a"), newId("b")];
    const results = await Promise.all([
      cli(["run", "--json"], { REDIS_REPRO_RUN_ID: a }),
      cli(["run", "--json"], { REDIS_REPRO_RUN_ID: b }),
    ]);
    for (const result of results) {
      expect(result.exitCode, result.stderr.slice(-500)).toBe(0);
      const run = JSON.parse(result.stdout) as RunJson;
      expect(run.ok).toBe(true);
      expect(run.results.map((r) => [r.target, r.decision.outcome, r.decision.label])).toEqual([
        ["3.2.8", "bug", "exhaustion"],
        ["3.2.8+fix-aof-pipe-leak", "no-bug", "stable"],
      ]);
    }
    expect(await countContainers(a)).toBe(0);
    expect(await countContainers(b)).toBe(0);
    const after = await imageTags();
    for (const tag of before) expect(after.has(tag), tag).toBe(true);
  }, 180_000);

  it("a matrix beside a run: both give their outcomes, nothing left, no image removed", async () => {
    const before = await imageTags();
    const [m, r] = [newId("matrix"), newId("run")];
    const [matrix, run] = await Promise.all([
      cli(["matrix", "3.2.8,3.2.8+fix-aof-pipe-leak", "--retries", "0", "--json"], { REDIS_REPRO_RUN_ID: m }),
      cli(["run", "--json"], { REDIS_REPRO_RUN_ID: r }),
    ]);
    expect(matrix.exitCode, matrix.stderr.slice(-500)).toBe(0);
    const cells = (JSON.parse(matrix.stdout) as MatrixJson).cells;
    expect(cells.map((c) => [c.target, c.outcome, c.label, c.status])).toEqual([
      ["3.2.8", "bug", "exhaustion", "as-expected"],
      ["3.2.8+fix-aof-pipe-leak", "no-bug", "stable", "as-expected"],
    ]);
    expect(run.exitCode, run.stderr.slice(-500)).toBe(0);
    expect((JSON.parse(run.stdout) as RunJson).ok).toBe(true);
    expect(await countContainers(m)).toBe(0);
    expect(await countContainers(r)).toBe(0);
    const after = await imageTags();
    for (const tag of before) expect(after.has(tag), tag).toBe(true);
  }, 180_000);
});
