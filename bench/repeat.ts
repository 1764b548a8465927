import type { RunResult } from "../harness/run/result.js";
import { runScenario } from "../harness/run/scenario.js";
import { loadScenario, type Scenario } from "../harness/scenario/index.js";
import { ensureImage } from "../harness/targets/build.js";
import { parseTarget } from "../harness/targets/spec.js";

/** Runs a scenario n times on warm images (builds first, unmeasured) and hands back every run. */
export async function repeatRuns(
  n: number,
  targetArgs: string[],
  scenarioName?: string,
  onRun?: (run: RunResult, wallMs: number, i: number) => void,
): Promise<{ scenario: Scenario; targets: string[]; runs: { run: RunResult; wallMs: number }[] }> {
  const scenario = await loadScenario(scenarioName);
  const targets = targetArgs.length ? targetArgs : scenario.targets;
  for (const t of targets) await ensureImage(parseTarget(t), { bases: "auto" });
  const runs: { run: RunResult; wallMs: number }[] = [];
  for (let i = 0; i < n; i++) {
    const started = Date.now();
    const run = await runScenario(scenario, targets, { bases: "auto" });
    runs.push({ run, wallMs: Date.now() - started });
    onRun?.(run, Date.now() - started, i);
  }
  return { scenario, targets, runs };
}
