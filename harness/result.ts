import { z } from "zod";
import { Decision } from "./checkers/fd-leak.js";
import { Prediction } from "./checkers/prediction.js";
import { Environment } from "./environment.js";
import { History } from "./history.js";
import { Verdict } from "./scenario/schema.js";
import { Server } from "./targets/server.js";
import { WorkloadResult } from "./workload/index.js";

/** What one target's run produced: the verdict, its evidence, and the history behind it. */
export const TargetResult = z.object({
  target: z.string(),
  image: z.string(),
  imageOrigin: z.enum(["built", "cached", "brought"]),
  /** The server that ran (from its start line, else the image); null in results made before Valkey. */
  server: Server.nullable().default(null),
  version: z.string().nullable(),
  sourceCheck: z.string().nullable(),
  fault: z.string(),
  /** What arming the fault did (e.g. the pids limit it set), when it has an arming step. */
  faultDetail: z.string().nullable().default(null),
  /** The checker that decided (fd-leak, aof-dir, growth, or a script's own). */
  checker: z.string(),
  expected: Verdict.nullable(),
  matches: z.boolean().nullable(),
  decision: Decision,
  prediction: Prediction.nullable().default(null),
  phases: z.object({
    containerStartMs: z.number(),
    workloadMs: z.number(),
    verdictMs: z.number(),
    totalMs: z.number(),
  }),
  memory: z.object({ limitBytes: z.number(), peakBytes: z.number().nullable() }),
  workload: WorkloadResult.nullable(),
  info: z.record(z.string(), z.string()),
  /** Logs of the nodes other than main, by name (main's is the history's). */
  nodeLogs: z.record(z.string(), z.array(z.string())).default({}),
  ...History.shape,
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
