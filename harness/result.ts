import { z } from "zod";
import { Decision } from "./checkers/fd-leak.js";
import { Prediction } from "./checkers/prediction.js";
import { Environment } from "./environment.js";
import { AofDirSample } from "./probes/aof-dir.js";
import { ConnectProbe } from "./probes/connect.js";
import { FdSample } from "./probes/fds.js";
import { LogEvent } from "./probes/log.js";
import { Verdict } from "./scenario.js";
import { WorkloadResult } from "./workload/index.js";

/** What one target's run produced: the verdict, its evidence, and the raw series behind it. */
export const TargetResult = z.object({
  target: z.string(),
  image: z.string(),
  imageOrigin: z.enum(["built", "cached", "brought"]),
  version: z.string().nullable(),
  sourceCheck: z.string().nullable(),
  fault: z.string(),
  /** What arming the fault did (e.g. the pids limit it set), when it has an arming step. */
  faultDetail: z.string().nullable().default(null),
  resource: z.enum(["fds", "aof-dir"]).default("fds"),
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
  samples: z.array(FdSample),
  aofSamples: z.array(AofDirSample).default([]),
  events: z.array(LogEvent),
  probes: z.array(ConnectProbe),
  log: z.array(z.string()),
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
