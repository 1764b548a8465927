import type { History } from "../core/history.js";
import type { CheckContext, Checker, Decision, Ended } from "../parts/checkers/index.js";

/** The run's clock, injectable so the loop can be tested on a fake one. */
export interface Clock {
  /** ms since the run started. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export interface WatchParts {
  clock: Clock;
  history: History;
  checker: Checker;
  /** The checker's context as it stands (baseline and ceiling are known once the server answers). */
  context(): CheckContext;
  /** Reads every probe once into the history; says why the run is over if the server is gone. */
  sample(): Promise<Ended | undefined>;
  /** One fresh-client probe into the history. */
  connect(): Promise<void>;
}

export interface WatchOptions {
  /** Run clock time at which an undecided run ends as inconclusive. */
  deadlineMs: number;
  timeLimitText: string;
  sampleIntervalMs?: number;
  probeIntervalMs?: number;
  /** Wait this long for evidence still on its way (a refused probe's log line) before a verdict stands. */
  settleMs?: (decision: Decision, history: History) => number;
}

/**
 * Samples, probes and asks the checker after every tick until it decides, the server is gone or
 * the deadline passes. It knows no resource: what to read is in `sample`, what it means in the checker.
 */
export async function watch(parts: WatchParts, options: WatchOptions): Promise<Decision> {
  const { clock, history, checker } = parts;
  const sampleInterval = options.sampleIntervalMs ?? 200;
  const probeInterval = options.probeIntervalMs ?? 1_000;
  let lastProbe = Number.NEGATIVE_INFINITY;
  for (;;) {
    const tick = clock.now();
    const ended = await parts.sample();
    if (ended) {
      const decision = checker.decide(history, { ...parts.context(), ended });
      if (decision) return decision;
      throw new Error(`checker ${checker.name} gave no decision for an ended run`);
    }
    const context = parts.context();
    const budgetReached = history.attempts.length >= context.attemptsNeeded;
    const due = tick - lastProbe >= probeInterval || budgetReached;
    if (checker.probeNow ? checker.probeNow(history, context, due) : due) {
      await parts.connect();
      lastProbe = clock.now();
    }
    let decision = checker.decide(history, parts.context());
    const settle = decision && options.settleMs ? options.settleMs(decision, history) : 0;
    if (decision && settle > 0) {
      await clock.sleep(settle);
      decision = checker.decide(history, parts.context());
    }
    if (decision) return decision;
    if (clock.now() >= options.deadlineMs) {
      const final = checker.decide(history, {
        ...parts.context(),
        ended: { reason: "time-limit", detail: options.timeLimitText },
      });
      if (final) return final;
      throw new Error(`checker ${checker.name} gave no decision for an ended run`);
    }
    await clock.sleep(Math.max(0, sampleInterval - (clock.now() - tick)));
  }
}
