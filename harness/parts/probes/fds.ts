import { readdir, readlink } from "node:fs/promises";
import { z } from "zod";
import { type History, seriesOf } from "../../core/history.js";
import type { FdEntry } from "../../core/node.js";
import type { Probe } from "../../core/probe.js";
import { NodeName, ProbeName } from "./spec.js";

/** NAME.total, .maxFd, .pipe, .socket, .file, .eventpoll, .other: the server's open fds by kind. */
export const FdsProbeSpec = z
  .object({ probe: z.literal("fds"), name: ProbeName.default("fds"), node: NodeName })
  .strict();

export const FdSample = z.object({
  /** ms on the run's clock. */
  t: z.number(),
  total: z.number(),
  /** Highest fd number: what the event loop's size is compared with. */
  maxFd: z.number(),
  pipe: z.number(),
  socket: z.number(),
  file: z.number(),
  eventpoll: z.number(),
  other: z.number(),
});
export type FdSample = z.infer<typeof FdSample>;

export const FD_FIELDS = ["total", "maxFd", "pipe", "socket", "file", "eventpoll", "other"] as const;

/** Parses `ls -l /proc/PID/fd`: "lrwx------ 1 redis redis 64 Nov 26 14:00 7 -> pipe:[12345]". */
export function parseFdListing(text: string): FdEntry[] {
  const entries: FdEntry[] = [];
  for (const line of text.split("\n")) {
    const match = / (\d+) -> (.*)$/.exec(line);
    if (match) entries.push({ fd: Number(match[1]), target: match[2] ?? "" });
  }
  return entries;
}

/** Counts fds by what they point at (the readlink text of /proc/PID/fd/N). */
export function classifyFds(entries: FdEntry[], t: number): FdSample {
  const sample: FdSample = { t, total: 0, maxFd: -1, pipe: 0, socket: 0, file: 0, eventpoll: 0, other: 0 };
  for (const { fd, target } of entries) {
    sample.total++;
    sample.maxFd = Math.max(sample.maxFd, fd);
    if (target.startsWith("pipe:")) sample.pipe++;
    else if (target.startsWith("socket:")) sample.socket++;
    else if (target === "anon_inode:[eventpoll]") sample.eventpoll++;
    else if (target.startsWith("/")) sample.file++;
    else sample.other++;
  }
  return sample;
}

/**
 * The same listing from the engine host's /proc, for faults under which no process can start in the
 * container (a pids limit). Needs the engine on this host and the right to read the server's fds (root).
 */
export async function fdsFromHost(hostPid: number): Promise<FdEntry[] | undefined> {
  const dir = `/proc/${hostPid}/fd`;
  try {
    const names = await readdir(dir);
    const entries = await Promise.all(
      names.map(async (name) => ({
        fd: Number(name),
        target: await readlink(`${dir}/${name}`).catch(() => ""),
      })),
    );
    return entries.filter((e) => e.target !== "");
  } catch {
    return undefined;
  }
}

export async function hostProcReadable(hostPid: number): Promise<boolean> {
  return readdir(`/proc/${hostPid}/fd`).then(
    () => true,
    () => false,
  );
}

/**
 * The fd probe. A reading is stamped when it returns: an exec spends most of its time being set up,
 * and the listing it returns is of the moment just before it exits. Stamped at the start, a busy
 * engine's slow execs put each reading several attempts early (a 6-fd leak read 7.14 per attempt).
 */
export function fdsProbe(spec: { name?: string; node?: string } = {}): Probe {
  return {
    name: spec.name ?? "fds",
    node: spec.node ?? "main",
    async read(node, now) {
      const entries = await node.fds();
      if (!entries) return undefined;
      const { t: _, ...counts } = classifyFds(entries, now());
      return counts;
    },
  };
}

/** The fd probe's readings as samples again (every field read at once shares its time). */
export function fdSamples(history: History, name = "fds"): FdSample[] {
  const columns = FD_FIELDS.map((f) => seriesOf(history, `${name}.${f}`));
  const [total = []] = columns;
  return total.map((p, i) => {
    const sample = { t: p.t } as FdSample;
    FD_FIELDS.forEach((f, k) => {
      sample[f] = columns[k]?.[i]?.v ?? 0;
    });
    return sample;
  });
}
