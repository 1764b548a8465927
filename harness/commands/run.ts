import { join } from "node:path";
import { containerDiedError } from "../engine/failure.js";
import { UserError } from "../errors.js";
import { FaultName } from "../faults/index.js";
import { progress } from "../progress.js";
import { renderSummary } from "../report/summary.js";
import { prepareReportDir, writeReport } from "../report/write.js";
import { runScenario } from "../run.js";
import { DEFAULT_SCENARIO, loadScenario } from "../scenario/index.js";
import { baseMode, baseOptions, type Command, commonOptions, printJson, stringList } from "./command.js";

const help = `redis-repro run [--scenario NAME|FILE] [--target T]… [--fault F] [--json] [--report DIR]

Runs a scenario on each target in parallel and prints a side-by-side summary.
With no arguments: the seed's scenario (${DEFAULT_SCENARIO}) on 3.2.8 and 3.2.8+fix-aof-pipe-leak.

  --scenario NAME|FILE  a file under scenarios/ (by name) or a path to a scenario JSON
  --target T            repeatable: 3.2.8, 3.2.8+fix-aof-pipe-leak, 7.0.15, image:redis:3.2.8,
                        git:REF[+patch] (a commit of --git-dir), dir:PATH[+patch] (a tree as it is)
  --git-dir DIR         the clone git: targets come from (default $REDIS_REPRO_GIT; a bare clone works)
  --fault F             override the scenario's fault: seccomp-enomem | none
  --bases MODE          auto | online | offline base images for builds (default auto)
  --sources DIR         source cache (default $REDIS_REPRO_SOURCES or ~/.cache/redis-repro/sources)
  --json                print the full result as JSON only
  --report DIR          also write a bug report there: report.md, report.json, fds.svg, raw/ logs
                        and samples (DIR must be new, empty, or an earlier report, which is replaced)

Exit: 0 every stated expectation met, 1 one was not, 2 usage or environment error.
`;

export const runCommand: Command = {
  name: "run",
  summary: "run a scenario on targets and give verdicts with evidence (default: the seed)",
  help,
  options: {
    ...commonOptions,
    ...baseOptions,
    scenario: { type: "string" },
    target: { type: "string", multiple: true },
    fault: { type: "string" },
    report: { type: "string" },
  },
  async run(values) {
    const scenario = await loadScenario(typeof values.scenario === "string" ? values.scenario : undefined);
    const targets = stringList(values.target);
    let faultOverride: FaultName | undefined;
    if (values.fault !== undefined) {
      const parsed = FaultName.safeParse(values.fault);
      if (!parsed.success)
        throw new UserError(
          `--fault must be one of ${FaultName.options.join(", ")}, not "${String(values.fault)}"`,
        );
      faultOverride = parsed.data;
    }
    // Checked before the run, so a bad folder costs no run.
    if (typeof values.report === "string") await prepareReportDir(values.report);
    const result = await runScenario(scenario, targets.length ? targets : scenario.targets, {
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
    if (died) throw containerDiedError(died.target, died.decision.reason.replace(/^container died: /, ""));
    return result.ok ? 0 : 1;
  },
};
