import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { Fault } from "../core/fault.js";
import { eventsOf } from "../core/history.js";
import { maxOf } from "../core/numbers.js";
import { type Decision, Outcome } from "../core/outcome.js";
import { progress } from "../core/progress.js";
import { harnessVersion } from "../core/version.js";
import { Environment } from "../engine/environment.js";
import type { SeriesGrowth } from "../parts/checkers/growth.js";
import { SeriesGrowth as SeriesGrowthSchema } from "../parts/checkers/growth.js";
import {
  DEFAULT_LEAK_SERIES,
  LeaksEvidence,
  type LeaksSpecInput,
  leakText,
} from "../parts/checkers/leaks.js";
import { RecoveryEvidence, type RequirementInput } from "../parts/checkers/recovery.js";
import { FAULT_NAME_HELP, type FaultSpec, faultFrom, faultSpecFromName } from "../parts/faults/index.js";
import { connectResults } from "../parts/probes/connect.js";
import type { RunResult, TargetResult } from "../run/result.js";
import { parseScenario, type Scenario, type ScenarioDataInput } from "../scenario/index.js";
import { compareVersions, parseTarget } from "../targets/spec.js";
import {
  defaultConcurrency,
  MatrixBuild,
  type MatrixCell,
  type MatrixOptions,
  runMatrix,
  type ScenarioJob,
} from "./matrix.js";
import { ShardInfo } from "./shard.js";

/**
 * A sweep: every fork path a release has, under each fork failure, and what each failed attempt
 * leaves behind. Each path is a scenario (data, built here from one table) judged by the `leaks`
 * checker, which needs no expectation: a cell says what leaks and how much per attempt, or clean,
 * or why it could not decide. The runs go through the matrix's pool (concurrency, retries).
 */
export interface SweepPath {
  name: string;
  /** The source function(s) that fork, and what drives them here. */
  forks: string;
  drive: string;
  /** First release that has the path (older ones get no cell). */
  since?: string;
  /**
   * What shows the path's own fork working again after a heal (--heal): the log line of its success,
   * as a recovery requirement. Every path has one (the undriven ones are listed apart).
   */
  succeeds: RequirementInput;
  scenario: Omit<ScenarioDataInput, "name" | "fault" | "targets" | "limits" | "checker" | "budgets"> &
    Partial<Pick<ScenarioDataInput, "limits">> & {
      checker?: LeaksSpecInput;
      budgets?: { attempts: number; timeLimitSeconds: number };
    };
}

const LIMITS = { memory: "64m", pids: 64, nofile: 1024 } as const;
/** fds, files of the data dir and of the 7.x AOF dir, used_memory: what DEFAULT_LEAK_SERIES reads. */
const PROBES: ScenarioDataInput["probes"] = [
  { probe: "dir", name: "dir", path: "/data" },
  { probe: "dir", name: "aofdir", path: "/data/appendonlydir" },
  { probe: "info", name: "info", fields: ["used_memory"] },
];
/** maxclients 64 keeps the fd table small (192 with 3.2's +128) so a leak fills it within the run. */
const SERVER = { maxclients: 64, dir: "/data" } as const;
const FILL = { step: "fill", keys: 500, valueBytes: 64 } as const;
const BUDGETS = { attempts: 30, timeLimitSeconds: 20 } as const;
const REWRITE = { require: "rewrite", node: "main" } as const;
const SAVE = { require: "save", node: "main" } as const;

/**
 * Replication paths judge used_memory at 64 KiB per attempt, not 4: every sync attempt makes (and
 * later frees) a replica client with its buffers, 16–40 KiB that a sample may or may not catch, and
 * over their 6–8 attempts that read as 5.2 KiB per attempt on a clean 3.2.9 (seen once in a run of
 * the integration test).
 */
const REPLICATION_SERIES = DEFAULT_LEAK_SERIES.map((s) =>
  s.series === "info.used_memory" ? { ...s, perAttempt: 65_536 } : s,
);

/**
 * A replica that re-asks for a full sync at a known pace. Left alone, a replica whose sync failed
 * waits (measured on 3.2.8: silent for 20 s after the master closed its link); so every 250 ms the workload
 * sends it SLAVEOF NO ONE and at once SLAVEOF main 6379: a replica that never synced has no
 * replication id of this master, so each connection is a full sync, and each a fork on the master.
 * 7.x connects at SLAVEOF (4 attempts/s); 3.2 connects from replicationCron, once a second, so it
 * gets about 1 attempt/s (the reset every 250 ms only aborts a handshake caught in its few ms).
 * The replica starts as a plain server, so no sync happens before a pids-limit fault is armed.
 */
const REPLICA_TOGGLE: ScenarioDataInput["workload"] = [
  {
    step: "command",
    node: "replica",
    args: ["SLAVEOF", "NO", "ONE"],
    andThen: [["SLAVEOF", "main", "6379"]],
    everyMs: 250,
  },
];

export const SWEEP_PATHS: SweepPath[] = [
  {
    name: "aof-rewrite-auto",
    forks: "rewriteAppendOnlyFileBackground (aof.c), from serverCron",
    drive:
      "AOF grown past auto-aof-rewrite-min-size: serverCron starts a rewrite on every tick (hz 20: 20 attempts/s)",
    succeeds: REWRITE,
    scenario: {
      description: "automatic AOF rewrite on growth, tried by serverCron every tick",
      redis: {
        ...SERVER,
        appendonly: true,
        "auto-aof-rewrite-percentage": 100,
        "auto-aof-rewrite-min-size": "64kb",
        hz: 20,
      },
      workload: [{ step: "grow-aof", valueBytes: 128 }],
    },
  },
  {
    name: "aof-rewrite-bgrewriteaof",
    forks: "rewriteAppendOnlyFileBackground (aof.c), from bgrewriteaofCommand",
    drive: "BGREWRITEAOF every 50 ms",
    succeeds: REWRITE,
    scenario: {
      description: "BGREWRITEAOF repeated",
      redis: { ...SERVER, appendonly: true, "auto-aof-rewrite-percentage": 0 },
      workload: [FILL, { step: "command", args: ["BGREWRITEAOF"], everyMs: 50 }],
    },
  },
  {
    name: "aof-rewrite-config-set",
    forks: "rewriteAppendOnlyFileBackground via startAppendOnly (aof.c), from CONFIG SET appendonly yes",
    drive:
      "CONFIG SET appendonly yes every 50 ms, on a server started with appendonly no (on an AOF already on it is a no-op); the failed start leaves it off, so each one is an attempt",
    succeeds: REWRITE,
    scenario: {
      description: "CONFIG SET appendonly yes repeated, AOF off at start",
      redis: { ...SERVER, appendonly: false, "auto-aof-rewrite-percentage": 0 },
      workload: [FILL, { step: "command", args: ["CONFIG", "SET", "appendonly", "yes"], everyMs: 50 }],
    },
  },
  {
    name: "rdb-bgsave",
    forks: "rdbSaveBackground (rdb.c), from bgsaveCommand",
    drive: "BGSAVE every 50 ms",
    succeeds: SAVE,
    scenario: {
      description: "BGSAVE repeated, AOF off",
      redis: { ...SERVER, appendonly: false, save: "" },
      workload: [FILL, { step: "command", args: ["BGSAVE"], everyMs: 50 }],
    },
  },
  {
    name: "rdb-save-point",
    forks: "rdbSaveBackground (rdb.c), from serverCron's save points",
    drive:
      "`save 1 1` and a SET every 100 ms: serverCron starts the save itself. After a failed BGSAVE it waits CONFIG_BGSAVE_RETRY_DELAY (5 s, seconds resolution: about 6 s) whatever hz is, so this path gets 3 attempts and a 30 s limit",
    succeeds: SAVE,
    scenario: {
      description: "save point reached by writes; serverCron's own BGSAVE",
      // Without this the first failed save refuses writes (MISCONF), the fresh-client probe's too.
      redis: { ...SERVER, appendonly: false, save: "1 1", hz: 20, "stop-writes-on-bgsave-error": false },
      workload: [FILL, { step: "command", args: ["SET", "sweep:tick", "1"], everyMs: 100 }],
      checker: { checker: "leaks", minAttempts: 3, minSamples: 5 },
      budgets: { attempts: 3, timeLimitSeconds: 30 },
    },
  },
  {
    name: "repl-sync-disk",
    forks: "rdbSaveBackground via startBgsaveForReplication (replication.c), from syncCommand",
    drive:
      "a replica node sent SLAVEOF NO ONE then SLAVEOF main every 250 ms (a full sync each time; 3.2 connects once a second from replicationCron, 7.x at once); repl-diskless-sync no; fault on the master only; budget 8 attempts within 60 s (3.2 made 8–10 in 25 s on a quiet 2-core machine, 3–6 under a load of 10; the run ends once the budget is met)",
    // The replica is reset every 250 ms, so its link is rarely up when read: the master's BGSAVE for
    // it finishing is the path's fork working (a disk-based sync's child goes on without the replica).
    succeeds: SAVE,
    scenario: {
      description: "full sync to a replica, disk-based",
      redis: { ...SERVER, appendonly: false, "repl-diskless-sync": false },
      nodes: { replica: { redis: { maxclients: 64 } } },
      workload: [FILL, ...REPLICA_TOGGLE],
      checker: { checker: "leaks", series: REPLICATION_SERIES, minAttempts: 6, minSamples: 5 },
      budgets: { attempts: 8, timeLimitSeconds: 60 },
    },
  },
  {
    name: "repl-sync-diskless",
    forks: "rdbSaveToSlavesSockets (rdb.c), from syncCommand (7.x) or replicationCron (3.2: once a second)",
    drive:
      "a replica node (repl-timeout 1) told SLAVEOF main once; repl-diskless-sync yes, repl-diskless-sync-delay 0. 7.x retries the sync from replicationCron for the waiting replica (several attempts/s); 3.2 starts it from replicationCron only after the replica waited a whole second and the replica retries after its repl-timeout: about one attempt per 3 s (slower under load), so this path's budget is 6 attempts within 60 s",
    // putSlaveOnline's line (replication.c), once the replica has the payload: "slave" up to 4.0.
    succeeds: { require: "log", node: "main", pattern: "Synchronization with (slave|replica) .* succeeded" },
    since: "2.8.18",
    scenario: {
      description: "full sync to a replica, diskless (the RDB streamed to the replica's socket)",
      redis: {
        ...SERVER,
        appendonly: false,
        "repl-diskless-sync": true,
        "repl-diskless-sync-delay": 0,
      },
      // The replica waits for its payload until repl-timeout after a failed diskless sync: 1 s makes
      // it give up and reconnect. No toggle here: 3.2 starts the sync from replicationCron only once
      // the replica has waited a whole second, and a reset every 250 ms would never let it.
      nodes: { replica: { redis: { maxclients: 64, "repl-timeout": 1 } } },
      workload: [FILL, { step: "command", node: "replica", args: ["SLAVEOF", "main", "6379"] }],
      checker: { checker: "leaks", series: REPLICATION_SERIES, minAttempts: 5, minSamples: 5 },
      budgets: { attempts: 6, timeLimitSeconds: 60 },
    },
  },
  {
    name: "lua-debug-fork",
    forks: "ldbStartSession (scripting.c; eval.c in 7.x), from EVAL after SCRIPT DEBUG yes",
    drive:
      "SCRIPT DEBUG yes then EVAL, every 50 ms: a forked debugging session per EVAL (a failed fork turns debugging off, so it is asked for each time). Its failure logs nothing, so an attempt is the error reply `Fork() failed`",
    // The debugging child's first line (ldbStartSession): "Redis forked…", "Valkey forked…".
    succeeds: { require: "log", node: "main", pattern: "forked for debugging eval" },
    since: "3.2.0",
    scenario: {
      description: "Lua debugger in forked mode (SCRIPT DEBUG yes)",
      redis: { ...SERVER, appendonly: false },
      // A failed fork turns the client's debugging off (ldbDisable): each attempt asks for it again.
      workload: [
        {
          step: "command",
          args: ["SCRIPT", "DEBUG", "yes"],
          andThen: [["EVAL", "return 1", "0"]],
          everyMs: 50,
        },
      ],
      attempt: { reply: "Fork\\(\\) failed" },
    },
  },
];

/**
 * Fork paths found in the sources and not driven, with the reason (3.2.8 and 7.0.15 read for
 * fork() / redisFork()).
 */
export const UNDRIVEN_PATHS: { name: string; forks: string; why: string }[] = [
  {
    name: "sentinel-scripts",
    forks: "sentinelRunPendingScripts (sentinel.c)",
    why: "Sentinel mode with notification/reconfig scripts: needs a sentinel topology, a failover and an executable script in the image",
  },
  {
    name: "module-fork",
    forks: "RM_Fork (module.c, 6.0+)",
    why: "only a loaded module calls it; the images carry no module",
  },
  {
    name: "daemonize",
    forks: "daemonize (server.c)",
    why: "once at start-up, before any client; the harness runs the server in the foreground",
  },
  {
    name: "check-system",
    forks: "syscheck.c (7.0+)",
    why: "redis-server --check-system, a separate start-up mode, not a running server's path",
  },
];

/**
 * --heal: each fault an episode from the start, healed HEAL_SETTLE_MS after the path's Nth failed
 * attempt (N its budget, at most HEAL_ATTEMPTS), then a recovery window. The settle gives the leaks
 * checker its 5 fd samples (every 200 ms, slower on a busy machine: 1 s gave 4 once) and a
 * fresh-client probe after the Nth attempt; a path failing 20 times a second fails about 30 more
 * times meanwhile, so 3.2.8's 6 fds per failed rewrite fill its 192-fd event loop (maxclients 64 +
 * 128, at about the 31st attempt) in every such window, as in the seed's incident, while the 15th
 * attempt, which the heal is counted from, comes before.
 */
export const HEAL_ATTEMPTS = 15;
export const HEAL_SETTLE_MS = 1500;
export const DEFAULT_RECOVERY_MS = 10_000;
/**
 * How far above its baseline fds.total may be and count as back: the paths go on driving after the
 * heal, and a child running then holds fds in the server (3.2's six rewrite pipes, 7.x's child-info
 * pipe and new AOF file). A leak of 1 fd over the save point's 3 attempts hides under it here: what
 * leaks per attempt is the leaks part's to say, on the window; this says whether much stayed.
 */
export const BASELINE_TOLERANCE = 8;
export const HEAL_FAULTS: string[] = ["libfiu:fork:ENOMEM", "pids-limit"];

export const SweepHeal = z.object({
  /** Failed attempts after which each fault heals (a path with a smaller budget heals after its own). */
  attempts: z.number().int().positive(),
  /** How long after the heal recovery is judged. */
  withinMs: z.number().positive(),
});
export type SweepHeal = z.infer<typeof SweepHeal>;

/** The recovery checker's verdict on a cell, in short. */
export const SweepRecovery = z.object({
  outcome: Outcome,
  label: z.string(),
  /** "recovered +0.4 s", "not recovered: fds.total", "not judged: no heal". */
  text: z.string(),
  requirements: z.array(z.object({ what: z.string(), tookMs: z.number().nullable(), held: z.boolean() })),
});
export type SweepRecovery = z.infer<typeof SweepRecovery>;

export const SweepCell = z.object({
  path: z.string(),
  target: z.string(),
  fault: z.string(),
  version: z.string().nullable(),
  /** The leaks checker's decision (null: the run failed). */
  outcome: Outcome.nullable(),
  label: z.string().nullable(),
  /** The cell's few words: "6 fd/attempt (pipe); refused", "clean", "inconclusive (2 attempts)", "error". */
  text: z.string(),
  /** The decision's summary line. */
  summary: z.string(),
  reason: z.string(),
  /** Attempts the decision rests on (the leaks checker's count; else every attempt the run saw). */
  attempts: z.number().nullable(),
  /** Fresh-client probes after the first attempt, and how many were refused. */
  probes: z.object({ total: z.number(), refused: z.number() }).nullable(),
  /** Each series the checker judged: its growth per attempt and whether it leaks. */
  growth: z.array(SeriesGrowthSchema),
  /** The attempts' log lines (first few) and the errno. */
  logLines: z.array(z.string()),
  errno: z.string().nullable(),
  /** --heal: whether the server recovered after the heal (null: no heal asked, or the run failed). */
  recovery: SweepRecovery.nullable().default(null),
  seconds: z.number(),
  runId: z.string().nullable(),
  command: z.string(),
  earlier: z
    .array(z.object({ outcome: Outcome.nullable(), label: z.string().nullable(), reason: z.string() }))
    .default([]),
});
export type SweepCell = z.infer<typeof SweepCell>;

export const SweepResult = z.object({
  harness: z.object({ name: z.literal("redis-repro"), version: z.string() }),
  startedAt: z.string(),
  targets: z.array(z.string()),
  faults: z.array(z.string()),
  paths: z.array(z.string()),
  concurrency: z.number(),
  environment: Environment,
  builds: z.array(MatrixBuild),
  runWallMs: z.number(),
  wallMs: z.number(),
  /** --heal: faults as episodes, and recovery judged after each heal (null: faults for the whole run). */
  heal: SweepHeal.nullable().default(null),
  /** True when every cell decided no-bug: nothing leaks and nothing was left undecided. */
  clean: z.boolean(),
  cells: z.array(SweepCell),
  /** Set when this is one part of a plan (`--shard I/N`): `redis-repro merge` joins the parts. */
  shard: ShardInfo.optional(),
});
export type SweepResult = z.infer<typeof SweepResult>;

export interface SweepOptions extends Omit<MatrixOptions, "cells" | "onRun" | "retry"> {
  /** Faults by name: seccomp-enomem, pids-limit, or any injector and call (libfiu:open:EACCES…). */
  faults: string[];
  /** Path names (default: every one). */
  paths?: string[];
  /** Each fault heals after the path's failed attempts, and the cell also judges recovery. */
  heal?: { withinMs?: number };
  /** Each run whole, for a report's charts. */
  onRun?: (cell: { path: string; target: string; fault: string }, run: RunResult) => void;
}

export const DEFAULT_FAULTS: string[] = ["seccomp-enomem", "pids-limit"];

/** Faults whose effect is a failed fork: their attempts are the paths' own (a fork-failed event, a reply). */
function failsFork(name: string): boolean {
  return name === "seccomp-enomem" || name === "pids-limit" || name.startsWith("libfiu:fork:");
}

/** A regular expression matching `text` as it is. */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * A path under a fault. Under another call's failure (open, write, accept, pipe…) an attempt is a
 * line of the server's log with the fault's errno text ("Permission denied"), each one failed call
 * the server noticed; a fork path driven under it still makes the server do what calls it.
 *
 * With `heal`, the fault is an episode healed after the path's attempts (see HEAL_ATTEMPTS), and the
 * checker is `any` of the leaks checker on the fault's window and a recovery checker after it:
 * fds.total, 7.x's AOF directory and the data directory back to their baselines, fresh clients
 * served, a write accepted and the path's own fork working again (its success line), within
 * `heal.withinMs`.
 */
export function sweepScenario(path: SweepPath, faultName: string, heal?: SweepHeal): Scenario {
  const spec = faultSpecFromName(faultName);
  const fault = faultFrom(spec);
  const errno = fault.expectedErrno;
  const attempt =
    failsFork(fault.name) || errno === undefined ? {} : { attempt: { pattern: literally(errno) } };
  const { checker = { checker: "leaks" as const }, budgets = BUDGETS, ...rest } = path.scenario;
  const name = `sweep-${path.name}-${fault.name.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`;
  const healed = heal ? healedParts(path, checker, budgets, fault, spec, heal) : undefined;
  return parseScenario(
    {
      limits: LIMITS,
      probes: PROBES,
      ...rest,
      ...attempt,
      ...(healed ?? { checker, budgets, fault: spec }),
      name: heal ? `${name}-healed` : name,
      targets: ["3.2.8"],
    },
    { kind: "object", ref: `sweep path ${path.name}` },
  );
}

/** The fault as an episode and the checker as leaks-until-heal, or recovery (see sweepScenario). */
function healedParts(
  path: SweepPath,
  leaks: LeaksSpecInput,
  budgets: { attempts: number; timeLimitSeconds: number },
  fault: Fault,
  spec: FaultSpec,
  heal: SweepHeal,
): Pick<ScenarioDataInput, "fault" | "faults" | "checker" | "budgets"> {
  if (!fault.heal) throw new UserError(cannotHeal(fault.name));
  const attempts = Math.min(budgets.attempts, heal.attempts);
  const clientIo = CLIENT_IO.test(fault.name);
  return {
    fault: "none",
    faults: [
      {
        fault: spec,
        node: "main",
        // A fork fault, or a call the path's own work makes (open), from the start as the whole-run
        // sweep has it. A failing accept or reply write from the start would refuse the workload's
        // own connections before it loaded (measured: "a workload step failed: Connection is
        // closed."), so those fail once it has.
        start: clientIo ? { afterMs: 0 } : "start",
        heal: { attempts, afterMs: HEAL_SETTLE_MS },
      },
    ],
    checker: {
      checker: "any",
      of: [
        { ...leaks, until: "heal", minAttempts: Math.min(leaks.minAttempts ?? 10, attempts) },
        {
          checker: "recovery",
          ms: heal.withinMs,
          requires: [
            { require: "baseline", series: "fds.total", tolerance: BASELINE_TOLERANCE },
            // 7.x's AOF directory (one incr file per failed rewrite): a successful rewrite should
            // take it back. Not read before the fault (3.2; 7.x before CONFIG SET turns AOF on), it holds.
            { require: "baseline", series: "aofdir.files", tolerance: 1, ifRead: true },
            // The data directory: a save after the heal may add dump.rdb (and a child its temp
            // file for a moment); what a failed child left there for good must come back too.
            { require: "baseline", series: "dir.files", tolerance: 1 },
            { require: "clients", node: "main" },
            { require: "writes", node: "main" },
            // Failed accepts or reply writes are not the path's: a path driven only while loading
            // (the AOF grown past its size, CONFIG SET appendonly once) does nothing after the heal.
            ...(clientIo ? [] : [path.succeeds]),
          ],
        },
      ],
    },
    // The path's own limit covers its attempts; the settle and the window come after them.
    budgets: {
      attempts,
      timeLimitSeconds: budgets.timeLimitSeconds + Math.ceil((HEAL_SETTLE_MS + heal.withinMs) / 1000) + 5,
    },
  };
}

/** Calls every client goes through: a connection accepted, a reply written. */
const CLIENT_IO = /^libfiu:(accept|write):/;

const cannotHeal = (name: string) =>
  `--heal: ${name} cannot be lifted while the server runs (a seccomp profile is fixed when the container starts); use libfiu:CALL:ERRNO or pids-limit`;

export function pathApplies(path: SweepPath, target: string): boolean {
  const spec = parseTarget(target);
  if (!path.since || spec.kind !== "release") return true;
  return compareVersions(spec.version, path.since) >= 0;
}

export function sweepCommand(path: string, target: string, fault: string, heal?: SweepHeal | null): string {
  const healing = heal
    ? ` --heal${heal.withinMs === DEFAULT_RECOVERY_MS ? "" : ` --recover-within ${heal.withinMs / 1000}`}`
    : "";
  return `npx redis-repro sweep ${target} --path ${path} --fault ${fault}${healing}`;
}

/** A part of the run's decision by checker name: the decision itself, or one of its composition's parts. */
function partOf(decision: Decision | undefined, checker: string): Decision | undefined {
  if (!decision) return undefined;
  if (decision.checker === checker) return decision;
  return decision.parts?.find((p) => p.checker === checker);
}

/**
 * The leaks checker's evidence, read with the checker's own schema: the series it judged and the
 * attempts it decided on. Undefined for a run that failed or a decision of another checker.
 */
export function leaksEvidence(result: TargetResult | undefined): LeaksEvidence | undefined {
  const parsed = LeaksEvidence.safeParse(partOf(result?.decision, "leaks")?.evidence);
  return parsed.success ? parsed.data : undefined;
}

/** The recovery part of a healed cell's decision, in short (undefined: no such part). */
export function sweepRecovery(result: TargetResult | undefined): SweepRecovery | undefined {
  const part = partOf(result?.decision, "recovery");
  const parsed = RecoveryEvidence.safeParse(part?.evidence);
  if (!part || !parsed.success) return undefined;
  const e = parsed.data;
  const inTime = (r: (typeof e.requirements)[number]) => r.tookMs !== null && r.tookMs <= e.ms;
  const short = (what: string) => what.replace(/ on main$/, "").replace(/ back to its baseline$/, "");
  const text =
    part.outcome === "no-bug"
      ? `recovered +${(
          maxOf(
            e.requirements.map((r) => r.tookMs ?? 0),
            0,
          ) / 1000
        ).toFixed(1)} s`
      : part.outcome === "bug"
        ? `not recovered: ${e.requirements
            .filter((r) => !inTime(r))
            .map((r) => short(r.what))
            .join(", ")}`
        : e.healedAt === null
          ? "recovery not judged: no heal"
          : `recovery ${part.label}`;
  return {
    outcome: part.outcome,
    label: part.label,
    text,
    requirements: e.requirements.map((r) => ({ what: r.what, tookMs: r.tookMs, held: inTime(r) })),
  };
}

/** A cell's few words, from the leaks checker's decision: what leaks per attempt, or why it could not tell. */
export function sweepText(
  decision: { outcome: Outcome; label: string; summary: string } | null,
  growth: SeriesGrowth[],
  attempts: number | null,
  crashed = false,
): string {
  if (decision === null) return "error";
  // A server that crashed is named as such: its own bug, not the fault's doing nor the limits'.
  if (decision.outcome === "unknown")
    return `${crashed ? "crashed" : decision.label} (${attempts ?? 0} attempts)`;
  const leaks = leakText(growth);
  // A bug with no series over its threshold (a checker that decided on something else): its own words.
  if (decision.outcome === "bug" && leaks === "clean") return decision.summary || decision.label;
  return decision.label === "exhaustion" ? `${leaks}; refused` : leaks;
}

/** Pure: a matrix cell (and the run behind it, when kept) as a sweep cell. */
export function toSweepCell(
  path: string,
  fault: string,
  cell: MatrixCell,
  result: TargetResult | undefined,
  heal: SweepHeal | null = null,
): SweepCell {
  const evidence = leaksEvidence(result);
  const leaks = partOf(result?.decision, "leaks");
  const recovery = sweepRecovery(result) ?? null;
  const growth = evidence?.growth ?? [];
  const history = result?.history;
  const first = history?.attempts[0];
  const probes = history && first ? connectResults(history).filter((p) => p.t >= first.t) : undefined;
  // The attempts the decision rests on; the log goes on while the container is torn down.
  const attempts = evidence?.attempts ?? history?.attempts.length ?? null;
  // The leaks part's own decision where the cell's is a composition (--heal); the run's, else.
  const decision =
    cell.outcome === null || cell.label === null
      ? null
      : (leaks ?? { outcome: cell.outcome, label: cell.label, summary: cell.summary });
  const leakWords = sweepText(decision, growth, attempts, result?.ended?.cause === "crashed");
  return {
    path,
    target: cell.target,
    fault,
    version: cell.version,
    outcome: cell.outcome,
    label: cell.label,
    text: recovery ? `${leakWords}; ${recovery.text}` : leakWords,
    summary: cell.summary,
    reason: cell.reason,
    attempts,
    probes: probes ? { total: probes.length, refused: probes.filter((p) => !p.ok).length } : null,
    growth,
    logLines: history ? history.attempts.slice(0, 3).flatMap((a) => (a.line ? [a.line] : [])) : [],
    errno: history ? (eventsOf(history, "fork-failed").find((e) => e.errno)?.errno ?? null) : null,
    recovery,
    seconds: cell.seconds,
    runId: cell.runId,
    command: sweepCommand(path, cell.target, fault, heal),
    earlier: cell.earlier.map((e) => ({ outcome: e.outcome, label: e.label, reason: e.reason })),
  };
}

export function selectPaths(names: string[] | undefined): SweepPath[] {
  if (!names?.length) return SWEEP_PATHS;
  return names.map((name) => {
    const path = SWEEP_PATHS.find((p) => p.name === name);
    if (!path)
      throw new UserError(`no sweep path "${name}": use one of ${SWEEP_PATHS.map((p) => p.name).join(", ")}`);
    return path;
  });
}

/** Paths × faults × targets through the matrix's pool; prints nothing but through progress(). */
export async function runSweep(targets: string[], options: SweepOptions): Promise<SweepResult> {
  const started = Date.now();
  const paths = selectPaths(options.paths);
  const heal: SweepHeal | null = options.heal
    ? { attempts: HEAL_ATTEMPTS, withinMs: options.heal.withinMs ?? DEFAULT_RECOVERY_MS }
    : null;
  const faults = options.faults.length ? options.faults : heal ? HEAL_FAULTS : DEFAULT_FAULTS;
  for (const f of faults) {
    const fault = faultFrom(faultSpecFromName(f));
    if (fault.expectedErrno === undefined)
      throw new UserError(
        `no fault "${f}" to sweep under: a sweep needs one that makes a call fail: ${FAULT_NAME_HELP}`,
      );
  }
  const jobs: (ScenarioJob & { path: SweepPath; faultName: string })[] = paths.flatMap((path) =>
    faults.map((faultName) => ({
      scenario: sweepScenario(path, faultName, heal ?? undefined),
      path,
      faultName,
    })),
  );
  const byScenario = new Map(jobs.map((j) => [j.scenario.name, j]));
  const runs = new Map<string, TargetResult>();
  const key = (scenario: string, target: string) => `${scenario}\u0000${target}`;
  progress(
    `[sweep] ${paths.length} path(s) × ${faults.length} fault(s) × ${targets.length} target(s)${heal ? `; each fault healed after ${heal.attempts} failed attempts (fewer where a path's budget is), recovery judged within ${heal.withinMs / 1000} s` : ""}`,
  );
  const { cells: _omit, onRun: _omitRun, ...matrixOptions } = options as MatrixOptions;
  const matrix = await runMatrix(jobs, targets, {
    ...matrixOptions,
    // No expectation to differ from: what is run again is a cell that failed to run or could not
    // decide (a replication path slowed by a busy machine), so a flake shows as an earlier run.
    retry: (cell) => cell.status === "error" || cell.outcome === "unknown",
    concurrency: options.concurrency ?? defaultConcurrency(),
    cells: (job, target) => {
      const path = byScenario.get(job.scenario.name)?.path;
      return path ? pathApplies(path, target) : true;
    },
    onRun: (job, target, run) => {
      const result = run.results[0];
      const sweepJob = byScenario.get(job.scenario.name);
      if (!result || !sweepJob) return;
      runs.set(key(job.scenario.name, target), result);
      options.onRun?.({ path: sweepJob.path.name, target, fault: sweepJob.faultName }, run);
    },
  });
  const cells = matrix.cells.map((cell) => {
    const job = byScenario.get(cell.scenario);
    if (!job) throw new Error(`sweep cell for an unknown scenario ${cell.scenario}`);
    return toSweepCell(job.path.name, job.faultName, cell, runs.get(key(cell.scenario, cell.target)), heal);
  });
  return {
    harness: { name: "redis-repro", version: harnessVersion },
    startedAt: matrix.startedAt,
    targets: matrix.targets,
    faults,
    paths: paths.map((p) => p.name),
    concurrency: matrix.concurrency,
    environment: matrix.environment,
    builds: matrix.builds,
    runWallMs: matrix.runWallMs,
    wallMs: Date.now() - started,
    heal,
    clean: cells.every((c) => c.outcome === "no-bug"),
    cells,
    ...(matrix.shard ? { shard: matrix.shard } : {}),
  };
}
