import { Redis } from "ioredis";
import { z } from "zod";
import { errorText } from "../../core/errors.js";
import { type History, seriesOf } from "../../core/history.js";
import type { Probe } from "../../core/probe.js";
import { NodeName, ProbeName } from "./spec.js";

/** NAME.ok: 1 when a fresh client (new connection + PING) got PONG, else 0 with the error as text. */
export const ConnectProbeSpec = z
  .object({
    probe: z.literal("connect"),
    name: ProbeName.default("connect"),
    node: NodeName,
    /** How often (the run's ticks are 200 ms). */
    everyMs: z.number().int().positive().default(1_000),
  })
  .strict();

/** One fresh-client result, as checkers read it. */
export interface ConnectResult {
  t: number;
  ok: boolean;
  error?: string;
}

/** Options for a client that reports failure at once instead of retrying: a probe, not a user. */
export const probeClientOptions = {
  lazyConnect: true,
  connectTimeout: 1_500,
  commandTimeout: 1_500,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  retryStrategy: () => null,
  reconnectOnError: () => false,
} as const;

/**
 * A fresh client: new connection + PING. A full event loop accepts the TCP connection and then
 * closes it, so success means a PONG, nothing less.
 */
export async function freshClient(host: string, port: number): Promise<{ ok: boolean; error?: string }> {
  const client = new Redis({ host, port, ...probeClientOptions });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    return pong === "PONG" ? { ok: true } : { ok: false, error: `unexpected reply ${pong}` };
  } catch (error) {
    return { ok: false, error: errorText(error) };
  } finally {
    client.disconnect();
  }
}

/**
 * The fresh-client probe, every `everyMs`, or when `due` says (a checker that needs probes at a
 * particular moment: near a full fd table, none; once it is full, one every tick).
 */
export function connectProbe(
  spec: {
    name?: string;
    node?: string;
    everyMs?: number;
    /** `interval`: everyMs has passed since the last reading. */
    due?: (history: History, context: { now: number; attemptsNeeded: number; interval: boolean }) => boolean;
  } = {},
): Probe {
  const name = spec.name ?? "connect";
  const every = spec.everyMs ?? 1_000;
  return {
    name,
    node: spec.node ?? "main",
    due(history, context) {
      const last = seriesOf(history, `${name}.ok`).at(-1)?.t ?? Number.NEGATIVE_INFINITY;
      const interval = context.now - last >= every;
      return spec.due ? spec.due(history, { ...context, interval }) : interval;
    },
    async read(node) {
      const result = await freshClient(node.host, node.port);
      return { ok: result.ok ? { v: 1 } : { v: 0, text: result.error ?? "refused" } };
    },
  };
}

/** The probe's results from the history. */
export function connectResults(history: History, name = "connect"): ConnectResult[] {
  return seriesOf(history, `${name}.ok`).map((p) => ({
    t: p.t,
    ok: p.v === 1,
    ...(p.text !== undefined ? { error: p.text } : {}),
  }));
}
