import { dockerode } from "./client.js";
import { removeContainer } from "./containers.js";
import { LABEL_MANAGED, LABEL_RUN } from "./labels.js";
import { type Liveness, ownerLiveness } from "./owner.js";

async function removeIds(ids: string[]): Promise<void> {
  await Promise.all(ids.map(removeContainer));
}

/** Removes networks by id; one already gone is the outcome we want. Their containers must be gone first. */
export async function removeNetworkIds(ids: string[]): Promise<void> {
  const docker = await dockerode();
  await Promise.all(
    ids.map((id) =>
      docker
        .getNetwork(id)
        .remove()
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404) throw error;
        }),
    ),
  );
}

/** Removes the containers of one run (the caller's own, or one the user names) and says how many. */
export async function removeContainers(runId: string): Promise<number> {
  const docker = await dockerode();
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_RUN}=${runId}`] },
  });
  await removeIds(containers.map((c) => c.Id));
  return containers.length;
}

export async function countContainers(runId?: string): Promise<number> {
  const docker = await dockerode();
  const label = runId ? `${LABEL_RUN}=${runId}` : `${LABEL_MANAGED}=true`;
  return (await docker.listContainers({ all: true, filters: { label: [label] } })).length;
}

export interface Sweep {
  /** Containers removed, and the runs they belonged to. */
  removed: number;
  /** Networks removed (a run's private network for its nodes). */
  networks: number;
  runs: string[];
  /** Containers left alone: their owner is alive, or cannot be judged from here. */
  kept: Record<Exclude<Liveness, "dead">, number>;
}

/**
 * Removes the containers whose owning process is certainly gone (a run killed by SIGKILL, a crash),
 * never a live run's: several runs may share one engine. Images stay (they are a cache).
 */
export async function removeDeadRuns(): Promise<Sweep> {
  const docker = await dockerode();
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_MANAGED}=true`, LABEL_RUN] },
  });
  const kept = { alive: 0, unknown: 0 };
  const runs = new Set<string>();
  const dead: string[] = [];
  for (const c of containers) {
    const liveness = ownerLiveness(c.Labels ?? {});
    if (liveness !== "dead") {
      kept[liveness]++;
      continue;
    }
    dead.push(c.Id);
    runs.add(c.Labels?.[LABEL_RUN] ?? "?");
  }
  await removeIds(dead);
  // Networks after their containers (a network in use cannot be removed), judged by their own labels.
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL_MANAGED}=true`, LABEL_RUN] } });
  const deadNetworks = networks.filter((n) => ownerLiveness(n.Labels ?? {}) === "dead");
  await removeNetworkIds(deadNetworks.map((n) => n.Id));
  for (const n of deadNetworks) runs.add(n.Labels?.[LABEL_RUN] ?? "?");
  return { removed: dead.length, networks: deadNetworks.length, runs: [...runs], kept };
}

/** Removes the networks of one run (like removeContainers, never another run's); containers first. */
export async function removeNetworks(runId: string): Promise<number> {
  const docker = await dockerode();
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL_RUN}=${runId}`] } });
  await removeNetworkIds(networks.map((n) => n.Id));
  return networks.length;
}
