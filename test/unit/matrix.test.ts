import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  cellExpectation,
  cellRuns,
  cellStatus,
  defaultConcurrency,
  MatrixResult,
  pool,
  toCell,
} from "../../harness/campaigns/matrix.js";
import { projectRoot } from "../../harness/core/paths.js";
import { matrixJunit, renderMatrix } from "../../harness/report/matrix.js";
import { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { seedRunData } from "../helpers/fixture.js";

const seed = await loadScenario("aof-auto-rewrite-enomem");
const recorded = MatrixResult.parse(
  JSON.parse(
    readFileSync(join(projectRoot, "test", "fixtures", "matrix", "seed-all-releases-1.json"), "utf8"),
  ),
);

/**
 * The recorded seed run cut down to one target, as runScenario returns it for a matrix cell; its
 * decision given a summary line, as a checker writes one.
 */
function runOf(target: string, as?: string): RunResult {
  const run = RunResult.parse(seedRunData());
  const result = run.results.find((r) => r.target === target);
  if (!result) throw new Error(`no ${target} in the fixture`);
  const summary = `summary of ${target}`;
  return {
    ...run,
    results: [{ ...result, target: as ?? target, decision: { ...result.decision, summary } }],
  };
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
  it("a label equal to the catalogue's is as expected, with the outcome, label and summary line", () => {
    const cell = toCell(seed, "3.2.8", { run: runOf("3.2.8") }, 4.2);
    expect(cell).toMatchObject({
      target: "3.2.8",
      checker: "fd-leak",
      outcome: "bug",
      label: "exhaustion",
      summary: "summary of 3.2.8",
      expected: "exhaustion",
      expectedFrom: "catalogue",
      status: "as-expected",
      seconds: 4.2,
    });
    expect(cell.command).toContain("redis-repro run");
    expect(cellRuns(cell)).toEqual([
      {
        outcome: "bug",
        label: "exhaustion",
        summary: "summary of 3.2.8",
        reason: cell.reason,
        runId: cell.runId,
      },
    ]);
  });

  it("another label differs; a run that threw is an error cell, not a crash", () => {
    expect(toCell(seed, "3.2.9", { run: runOf("3.2.8", "3.2.9") }, 1).status).toBe("differs");
    const failed = toCell(seed, "3.2.9", { error: "container for 3.2.9 did not become ready: x" }, 1);
    expect(failed).toMatchObject({
      status: "error",
      outcome: null,
      label: null,
      summary: "",
      expected: "stable",
      reason: "container for 3.2.9 did not become ready: x",
    });
  });

  it("without a measured expectation the outcome is reported as unmeasured", () => {
    const cell = toCell(seed, "3.2.0+fix-aof-pipe-leak", { run: runOf("3.2.8+fix-aof-pipe-leak") }, 1);
    expect(cell).toMatchObject({
      status: "unmeasured",
      outcome: "no-bug",
      label: "stable",
      expected: "unmeasured",
    });
  });

  it("a scenario may expect an outcome: any label of that outcome meets it", () => {
    const bug = { ...seed, name: "mine", expect: { "3.2.8": "bug", "3.2.9": "bug" } };
    expect(toCell(bug, "3.2.8", { run: runOf("3.2.8") }, 1)).toMatchObject({
      expected: "bug",
      expectedFrom: "scenario",
      status: "as-expected",
    });
    expect(toCell(bug, "3.2.9", { run: runOf("3.2.8+fix-aof-pipe-leak", "3.2.9") }, 1).status).toBe(
      "differs",
    );
  });
});

describe("cellStatus", () => {
  it.each([
    [{ outcome: "bug", label: "exhaustion" }, "exhaustion", "as-expected"],
    [{ outcome: "bug", label: "growing" }, "exhaustion", "differs"],
    [{ outcome: "bug", label: "growing" }, "bug", "as-expected"],
    [{ outcome: "no-bug", label: "stable" }, "bug", "differs"],
    [{ outcome: "unknown", label: "inconclusive" }, "no-bug", "differs"],
    [{ outcome: "unknown", label: "inconclusive" }, "unmeasured", "unmeasured"],
  ] as const)("%o against %s is %s", (decision, expected, status) => {
    expect(cellStatus(decision, expected)).toBe(status);
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

describe("renderMatrix and matrixJunit on a recorded matrix", () => {
  const differing = {
    ...recorded,
    ok: false,
    counts: { "as-expected": 0, differs: 1, unmeasured: 24, error: 0 },
    cells: recorded.cells.map((c) =>
      c.target === "3.2.9"
        ? {
            ...c,
            outcome: "bug" as const,
            label: "growing",
            summary: "31 failed forks, 1 fd/attempt, fds 8 → 40",
            expected: "stable",
            expectedFrom: "catalogue" as const,
            status: "differs" as const,
            reason: 'fds <grew> & "kept" growing',
            earlier: [
              {
                outcome: "unknown" as const,
                label: "inconclusive",
                summary: "589 failed forks, fds 14 → 14",
                reason: "spike",
                runId: "r0",
              },
            ],
          }
        : c,
    ),
  };

  it("prints one row per release with the label ✓/✗ and the summary line, then what differs", () => {
    const text = renderMatrix(recorded);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^matrix · 25 release\(s\) × 1 scenario\(s\) · 4 at once/);
    expect(lines[2]).toMatch(/^release +aof-auto-rewrite-enomem +summary +time$/);
    expect(lines.find((l) => l.startsWith("3.0.7 "))).toBe(
      "3.0.7    exhaustion (unmeasured)    31 failed forks, 6 fd/attempt, fds 8 → 194     6.5 s",
    );
    expect(lines.find((l) => l.startsWith("3.2.8 "))).toMatch(
      /exhaustion \(unmeasured\) +31 failed forks, 5\.79 fd/,
    );
    expect(lines.find((l) => l.startsWith("8.0-m01 "))).toMatch(
      /stable \(unmeasured\) +31 failed forks, 0 fd\/attempt, fds 14 → 14 /,
    );
    // No fd columns: the figures are the checker's, in its summary line.
    expect(lines[2]).not.toMatch(/forks|fds/);
    expect(text).toContain("0 as expected, 0 differ, 25 unmeasured, 0 failed to run");
    const bad = renderMatrix(differing);
    expect(bad).toMatch(
      /growing ✗ expected stable \(run 2; before: inconclusive\) +31 failed forks, 1 fd\/attempt/,
    );
    expect(bad).toContain('3.2.9 × aof-auto-rewrite-enomem: growing (bug): fds <grew> & "kept" growing');
    expect(bad).toContain("    earlier run r0: inconclusive (unknown): spike");
    expect(bad).toContain("an expectation was NOT met");
  });

  it("writes JUnit: a suite per scenario, a case per release; differs fail, unmeasured skip; escaped", () => {
    const xml = matrixJunit(differing);
    expect(
      xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="redis-repro matrix"'),
    ).toBe(true);
    expect(xml).toMatch(/<testsuites [^>]*tests="25" failures="1" errors="0" skipped="24"/);
    expect(xml).toMatch(
      /<testsuite name="aof-auto-rewrite-enomem" tests="25" failures="1" errors="0" skipped="24"/,
    );
    expect(xml.match(/<testcase /g)).toHaveLength(25);
    expect(xml).toContain(
      '<failure type="expectation" message="expected stable, got growing (bug)">fds &lt;grew&gt; &amp; &quot;kept&quot; growing</failure>',
    );
    expect(xml).toContain(
      '<skipped message="unmeasured: nothing recorded to compare with; this run gave exhaustion (bug)"/>',
    );
    expect(xml).toContain("earlier run r0: inconclusive (unknown): spike");
    expect(xml).toContain("31 failed forks, 1 fd/attempt, fds 8 → 40");
    // Well formed enough for any reader: every element that opens closes.
    for (const tag of ["testsuites", "testsuite", "testcase", "system-out"])
      expect(xml.match(new RegExp(`<${tag}[ >]`, "g"))?.length).toBe(
        xml.match(new RegExp(`</${tag}>`, "g"))?.length,
      );
    expect(xml.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, "")).not.toMatch(/&(?!amp;|lt;|gt;|quot;)/);
  });

  it("an error cell is a JUnit error, an as-expected one passes with its figures in system-out", () => {
    const [first, second] = recorded.cells;
    if (!first || !second) throw new Error("fixture too small");
    const mixed = {
      ...recorded,
      scenarios: ["aof-auto-rewrite-enomem"],
      cells: [
        {
          ...first,
          status: "as-expected" as const,
          expected: first.label ?? "",
          expectedFrom: "catalogue" as const,
        },
        {
          ...second,
          status: "error" as const,
          outcome: null,
          label: null,
          summary: "",
          reason: "no engine",
          command: null,
        },
      ],
    };
    const xml = matrixJunit(mixed);
    expect(xml).toMatch(/tests="2" failures="0" errors="1" skipped="0"/);
    expect(xml).toContain('<error type="run" message="no engine"/>');
    expect(xml).toMatch(
      new RegExp(
        `name="${first.target}" time="[\\d.]+"><system-out>${first.label} \\(${first.outcome}\\); expected ${first.label} \\(catalogue\\); ${first.summary}`,
      ),
    );
  });
});
