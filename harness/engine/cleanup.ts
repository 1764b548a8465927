import { dockerode } from "./client.js";
import { LABEL_MANAGED, LABEL_RUN } from "./labels.js";

/** Removes the harness's containers (of one run, or all of them) and says how many it removed. */
export async function removeContainers(runId?: string): Promise<number> {
  const docker = await dockerode();
  const label = runId ? `${LABEL_RUN}=${runId}` : `${LABEL_MANAGED}=true`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch((error: { statusCode?: number }) => {
          // Already gone (a parallel cleanup, or AutoRemove) is the outcome we want.
          if (error.statusCode !== 404 && error.statusCode !== 409) throw error;
        }),
    ),
  );
  return containers.length;
}

export async function countContainers(runId?: string): Promise<number> {
  const docker = await dockerode();
  const label = runId ? `${LABEL_RUN}=${runId}` : `${LABEL_MANAGED}=true`;
  return (await docker.listContainers({ all: true, filters: { label: [label] } })).length;
}

/** Removes the harness's networks (of one run, or all of them); their containers must be gone first. */
export async function removeNetworks(runId?: string): Promise<number> {
  const docker = await dockerode();
  const label = runId ? `${LABEL_RUN}=${runId}` : `${LABEL_MANAGED}=true`;
  const networks = await docker.listNetworks({ filters: { label: [label] } });
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch((error: { statusCode?: number }) => {
          if (error.statusCode !== 404) throw error;
        }),
    ),
  );
  return networks.length;
}
