import { bisectRunExit, scenarioTrials } from "../campaigns/bisect.js";
import { isUserError } from "../core/errors.js";
import { loadScenario } from "../scenario/index.js";
import { baseMode, type Input, printJson } from "./command.js";

/** git bisect run stops on an exit code of 128 or more; 2 would mark the commit bad. */
const ABORT = 128;

export async function run({ values }: Input): Promise<number> {
  try {
    const scenarioRef = typeof values.scenario === "string" ? values.scenario : undefined;
    const scenario = await loadScenario(scenarioRef);
    const target = `dir:${typeof values.tree === "string" ? values.tree : "."}`;
    const test = scenarioTrials(scenario, {
      bases: baseMode(values),
      rebuild: values.rebuild === true,
    });
    const [trial] = await test([target]);
    if (!trial) throw new Error(`no result for ${target}`);
    const ran = "buildFailed" in trial ? undefined : trial;
    const code = bisectRunExit(ran?.outcome ?? "build-failed", values.fix === true);
    const meaning = code === 0 ? "good" : code === 1 ? "bad" : "skip (cannot test)";
    const gave = ran ? `${ran.outcome} (${ran.label})` : "build failed";
    if (values.json)
      printJson({
        target,
        outcome: ran?.outcome ?? null,
        label: ran?.label ?? null,
        summary: ran?.summary ?? "",
        exit: code,
        meaning,
        reason: trial.reason,
      });
    else
      process.stdout.write(
        `${target}: ${gave}, exit ${code} (${meaning}): ${ran?.summary || trial.reason}\n`,
      );
    return code;
  } catch (error) {
    // Every failure, a bug included: exit 2 would make git bisect call the commit bad.
    const text = isUserError(error)
      ? error.message
      : `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
    process.stderr.write(`redis-repro: ${text}\n`);
    return ABORT;
  }
}
