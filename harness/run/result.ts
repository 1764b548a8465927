import { z } from "zod";
import { History } from "../core/history.js";
import { Decision, Expected } from "../core/outcome.js";
import { Environment } from "../engine/environment.js";
import { Server } from "../targets/server.js";

/** What the workload did: writes, and commands sent by repeating steps with their distinct replies. */
export const Tally = z.object({
  writes: z.number(),
  aofBytes: z.number(),
  commands: z.number().default(0),
  replies: z.record(z.string(), z.number()).default({}),
});

/** What one target's run produced: the checker's decision, and the history behind it. */
export const TargetResult = z.object({
  target: z.string(),
  image: z.string(),
  imageOrigin: z.enum(["built", "cached", "brought"]),
  /** The server that ran (from its start line, else the image); null in results made before Valkey. */
  server: Server.nullable().default(null),
  /** What the server says it is (8.0-m01 says 7.9.224), from its start line. */
  version: z.string().nullable(),
  sourceCheck: z.string().nullable(),
  /** The faults the run used, by name (the schedule and what each did are events in the history). */
  faults: z.array(z.string()).default([]),
  /** The checker that decided (a composition names itself). */
  checker: z.string(),
  /** What the catalogue or the scenario expected: an outcome, or a label. */
  expected: Expected.nullable(),
  matches: z.boolean().nullable(),
  decision: Decision,
  /** How the run ended when the checker did not decide first: the time limit, the server gone, an error. */
  ended: z
    .object({
      reason: z.enum(["time-limit", "container-exited", "error"]),
      detail: z.string(),
      cause: z.enum(["oom", "exited", "crashed", "stopped-outside", "removed", "engine-gone"]).optional(),
    })
    .nullable()
    .default(null),
  phases: z.object({
    containerStartMs: z.number(),
    workloadMs: z.number(),
    decideMs: z.number(),
    totalMs: z.number(),
  }),
  memory: z.object({ limitBytes: z.number(), peakBytes: z.number().nullable() }),
  workload: Tally.nullable(),
  history: History,
});
export type TargetResult = z.infer<typeof TargetResult>;

export const RunResult = z.object({
  harness: z.object({ name: z.literal("redis-repro"), version: z.string() }),
  runId: z.string(),
  scenario: z.string(),
  startedAt: z.string(),
  /** The exact command line that reruns this (targets and scenario spelled out). */
  command: z.string(),
  environment: Environment,
  /** True when every stated expectation was met. */
  ok: z.boolean(),
  results: z.array(TargetResult),
});
export type RunResult = z.infer<typeof RunResult>;
