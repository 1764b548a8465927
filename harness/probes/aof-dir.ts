import type { StartedTestContainer } from "testcontainers";
import { z } from "zod";

/** The 7.x multi-part AOF directory: base + incr files and a manifest (appenddirname under dir). */
export const AofDirSample = z.object({
  t: z.number(),
  files: z.number(),
  base: z.number(),
  incr: z.number(),
  /** Empty incr files: what a failed rewrite leaves behind in 7.0. */
  emptyIncr: z.number(),
  manifestBytes: z.number(),
  totalBytes: z.number(),
});
export type AofDirSample = z.infer<typeof AofDirSample>;

/** Parses `ls -ln DIR`: "-rw-r--r-- 1 999 999 158913 Nov 26 14:10 appendonly.aof.1.incr.aof". */
export function parseAofDirListing(text: string, t: number): AofDirSample {
  const sample: AofDirSample = {
    t,
    files: 0,
    base: 0,
    incr: 0,
    emptyIncr: 0,
    manifestBytes: 0,
    totalBytes: 0,
  };
  for (const line of text.split("\n")) {
    const match = /^-\S*\s+\d+\s+\S+\s+\S+\s+(\d+)\s+.*\s(\S+)$/.exec(line);
    if (!match) continue;
    const size = Number(match[1]);
    const name = match[2] ?? "";
    sample.files++;
    sample.totalBytes += size;
    if (/\.base\.(rdb|aof)$/.test(name)) sample.base++;
    else if (/\.incr\.aof$/.test(name)) {
      sample.incr++;
      if (size === 0) sample.emptyIncr++;
    } else if (/\.manifest$/.test(name)) sample.manifestBytes += size;
  }
  return sample;
}

export async function sampleAofDir(
  container: StartedTestContainer,
  user: string,
  dir: string,
  t: () => number,
): Promise<AofDirSample | undefined> {
  const result = await container.exec(["ls", "-ln", dir], { user });
  if (result.exitCode !== 0) return undefined;
  return parseAofDirListing(result.stdout, t());
}

/** The same reading through the engine host's /proc/PID/root, for when no exec can start. */
export async function sampleAofDirFromHost(
  hostPid: number,
  dir: string,
  t: () => number,
): Promise<AofDirSample | undefined> {
  const { readdir, stat } = await import("node:fs/promises");
  const root = `/proc/${hostPid}/root${dir}`;
  try {
    const names = await readdir(root);
    const lines = await Promise.all(
      names.map(async (name) => {
        const info = await stat(`${root}/${name}`).catch(() => undefined);
        return info?.isFile() ? `-rw-r--r-- 1 0 0 ${info.size} Jan 1 00:00 ${name}` : "";
      }),
    );
    return parseAofDirListing(lines.join("\n"), t());
  } catch {
    return undefined;
  }
}
