import type { CheckContext, Checker, Ended } from "../core/checker.js";
import type { Clock } from "../core/clock.js";
import type { History } from "../core/history.js";
import type { Decision } from "../core/outcome.js";

export interface WatchParts {
  clock: Clock;
  history: History;
  checker: Checker;
  attemptsNeeded: number;
  /** Reads the probes that are due into the history; says why the run is over if the server is gone. */
  sample(): Promise<Ended | undefined>;
}

export interface WatchOptions {
  /** Run clock time at which an undecided run ends. */
  deadlineMs: number;
  timeLimitText: string;
  sampleIntervalMs?: number;
}

/**
 * Samples and asks the checker after every tick until it decides, the server is gone or the deadline
 * passes; then it must decide. It knows no resource: what to read is in `sample`, what it means in
 * the checker.
 */
export async function watch(
  parts: WatchParts,
  options: WatchOptions,
): Promise<{ decision: Decision; ended?: Ended }> {
  const { clock, history, checker } = parts;
  const interval = options.sampleIntervalMs ?? 200;
  const context = (ended?: Ended): CheckContext => ({
    now: clock.now(),
    attemptsNeeded: parts.attemptsNeeded,
    ...(ended ? { ended } : {}),
  });
  const last = (ended: Ended) => {
    const decision = checker.decide(history, context(ended));
    if (!decision)
      throw new Error(`checker ${checker.name} gave no decision for an ended run (${ended.detail})`);
    return { decision, ended };
  };
  for (;;) {
    const tick = clock.now();
    const ended = await parts.sample();
    if (ended) return last(ended);
    const decision = checker.decide(history, context());
    if (decision) return { decision };
    if (clock.now() >= options.deadlineMs)
      return last({ reason: "time-limit", detail: options.timeLimitText });
    await clock.sleep(Math.max(0, interval - (clock.now() - tick)));
  }
}
