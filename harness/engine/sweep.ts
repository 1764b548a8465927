import { progress } from "../core/progress.js";
import { removeDeadRuns } from "./cleanup.js";

/**
 * Before a run: removes what killed runs left on the engine (never a live run's containers), with
 * one warning line so the user knows something was there. Best effort: a run does not fail for it.
 */
export async function sweepDeadRuns(): Promise<void> {
  const sweep = await removeDeadRuns().catch(() => undefined);
  if (sweep?.removed) {
    progress(
      `redis-repro: warning: removed ${sweep.removed} container(s) left by dead run(s) ${sweep.runs.join(", ")}`,
    );
  }
}
