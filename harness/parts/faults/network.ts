import { z } from "zod";
import type { Fault } from "../../core/fault.js";

/** The data form: the node it is aimed at leaves the run's network, and joins it again on heal. */
export const NetworkCutSpec = z.object({ fault: z.literal("network-cut") }).strict();
export type NetworkCutSpec = z.infer<typeof NetworkCutSpec>;

/**
 * A link cut between nodes, made by the engine: the node's endpoint on the run's network is removed
 * (`docker network disconnect`) and added back under the same alias on heal. Each node reaches the
 * harness through its own endpoint on the engine's default bridge (testcontainers creates a node
 * there and then joins it to the run's network), which stays: the published port, the harness's
 * kept connection and its probes go on working while the node is cut off from the others. Packets
 * to the other nodes are dropped, not refused (the engine isolates its networks from each other), so
 * an open connection breaks only when a side times out (repl-timeout), and names of other nodes no
 * longer resolve.
 */
export function networkCut(): Fault {
  return {
    name: "network-cut",
    description:
      "network cut: the node leaves the run's network (engine disconnect) and rejoins it on heal; the harness still reaches it",
    needsPeers: true,
    async start(node) {
      await node.disconnect();
      return `node ${node.name} disconnected from the run's network`;
    },
    async heal(node) {
      await node.reconnect();
      return `node ${node.name} connected to the run's network again`;
    },
  };
}
