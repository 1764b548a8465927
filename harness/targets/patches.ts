import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { applyPatch, parsePatch, reversePatch, type StructuredPatch } from "diff";
import { UserError } from "../core/errors.js";
import { dockerDir } from "../core/paths.js";
import type { Server } from "./server.js";
import { compareVersions } from "./spec.js";

export const patchesDir = join(dockerDir, "patches");

/** The user's own patches (REDIS_REPRO_PATCHES) first, then the project's. */
export function patchDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.REDIS_REPRO_PATCHES ? [resolve(env.REDIS_REPRO_PATCHES), patchesDir] : [patchesDir];
}

async function patchFiles(dirs: string | string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const dir of typeof dirs === "string" ? [dirs] : dirs) {
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const f of entries.filter((e) => e.endsWith(".patch")).sort()) {
      const name = f.slice(0, -".patch".length);
      if (!found.has(name)) found.set(name, join(dir, f));
    }
  }
  return found;
}

export interface Patch {
  name: string;
  text: string;
  files: StructuredPatch[];
  /**
   * From the header line "Applies to: [redis|valkey] A .. B" (no server word: redis): context lines
   * alone can match far away in other releases, or in the other server's tree.
   */
  appliesTo?: { server?: Server; from: string; to: string };
}

export function parseAppliesTo(text: string): Patch["appliesTo"] {
  const match = /^Applies to:\s*(?:(redis|valkey)\s+)?(\S+)\s*\.\.\s*(\S+)\s*$/m.exec(text);
  if (!match?.[2] || !match[3]) return undefined;
  return { ...(match[1] ? { server: match[1] as Server } : {}), from: match[2], to: match[3] };
}

export async function availablePatches(dirs: string | string[] = patchDirs()): Promise<string[]> {
  return [...(await patchFiles(dirs)).keys()].sort();
}

/** Exact name, or a prefix that names one patch only (so `3.2.8+fix` works while it is unambiguous). */
export function resolvePatchName(name: string, available: string[]): string {
  if (available.includes(name)) return name;
  const matches = available.filter((p) => p.startsWith(name));
  if (matches.length === 1 && matches[0]) return matches[0];
  const known = available.length ? available.join(", ") : "none";
  const why = matches.length > 1 ? `is ambiguous (${matches.join(", ")})` : "does not exist";
  throw new UserError(
    `patch "${name}" ${why} in docker/patches/ (or $REDIS_REPRO_PATCHES): known patches are ${known}`,
  );
}

export async function loadPatches(names: string[], dirs: string | string[] = patchDirs()): Promise<Patch[]> {
  const files = await patchFiles(dirs);
  const available = [...files.keys()].sort();
  return Promise.all(
    names.map(async (given) => {
      const name = resolvePatchName(given, available);
      const path = files.get(name) ?? "";
      const text = await readFile(path, "utf8");
      const hunks = parsePatch(text).filter((f) => f.hunks.length > 0);
      if (hunks.length === 0)
        throw new UserError(`${name}.patch holds no diff hunks: write it as a unified diff`);
      return { name, text, files: hunks, appliesTo: parseAppliesTo(text) };
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
export function checkPatches(
  version: string | undefined,
  patches: Patch[],
  files: Map<string, Buffer>,
  /** How errors name the tree: a release by default, a commit or folder for git:/dir: targets. */
  name = `redis ${version}`,
  server: Server = "redis",
): void {
  const tree = new Map<string, string>();
  for (const patch of patches) {
    for (const filePatch of patch.files) {
      const path = strippedPath(filePatch);
      const current = tree.get(path) ?? files.get(path)?.toString("utf8");
      if (current === undefined) {
        throw new UserError(
          `patch ${patch.name} does not apply to ${name}: it changes ${path}, which the release does not have`,
        );
      }
      const patched = applyPatch(current, filePatch);
      if (patched === false) {
        const already = applyPatch(current, reversePatch(filePatch)) !== false;
        throw new UserError(
          already
            ? `patch ${patch.name} is already in ${name} (${path}): target it without the patch`
            : `patch ${patch.name} does not apply to ${name} (${path}): pick a release it was written for or update docker/patches/${patch.name}.patch`,
        );
      }
      tree.set(path, patched);
    }
    const range = patch.appliesTo;
    const written = range?.server ?? "redis";
    if (range && written !== server)
      throw new UserError(
        `patch ${patch.name} is written for ${written} ${range.from}..${range.to}, not ${name}: pick one written for ${server} (docker/patches/ names a fix NAME for Redis and NAME-valkey for Valkey where the two differ)`,
      );
    if (
      range &&
      version &&
      (compareVersions(version, range.from) < 0 || compareVersions(version, range.to) > 0)
    ) {
      throw new UserError(
        `patch ${patch.name} is written for ${written} ${range.from}..${range.to}, not ${version}: pick a release in that range`,
      );
    }
  }
}
