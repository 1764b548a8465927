import { readdir, stat } from "node:fs/promises";
import { z } from "zod";
import type { DirEntry } from "../../core/node.js";
import type { Probe } from "../../core/probe.js";
import { NodeName, ProbeName } from "./spec.js";

/** NAME.files, NAME.bytes, NAME.emptyFiles of the files in `path` whose names match `pattern`. */
export const DirProbeSpec = z
  .object({
    probe: z.literal("dir"),
    name: ProbeName.default("dir"),
    path: z.string().startsWith("/"),
    pattern: z.string().optional(),
    node: NodeName,
  })
  .strict();

/**
 * Parses `ls -ln DIR`: "-rw-r--r-- 1 999 999 158913 Nov 26 14:10 appendonly.aof.1.incr.aof".
 * Regular files only (the total line, directories and links are skipped).
 */
export function parseDirListing(text: string): DirEntry[] {
  const entries: DirEntry[] = [];
  for (const line of text.split("\n")) {
    const match = /^-\S*\s+\d+\s+\S+\s+\S+\s+(\d+)\s+.*\s(\S+)$/.exec(line);
    if (match) entries.push({ name: match[2] ?? "", size: Number(match[1]) });
  }
  return entries;
}

/**
 * ls lists the directory, then stats each name: a file renamed away in between (Redis writes the
 * AOF manifest as temp-….manifest and renames it over, ten times a second while rewrites keep
 * failing) makes ls fail with "cannot access …: No such file or directory" while the rest of its
 * listing is good. The listing stands; a missing directory or any other error does not.
 */
export function onlyVanished(stderr: string, dir: string): boolean {
  const lines = stderr.split("\n").filter((l) => l.trim());
  const prefix = `cannot access '${dir.replace(/\/$/, "")}/`;
  return (
    lines.length > 0 &&
    lines.every((l) => {
      const at = l.indexOf(prefix);
      const rest = at < 0 ? "" : l.slice(at + prefix.length);
      return /^[^'/]+': No such file or directory$/.test(rest.trim());
    })
  );
}

/** The same listing through the engine host's /proc/PID/root, for when no exec can start. */
export async function listDirFromHost(hostPid: number, dir: string): Promise<DirEntry[] | undefined> {
  const root = `/proc/${hostPid}/root${dir}`;
  try {
    const names = await readdir(root);
    const entries = await Promise.all(
      names.map(async (name) => {
        const info = await stat(`${root}/${name}`).catch(() => undefined);
        return info?.isFile() ? [{ name, size: info.size }] : [];
      }),
    );
    return entries.flat();
  } catch {
    return undefined;
  }
}

/** A generic directory probe's reading: files whose names match, their bytes, the empty ones. */
export function summariseDir(entries: DirEntry[], pattern?: RegExp): Record<string, number> {
  const matching = pattern ? entries.filter((e) => pattern.test(e.name)) : entries;
  return {
    files: matching.length,
    bytes: matching.reduce((sum, e) => sum + e.size, 0),
    emptyFiles: matching.filter((e) => e.size === 0).length,
  };
}

export function dirProbe(spec: { name?: string; node?: string; path: string; pattern?: string }): Probe {
  const pattern = spec.pattern === undefined ? undefined : new RegExp(spec.pattern);
  return {
    name: spec.name ?? "dir",
    node: spec.node ?? "main",
    read: async (node) => {
      const entries = await node.listDir(spec.path);
      return entries && summariseDir(entries, pattern);
    },
  };
}
