import { RunResult, type TargetResult } from "../../harness/run/result.js";
import { seedRunData } from "./seed-data.js";

export { seedRunData };

/** The recorded seed run (3.2.8 vs 3.2.8+fix-aof-pipe-leak), validated against the RunResult schema. */
export function seedRun(): RunResult {
  return RunResult.parse(seedRunData());
}

export function seedResult(target: string): TargetResult {
  const result = seedRun().results.find((r) => r.target === target);
  if (!result) throw new Error(`the seed fixture has no result for ${target}`);
  return result;
}
