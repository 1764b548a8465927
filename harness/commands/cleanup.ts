import { removeContainers } from "../engine/cleanup.js";
import { type Command, commonOptions, printJson } from "./command.js";

export const cleanupCommand: Command = {
  name: "cleanup",
  summary: "remove every container the harness left (killed runs); images stay",
  help: "redis-repro cleanup\n\n  Removes all containers labelled redis-repro.managed=true. Images are kept (they are a cache).\n",
  options: { ...commonOptions },
  async run(values) {
    const removed = await removeContainers();
    if (values.json) printJson({ removed });
    else process.stdout.write(`removed ${removed} container(s)\n`);
    return 0;
  },
};
