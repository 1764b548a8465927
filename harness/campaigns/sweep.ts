import { z } from "zod";
import { UserError } from "../core/errors.js";
import { eventsOf } from "../core/history.js";
import { Outcome } from "../core/outcome.js";
import { progress } from "../core/progress.js";
import { harnessVersion } from "../core/version.js";
import { Environment } from "../engine/environment.js";
import type { SeriesGrowth } from "../parts/checkers/growth.js";
import { SeriesGrowth as SeriesGrowthSchema } from "../parts/checkers/growth.js";
import { DEFAULT_LEAK_SERIES, LeaksEvidence, leakText } from "../parts/checkers/leaks.js";
import { FAULT_NAME_HELP, faultFrom, faultSpecFromName } from "../parts/faults/index.js";
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
  scenario: Omit<ScenarioDataInput, "name" | "fault" | "targets" | "limits" | "checker" | "budgets"> &
    Partial<Pick<ScenarioDataInput, "checker" | "limits" | "budgets">>;
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
 */
export function sweepScenario(path: SweepPath, faultName: string): Scenario {
  const spec = faultSpecFromName(faultName);
  const fault = faultFrom(spec);
  const errno = fault.expectedErrno;
  const attempt =
    failsFork(fault.name) || errno === undefined ? {} : { attempt: { pattern: literally(errno) } };
  return parseScenario(
    {
      limits: LIMITS,
      probes: PROBES,
      checker: { checker: "leaks" },
      budgets: { attempts: 30, timeLimitSeconds: 20 },
      ...path.scenario,
      ...attempt,
      name: `sweep-${path.name}-${fault.name.toLowerCase().replace(/[^a-z0-9-]+/g, "-")}`,
      fault: spec,
      targets: ["3.2.8"],
    },
    { kind: "object", ref: `sweep path ${path.name}` },
  );
}

export function pathApplies(path: SweepPath, target: string): boolean {
  const spec = parseTarget(target);
  if (!path.since || spec.kind !== "release") return true;
  return compareVersions(spec.version, path.since) >= 0;
}

export function sweepCommand(path: string, target: string, fault: string): string {
  return `npx redis-repro sweep ${target} --path ${path} --fault ${fault}`;
}

/**
 * The leaks checker's evidence, read with the checker's own schema: the series it judged and the
 * attempts it decided on. Undefined for a run that failed or a decision of another checker.
 */
export function leaksEvidence(result: TargetResult | undefined): LeaksEvidence | undefined {
  if (result?.decision.checker !== "leaks") return undefined;
  const parsed = LeaksEvidence.safeParse(result.decision.evidence);
  return parsed.success ? parsed.data : undefined;
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
): SweepCell {
  const evidence = leaksEvidence(result);
  const growth = evidence?.growth ?? [];
  const history = result?.history;
  const first = history?.attempts[0];
  const probes = history && first ? connectResults(history).filter((p) => p.t >= first.t) : undefined;
  // The attempts the decision rests on; the log goes on while the container is torn down.
  const attempts = evidence?.attempts ?? history?.attempts.length ?? null;
  const decision =
    cell.outcome === null || cell.label === null
      ? null
      : { outcome: cell.outcome, label: cell.label, summary: cell.summary };
  return {
    path,
    target: cell.target,
    fault,
    version: cell.version,
    outcome: cell.outcome,
    label: cell.label,
    text: sweepText(decision, growth, attempts, result?.ended?.cause === "crashed"),
    summary: cell.summary,
    reason: cell.reason,
    attempts,
    probes: probes ? { total: probes.length, refused: probes.filter((p) => !p.ok).length } : null,
    growth,
    logLines: history ? history.attempts.slice(0, 3).flatMap((a) => (a.line ? [a.line] : [])) : [],
    errno: history ? (eventsOf(history, "fork-failed").find((e) => e.errno)?.errno ?? null) : null,
    seconds: cell.seconds,
    runId: cell.runId,
    command: sweepCommand(path, cell.target, fault),
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
  const faults = options.faults.length ? options.faults : DEFAULT_FAULTS;
  for (const f of faults) {
    const fault = faultFrom(faultSpecFromName(f));
    if (fault.expectedErrno === undefined)
      throw new UserError(
        `no fault "${f}" to sweep under: a sweep needs one that makes a call fail: ${FAULT_NAME_HELP}`,
      );
  }
  const jobs: (ScenarioJob & { path: SweepPath; faultName: string })[] = paths.flatMap((path) =>
    faults.map((faultName) => ({ scenario: sweepScenario(path, faultName), path, faultName })),
  );
  const byScenario = new Map(jobs.map((j) => [j.scenario.name, j]));
  const runs = new Map<string, TargetResult>();
  const key = (scenario: string, target: string) => `${scenario}\u0000${target}`;
  progress(`[sweep] ${paths.length} path(s) × ${faults.length} fault(s) × ${targets.length} target(s)`);
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
    return toSweepCell(job.path.name, job.faultName, cell, runs.get(key(cell.scenario, cell.target)));
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
    clean: cells.every((c) => c.outcome === "no-bug"),
    cells,
    ...(matrix.shard ? { shard: matrix.shard } : {}),
  };
}
