import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { z } from "zod";
import { errorText } from "../../core/errors.js";
import type { ScriptStep, Step, StepContext } from "../../scenario/index.js";
import { growAofPastRewriteThreshold } from "./auto-growth.js";

export const WorkloadResult = z.object({
  writes: z.number(),
  aofBytes: z.number(),
  /** Commands sent by repeating steps, and the distinct replies they got (with counts). */
  commands: z.number().default(0),
  replies: z.record(z.string(), z.number()).default({}),
});
export type WorkloadResult = z.infer<typeof WorkloadResult>;

export interface RunningWorkload {
  /** Resolves once every step has run (repeating ones started): the checker's clock starts after it. */
  loaded: Promise<void>;
  /** Resolves when repeating steps have stopped (after the signal), with what the workload did. */
  finish(): Promise<WorkloadResult>;
}

/** What the steps need of the run: a connected client per node and a node's directive values. */
export interface WorkloadNodes {
  client(node: string): Promise<Redis>;
  directive(node: string, name: string): string | undefined;
  /** Each reply a command step gets, as it comes (attempts may be counted by reply). */
  onReply?(node: string, reply: string): void;
}

/** Writes `keys` values in batches, so a large fill does not sit in one reply buffer. */
async function fill(client: Redis, keys: number, valueBytes: number, signal: AbortSignal): Promise<number> {
  const value = "x".repeat(valueBytes);
  let written = 0;
  for (let from = 0; from < keys && !signal.aborted; from += 1_000) {
    const batch = client.pipeline();
    for (let i = from; i < Math.min(from + 1_000, keys); i++) batch.set(`repro:${i}`, value);
    await batch.exec();
    written = Math.min(from + 1_000, keys);
  }
  return written;
}

/**
 * Runs the steps in order. A step with `everyMs` keeps sending its command until the signal aborts
 * (the run decided, or its time limit): each one is an attempt, and the next step starts at once.
 */
export function startWorkload(
  steps: (Step | ScriptStep)[],
  nodes: WorkloadNodes,
  context: StepContext,
): RunningWorkload {
  const result: WorkloadResult = { writes: 0, aofBytes: 0, commands: 0, replies: {} };
  const { signal } = context;
  const repeating: Promise<void>[] = [];
  const send = async (client: Redis, args: string[], node: string) => {
    const [name = "", ...rest] = args;
    const reply = await client.call(name, ...rest).then(
      (r) => String(r),
      (e: unknown) => errorText(e),
    );
    nodes.onReply?.(node, reply);
    result.commands++;
    result.replies[reply] = (result.replies[reply] ?? 0) + 1;
  };
  const loaded = (async () => {
    for (const step of steps) {
      if (signal.aborted) return;
      if (typeof step === "function") {
        await step(await nodes.client("main"), context);
        continue;
      }
      switch (step.step) {
        case "grow-aof": {
          const minSize = nodes.directive(step.node, "auto-aof-rewrite-min-size") ?? "64mb";
          const grown = await growAofPastRewriteThreshold(
            await nodes.client(step.node),
            minSize,
            step.valueBytes,
            signal,
          );
          result.writes += grown.writes;
          result.aofBytes = grown.aofBytes;
          break;
        }
        case "fill": {
          const keys = step.keys ?? Math.ceil((step.bytes ?? 0) / step.valueBytes);
          result.writes += await fill(await nodes.client(step.node), keys, step.valueBytes, signal);
          break;
        }
        case "command": {
          const client = await nodes.client(step.node);
          const sendAll = async () => {
            for (const args of [step.args, ...(step.andThen ?? [])]) await send(client, args, step.node);
          };
          if (step.everyMs === undefined) {
            await sendAll();
            break;
          }
          const every = step.everyMs;
          repeating.push(
            (async () => {
              while (!signal.aborted) {
                await sendAll();
                await sleep(every, undefined, { signal }).catch(() => undefined);
              }
            })(),
          );
          break;
        }
        case "wait":
          await sleep(step.ms, undefined, { signal }).catch(() => undefined);
          break;
      }
    }
  })();
  return {
    loaded,
    finish: async () => {
      await loaded.catch(() => undefined);
      await Promise.all(repeating);
      return result;
    },
  };
}
