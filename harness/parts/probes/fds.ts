import { readdir, readlink } from "node:fs/promises";
import type { StartedTestContainer } from "testcontainers";
import { z } from "zod";

export const FdKinds = z.object({
  pipe: z.number(),
  socket: z.number(),
  file: z.number(),
  eventpoll: z.number(),
  other: z.number(),
});

export const FdSample = FdKinds.extend({
  /** ms since the run's clock started. */
  t: z.number(),
  total: z.number(),
  /** Highest fd number: what the event loop's size is compared with. */
  maxFd: z.number(),
});
export type FdSample = z.infer<typeof FdSample>;

export interface FdEntry {
  fd: number;
  target: string;
}

/** Parses `ls -l /proc/PID/fd`: "lrwx------ 1 redis redis 64 Nov 26 14:00 7 -> pipe:[12345]". */
export function parseFdListing(text: string, t: number): FdSample {
  const entries: FdEntry[] = [];
  for (const line of text.split("\n")) {
    const match = / (\d+) -> (.*)$/.exec(line);
    if (match) entries.push({ fd: Number(match[1]), target: match[2] ?? "" });
  }
  return classifyFds(entries, t);
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
 * One exec of one program (no shell: where fork fails no shell can run), as the server's own user,
 * because reading another user's /proc/PID/fd needs CAP_SYS_PTRACE, which the container does not get.
 */
export async function sampleFds(
  container: StartedTestContainer,
  user: string,
  t: () => number,
): Promise<FdSample | undefined> {
  const result = await container.exec(["ls", "-l", "/proc/1/fd"], { user });
  if (result.exitCode !== 0) return undefined;
  return parseFdListing(result.stdout, t());
}

/**
 * The same reading from the engine host's /proc, for faults under which no process can start in the
 * container (a pids limit). Needs the engine on this host and the right to read the server's fds (root).
 */
export async function sampleFdsFromHost(hostPid: number, t: () => number): Promise<FdSample | undefined> {
  const dir = `/proc/${hostPid}/fd`;
  try {
    const names = await readdir(dir);
    const entries = await Promise.all(
      names.map(async (name) => ({
        fd: Number(name),
        target: await readlink(`${dir}/${name}`).catch(() => ""),
      })),
    );
    return classifyFds(
      entries.filter((e) => e.target !== ""),
      t(),
    );
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
