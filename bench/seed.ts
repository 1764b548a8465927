/**
 * Benchmark: the canonical comparison (seed scenario, 3.2.8 vs 3.2.8+fix-aof-pipe-leak) with warm
 * images, N times; prints the median wall time per phase and the memory peak per target.
 * Usage: npm run bench -- [N] [target…]   (default 5 runs of the seed's targets)
 */
import { runScenario } from "../harness/run.js";
import { loadScenario } from "../harness/scenario.js";
import { ensureImage } from "../harness/targets/build.js";
import { parseTarget } from "../harness/targets/spec.js";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const [countArg, ...targetArgs] = process.argv.slice(2);
const runs = Number(countArg ?? 5);
const scenario = await loadScenario();
const targets = targetArgs.length ? targetArgs : scenario.targets;
for (const t of targets) await ensureImage(parseTarget(t), { bases: "auto" }); // warm: builds are not measured

const walls: number[] = [];
const perTarget = new Map<
  string,
  { start: number[]; workload: number[]; verdict: number[]; memory: number[]; verdicts: string[] }
>();
for (let i = 0; i < runs; i++) {
  const started = Date.now();
  const run = await runScenario(scenario, targets, { bases: "auto" });
  walls.push(Date.now() - started);
  for (const r of run.results) {
    const row = perTarget.get(r.target) ?? { start: [], workload: [], verdict: [], memory: [], verdicts: [] };
    row.start.push(r.phases.containerStartMs);
    row.workload.push(r.phases.workloadMs);
    row.verdict.push(r.phases.verdictMs);
    row.memory.push(r.memory.peakBytes ?? Number.NaN);
    row.verdicts.push(r.decision.verdict);
    perTarget.set(r.target, row);
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`\nseed scenario, ${runs} runs, warm images, ${targets.join(" vs ")} in parallel`);
console.log(
  `wall per run (both verdicts): median ${s(median(walls))}, min ${s(Math.min(...walls))}, max ${s(Math.max(...walls))}`,
);
for (const [target, row] of perTarget) {
  const verdicts = [...new Set(row.verdicts)].map(
    (v) => `${v}×${row.verdicts.filter((x) => x === v).length}`,
  );
  console.log(
    `${target.padEnd(26)} start ${s(median(row.start))}  workload ${s(median(row.workload))}  until verdict ${s(median(row.verdict))}  memory peak ${(Math.max(...row.memory) / 1024 ** 2).toFixed(1)} MiB of ${(scenario.limits.memory / 1024 ** 2).toFixed(0)} MiB  verdicts ${verdicts.join(", ")}`,
  );
}
process.exit(0);
