import { join } from "node:path";
import { UserError } from "../errors.js";
import type { FaultName } from "../faults/index.js";
import { progress } from "../progress.js";
import { renderSummary } from "../report/summary.js";
import { prepareReportDir, writeReport } from "../report/write.js";
import { runScenario } from "../run.js";
import { loadScenario } from "../scenario.js";
import { baseMode, type Input, optionString, printJson } from "./command.js";

export async function run({ values, args }: Input): Promise<number> {
  const scenario = await loadScenario(typeof values.scenario === "string" ? values.scenario : undefined);
  // The parser has checked --fault against its choices.
  const faultOverride = optionString(values, "fault") as FaultName | undefined;
  // Checked before the run, so a bad folder costs no run.
  if (typeof values.report === "string") await prepareReportDir(values.report);
  const result = await runScenario(scenario, args.length ? args : scenario.targets, {
    bases: baseMode(values),
    rebuild: values.rebuild === true,
    faultOverride,
    scenarioRef: typeof values.scenario === "string" ? values.scenario : undefined,
  });
  if (values.json) printJson(result);
  else process.stdout.write(renderSummary(result));
  if (typeof values.report === "string") {
    await writeReport(values.report, result, scenario);
    progress(`report: ${join(values.report, "report.md")}`);
  }
  // A dead container is the environment failing the run, not a verdict: say so in one line, exit 2.
  const died = result.results.find((r) => r.decision.reason.startsWith("container died"));
  if (died) {
    throw new UserError(
      `the container for ${died.target} ${died.decision.reason.replace(/^container died: /, "died: ")}: raise limits.memory (or pids) in the scenario or lower its dataset`,
      "environment",
    );
  }
  return result.ok ? 0 : 1;
}
