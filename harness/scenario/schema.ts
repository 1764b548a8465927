import { z } from "zod";
import type { Fault } from "../core/fault.js";
import { Expected } from "../core/outcome.js";
import type { Probe } from "../core/probe.js";
import type { ScriptStep, Step } from "../core/step.js";
import { CheckerInput, CheckerSpec } from "../parts/checkers/index.js";
import { Limits } from "../parts/container/limits.js";
import { FaultName, FaultObjectSpec, FaultSpec } from "../parts/faults/index.js";
import { ProbeSpec } from "../parts/probes/index.js";
import { NodeName } from "../parts/probes/spec.js";
import { StepSpec } from "../parts/workload/index.js";
import { RedisConfig } from "../targets/config.js";

/**
 * A scenario is data that composes parts (Jepsen's test map): the server's config, the limits and
 * fault of its container, the workload steps, the probes, what counts as an attempt, the checker and
 * its budgets. Each part's data form is its own (parts/*); this file puts them together. JSON files
 * are checked against ScenarioData (schema/scenario.schema.json is generated from it); a script may
 * put its own object (or a step function) wherever the data names a part (ScenarioDefinition).
 */

export { Limits, RedisConfig };

/** A node that is not the main one: same target, own config, joined to the main node's network. */
export const NodeSpec = z
  .object({
    /** Makes it a replica of that node (`slaveof NODE 6379`, which every release accepts). */
    replicaOf: z.string().optional(),
    /** Defaults to none: a scenario aims its fault at the main node unless it says otherwise. */
    fault: FaultSpec.default("none"),
    redis: RedisConfig.default({}),
  })
  .strict();
export type NodeSpec = z.infer<typeof NodeSpec>;

/**
 * What counts as one attempt: a parsed log event (fork-failed: any failed fork), log lines matching
 * a pattern, replies to the workload's commands matching a pattern (for a fork that logs nothing when
 * it fails, e.g. EVAL in a forked debugging session), or each increase of a probe series. Log lines
 * and replies are the main node's unless `node` names another.
 */
export const AttemptSpec = z.union([
  z.object({ event: z.string().min(1), node: NodeName }).strict(),
  z.object({ pattern: z.string(), node: NodeName }).strict(),
  z.object({ reply: z.string(), node: NodeName }).strict(),
  z.object({ series: z.string() }).strict(),
]);
export type AttemptSpec = z.infer<typeof AttemptSpec>;

const AfterMs = z.number().int().min(0);

/** When an episode starts (see core/fault.ts): "start", {afterMs} after the workload loaded, or a moment. */
export const EpisodeStart = z.union([
  z.literal("start"),
  z.object({ afterMs: AfterMs }).strict(),
  z.object({ attempts: z.number().int().positive(), afterMs: AfterMs.optional() }).strict(),
  z.object({ mark: z.string().min(1), afterMs: AfterMs.optional() }).strict(),
  z
    .object({
      fault: z.enum(["start", "heal"]),
      name: z.string().min(1).optional(),
      node: z.string().min(1).optional(),
      afterMs: AfterMs.optional(),
    })
    .strict(),
]);

/** When it heals: "never", {afterMs} after its own start, or at a mark or the Nth attempt. */
export const EpisodeHeal = z.union([
  z.literal("never"),
  z.object({ afterMs: AfterMs }).strict(),
  z.object({ mark: z.string().min(1), afterMs: AfterMs.optional() }).strict(),
  z.object({ attempts: z.number().int().positive(), afterMs: AfterMs.optional() }).strict(),
]);

/** A fault for a window of the run on one node, optionally repeated; start and heal are history events. */
export const EpisodeSpec = z
  .object({
    fault: FaultSpec,
    node: NodeName,
    start: EpisodeStart.default("start"),
    heal: EpisodeHeal.default("never"),
    repeat: z
      .object({ times: z.number().int().min(1), everyMs: z.number().int().positive() })
      .strict()
      .optional(),
  })
  .strict();
export type EpisodeSpec = z.infer<typeof EpisodeSpec>;

export const Budgets = z
  .object({
    /** Attempts a no-bug answer must have seen. */
    attempts: z.number().int().positive().default(30),
    timeLimitSeconds: z.number().positive(),
  })
  .strict();

const fields = {
  $schema: z.string().optional(),
  name: z.string().regex(/^[a-z0-9-]+$/),
  description: z.string(),
  /** The main node's redis.conf directives. */
  redis: RedisConfig,
  limits: Limits,
  /**
   * The fault on the main node for the whole run (other nodes say their own): shorthand for an
   * episode. A name, or an object naming its kind (parts/faults: libfiu, seccomp, network-cut…).
   */
  fault: FaultSpec,
  /** Faults that come and go: each an injector on a node, when it starts, when it heals, how often. */
  faults: z.array(EpisodeSpec).default([]),
  /** More nodes of the same target, by name ("main" is the scenario's own). */
  nodes: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), NodeSpec).default({}),
  workload: z.array(StepSpec).min(1),
  /** What the run reads into the history, besides what the checker asks for itself. */
  probes: z.array(ProbeSpec).default([]),
  attempt: AttemptSpec.default({ event: "fork-failed", node: "main" }),
  checker: CheckerSpec,
  budgets: Budgets,
  /** Targets `redis-repro run` uses when none is given. */
  targets: z.array(z.string()).min(1),
  /**
   * What each target should give, for scenarios the catalogue does not hold (a user's own): an
   * outcome (bug, no-bug, unknown) or a label its checker names (exhaustion, stable, …). The
   * project's scenarios keep theirs in the catalogue, the one place measured results live.
   */
  expect: z.record(z.string(), Expected).default({}),
};

/** Checks across fields: nodes named exist, probe names are unique, patterns compile. */
function crossChecks(
  s: {
    nodes: Record<string, { replicaOf?: string | undefined }>;
    faults: { node: string }[];
    workload: unknown[];
    probes: unknown[];
    attempt: AttemptSpec;
  },
  ctx: z.RefinementCtx,
): void {
  const nodes = new Set(["main", ...Object.keys(s.nodes)]);
  if (Object.hasOwn(s.nodes, "main"))
    ctx.addIssue({ code: "custom", path: ["nodes", "main"], message: "main is the scenario's own node" });
  for (const [name, spec] of Object.entries(s.nodes)) {
    if (spec.replicaOf !== undefined && !nodes.has(spec.replicaOf))
      ctx.addIssue({
        code: "custom",
        path: ["nodes", name, "replicaOf"],
        message: `no node "${spec.replicaOf}"`,
      });
  }
  const named = (part: unknown) =>
    typeof part === "object" && part !== null && "node" in part && typeof part.node === "string"
      ? part.node
      : undefined;
  const parts = [
    ...s.workload.map((w, i) => ({ path: ["workload", i, "node"], node: named(w) })),
    ...s.probes.map((p, i) => ({ path: ["probes", i, "node"], node: named(p) })),
    ...s.faults.map((f, i) => ({ path: ["faults", i, "node"], node: f.node })),
    { path: ["attempt", "node"], node: "node" in s.attempt ? s.attempt.node : undefined },
  ];
  for (const part of parts) {
    if (part.node !== undefined && !nodes.has(part.node))
      ctx.addIssue({ code: "custom", path: part.path, message: `no node "${part.node}"` });
  }
  const probeName = (p: unknown) =>
    typeof p === "object" && p !== null && "name" in p ? String(p.name) : undefined;
  const names = s.probes.map(probeName).filter((n): n is string => n !== undefined);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined)
    ctx.addIssue({ code: "custom", path: ["probes"], message: `probe name "${twice}" is used twice` });
  const patterns = [
    ...s.probes.flatMap((p, i) => {
      const pattern =
        typeof p === "object" && p !== null && "pattern" in p && typeof p.pattern === "string"
          ? p.pattern
          : undefined;
      return pattern === undefined ? [] : [{ path: ["probes", i, "pattern"], pattern }];
    }),
    ...("pattern" in s.attempt ? [{ path: ["attempt", "pattern"], pattern: s.attempt.pattern }] : []),
    ...("reply" in s.attempt ? [{ path: ["attempt", "reply"], pattern: s.attempt.reply }] : []),
  ];
  for (const { path, pattern } of patterns) {
    try {
      new RegExp(pattern);
    } catch {
      ctx.addIssue({ code: "custom", path, message: `not a regular expression: ${pattern}` });
    }
  }
}

/** The scenario as data: what a JSON file holds. `$schema` lets editors complete and check the file. */
export const ScenarioData = z.object(fields).strict().superRefine(crossChecks);
export type ScenarioData = z.infer<typeof ScenarioData>;
export type ScenarioDataInput = z.input<typeof ScenarioData>;

const isFunction = (v: unknown): v is (...args: never[]) => unknown => typeof v === "function";
const has = (v: unknown, method: string) =>
  typeof v === "object" && v !== null && isFunction((v as Record<string, unknown>)[method]);
const text = (v: unknown, key: string) =>
  typeof v === "object" && v !== null && typeof (v as Record<string, unknown>)[key] === "string";

/** A user's own part where the data names a built-in: an object that does the part's job. */
export const StepObject = z.custom<Step>(
  (v) => has(v, "run") && text(v, "name"),
  "a step object: { name, run(context) }",
);
export const ScriptStepFunction = z.custom<ScriptStep>(
  isFunction,
  "a step function: async (client, context) => …",
);
// The node is part of the contract: the run reads the probe on it, and the series it writes must not
// mix with a same-named probe's on another node.
export const ProbeObject = z.custom<Probe>(
  (v) => (has(v, "read") || has(v, "onLog")) && text(v, "name") && text(v, "node"),
  "a probe object: { name, node, read(node, now) }",
);
export const FaultObject = z.custom<Fault>(
  (v) => text(v, "name") && text(v, "description") && !("probe" in (v as object)),
  "a fault object: { name, description, container?, start?, heal? }",
);

/**
 * A fault where a script may write one: the data form, or the script's own Fault object. An object
 * with a `fault` key is the data form (its own errors name the field); one without, a Fault object.
 */
const FaultInput = z.union([
  z
    .custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && "fault" in v)
    .pipe(FaultObjectSpec),
  FaultName,
  FaultObject,
]);

/** A scenario script's definition: the data, with the script's own objects where it likes. */
export const ScenarioDefinitionSchema = z
  .object({
    ...fields,
    fault: FaultInput,
    nodes: z
      .record(z.string().regex(/^[a-z][a-z0-9-]*$/), NodeSpec.extend({ fault: FaultInput.default("none") }))
      .default({}),
    faults: z.array(EpisodeSpec.extend({ fault: FaultInput })).default([]),
    workload: z.array(z.union([StepSpec, ScriptStepFunction, StepObject])).min(1),
    probes: z.array(z.union([ProbeSpec, ProbeObject])).default([]),
    /** Data, or the script's own Checker object (at any depth of all/any). */
    checker: CheckerInput,
  })
  .strict()
  .superRefine(crossChecks);

/** What a scenario script exports (the input side: sizes as "64m", defaults left out). */
export type ScenarioDefinition = z.input<typeof ScenarioDefinitionSchema>;
