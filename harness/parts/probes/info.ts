import type { Redis } from "ioredis";
import { z } from "zod";
import type { Probe } from "../../core/probe.js";
import { NodeName, ProbeName } from "./spec.js";

/**
 * NAME.FIELD for each INFO field named (name defaults to "info"): numbers as they are
 * (used_memory, aof_rewrites_consecutive_failures…), statuses as 1 for ok and 0 for err, with the
 * word kept as the point's text (aof_last_bgrewrite_status, master_link_status up/down…).
 */
export const InfoProbeSpec = z
  .object({
    probe: z.literal("info"),
    name: ProbeName.default("info"),
    fields: z.array(z.string().regex(/^[a-z0-9_]+$/)).min(1),
    node: NodeName,
  })
  .strict();

/** Parses an INFO reply into a flat map (section headers and blank lines dropped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Words INFO uses for a good and a bad state, as 1 and 0 (a Map: "toString" is no state). */
const STATES = new Map<string, number>([
  ["ok", 1],
  ["err", 0],
  ["up", 1],
  ["down", 0],
  ["yes", 1],
  ["no", 0],
]);

/** An INFO value as a number: numbers as they are, ok/err (up/down, yes/no) as 1/0, anything else undefined. */
export function infoNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const state = STATES.get(text);
  if (state !== undefined) return state;
  const value = Number(text);
  return text.trim() !== "" && Number.isFinite(value) ? value : undefined;
}

export function infoProbe(spec: { name?: string; node?: string; fields: string[] }): Probe {
  return {
    name: spec.name ?? "info",
    node: spec.node ?? "main",
    read: async (node) => {
      const info = await node.info();
      const values: Record<string, { v: number; text?: string }> = {};
      for (const field of spec.fields) {
        const text = info[field];
        const v = infoNumber(text);
        if (v !== undefined) values[field] = text !== undefined && STATES.has(text) ? { v, text } : { v };
      }
      return values;
    },
  };
}

/** One INFO section through a client, as a flat map. */
export async function infoSection(client: Redis, section: string): Promise<Record<string, string>> {
  return parseInfo(await client.info(section));
}
