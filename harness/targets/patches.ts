import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { applyPatch, parsePatch, reversePatch, type StructuredPatch } from "diff";
import { UserError } from "../errors.js";
import { dockerDir } from "../paths.js";
import { compareVersions } from "./spec.js";

export const patchesDir = join(dockerDir, "patches");

export interface Patch {
  name: string;
  text: string;
  files: StructuredPatch[];
  /** From the header line "Applies to: A .. B": context lines alone can match far away in other releases. */
  appliesTo?: { from: string; to: string };
}

export function parseAppliesTo(text: string): Patch["appliesTo"] {
  const match = /^Applies to:\s*(\S+)\s*\.\.\s*(\S+)\s*$/m.exec(text);
  return match?.[1] && match[2] ? { from: match[1], to: match[2] } : undefined;
}

export async function availablePatches(dir = patchesDir): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  return entries
    .filter((f) => f.endsWith(".patch"))
    .map((f) => f.slice(0, -".patch".length))
    .sort();
}

/** Exact name, or a prefix that names one patch only (so `3.2.8+fix` works while it is unambiguous). */
export function resolvePatchName(name: string, available: string[]): string {
  if (available.includes(name)) return name;
  const matches = available.filter((p) => p.startsWith(name));
  if (matches.length === 1 && matches[0]) return matches[0];
  const known = available.length ? available.join(", ") : "none";
  const why = matches.length > 1 ? `is ambiguous (${matches.join(", ")})` : "does not exist";
  throw new UserError(`patch "${name}" ${why} in docker/patches/: known patches are ${known}`);
}

export async function loadPatches(names: string[], dir = patchesDir): Promise<Patch[]> {
  const available = await availablePatches(dir);
  return Promise.all(
    names.map(async (given) => {
      const name = resolvePatchName(given, available);
      const text = await readFile(join(dir, `${name}.patch`), "utf8");
      const files = parsePatch(text).filter((f) => f.hunks.length > 0);
      if (files.length === 0)
        throw new UserError(`docker/patches/${name}.patch holds no diff hunks: write it as a unified diff`);
      return { name, text, files, appliesTo: parseAppliesTo(text) };
    }),
  );
}

/** Path inside the release, as `patch -p1` sees it. */
export function strippedPath(file: StructuredPatch): string {
  const name =
    file.oldFileName && file.oldFileName !== "/dev/null" ? file.oldFileName : (file.newFileName ?? "");
  return name.replace(/^[ab]\//, "");
}

/**
 * Applies patches in order to the release's files in memory, before anything is built or tagged:
 * a patch that does not apply, or whose change the release already has, is a one-line error.
 */
export function checkPatches(version: string, patches: Patch[], files: Map<string, Buffer>): void {
  const tree = new Map<string, string>();
  for (const patch of patches) {
    for (const filePatch of patch.files) {
      const path = strippedPath(filePatch);
      const current = tree.get(path) ?? files.get(path)?.toString("utf8");
      if (current === undefined) {
        throw new UserError(
          `patch ${patch.name} does not apply to redis ${version}: it changes ${path}, which the release does not have`,
        );
      }
      const patched = applyPatch(current, filePatch);
      if (patched === false) {
        const already = applyPatch(current, reversePatch(filePatch)) !== false;
        throw new UserError(
          already
            ? `patch ${patch.name} is already in redis ${version} (${path}): target the release without it`
            : `patch ${patch.name} does not apply to redis ${version} (${path}): pick a release it was written for or update docker/patches/${patch.name}.patch`,
        );
      }
      tree.set(path, patched);
    }
    const range = patch.appliesTo;
    if (range && (compareVersions(version, range.from) < 0 || compareVersions(version, range.to) > 0)) {
      throw new UserError(
        `patch ${patch.name} is written for redis ${range.from}..${range.to}, not ${version}: pick a release in that range`,
      );
    }
  }
}
