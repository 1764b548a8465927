import { join } from "node:path";
import { containerDiedError, isCrash } from "../engine/failure.js";
import type { FaultName } from "../faults/index.js";
import { progress } from "../progress.js";
import { renderSummary } from "../report/summary.js";
import { runScenario } from "../run.js";
import { loadScenario } from "../scenario/index.js";
import { baseMode, type Input, optionString, printJson } from "./command.js";

export async function run({ values, args }: Input): Promise<number> {
  const scenario = await loadScenario(typeof values.scenario === "string" ? values.scenario : undefined);
  // The parser has checked --fault against its choices.
  const faultOverride = optionString(values, "fault") as FaultName | undefined;
  const reportDir = optionString(values, "report");
  // The report writer (schemas, chart, Markdown) loads only when a report is asked for; the folder is
  // checked before the run, so a bad one costs no run.
  const reports = reportDir === undefined ? undefined : await import("../report/write.js");
  if (reports && reportDir !== undefined) await reports.prepareReportDir(reportDir);
  const result = await runScenario(scenario, args.length ? args : scenario.targets, {
    bases: baseMode(values),
    rebuild: values.rebuild === true,
    faultOverride,
    scenarioRef: typeof values.scenario === "string" ? values.scenario : undefined,
  });
  if (values.json) printJson(result);
  else process.stdout.write(renderSummary(result));
  if (reports && reportDir !== undefined) {
    await reports.writeReport(reportDir, result, scenario);
    progress(`report: ${join(reportDir, "report.md")}`);
  }
  // A server that crashed is a finding (its crash report is in the result and the report): say so, exit 1.
  const crashed = result.results.filter((r) => isCrash(r.decision.reason));
  for (const r of crashed)
    process.stderr.write(
      `redis-repro: ${r.target}: ${r.decision.reason.replace(/^container died: /, "")}: a bug in the server, not in the scenario's limits; its crash report is in the log (--json, --report)\n`,
    );
  // Any other dead container is the environment failing the run, not a verdict: say so in one line.
  const died = result.results.find(
    (r) => r.decision.reason.startsWith("container died") && !isCrash(r.decision.reason),
  );
  if (died) throw containerDiedError(died.target, died.decision.reason.replace(/^container died: /, ""));
  return result.ok && crashed.length === 0 ? 0 : 1;
}
