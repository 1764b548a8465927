import type { History } from "./history.js";
import type { Node } from "./node.js";

/** One reading: FIELD → value (series PROBE.FIELD), a value with a text where words matter (an error). */
export type Reading = Record<string, number | { v: number; text?: string }>;

/**
 * A probe reads one node into named series of the history. Built-ins are in parts/probes; a script
 * may pass its own object wherever the data form names a probe. A probe keeps no state of its own:
 * one scenario's parts serve all its targets at once, so what a probe must remember (when it last
 * read, how many lines matched) it finds in the history.
 */
export interface Probe {
  /** The series' prefix: NAME.FIELD. */
  readonly name: string;
  /** The node it reads ("main" unless said otherwise). */
  readonly node: string;
  /** Read once before the workload (a config value), not every tick. */
  readonly once?: boolean;
  /** Whether to read on this tick (default: every tick), judged on the history so far. */
  due?(history: History, context: { now: number; attemptsNeeded: number }): boolean;
  /** A reading of the node now (undefined: nothing to read now). */
  read?(node: Node, now: () => number): Promise<Reading | undefined>;
  /** Each log line of its node as it arrives (a log probe counts matching lines). */
  onLog?(line: string, history: History): Reading | undefined;
}
