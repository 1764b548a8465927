import type { FaultNode } from "./node.js";

/** Container options a fault needs from the node's creation. */
export interface FaultContainerOptions {
  /** Engine security options, e.g. `seccomp=<profile JSON>`. */
  securityOpt?: string[];
  env?: Record<string, string>;
  /** A program put before redis-server and its arguments (a preload wrapper such as `fiu-run -x`). */
  wrap?: string[];
}

/**
 * A fault injector (Jepsen's nemesis): what makes a call of the server fail, and, where it can, how
 * to stop. `start` and `heal` are recorded in the history as events, so a checker can ask what
 * happened during a fault and after it. A fault knows nothing of Redis versions or of what the
 * failure should do to a server: the scenario says that.
 */
export interface Fault {
  readonly name: string;
  readonly description: string;
  /** The errno text a failing call logs under it ("Cannot allocate memory"); absent: nothing fails. */
  readonly expectedErrno?: string;
  /** Options from the node's creation (a seccomp profile, a preload); such a fault is on from the start. */
  readonly container?: FaultContainerOptions;
  /** Starts failing on a running node; says what it did. Absent: on from creation, it cannot start later. */
  start?(node: FaultNode): Promise<string>;
  /** Stops failing; says what it did. Absent: it cannot heal while the server runs. */
  heal?(node: FaultNode): Promise<string>;
  /** It acts on the node's links to the other nodes (a network cut): a scenario of one node cannot use it. */
  readonly needsPeers?: boolean;
}

/**
 * When an episode starts: "start" (as soon as the nodes run, before the workload), a time after the
 * workload loaded, the Nth attempt, a mark, or another fault's start or heal; each may add `afterMs`.
 */
export type EpisodeStart =
  | "start"
  | { afterMs: number }
  | { attempts: number; afterMs?: number }
  | { mark: string; afterMs?: number }
  | { fault: "start" | "heal"; name?: string; node?: string; afterMs?: number };

/** When it heals: never, a time after its own start, or a moment of the history (a mark, the Nth attempt). */
export type EpisodeHeal =
  | "never"
  | { afterMs: number }
  | { mark: string; afterMs?: number }
  | { attempts: number; afterMs?: number };

/** A fault on a node for a window of the run, optionally repeated (Jepsen's nemesis, as a schedule). */
export interface Episode {
  fault: Fault;
  node: string;
  start: EpisodeStart;
  heal: EpisodeHeal;
  /** More windows like the first, each `everyMs` after the one before. */
  repeat?: { times: number; everyMs: number } | undefined;
}
