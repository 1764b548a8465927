import type { Step, StepContext, Tally } from "../core/step.js";

export interface RunningWorkload {
  /** Resolves once every step has run (those that go on, started). */
  loaded: Promise<void>;
  /** What the workload has done so far (updated as it goes). */
  readonly tally: Tally;
  /** Resolves when the steps that go on have stopped (after the signal), with what the workload did. */
  finish(): Promise<Tally>;
}

/**
 * Runs the steps in order. A step that goes on (a command every N ms) hands its work to
 * `context.background` and returns, and the next step starts at once; it stops when the signal aborts.
 */
export function startWorkload(
  steps: readonly Step[],
  context: Omit<StepContext, "background" | "tally">,
): RunningWorkload {
  const tally: Tally = { writes: 0, aofBytes: 0, commands: 0, replies: {} };
  const background: Promise<unknown>[] = [];
  const full: StepContext = {
    ...context,
    tally,
    background: (work) => {
      background.push(work.catch(() => undefined));
    },
  };
  const loaded = (async () => {
    for (const step of steps) {
      if (context.signal.aborted) return;
      await step.run(full);
    }
  })();
  return {
    loaded,
    tally,
    finish: async () => {
      await loaded.catch(() => undefined);
      await Promise.all(background);
      return tally;
    },
  };
}
