import type { Checker } from "../../harness/core/checker.js";
import { meets } from "../../harness/core/outcome.js";
import type { RunResult } from "../../harness/run/result.js";
import { contextFor, recordedRun } from "./runs.js";

/**
 * A recorded run with each target's decision made again by a checker (the scenario's own, as a run
 * builds it) on the target's whole history: the fixtures keep their old decisions (labels only, no
 * facts, summary or plot), and what the report and the summary print must come from a real checker's
 * decision, not from one a test wrote. A checker that cannot decide on the whole history is asked
 * again as the run's end would ask it (the time limit).
 */
export function decidedRun(file: string, checker: Checker, attemptsNeeded = 30): RunResult {
  const run = structuredClone(recordedRun(file));
  for (const r of run.results) {
    const context = contextFor(r.history, { attemptsNeeded });
    const decision =
      checker.decide(r.history, context) ??
      checker.decide(r.history, { ...context, ended: { reason: "time-limit", detail: "time limit" } });
    if (!decision) throw new Error(`${checker.name} gave no decision for ${r.target} in ${file}`);
    r.decision = decision;
    r.checker = decision.checker;
    r.matches = r.expected === null ? null : meets(decision, r.expected);
  }
  run.ok = run.results.every((r) => r.matches !== false);
  return run;
}
