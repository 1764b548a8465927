import type { Redis, RedisOptions } from "ioredis";

/** Why a node's container stopped answering: out of memory, exited, crashed (a crash report in its log), stopped or removed from outside, engine gone. */
export type EndCause = "oom" | "exited" | "crashed" | "stopped-outside" | "removed" | "engine-gone";

/** An open fd of the server: its number and what /proc/PID/fd/N points at ("pipe:[123]", "/data/x"). */
export interface FdEntry {
  fd: number;
  target: string;
}

/** A regular file in a directory of the server's container. */
export interface DirEntry {
  name: string;
  size: number;
}

export interface ExecResult {
  exitCode: number;
  output: string;
  stdout: string;
  stderr: string;
}

/** The limits a node's container runs under. */
export interface NodeLimits {
  memory: number;
  pids: number;
  nofile: number;
}

/**
 * A running Redis node, as probes, steps and faults see it. The container class implements it; a
 * test may implement it with anything that answers the same way. How to look inside the node (an
 * exec, the engine host's /proc, a sidecar) is the node's business, whatever fault it runs under.
 */
export interface Node {
  readonly name: string;
  /** Where clients reach it (the engine's host and the published port). */
  readonly host: string;
  readonly port: number;
  readonly limits: NodeLimits;
  /** The connection that stays open for the whole run (the workload's and INFO's). */
  connection(): Promise<Redis>;
  /** A fresh client that reports failure at once instead of retrying; the caller disconnects it. */
  client(options?: RedisOptions): Redis;
  /** One program in the node's container, no shell (where fork fails, none can start). */
  exec(command: string[], options?: { user?: string }): Promise<ExecResult>;
  /** The server's open fds (undefined: could not be read now). */
  fds(): Promise<FdEntry[] | undefined>;
  /** The regular files of a directory (undefined: it does not exist, or could not be read). */
  listDir(path: string): Promise<DirEntry[] | undefined>;
  /** INFO (one section, or all) as a flat map, through the kept connection. */
  info(section?: string): Promise<Record<string, string>>;
  /** Why the node stopped answering (an OOM kill, removed from outside…), or undefined while it runs. */
  endState(): Promise<{ cause: EndCause; detail: string } | undefined>;
}

/** What a fault may do to a running node, beyond what any part may (the engine's handles). */
export interface FaultNode extends Node {
  /** Tasks (processes and threads) in the node's pids cgroup now. */
  taskCount(): Promise<number>;
  setPidsLimit(limit: number): Promise<void>;
  /**
   * Told by a fault that no process can start in the node's container now (a pids limit at its task
   * count), or again: the node then reads fds and directories another way. Blocked, it says how it
   * reads now (for the fault's words in the report).
   */
  execBlocked(blocked: boolean): Promise<string | undefined>;
  /** Leaves or rejoins the run's network (a link cut between nodes). */
  disconnect(): Promise<void>;
  reconnect(): Promise<void>;
}
