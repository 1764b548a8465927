import type { Clock } from "../../harness/core/clock.js";

/**
 * A run clock that moves only when told: when the code under test sleeps, or when a test says time
 * passed (`advance`, e.g. a slow probe). `during` runs what "happens" while a sleep lasts.
 */
export function fakeClock(during: (from: number, to: number) => void = () => undefined) {
  let now = 0;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      if (signal?.aborted) return;
      during(now, now + ms);
      now += ms;
    },
  };
  return {
    clock,
    sleeps,
    advance(ms: number) {
      now += ms;
    },
  };
}
