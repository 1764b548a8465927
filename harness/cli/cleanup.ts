import { removeContainers, removeDeadRuns, removeNetworks } from "../engine/cleanup.js";
import { type Input, optionString, printJson } from "./command.js";

export async function run({ values }: Input): Promise<number> {
  const runId = optionString(values, "run");
  if (runId !== undefined) {
    const removed = await removeContainers(runId);
    const networks = await removeNetworks(runId);
    if (values.json) printJson({ removed, networks, runs: removed + networks ? [runId] : [] });
    else process.stdout.write(`removed ${removed} container(s) and ${networks} network(s) of run ${runId}\n`);
    return 0;
  }
  const sweep = await removeDeadRuns();
  if (values.json) printJson(sweep);
  else {
    const kept = sweep.kept.alive + sweep.kept.unknown;
    const runs = sweep.runs.length ? ` of ${sweep.runs.length} dead run(s): ${sweep.runs.join(", ")}` : "";
    const keptText = kept
      ? `; kept ${sweep.kept.alive} of live runs and ${sweep.kept.unknown} whose owner cannot be judged from here (\`redis-repro cleanup --run ID\` removes one run)`
      : "";
    process.stdout.write(
      `removed ${sweep.removed} container(s) and ${sweep.networks} network(s)${runs}${keptText}\n`,
    );
  }
  return 0;
}
