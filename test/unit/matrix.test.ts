import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cellExpectation,
  defaultConcurrency,
  MatrixResult,
  pool,
  renderJunit,
  renderMatrix,
  toCell,
} from "../../harness/campaigns/matrix.js";
import { projectRoot } from "../../harness/core/paths.js";
import { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { seedRunData } from "../helpers/fixture.js";

const seed = await loadScenario("aof-auto-rewrite-enomem");
const recorded = MatrixResult.parse(
  JSON.parse(
    readFileSync(join(projectRoot, "test", "fixtures", "matrix", "seed-all-releases-1.json"), "utf8"),
  ),
);

/** The recorded seed run cut down to one target, as runScenario returns it for a matrix cell. */
function runOf(target: string, as?: string): RunResult {
  const run = RunResult.parse(seedRunData());
  const result = run.results.find((r) => r.target === target);
  if (!result) throw new Error(`no ${target} in the fixture`);
  return { ...run, results: [{ ...result, target: as ?? target }] };
}

describe("cellExpectation", () => {
  it("releases and the patched builds it measured take the catalogue's verdict; a scenario's own expect the rest", () => {
    expect(cellExpectation(seed, "3.2.8")).toEqual({ expected: "exhaustion", from: "catalogue" });
    expect(cellExpectation(seed, "3.2.8+fix-aof-pipe-leak")).toEqual({
      expected: "stable",
      from: "catalogue",
    });
    expect(
      cellExpectation(
        { ...seed, expect: { "3.2.0+fix-aof-pipe-leak": "stable" } },
        "3.2.0+fix-aof-pipe-leak",
      ),
    ).toEqual({
      expected: "stable",
      from: "scenario",
    });
    expect(cellExpectation(seed, "3.2.0+fix-aof-pipe-leak")).toEqual({ expected: "unmeasured", from: null });
  });

  it("a patched build the catalogue measured takes the catalogue's verdict", async () => {
    const aof = await loadScenario("aof-dir-growth-enomem");
    expect(cellExpectation(aof, "7.0.15+count-failed-aof-fork")).toEqual({
      expected: "stable",
      from: "catalogue",
    });
  });
});

describe("toCell", () => {
  it("a verdict equal to the catalogue's is as expected, with the evidence the table shows", () => {
    const cell = toCell(seed, "3.2.8", { run: runOf("3.2.8") }, 4.2);
    expect(cell).toMatchObject({
      target: "3.2.8",
      verdict: "exhaustion",
      expected: "exhaustion",
      status: "as-expected",
      evidence: { attempts: 31, baseline: 8, peak: 194, fdsPerAttempt: 6 },
      seconds: 4.2,
    });
    expect(cell.command).toContain("redis-repro run");
  });

  it("a different verdict differs; a run that threw is an error cell, not a crash", () => {
    expect(toCell(seed, "3.2.9", { run: runOf("3.2.8", "3.2.9") }, 1).status).toBe("differs");
    const failed = toCell(seed, "3.2.9", { error: "container for 3.2.9 did not become ready: x" }, 1);
    expect(failed).toMatchObject({ status: "error", verdict: null, evidence: null, expected: "stable" });
  });

  it("without a measured expectation the verdict is reported as unmeasured", () => {
    const cell = toCell(seed, "3.2.0+fix-aof-pipe-leak", { run: runOf("3.2.8+fix-aof-pipe-leak") }, 1);
    expect(cell).toMatchObject({ status: "unmeasured", verdict: "stable", expected: "unmeasured" });
  });
});

describe("pool", () => {
  it("never runs more than the limit at once and keeps the input order", async () => {
    let running = 0;
    let most = 0;
    const out = await pool([5, 1, 4, 2, 3, 1, 2], 3, async (ms) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, ms * 3));
      running--;
      return ms * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30, 10, 20]);
    expect(most).toBe(3);
  });

  it("two containers per core, at most 8: 4 on this 2-core machine", () => {
    expect(defaultConcurrency(2)).toBe(4);
    expect(defaultConcurrency(1)).toBe(2);
    expect(defaultConcurrency(64)).toBe(8);
  });
});

describe("renderMatrix and renderJunit on a recorded matrix", () => {
  const differing = {
    ...recorded,
    ok: false,
    counts: { "as-expected": 0, differs: 1, unmeasured: 24, error: 0 },
    cells: recorded.cells.map((c) =>
      c.target === "3.2.9"
        ? {
            ...c,
            verdict: "growing" as const,
            expected: "stable" as const,
            expectedFrom: "catalogue" as const,
            status: "differs" as const,
            reason: 'fds <grew> & "kept" growing',
            earlier: [
              {
                verdict: "inconclusive" as const,
                reason: "spike",
                runId: "r0",
                evidence: { attempts: 589, fdsPerAttempt: 0, baseline: 14, peak: 14, growth: [] },
              },
            ],
          }
        : c,
    ),
  };

  it("prints one row per release with verdict, failed forks and fds, then what differs", () => {
    const text = renderMatrix(recorded);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^matrix · 25 release\(s\) × 1 scenario\(s\) · 4 at once/);
    expect(lines.find((l) => l.startsWith("3.2.8 "))).toMatch(/exhaustion \(unmeasured\)\s+31\s+8 → 194/);
    expect(lines.find((l) => l.startsWith("8.0-m01 "))).toMatch(/stable \(unmeasured\)\s+31\s+14 → 14/);
    expect(text).toContain("0 as expected, 0 differ, 25 unmeasured, 0 failed to run");
    const bad = renderMatrix(differing);
    expect(bad).toContain("growing ✗ expected stable (run 2; before: inconclusive)");
    expect(bad).toContain("    earlier run r0: inconclusive: spike");
    expect(bad).toContain("an expectation was NOT met");
  });

  it("writes JUnit: a suite per scenario, a case per release; differs fail, unmeasured skip; escaped", () => {
    const xml = renderJunit(differing);
    expect(
      xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="redis-repro matrix"'),
    ).toBe(true);
    expect(xml).toMatch(/<testsuites [^>]*tests="25" failures="1" errors="0" skipped="24"/);
    expect(xml.match(/<testcase /g)).toHaveLength(25);
    expect(xml).toContain(
      '<failure type="verdict" message="expected stable, got growing">fds &lt;grew&gt; &amp; &quot;kept&quot; growing</failure>',
    );
    expect(xml).toContain('<skipped message="unmeasured: no recorded verdict; this run gave exhaustion"/>');
    expect(xml).toContain("earlier run r0: inconclusive: spike");
    // Well formed enough for any reader: every element that opens closes.
    for (const tag of ["testsuites", "testsuite", "testcase", "system-out"])
      expect(xml.match(new RegExp(`<${tag}[ >]`, "g"))?.length).toBe(
        xml.match(new RegExp(`</${tag}>`, "g"))?.length,
      );
    expect(xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, "")).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
  });
});
