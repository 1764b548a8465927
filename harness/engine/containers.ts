import type Dockerode from "dockerode";
import { dockerode } from "./client.js";

/** What the engine says about one running container, for probes and faults that need more than testcontainers gives. */
export async function containerState(id: string): Promise<Dockerode.ContainerInspectInfo["State"]> {
  return (await (await dockerode()).getContainer(id).inspect()).State;
}

/** One reading of the container's cgroup counters (the engine waits for two samples: about a second). */
export async function containerCounters(
  id: string,
): Promise<{ memoryPeakBytes: number | null; tasks: number | null }> {
  const stats = await (await dockerode()).getContainer(id).stats({ stream: false });
  const memory = stats.memory_stats as { max_usage?: number; usage?: number } | undefined;
  const pids = (stats as { pids_stats?: { current?: number } }).pids_stats;
  return { memoryPeakBytes: memory?.max_usage ?? memory?.usage ?? null, tasks: pids?.current ?? null };
}

export async function setPidsLimit(id: string, limit: number): Promise<void> {
  await (await dockerode()).getContainer(id).update({ PidsLimit: limit });
}
