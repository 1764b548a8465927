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

/** Parses `ls -l /proc/PID/fd`: "lrwx------ 1 redis redis 64 Nov 26 14:00 7 -> pipe:[12345]". */
export function parseFdListing(text: string, t: number): FdSample {
  const sample: FdSample = { t, total: 0, maxFd: -1, pipe: 0, socket: 0, file: 0, eventpoll: 0, other: 0 };
  for (const line of text.split("\n")) {
    const match = / (\d+) -> (.*)$/.exec(line);
    if (!match) continue;
    const fd = Number(match[1]);
    const target = match[2] ?? "";
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
