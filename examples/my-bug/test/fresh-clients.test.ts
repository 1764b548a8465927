import { type Decision, parseScenario, runScenario, seriesOf, type TargetResult } from "redis-repro";
import { describe, expect, it } from "vitest";
import definition, { type FreshClientsEvidence } from "../scenarios/fresh-clients.js";

/** Our checker's evidence, typed: only a decision our checker made carries it. */
function evidenceOf(result: TargetResult | undefined): FreshClientsEvidence {
  const decision: Decision | undefined = result?.decision;
  if (decision?.checker !== "fresh-clients")
    throw new Error(`not decided by fresh-clients: ${decision?.checker}`);
  return decision.evidence as FreshClientsEvidence;
}

describe("fresh clients under a failing fork, judged by our own checker", () => {
  it("3.2.8 stops serving them (bug); the patched build keeps serving them (no bug)", async () => {
    const scenario = parseScenario(definition, "scenarios/fresh-clients.ts");
    const run = await runScenario(scenario, scenario.targets, { bases: "auto" });
    expect(run).toHaveOutcome("bug", "3.2.8");
    expect(run).toHaveOutcome("refused", "3.2.8");
    expect(run).toHaveOutcome("no-bug", "3.2.8+fix-aof-pipe-leak");
    expect(run).toHaveOutcome("served", "3.2.8+fix-aof-pipe-leak");
    expect(run).toMeetExpectations();

    const [leaky, fixed] = run.results;
    const bug = evidenceOf(leaky);
    expect(bug.longestRefusedRun).toBeGreaterThanOrEqual(3);
    expect(bug.firstRefused?.error).toBeTruthy();
    const ok = evidenceOf(fixed);
    expect(ok.attempts).toBeGreaterThanOrEqual(scenario.budgets.attempts);
    expect(ok.refused).toBe(0);
    expect(ok.served).toBeGreaterThanOrEqual(3);
    // The probe our checker asked for wrote its series into the history, every point a PONG.
    if (!fixed) throw new Error("no result for the patched build");
    expect(seriesOf(fixed.history, "clients.ok").every((p) => p.v === 1)).toBe(true);
    // Our facts are the rows a report prints; nothing of fds among them.
    expect(fixed.decision.facts.map((f) => f.name)).toContain("fresh clients served");
    expect(fixed.decision.facts.some((f) => /fd/.test(f.name))).toBe(false);
  });
});
