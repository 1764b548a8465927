/**
 * Benchmark: the canonical comparison (seed scenario, 3.2.8 vs 3.2.8+fix-aof-pipe-leak) with warm
 * images, N times; prints the median wall time per phase and the memory peak per target.
 * Usage: npm run bench -- [N] [target…]   (default 5 runs of the seed's targets)
 */
import type { TargetResult } from "../harness/result.js";
import { repeatRuns } from "./repeat.js";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const [countArg, ...targetArgs] = process.argv.slice(2);
const { scenario, targets, runs } = await repeatRuns(Number(countArg ?? 5), targetArgs);
const walls = runs.map((r) => r.wallMs);
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`\nseed scenario, ${runs.length} runs, warm images, ${targets.join(" vs ")} in parallel`);
console.log(
  `wall per run (all verdicts): median ${s(median(walls))}, min ${s(Math.min(...walls))}, max ${s(Math.max(...walls))}`,
);
// Results carry canonical target names (3.2.8+fix → 3.2.8+fix-aof-pipe-leak): group by those.
const byTarget = new Map<string, TargetResult[]>();
for (const r of runs.flatMap(({ run }) => run.results))
  byTarget.set(r.target, [...(byTarget.get(r.target) ?? []), r]);
for (const [target, results] of byTarget) {
  const verdicts = results.map((r) => r.decision.verdict);
  const counted = [...new Set(verdicts)].map((v) => `${v}×${verdicts.filter((x) => x === v).length}`);
  const peak = Math.max(...results.map((r) => r.memory.peakBytes ?? Number.NaN));
  console.log(
    `${target.padEnd(26)} start ${s(median(results.map((r) => r.phases.containerStartMs)))}  workload ${s(median(results.map((r) => r.phases.workloadMs)))}  until verdict ${s(median(results.map((r) => r.phases.verdictMs)))}  memory peak ${(peak / 1024 ** 2).toFixed(1)} MiB of ${(scenario.limits.memory / 1024 ** 2).toFixed(0)} MiB  verdicts ${counted.join(", ")}`,
  );
}
process.exit(0);
