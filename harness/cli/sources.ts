import { readdir } from "node:fs/promises";
import { sourceDirs } from "../core/paths.js";
import { addSource } from "../targets/sources.js";
import { type Input, optionString, printJson } from "./command.js";

export async function add({ values, args }: Input): Promise<number> {
  const added = await addSource(args[0] as string, optionString(values, "version"));
  if (values.json) printJson(added);
  else process.stdout.write(`redis ${added.version}: ${added.check} ok → ${added.file}\n`);
  return 0;
}

export async function ls({ values }: Input): Promise<number> {
  const dirs = await Promise.all(
    sourceDirs().map(async (dir) => ({
      dir,
      files: (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith(".tar.gz")),
    })),
  );
  if (values.json) printJson(dirs);
  else
    process.stdout.write(
      dirs.map(({ dir, files }) => `${dir}\n${files.map((f) => `  ${f}\n`).join("")}`).join(""),
    );
  return 0;
}
