import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { z } from "zod";
import { errorText } from "../errors.js";
import type { RedisConfig, Trigger } from "../scenario.js";
import { growAofPastRewriteThreshold } from "./auto-growth.js";

export const WorkloadResult = z.object({
  writes: z.number(),
  aofBytes: z.number(),
  /** Commands sent by a repeating trigger, and the distinct replies they got (with counts). */
  commands: z.number().default(0),
  replies: z.record(z.string(), z.number()).default({}),
});
export type WorkloadResult = z.infer<typeof WorkloadResult>;

export interface RunningWorkload {
  /** Resolves once the data is in and the trigger is armed; the checker's clock starts after it. */
  loaded: Promise<void>;
  /** Resolves when a repeating trigger has stopped (after `stop`), with what it did. */
  finish(): Promise<WorkloadResult>;
}

const commandFor: Record<Extract<Trigger, { kind: "command" }>["command"], (c: Redis) => Promise<unknown>> = {
  bgrewriteaof: (c) => c.bgrewriteaof(),
  "config-set-appendonly": (c) => c.config("SET", "appendonly", "yes"),
  bgsave: (c) => c.bgsave(),
};

/**
 * Starts the scenario's trigger through one ioredis connection. A repeated trigger keeps going until
 * `signal` aborts (the run decided, or the time limit): each command is one fork attempt.
 */
export function startWorkload(
  trigger: Trigger,
  client: Redis,
  config: RedisConfig,
  signal: AbortSignal,
): RunningWorkload {
  const result: WorkloadResult = { writes: 0, aofBytes: 0, commands: 0, replies: {} };
  if (trigger.kind === "auto-growth") {
    const loaded = growAofPastRewriteThreshold(client, config, trigger.valueBytes, signal).then((grown) => {
      result.writes = grown.writes;
      result.aofBytes = grown.aofBytes;
    });
    return {
      loaded,
      finish: async () => {
        await loaded;
        return result;
      },
    };
  }
  const send = commandFor[trigger.command];
  const loaded = (async () => {
    const value = "x".repeat(trigger.preloadValueBytes);
    // In batches, so a large preload does not sit in one reply buffer.
    for (let from = 0; from < trigger.preloadKeys && !signal.aborted; from += 1_000) {
      const batch = client.pipeline();
      for (let i = from; i < Math.min(from + 1_000, trigger.preloadKeys); i++) batch.set(`repro:${i}`, value);
      await batch.exec();
    }
    result.writes = trigger.preloadKeys;
  })();
  const repeating = loaded.then(async () => {
    while (!signal.aborted) {
      const reply = await send(client).then(
        (r) => String(r),
        (e: unknown) => errorText(e),
      );
      result.commands++;
      result.replies[reply] = (result.replies[reply] ?? 0) + 1;
      await sleep(trigger.intervalMs, undefined, { signal }).catch(() => undefined);
    }
  });
  return {
    loaded,
    finish: async () => {
      await repeating;
      return result;
    },
  };
}
