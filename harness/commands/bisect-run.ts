import { bisectRunExit, scenarioTrials } from "../bisect.js";
import { isUserError } from "../errors.js";
import { DEFAULT_SCENARIO, loadScenario } from "../scenario/index.js";
import { baseMode, baseOptions, type Command, commonOptions, printJson } from "./command.js";

const help = `redis-repro bisect-run [--tree DIR] [--fix] [--scenario NAME|FILE] [--json]

For \`git bisect run\`: builds the working tree as it is (dir:DIR, default the current folder,
uncommitted changes included), runs the scenario on it and exits 0 good, 1 bad, 125 cannot test (it
did not build, or the run was inconclusive). Any other failure (no engine, a bad option) exits 128,
which stops git bisect instead of calling the commit bad.

By default a leak (exhaustion or growing) is bad and stable is good: finding the commit that brought a
leak. To find the commit that fixed one, git needs the fixed side to be "bad" (the newer one): start
with the fixed commit first and pass --fix, which calls a leak good and stable bad:

  git bisect start --first-parent 3.2.9 3.2.8     # bad (fixed) first, then good (leaky)
  git bisect run npx redis-repro bisect-run --fix
  git bisect reset

  --tree DIR            the Redis source tree to build (default .)
  --fix                 hunting a fix: a leak exits 0, stable exits 1
  --scenario NAME|FILE  default ${DEFAULT_SCENARIO}
  --bases MODE          auto | online | offline base images for builds (default auto)
  --json                print the verdict and exit code as JSON only
`;

/** git bisect run stops on an exit code of 128 or more; 2 would mark the commit bad. */
const ABORT = 128;

export const bisectRunCommand: Command = {
  name: "bisect-run",
  summary: "build the working tree, run a scenario, exit 0/1/125 for git bisect run",
  help,
  options: {
    ...commonOptions,
    ...baseOptions,
    tree: { type: "string", default: "." },
    fix: { type: "boolean" },
    scenario: { type: "string" },
  },
  async run(values) {
    try {
      const scenarioRef = typeof values.scenario === "string" ? values.scenario : undefined;
      const scenario = await loadScenario(scenarioRef);
      const target = `dir:${typeof values.tree === "string" ? values.tree : "."}`;
      const test = scenarioTrials(scenario, {
        bases: baseMode(values),
        rebuild: values.rebuild === true,
        scenarioRef,
      });
      const [trial] = await test([target]);
      if (!trial) throw new Error(`no result for ${target}`);
      const code = bisectRunExit(trial.verdict, values.fix === true);
      const meaning = code === 0 ? "good" : code === 1 ? "bad" : "skip (cannot test)";
      if (values.json)
        printJson({ target, verdict: trial.verdict, exit: code, meaning, reason: trial.reason });
      else process.stdout.write(`${target}: ${trial.verdict}, exit ${code} (${meaning}): ${trial.reason}\n`);
      return code;
    } catch (error) {
      // Every failure, a bug included: exit 2 would make git bisect call the commit bad.
      const text = isUserError(error)
        ? error.message
        : `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      process.stderr.write(`redis-repro: ${text}\n`);
      return ABORT;
    }
  },
};
