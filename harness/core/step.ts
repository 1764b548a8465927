import type { Redis } from "ioredis";
import type { EventValue } from "./history.js";
import type { Node } from "./node.js";

/** What the workload did, for the result: writes, commands sent by repeating steps and their replies. */
export interface Tally {
  writes: number;
  aofBytes: number;
  commands: number;
  replies: Record<string, number>;
}

/** What a step is given: the run's nodes, clock, stop signal, and ways to write into the history. */
export interface StepContext {
  /** A node of the run by name ("main" is the scenario's own). */
  node(name?: string): Node;
  /** ms on the run's clock. */
  t(): number;
  /** Aborts when the run has decided (or hit its time limit): steps that go on stop then. */
  signal: AbortSignal;
  /** Waits on the run's clock; ends early (without error) when the signal aborts. */
  sleep(ms: number): Promise<void>;
  /** A progress line, shown where the caller gave a logger. */
  log(message: string): void;
  /** Writes a mark into the history (`phase: disk full`): checkers, the chart and the report see it. */
  mark(name: string, value?: EventValue): void;
  /** Work that goes on after the step returns (a command every N ms) until the signal aborts. */
  background(work: Promise<unknown>): void;
  /**
   * A reply a command got, text of an error reply included (attempts may be counted by reply). With a
   * `series` name, the reply is also a point of the series NAME.ok: 1, or 0 for an error, the text kept.
   */
  reply(node: string, text: string, reply?: { ok: boolean; series?: string | undefined }): void;
  tally: Tally;
}

/** A workload step: steps run in order, one after the other. */
export interface Step {
  readonly name: string;
  run(context: StepContext): Promise<void>;
}

/** A step written as a function in a scenario script: the main node's kept connection, and the context. */
export type ScriptStep = (client: Redis, context: StepContext) => Promise<unknown>;
