import type { Redis } from "ioredis";
import { z } from "zod";
import { errorText } from "../../core/errors.js";
import type { ScriptStep, Step, StepContext } from "../../core/step.js";
import { ByteSize } from "../container/limits.js";
import { NodeName } from "../probes/spec.js";
import { growAofPastRewriteThreshold } from "./auto-growth.js";

/** Workload steps as data; each runs through its node's kept connection. */
export const StepSpec = z.discriminatedUnion("step", [
  z
    .object({
      step: z.literal("grow-aof"),
      /** Writes until the AOF is past auto-aof-rewrite-min-size: from there serverCron rewrites by itself. */
      valueBytes: z.number().int().positive().default(128),
      node: NodeName,
    })
    .strict(),
  z
    .object({
      step: z.literal("fill"),
      /** Keys written, or enough keys of valueBytes to reach `bytes` of values. */
      keys: z.number().int().min(0).optional(),
      bytes: ByteSize.optional(),
      valueBytes: z.number().int().positive().default(64),
      node: NodeName,
    })
    .strict()
    .refine((s) => (s.keys === undefined) !== (s.bytes === undefined), "give keys or bytes, not both"),
  z
    .object({
      step: z.literal("command"),
      /** The command and its arguments, e.g. ["CONFIG", "SET", "appendonly", "yes"]. */
      args: z.array(z.string()).min(1),
      /**
       * More commands sent right after `args`, in order, each time: a cycle that must not drift apart,
       * e.g. a replica's SLAVEOF NO ONE then SLAVEOF main 6379 (a fresh full sync every time), or
       * SCRIPT DEBUG yes then EVAL (a failed debugging fork turns debugging off again).
       */
      andThen: z.array(z.array(z.string()).min(1)).optional(),
      /** Repeat every N ms until the run decides (each one an attempt); absent: once. */
      everyMs: z.number().int().positive().optional(),
      /** Also records each reply as the series NAME.ok (1, or 0 for an error reply; the text kept). */
      name: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_-]*$/)
        .optional(),
      node: NodeName,
    })
    .strict(),
  z.object({ step: z.literal("wait"), ms: z.number().int().min(0) }).strict(),
  /** A mark in the history (a phase's start), as a script's `context.mark` writes one. */
  z
    .object({
      step: z.literal("mark"),
      name: z.string().min(1),
      value: z.union([z.string(), z.number(), z.boolean()]).optional(),
    })
    .strict(),
]);
export type StepSpec = z.infer<typeof StepSpec>;

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

/** Sends one command; its reply (an error's text too) goes to the history and the tally. */
async function send(
  client: Redis,
  args: string[],
  node: string,
  context: StepContext,
  series: string | undefined,
): Promise<void> {
  const [command = "", ...rest] = args;
  const [reply, ok] = await client.call(command, ...rest).then(
    (r) => [String(r), true] as const,
    (e: unknown) => [errorText(e), false] as const,
  );
  context.reply(node, reply, { ok, series });
  context.tally.commands++;
  context.tally.replies[reply] = (context.tally.replies[reply] ?? 0) + 1;
}

export function growAofStep(spec: { valueBytes?: number; node?: string } = {}): Step {
  const node = spec.node ?? "main";
  return {
    name: "grow-aof",
    async run(context) {
      const client = await context.node(node).connection();
      const [, minSize = "64mb"] = (await client.config("GET", "auto-aof-rewrite-min-size")) as string[];
      const grown = await growAofPastRewriteThreshold(
        client,
        minSize,
        spec.valueBytes ?? 128,
        context.signal,
      );
      context.tally.writes += grown.writes;
      context.tally.aofBytes = grown.aofBytes;
    },
  };
}

export function fillStep(spec: { keys?: number; bytes?: number; valueBytes?: number; node?: string }): Step {
  const valueBytes = spec.valueBytes ?? 64;
  return {
    name: "fill",
    async run(context) {
      const keys = spec.keys ?? Math.ceil((spec.bytes ?? 0) / valueBytes);
      const client = await context.node(spec.node ?? "main").connection();
      context.tally.writes += await fill(client, keys, valueBytes, context.signal);
    },
  };
}

/**
 * A command (and its followers) once, or every `everyMs` until the run decides: then it returns at
 * once and goes on in the background, and the next step starts.
 */
export function commandStep(spec: {
  args: string[];
  andThen?: string[][];
  everyMs?: number;
  name?: string;
  node?: string;
}): Step {
  const node = spec.node ?? "main";
  return {
    name: `command ${spec.args[0] ?? ""}`,
    async run(context) {
      const client = await context.node(node).connection();
      const sendAll = async () => {
        for (const args of [spec.args, ...(spec.andThen ?? [])])
          await send(client, args, node, context, spec.name);
      };
      const every = spec.everyMs;
      if (every === undefined) return sendAll();
      context.background(
        (async () => {
          while (!context.signal.aborted) {
            await sendAll();
            await context.sleep(every);
          }
        })(),
      );
    },
  };
}

export function waitStep(ms: number): Step {
  return { name: "wait", run: (context) => context.sleep(ms) };
}

export function markStep(name: string, value?: string | number | boolean): Step {
  return {
    name: `mark ${name}`,
    run: async (context) => context.mark(name, value ?? null),
  };
}

/** A script's step function as a step: it gets the main node's kept connection and the context. */
export function scriptStep(fn: ScriptStep): Step {
  return {
    name: fn.name || "script",
    run: async (context) => {
      await fn(await context.node().connection(), context);
    },
  };
}

/** The step a data spec names. */
export function stepFrom(spec: StepSpec): Step {
  switch (spec.step) {
    case "grow-aof":
      return growAofStep(spec);
    case "fill":
      return fillStep(spec);
    case "command":
      return commandStep(spec);
    case "wait":
      return waitStep(spec.ms);
    case "mark":
      return markStep(spec.name, spec.value);
  }
}
