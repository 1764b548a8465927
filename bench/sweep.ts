/**
 * Benchmark: a warm sweep (images built first, not measured) of one release, every path, both faults;
 * prints the wall time, where it went (per cell: container start, workload, until verdict), the long
 * poles, and the noise the leaks checker's thresholds rest on (the largest |growth per attempt| of
 * each series over the cells that came out clean). With --hz, also checks that serverCron's
 * automatic AOF rewrite makes one attempt per tick at each hz (attempts/s against hz).
 * Usage: npm run build && node dist/bench/sweep.js [TARGET] [--concurrency N] [--hz 10,20,50,100] [--hz-only]
 *   (the hz check wants a target that does not leak fds: 3.2.8's table is full after 31 attempts)
 */
import { parseArgs } from "node:util";
import { defaultConcurrency } from "../harness/campaigns/matrix.js";
import { DEFAULT_FAULTS, runSweep, SWEEP_PATHS, sweepScenario } from "../harness/campaigns/sweep.js";
import type { TargetResult } from "../harness/run/result.js";
import { runScenario } from "../harness/run/scenario.js";
import { ensureImage } from "../harness/targets/build.js";
import { parseTarget } from "../harness/targets/spec.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: "string" }, hz: { type: "string" }, "hz-only": { type: "boolean" } },
});
const target = positionals[0] ?? "3.2.8";
const concurrency = Number(values.concurrency ?? defaultConcurrency());
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
await ensureImage(parseTarget(target), { bases: "auto" }); // warm: not measured

async function sweepFigures(): Promise<void> {
  const phases = new Map<string, TargetResult["phases"]>();
  const started = Date.now();
  const result = await runSweep([target], {
    faults: DEFAULT_FAULTS,
    bases: "auto",
    concurrency,
    retries: 0,
    onRun: (cell, run) => {
      const r = run.results[0];
      if (r) phases.set(`${cell.path} ${cell.fault}`, r.phases);
    },
  });
  const wall = Date.now() - started;
  console.log(
    `sweep ${target}: ${result.cells.length} cells, ${concurrency} at once: wall ${s(wall)} (runs ${s(result.runWallMs)})`,
  );
  let sum = { start: 0, workload: 0, verdict: 0, total: 0 };
  console.log(
    "cell                                      start   workload  verdict  cell total  attempts  verdict",
  );
  for (const c of [...result.cells].sort((a, b) => b.seconds - a.seconds)) {
    const p = phases.get(`${c.path} ${c.fault}`);
    if (p)
      sum = {
        start: sum.start + p.containerStartMs,
        workload: sum.workload + p.workloadMs,
        verdict: sum.verdict + p.decideMs,
        total: sum.total + c.seconds * 1000,
      };
    console.log(
      `${`${c.path} ${c.fault}`.padEnd(42)}${(p ? s(p.containerStartMs) : "—").padStart(6)} ${(p ? s(p.workloadMs) : "—").padStart(9)} ${(p ? s(p.decideMs) : "—").padStart(8)} ${s(c.seconds * 1000).padStart(11)} ${String(c.attempts ?? "—").padStart(9)}  ${c.text}`,
    );
  }
  console.log(
    `sums over cells: start ${s(sum.start)}, workload ${s(sum.workload)}, until verdict ${s(sum.verdict)}, cells ${s(sum.total)} (teardown and image checks make up the rest); cells/wall = ${(sum.total / wall).toFixed(1)} at once on average`,
  );

  // Noise: on cells that came out clean, how far each series moved per attempt.
  const clean = result.cells.filter((c) => c.outcome === "no-bug");
  const noise = new Map<string, number>();
  for (const c of clean)
    for (const g of c.growth)
      noise.set(g.series, Math.max(noise.get(g.series) ?? 0, Math.abs(g.perAttempt ?? 0)));
  console.log(`noise on ${clean.length} clean cells (max |growth per attempt|):`);
  for (const [series, n] of noise) console.log(`  ${series.padEnd(18)} ${n}`);
}
if (!values["hz-only"]) await sweepFigures();

if (values.hz) {
  const path = SWEEP_PATHS.find((p) => p.name === "aof-rewrite-auto");
  if (!path) throw new Error("no aof-rewrite-auto path");
  for (const hz of values.hz.split(",").map(Number)) {
    const base = sweepScenario(path, "seccomp-enomem");
    const scenario = {
      ...base,
      redis: { ...base.redis, hz },
      budgets: { attempts: 60, timeLimitSeconds: 20 },
    };
    const run = await runScenario(scenario, [target], { bases: "auto" });
    const a = run.results[0]?.history.attempts ?? [];
    const span = (a.at(-1)?.t ?? 0) - (a[0]?.t ?? 0);
    const rate = a.length > 1 ? ((a.length - 1) * 1000) / span : 0;
    console.log(
      `hz ${String(hz).padStart(3)}: ${a.length} attempts in ${s(span)} = ${rate.toFixed(1)} attempts/s (${(rate / hz).toFixed(2)} per tick)`,
    );
  }
}
