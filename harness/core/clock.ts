import { setTimeout as sleep } from "node:timers/promises";

/** The run's clock, injectable so the loop can be tested on a fake one. */
export interface Clock {
  /** ms since the run started. */
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Wall time from now on; sleeps end early (without error) when their signal aborts. */
export function runClock(): Clock {
  const started = Date.now();
  return {
    now: () => Date.now() - started,
    sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
  };
}
