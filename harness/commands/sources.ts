import { readdir } from "node:fs/promises";
import { UserError } from "../errors.js";
import { sourceDirs } from "../paths.js";
import { addSource } from "../targets/sources.js";
import { type Command, commonOptions, printJson } from "./command.js";

const help = `redis-repro sources <add|ls> …

  sources add FILE [--version V]   verify a tarball you have (official, mirror, Debian .orig, git archive)
                                   and copy it into the source cache as redis-V.tar.gz
  sources ls                       list the cache

The folders searched are $REDIS_REPRO_SOURCES or --sources (a list separated by ":"), else
~/.cache/redis-repro/sources; the first one receives what is added or downloaded.
`;

export const sourcesCommand: Command = {
  name: "sources",
  summary: "add verified release tarballs to the local source cache",
  help,
  options: { ...commonOptions, version: { type: "string" } },
  async run(values, positionals) {
    const [sub, file] = positionals;
    if (sub === "add") {
      if (!file) throw new UserError("sources add needs a FILE: the path of a redis .tar.gz");
      const added = await addSource(file, typeof values.version === "string" ? values.version : undefined);
      if (values.json) printJson(added);
      else process.stdout.write(`redis ${added.version}: ${added.check} ok → ${added.file}\n`);
      return 0;
    }
    if (sub === "ls") {
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
    throw new UserError(`sources needs add or ls, not "${sub ?? ""}": run \`redis-repro sources --help\``);
  },
};
