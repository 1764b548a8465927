import { removeContainers, removeDeadRuns, removeNetworks } from "../engine/cleanup.js";
import { type Command, commonOptions, printJson } from "./command.js";

export const cleanupCommand: Command = {
  name: "cleanup",
  summary: "remove the containers of runs whose process is gone (killed runs); images stay",
  help: `redis-repro cleanup [--run ID]

  Removes the harness's containers (and run networks) whose owning process is gone (a run killed with SIGKILL, a
  crash): each container's labels name its run, process, host and boot. Containers of live runs,
  and of owners this host cannot judge (another host, no owner labels), are kept and counted.
  Images are kept (they are a cache).

  --run ID   remove that run's containers and network, whoever owns them (the id is in a report's runId)
`,
  options: { ...commonOptions, run: { type: "string" } },
  async run(values) {
    if (typeof values.run === "string") {
      const removed = await removeContainers(values.run);
      const networks = await removeNetworks(values.run);
      if (values.json) printJson({ removed, networks, runs: removed + networks ? [values.run] : [] });
      else
        process.stdout.write(
          `removed ${removed} container(s) and ${networks} network(s) of run ${values.run}\n`,
        );
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
  },
};
