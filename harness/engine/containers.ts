import type Dockerode from "dockerode";
import { dockerode } from "./client.js";
import { engineLocality } from "./locality.js";

/** What the engine says about one running container, for probes and faults that need more than testcontainers gives. */
export async function containerState(id: string): Promise<Dockerode.ContainerInspectInfo["State"]> {
  return (await (await dockerode()).getContainer(id).inspect()).State;
}

interface Counters {
  memoryPeakBytes: number | null;
  tasks: number | null;
}

function countersOf(stats: Dockerode.ContainerStats): Counters {
  const memory = stats.memory_stats as { max_usage?: number; usage?: number } | undefined;
  const pids = (stats as { pids_stats?: { current?: number } }).pids_stats;
  return { memoryPeakBytes: memory?.max_usage ?? memory?.usage ?? null, tasks: pids?.current ?? null };
}

/**
 * One reading of the container's cgroup counters. one-shot skips the engine's wait for a second CPU
 * sample (2 s on Docker 20.10 without it, 1 s with it: the engine's collector ticks once a second).
 */
export async function containerCounters(id: string): Promise<Counters> {
  const options = { stream: false, "one-shot": true } as { stream: false };
  return countersOf(await (await dockerode()).getContainer(id).stats(options));
}

/**
 * The engine's stats stream for a container, read in the background from its start: the memory peak
 * is then known the moment a run ends, instead of costing a one-second reading after the verdict.
 * cgroup v1 reports max_usage (the peak since start); v2 only usage, so the maximum seen is kept.
 */
export function watchCounters(id: string): { peakBytes(): number | null; stop(): void } {
  let peak: number | null = null;
  let stream: NodeJS.ReadableStream | undefined;
  let stopped = false;
  void (async () => {
    const docker = await dockerode();
    stream = (await docker.getContainer(id).stats({ stream: true })) as NodeJS.ReadableStream;
    if (stopped) return void (stream as unknown as { destroy(): void }).destroy();
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        try {
          const { memoryPeakBytes } = countersOf(JSON.parse(line));
          if (memoryPeakBytes !== null) peak = Math.max(peak ?? 0, memoryPeakBytes);
        } catch {
          // A partial or non-JSON line: the next one will do.
        }
      }
    });
    stream.on("error", () => undefined);
  })().catch(() => undefined);
  return {
    peakBytes: () => peak,
    stop() {
      stopped = true;
      (stream as unknown as { destroy(): void } | undefined)?.destroy();
    },
  };
}

/**
 * A running container's pids limit, live. Podman's compatible API (4.x) has no update endpoint; its
 * own API does (/libpod/containers/ID/update, on cgroup v1 and v2 alike).
 */
export async function setPidsLimit(id: string, limit: number): Promise<void> {
  const docker = await dockerode();
  const { kind, version } = await engineLocality();
  if (kind === "docker") return void (await docker.getContainer(id).update({ PidsLimit: limit }));
  await new Promise<void>((resolve, reject) =>
    (docker.modem as unknown as { dial(o: object, done: (e: unknown) => void): void }).dial(
      {
        path: `/v${version}/libpod/containers/${id}/update?`,
        method: "POST",
        options: { pids: { limit } },
        statusCodes: { 200: true, 201: true, 204: true, 404: "no such container", 500: "server error" },
      },
      (error) => (error ? reject(error) : resolve()),
    ),
  );
}

/**
 * Kills and removes one container at once: after a run's decision (the evidence is read, and a
 * graceful stop, where Redis rewrites or fsyncs its AOF, checks nothing) and in every cleanup. Already
 * gone (a parallel cleanup), or being removed (409), is the outcome wanted.
 */
export async function removeContainer(id: string): Promise<void> {
  await (await dockerode())
    .getContainer(id)
    .remove({ force: true, v: true })
    .catch((error: { statusCode?: number }) => {
      if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
    });
}
