import { z } from "zod";
import { FaultName } from "../parts/faults/index.js";

/**
 * A scenario is data that composes parts (Jepsen's test map): the server's config, the limits and
 * fault of its container, the workload steps, the probes, what counts as an attempt, the checker and
 * its budgets. This file is the data front end (JSON files are checked against it, and the JSON
 * Schema in schema/ is generated from it); scripts (scenario/define.ts) may put functions where the
 * data names a registered part.
 */

/** Byte sizes as people write them: 64m, 512k, 1g or a plain number of bytes. */
export const ByteSize = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+\s*[kmg]?i?b?$/i, "a size such as 64m, 512k or 1g")
    .transform((s) => {
      const match = /^(\d+)\s*([kmg]?)/i.exec(s);
      const n = Number(match?.[1]);
      const unit = (match?.[2] ?? "").toLowerCase();
      return n * (unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1);
    })
    // "0m" must fail like 0 does: a memory limit of 0 means no limit to the engine.
    .pipe(z.number().positive()),
]);

/**
 * exhaustion: a resource ran out and clients were refused; growing: a resource grows per attempt;
 * stable: it did not over the attempt budget; inconclusive: the run could not decide.
 */
export const Verdict = z.enum(["exhaustion", "growing", "stable", "inconclusive"]);
export type Verdict = z.infer<typeof Verdict>;

/** A redis.conf value: booleans become yes/no, a list repeats the directive (e.g. several `save`). */
export const DirectiveValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
export type DirectiveValue = z.infer<typeof DirectiveValue>;

/**
 * Any redis.conf directive by its own name, passed to redis-server as is: Redis is the judge of what
 * it accepts (the run turns its "Bad directive" into a one-line error naming the directive).
 */
export const RedisConfig = z
  .record(
    z.string().regex(/^[a-z][a-z0-9-]*$/, "a redis.conf directive name, e.g. appendonly"),
    DirectiveValue,
  )
  .superRefine((config, ctx) => {
    for (const key of ["port", "protected-mode", "daemonize"]) {
      if (Object.hasOwn(config, key))
        ctx.addIssue({ code: "custom", path: [key], message: `${key} is set by the harness; remove it` });
    }
  });
export type RedisConfig = z.infer<typeof RedisConfig>;

export const Limits = z
  .object({
    memory: ByteSize,
    pids: z.number().int().positive(),
    nofile: z.number().int().positive(),
    /** Size-limited tmpfs mounts by path, e.g. {"/data": "4m"}: a disk that fills (ENOSPC). */
    tmpfs: z.record(z.string().startsWith("/"), ByteSize).optional(),
  })
  .strict();
export type Limits = z.infer<typeof Limits>;

/** A node that is not the main one: same target, own config, joined to the main node's network. */
export const NodeSpec = z
  .object({
    /** Makes it a replica of that node (`slaveof NODE 6379`, which every release accepts). */
    replicaOf: z.string().optional(),
    /** Defaults to none: a scenario aims its fault at the main node unless it says otherwise. */
    fault: FaultName.default("none"),
    redis: RedisConfig.default({}),
  })
  .strict();
export type NodeSpec = z.infer<typeof NodeSpec>;

const node = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/)
  .default("main");

/** Workload steps run in order through one ioredis connection to their node. */
export const Step = z.discriminatedUnion("step", [
  z
    .object({
      step: z.literal("grow-aof"),
      /** Writes until the AOF is past auto-aof-rewrite-min-size: from there serverCron rewrites by itself. */
      valueBytes: z.number().int().positive().default(128),
      node,
    })
    .strict(),
  z
    .object({
      step: z.literal("fill"),
      /** Keys written, or enough keys of valueBytes to reach `bytes` of values. */
      keys: z.number().int().min(0).optional(),
      bytes: ByteSize.optional(),
      valueBytes: z.number().int().positive().default(64),
      node,
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
      node,
    })
    .strict(),
  z.object({ step: z.literal("wait"), ms: z.number().int().min(0) }).strict(),
]);
export type Step = z.infer<typeof Step>;

/** Probes, sampled every tick (or fed by the log) into named numeric series `NAME.FIELD`. */
export const ProbeSpec = z.discriminatedUnion("probe", [
  /** NAME.total, .maxFd, .pipe, .socket, .file, .eventpoll, .other (the main node's are always "fds"). */
  z.object({ probe: z.literal("fds"), name: z.string(), node }).strict(),
  /** NAME.files, NAME.bytes, NAME.emptyFiles of the files in `path` whose names match `pattern`. */
  z
    .object({
      probe: z.literal("dir"),
      name: z.string().default("dir"),
      path: z.string().startsWith("/"),
      pattern: z.string().optional(),
      node,
    })
    .strict(),
  /** NAME.files, .base, .incr, .emptyIncr, .manifestBytes, .totalBytes of the 7.x multi-part AOF directory. */
  z
    .object({
      probe: z.literal("aof-dir"),
      name: z.string().default("aofdir"),
      path: z.string().startsWith("/").default("/data/appendonlydir"),
      node,
    })
    .strict(),
  /**
   * NAME.FIELD for each INFO field named: numbers as they are (used_memory, aof_rewrites_consecutive_
   * failures…), statuses as 1 for ok and 0 for err (aof_last_bgrewrite_status, aof_last_write_status…).
   */
  z
    .object({
      probe: z.literal("info"),
      name: z.string().default("info"),
      fields: z.array(z.string().regex(/^[a-z0-9_]+$/)).min(1),
      node,
    })
    .strict(),
  /** NAME.count: log lines matching `pattern` so far. */
  z.object({ probe: z.literal("log"), name: z.string(), pattern: z.string(), node }).strict(),
]);
export type ProbeSpec = z.infer<typeof ProbeSpec>;

/**
 * What counts as one attempt: a parsed log event (fork-failed: any failed fork), log lines matching
 * a pattern, replies to the workload's commands matching a pattern (for a fork that logs nothing when
 * it fails, e.g. EVAL in a forked debugging session), or each increase of a probe series.
 */
export const AttemptSpec = z.union([
  z.object({ event: z.enum(["fork-failed", "pipes-error", "rewrite-limited", "incr-file"]) }).strict(),
  z.object({ pattern: z.string() }).strict(),
  z.object({ reply: z.string() }).strict(),
  z.object({ series: z.string() }).strict(),
]);
export type AttemptSpec = z.infer<typeof AttemptSpec>;

export const CheckerSpec = z.discriminatedUnion("checker", [
  /** The seed's: fds grow by fdsPerAttempt per attempt until the event loop is full and clients are refused. */
  z
    .object({
      checker: z.literal("fd-leak"),
      /** fds above baseline still counted as flat (transient client sockets, background closes). */
      tolerance: z.number().int().min(0).default(3),
      /** Pipe fds a leaking attempt leaves behind (3 pipes). */
      fdsPerAttempt: z.number().positive().default(6),
    })
    .strict(),
  /**
   * The 7.x AOF directory: a file per attempt is `growing`; a steady file count, a directory held for
   * 5 s after the rewrite limiter's line, or (no attempt at all) after a rewrite is `stable`.
   */
  z
    .object({
      checker: z.literal("aof-dir"),
      /** The aof-dir probe whose series it reads. */
      probe: z.string().default("aofdir"),
    })
    .strict(),
  /** Growth of any series per attempt: `growing` at or above `perAttempt`, `stable` within `tolerance`. */
  z
    .object({
      checker: z.literal("growth"),
      series: z.string(),
      perAttempt: z.number().positive().default(0.8),
      tolerance: z.number().min(0).default(1),
      /** Attempts a `growing` verdict needs (a `stable` one needs budgets.attempts). */
      minAttempts: z.number().int().positive().default(10),
    })
    .strict(),
  /**
   * Any of several series leaking per attempt, with no expectation: what a sweep asks of every fork
   * path. `growing` (or `exhaustion` when fresh clients were refused) names each leaking series and
   * its growth per attempt; `stable` when all stay within their thresholds over budgets.attempts.
   */
  z
    .object({
      checker: z.literal("leaks"),
      /** Series and the growth per attempt at or above which each counts as leaking (default: DEFAULT_LEAK_SERIES). */
      series: z
        .array(z.object({ series: z.string(), perAttempt: z.number().positive() }).strict())
        .min(1)
        .optional(),
      /** Attempts a leak verdict needs. */
      minAttempts: z.number().int().positive().default(10),
      /** Samples of a series taken after the first attempt before it is judged (the slope needs points). */
      minSamples: z.number().int().min(2).default(5),
    })
    .strict(),
]);
export type CheckerSpec = z.infer<typeof CheckerSpec>;

export const Budgets = z
  .object({
    /** Attempts a `stable` verdict must have seen. */
    attempts: z.number().int().positive().default(30),
    timeLimitSeconds: z.number().positive(),
  })
  .strict();

/** The scenario as data. `$schema` lets editors complete and check the file. */
export const ScenarioData = z
  .object({
    $schema: z.string().optional(),
    name: z.string().regex(/^[a-z0-9-]+$/),
    description: z.string(),
    /** The main node's redis.conf directives. */
    redis: RedisConfig,
    limits: Limits,
    /** The fault on the main node (other nodes say their own). */
    fault: FaultName,
    /** More nodes of the same target, by name ("main" is the scenario's own). */
    nodes: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), NodeSpec).default({}),
    workload: z.array(Step).min(1),
    /** fds of the main node are always watched (the fresh-client probe too); add more here. */
    probes: z.array(ProbeSpec).default([]),
    attempt: AttemptSpec.default({ event: "fork-failed" }),
    checker: CheckerSpec,
    budgets: Budgets,
    /**
     * Fidelity: predict time to exhaustion from (ceiling − baseline) / (fdsPerAttempt · hz) and require
     * the measured time to agree within `tolerance` (a fraction). fd-leak only.
     */
    predict: z
      .object({ tolerance: z.number().positive().max(1) })
      .strict()
      .optional(),
    /** Targets `redis-repro run` uses when none is given. */
    targets: z.array(z.string()).min(1),
    /**
     * Expected verdict per target, for scenarios the catalogue does not hold (a user's own): the
     * project's scenarios keep theirs in the catalogue, the one place measured verdicts live.
     */
    expect: z.record(z.string(), Verdict).default({}),
  })
  .strict()
  .superRefine((s, ctx) => {
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
    const parts: { path: (string | number)[]; node: string }[] = [
      ...s.workload.map((w, i) => ({ path: ["workload", i, "node"], node: "node" in w ? w.node : "main" })),
      ...s.probes.map((p, i) => ({ path: ["probes", i, "node"], node: p.node })),
    ];
    for (const part of parts) {
      if (!nodes.has(part.node))
        ctx.addIssue({ code: "custom", path: part.path, message: `no node "${part.node}"` });
    }
    const names = ["fds", ...s.probes.map((p) => p.name)];
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined)
      ctx.addIssue({
        code: "custom",
        path: ["probes"],
        message: `probe name "${twice}" is used twice ("fds" is the main node's own)`,
      });
    // A name that points nowhere would only show as "could not be read" at the time limit.
    const probeNames = new Set(["fds", ...s.probes.map((p) => p.name)]);
    const refs: { path: (string | number)[]; name: string }[] = [];
    if (s.checker.checker === "aof-dir")
      refs.push({ path: ["checker", "probe"], name: `${s.checker.probe}.x` });
    if (s.checker.checker === "growth") refs.push({ path: ["checker", "series"], name: s.checker.series });
    if ("series" in s.attempt) refs.push({ path: ["attempt", "series"], name: s.attempt.series });
    for (const ref of refs) {
      const dot = ref.name.indexOf(".");
      const probe = dot < 0 ? ref.name : ref.name.slice(0, dot);
      if (dot < 1 || !probeNames.has(probe))
        ctx.addIssue({
          code: "custom",
          path: ref.path,
          message: `no probe "${probe}" (series are named PROBE.FIELD; probes: ${[...probeNames].join(", ")})`,
        });
    }
    if (s.predict && s.checker.checker !== "fd-leak")
      ctx.addIssue({ code: "custom", path: ["predict"], message: "predict needs the fd-leak checker" });
    const patterns = [
      ...s.probes.flatMap((p) => (p.probe === "log" || p.probe === "dir" ? [p.pattern ?? ""] : [])),
      ...("pattern" in s.attempt ? [s.attempt.pattern] : []),
      ...("reply" in s.attempt ? [s.attempt.reply] : []),
    ];
    for (const p of patterns) {
      try {
        new RegExp(p);
      } catch {
        ctx.addIssue({ code: "custom", path: ["probes"], message: `not a regular expression: ${p}` });
      }
    }
  });
export type ScenarioData = z.infer<typeof ScenarioData>;
export type ScenarioDataInput = z.input<typeof ScenarioData>;
