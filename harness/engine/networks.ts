import { removeNetworkIds } from "./cleanup.js";
import { dockerode } from "./client.js";
import { LABEL_MANAGED, LABEL_RUN } from "./labels.js";
import { ownerLabels } from "./owner.js";

/**
 * A private network for a run's nodes, labelled like its containers so that cleanup finds it
 * (testcontainers' Network takes no labels of ours).
 */
export async function createRunNetwork(
  runId: string,
  target: string,
): Promise<{ name: string; remove(): Promise<void> }> {
  const docker = await dockerode();
  const name = `redis-repro-${runId}-${target.replace(/[^a-zA-Z0-9_.-]+/g, "_")}`.slice(0, 120);
  const network = await docker.createNetwork({
    Name: name,
    Driver: "bridge",
    Labels: { [LABEL_MANAGED]: "true", [LABEL_RUN]: runId, ...ownerLabels() },
  });
  return { name, remove: () => removeNetworkIds([network.id]) };
}

/** Cuts a container off a network (the engine's own link cut: its interface there goes away). */
export async function disconnectFromNetwork(network: string, containerId: string): Promise<void> {
  await (await dockerode()).getNetwork(network).disconnect({ Container: containerId, Force: true });
}

/** Joins it again under its alias, so the other nodes find it by name as before. */
export async function connectToNetwork(network: string, containerId: string, alias: string): Promise<void> {
  await (await dockerode())
    .getNetwork(network)
    .connect({ Container: containerId, EndpointConfig: { Aliases: [alias] } });
}
