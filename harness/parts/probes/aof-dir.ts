import { z } from "zod";
import type { DirEntry } from "../../core/node.js";
import type { Probe } from "../../core/probe.js";
import { NodeName, ProbeName } from "./spec.js";

/** NAME.files, .base, .incr, .emptyIncr, .manifestBytes, .totalBytes of the 7.x multi-part AOF directory. */
export const AofDirProbeSpec = z
  .object({
    probe: z.literal("aof-dir"),
    name: ProbeName.default("aofdir"),
    path: z.string().startsWith("/").default("/data/appendonlydir"),
    node: NodeName,
  })
  .strict();

/**
 * The 7.x multi-part AOF directory (appenddirname under dir): base and incr files and a manifest.
 * Empty incr files are what a failed rewrite leaves behind in 7.0.
 */
export function summariseAofDir(entries: DirEntry[]): Record<string, number> {
  const reading = { files: 0, base: 0, incr: 0, emptyIncr: 0, manifestBytes: 0, totalBytes: 0 };
  for (const { name, size } of entries) {
    reading.files++;
    reading.totalBytes += size;
    if (/\.base\.(rdb|aof)$/.test(name)) reading.base++;
    else if (/\.incr\.aof$/.test(name)) {
      reading.incr++;
      if (size === 0) reading.emptyIncr++;
      // The temp manifest Redis writes before renaming it over is not the manifest.
    } else if (/\.manifest$/.test(name) && !name.startsWith("temp-")) reading.manifestBytes += size;
  }
  return reading;
}

export function aofDirProbe(spec: { name?: string; node?: string; path?: string } = {}): Probe {
  const path = spec.path ?? "/data/appendonlydir";
  return {
    name: spec.name ?? "aofdir",
    node: spec.node ?? "main",
    read: async (node) => {
      const entries = await node.listDir(path);
      return entries && summariseAofDir(entries);
    },
  };
}
