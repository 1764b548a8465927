import { readdir } from "node:fs/promises";
import { UserError } from "../core/errors.js";
import { sourceDirs } from "../core/paths.js";
import { resolveDebianSource } from "../targets/debian.js";
import { addSource } from "../targets/sources.js";
import { parseTarget } from "../targets/spec.js";
import { type Input, optionString, printJson } from "./command.js";

export async function add({ values, args }: Input): Promise<number> {
  const given = args[0] as string;
  if (given.startsWith("deb:")) {
    const spec = parseTarget(given);
    if (spec.kind !== "deb" || spec.patches.length)
      throw new UserError(`sources add takes a deb: target without patches, not "${given}"`);
    const { file, provenance, origin } = await resolveDebianSource(spec.package, spec.version, spec.suite);
    if (values.json) printJson({ file, origin, provenance });
    else
      process.stdout.write(
        `${spec.package} ${spec.version}: ${origin === "cache" ? "already cached" : "fetched"}, Debian ${provenance.debianVersion} from ${provenance.suite}, sha256 ${provenance.sha256.slice(0, 12)}… as listed in its signed index → ${file}\n`,
      );
    return 0;
  }
  const added = await addSource(given, optionString(values, "version"));
  if (values.json) printJson(added);
  else process.stdout.write(`redis ${added.version}: ${added.check} ok → ${added.file}\n`);
  return 0;
}

export async function ls({ values }: Input): Promise<number> {
  const dirs = await Promise.all(
    sourceDirs().map(async (dir) => ({
      dir,
      files: (await readdir(dir).catch(() => [] as string[])).filter((f) => /\.tar\.(gz|xz)$/.test(f)),
    })),
  );
  if (values.json) printJson(dirs);
  else
    process.stdout.write(
      dirs.map(({ dir, files }) => `${dir}\n${files.map((f) => `  ${f}\n`).join("")}`).join(""),
    );
  return 0;
}
