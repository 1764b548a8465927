import { describe, expect, it } from "vitest";
import type { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { matchers } from "../../harness/vitest.js";
import { decidedRun } from "../helpers/decided.js";

const seed = await loadScenario("aof-auto-rewrite-enomem");
/** 3.2.8: exhaustion (bug); 3.2.8+fix-aof-pipe-leak: stable (no-bug), as fd-leak decides the recorded run. */
const run = decidedRun("seed-3.2.8-vs-fix.json", seed.checker);
const [leaky, fixed] = run.results;
if (!leaky || !fixed) throw new Error("the fixture has two targets");

describe("toHaveOutcome", () => {
  it("passes on an outcome or a label of the target named", () => {
    expect(matchers.toHaveOutcome(run, "bug", "3.2.8").pass).toBe(true);
    expect(matchers.toHaveOutcome(run, "exhaustion", "3.2.8").pass).toBe(true);
    expect(matchers.toHaveOutcome(run, "no-bug", "3.2.8+fix-aof-pipe-leak").pass).toBe(true);
    expect(matchers.toHaveOutcome(fixed, "stable").pass).toBe(true);
  });

  it("fails on another outcome or label, saying what each target gave", () => {
    const wrong = matchers.toHaveOutcome(run, "growing", "3.2.8");
    expect(wrong.pass).toBe(false);
    expect(wrong.message()).toBe(
      "expected 3.2.8 to give growing; got 3.2.8: exhaustion (bug): 6 fds leaked per failed fork; fds reached the ceiling 192 after 31 failed forks and a fresh client was refused",
    );
    expect(matchers.toHaveOutcome(run, "no-bug", "3.2.8").pass).toBe(false);
  });

  it("without a target, every target must give it; a target the run lacks fails and is named", () => {
    expect(matchers.toHaveOutcome(run, "bug").pass).toBe(false);
    const both: RunResult = { ...run, results: [leaky, { ...fixed, decision: { ...leaky.decision } }] };
    expect(matchers.toHaveOutcome(both, "bug").pass).toBe(true);
    const missing = matchers.toHaveOutcome(run, "bug", "7.0.15");
    expect(missing.pass).toBe(false);
    expect(missing.message()).toBe("no result for target 7.0.15");
  });

  it("works through expect.extend, negated too", () => {
    expect.extend(matchers);
    expect(run).toHaveOutcome("exhaustion", "3.2.8");
    expect(run).not.toHaveOutcome("stable", "3.2.8");
  });
});

describe("toMeetExpectations", () => {
  it("passes when every stated expectation was met, and names the one that was not", () => {
    expect(matchers.toMeetExpectations(run).pass).toBe(true);
    const missed: RunResult = { ...run, results: [{ ...leaky, expected: "no-bug", matches: false }, fixed] };
    const result = matchers.toMeetExpectations(missed);
    expect(result.pass).toBe(false);
    expect(result.message()).toBe(
      "expected every expectation met; 3.2.8 expected no-bug, got exhaustion (bug)",
    );
  });
});
