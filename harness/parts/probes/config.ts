import { z } from "zod";
import type { Probe } from "../../core/probe.js";
import { NodeName, ProbeName } from "./spec.js";

/** NAME.PARAMETER for each CONFIG GET parameter named, read once before the workload (numbers only). */
export const ConfigProbeSpec = z
  .object({
    probe: z.literal("config"),
    name: ProbeName.default("config"),
    parameters: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1),
    node: NodeName,
  })
  .strict();

export function configProbe(spec: { name?: string; node?: string; parameters: string[] }): Probe {
  return {
    name: spec.name ?? "config",
    node: spec.node ?? "main",
    once: true,
    read: async (node) => {
      const client = await node.connection();
      const values: Record<string, number> = {};
      for (const parameter of spec.parameters) {
        const reply = (await client.config("GET", parameter)) as string[];
        const value = Number(reply[1]);
        if (reply[1] !== undefined && Number.isFinite(value)) values[parameter] = value;
      }
      return values;
    },
  };
}
