import { removeContainers } from "../engine/cleanup.js";
import { type Input, optionString, printJson } from "./command.js";

export async function run({ values }: Input): Promise<number> {
  const removed = await removeContainers(optionString(values, "run"));
  if (values.json) printJson({ removed });
  else process.stdout.write(`removed ${removed} container(s)\n`);
  return 0;
}
