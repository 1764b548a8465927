import type { History } from "./history.js";
import type { EndCause } from "./node.js";
import type { Decision } from "./outcome.js";
import type { Probe } from "./probe.js";

/** Why a run ended before the checker decided; the checker then answers `unknown` (or what it can). */
export interface Ended {
  reason: "time-limit" | "container-exited" | "error";
  detail: string;
  /** For container-exited: why it stopped. */
  cause?: EndCause;
}

/** What a checker knows besides the history: the time, the scenario's budget, and how the run ended. */
export interface CheckContext {
  /** ms on the run's clock when asked. */
  now: number;
  /** Attempts a no-bug answer must have seen (the scenario's budgets.attempts). */
  attemptsNeeded: number;
  /** Set once the run is over: the last chance to decide. */
  ended?: Ended;
}

/**
 * A checker is pure: the history (and context) in, a decision out, or undefined while it cannot
 * decide yet. The watch loop asks it after every tick; once the run has ended it must decide.
 * What it needs the run to record beyond the scenario's own probes, it lists in `probes` (the fd
 * checkers' fd sampler, fresh-client probe and maxclients). Built-ins are in parts/checkers; a
 * script may pass its own object.
 */
export interface Checker<E = unknown> {
  readonly name: string;
  readonly probes?: readonly Probe[];
  /** Series it reads (PROBE.FIELD) that its own probes do not make: checked against the scenario's before a run. */
  readonly reads?: readonly string[];
  decide(history: History, context: CheckContext): Decision<E> | undefined;
}
