import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { UserError } from "./errors.js";
import { FaultName } from "./faults/index.js";
import { scenariosDir } from "./paths.js";

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

/** exhaustion: fds ran out; growing: another resource grows per failed fork; stable; inconclusive. */
export const Verdict = z.enum(["exhaustion", "growing", "stable", "inconclusive"]);
export type Verdict = z.infer<typeof Verdict>;

export const RedisConfig = z
  .object({
    appendonly: z.boolean(),
    "auto-aof-rewrite-percentage": z.number().int().min(0),
    "auto-aof-rewrite-min-size": z.string().regex(/^\d+(kb|mb|gb)?$/i),
    maxclients: z.number().int().positive(),
    hz: z.number().int().min(1).max(500),
    dir: z.string().startsWith("/"),
    /** Snapshots off by default: a scenario about AOF rewrites must not be muddied by BGSAVE forks. */
    save: z.string().default(""),
  })
  .strict();
export type RedisConfig = z.infer<typeof RedisConfig>;

/**
 * How a fork is provoked. auto-growth: write until serverCron rewrites by itself on every tick.
 * command: a trigger serverCron does not repeat, so the workload repeats it until the run decides.
 */
export const Trigger = z.discriminatedUnion("kind", [
  z
    .object({
      kind: z.literal("auto-growth"),
      /** Size of each value written; the workload stops once the AOF is past min-size. */
      valueBytes: z.number().int().positive().default(128),
    })
    .strict(),
  z
    .object({
      kind: z.literal("command"),
      command: z.enum(["bgrewriteaof", "config-set-appendonly", "bgsave"]),
      /** Pause between two commands; 100 ms matches serverCron at hz 10. */
      intervalMs: z.number().int().positive().default(100),
      /** Keys written first, so a rewrite or save has data to write. */
      preloadKeys: z.number().int().min(0).default(500),
      preloadValueBytes: z.number().int().positive().default(64),
    })
    .strict(),
]);
export type Trigger = z.infer<typeof Trigger>;

export const Scenario = z
  .object({
    name: z.string().regex(/^[a-z0-9-]+$/),
    description: z.string(),
    redis: RedisConfig,
    limits: z
      .object({
        memory: ByteSize,
        pids: z.number().int().positive(),
        nofile: z.number().int().positive(),
      })
      .strict(),
    fault: FaultName,
    trigger: Trigger,
    /** What the checker watches: the fd table (the seed) or the 7.x AOF directory. */
    resource: z.enum(["fds", "aof-dir"]).default("fds"),
    budgets: z
      .object({
        /** Failed forks a `stable` verdict must have seen. */
        attempts: z.number().int().positive().default(30),
        timeLimitSeconds: z.number().positive(),
      })
      .strict(),
    checker: z
      .object({
        /** fds above baseline still counted as flat (transient client sockets, background closes). */
        tolerance: z.number().int().min(0).default(3),
        /** Pipe fds a leaking attempt leaves behind (3 pipes). */
        fdsPerAttempt: z.number().positive().default(6),
      })
      .strict()
      .default({ tolerance: 3, fdsPerAttempt: 6 }),
    /**
     * Fidelity: predict time to exhaustion from (ceiling − baseline) / (fdsPerAttempt · hz) and
     * require the measured time to agree within `tolerance` (a fraction).
     */
    predict: z
      .object({ tolerance: z.number().positive().max(1) })
      .strict()
      .optional(),
    /** Targets `redis-repro run` uses when none is given. */
    targets: z.array(z.string()).min(1),
    /** Expected verdict per target; targets not named here still run and get a verdict. */
    expect: z.record(z.string(), Verdict),
  })
  .strict();
export type Scenario = z.infer<typeof Scenario>;
export type ScenarioInput = z.input<typeof Scenario>;

export const DEFAULT_SCENARIO = "aof-auto-rewrite-enomem";

/** Validates scenario data; errors name the file and the path of the bad field. */
export function parseScenario(data: unknown, source: string): Scenario {
  const parsed = Scenario.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new UserError(
      `invalid scenario ${source}: ${path}: ${issue?.message ?? "invalid"}; fix that field`,
    );
  }
  return parsed.data;
}

export async function listScenarios(dir = scenariosDir): Promise<string[]> {
  return (await readdir(dir))
    .filter((f) => f.endsWith(".json"))
    .map((f) => basename(f, ".json"))
    .sort();
}

/** A scenario by name (scenarios/NAME.json) or by path to a JSON file. */
export async function loadScenario(nameOrPath: string = DEFAULT_SCENARIO): Promise<Scenario> {
  const isPath = nameOrPath.includes("/") || nameOrPath.endsWith(".json");
  const file = isPath ? nameOrPath : join(scenariosDir, `${nameOrPath}.json`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    const known = (await listScenarios()).join(", ");
    throw new UserError(`scenario "${nameOrPath}" not found: give a file path or one of ${known}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(`invalid scenario ${file}: not JSON (${(error as Error).message}); fix the syntax`);
  }
  return parseScenario(data, file);
}
