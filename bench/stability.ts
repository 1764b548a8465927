/**
 * Stability: runs the canonical comparison N times (default 20; issue 14 asks for 50) and counts how
 * many runs gave every target the outcome (or label) the scenario expects, then lists every run and target that
 * did not, with the checker's reason. Exit 1 unless all agreed.
 * Usage: npm run build && node dist/bench/stability.js [N] [target…]
 */
import { repeatRuns } from "./repeat.js";

const [countArg, ...targetArgs] = process.argv.slice(2);
const n = Number(countArg ?? 20);
const { runs } = await repeatRuns(n, targetArgs, undefined, (run, wallMs, i) => {
  const cells = run.results.map((r) => `${r.target}=${r.decision.label}${r.matches === false ? "(✗)" : ""}`);
  console.log(`run ${String(i + 1).padStart(2)}/${n}: ${cells.join("  ")}  ${(wallMs / 1000).toFixed(1)} s`);
});
const agreed = runs.filter(({ run }) => run.ok).length;
const tuples = new Set(runs.map(({ run }) => run.results.map((r) => r.decision.label).join(",")));
console.log(
  `\n${agreed}/${runs.length} runs agreed with every stated expectation; ${tuples.size} distinct label set(s)`,
);
for (const [i, { run }] of runs.entries())
  for (const r of run.results.filter((x) => x.matches === false))
    console.log(
      `  run ${i + 1} (${run.runId}) ${r.target}: ${r.decision.label} (${r.decision.outcome}), expected ${r.expected}: ${r.decision.reason}`,
    );
process.exit(agreed === runs.length ? 0 : 1);
