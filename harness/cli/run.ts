import { join } from "node:path";
import { progress } from "../core/progress.js";
import { containerDiedError } from "../engine/failure.js";
import type { FaultName } from "../parts/faults/index.js";
import { renderSummary } from "../report/summary.js";
import { runScenario } from "../run/scenario.js";
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
  });
  if (values.json) printJson(result);
  else process.stdout.write(renderSummary(result));
  if (reports && reportDir !== undefined) {
    await reports.writeReport(reportDir, result, scenario);
    progress(`report: ${join(reportDir, "report.md")}`);
  }
  // A server that crashed is a finding (its crash report is in the log): say so. It is not the scenario's
  // limits nor the machine failing the run, whatever the checker made of it.
  const crashed = result.results.filter((r) => r.ended?.cause === "crashed");
  for (const r of crashed)
    process.stderr.write(
      `redis-repro: ${r.target}: ${r.ended?.detail}: a bug in the server, not in the scenario's limits; its crash report is in the log (--json, --report)\n`,
    );
  // A container that died leaving the checker unable to tell is the environment (or the scenario's
  // limits) failing the run: say so in one line. Where the death is what the checker judged (a crash
  // is the bug), it is an outcome like any other.
  const died = result.results.find(
    (r) => r.ended?.cause && r.ended.cause !== "crashed" && r.decision.outcome === "unknown",
  );
  if (died?.ended?.cause)
    throw containerDiedError(died.target, { cause: died.ended.cause, detail: died.ended.detail });
  // A crash no checker judged is never "as expected", even where the catalogue recorded it so.
  const unjudged = crashed.some((r) => r.decision.outcome === "unknown");
  return result.ok && !unjudged ? 0 : 1;
}
