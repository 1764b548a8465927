/**
 * Benchmark: a warm matrix (images already built; builds are not measured) of the seed scenario over
 * 16 releases, and optionally the cold build time per release.
 * Usage: npm run bench:matrix -- [RELEASES] [--concurrency 2,4] [--runs N] [--cold]
 *   RELEASES       as `redis-repro matrix` takes them (default 2.8.24..3.2.13: 16 releases)
 *   --concurrency  one or more limits to compare (default: the matrix's default)
 *   --runs N       warm matrices per limit (default 1)
 *   --cold         first rebuild every image without the layer cache, one at a time, and print each
 *                  build's seconds (a plain rebuild would reuse the engine's cached layers)
 */
import { parseArgs } from "node:util";
import { defaultConcurrency, runMatrix } from "../harness/campaigns/matrix.js";
import { catalogueVersions, selectReleases } from "../harness/catalogue/catalogue.js";
import { loadScenario } from "../harness/scenario/index.js";
import { ensureImage } from "../harness/targets/build.js";
import { parseTarget } from "../harness/targets/spec.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: "string" }, runs: { type: "string" }, cold: { type: "boolean" } },
});
const targets = selectReleases(positionals.join(",") || "2.8.24..3.2.13", catalogueVersions());
const limits = (values.concurrency ?? String(defaultConcurrency())).split(",").map(Number);
const runs = Number(values.runs ?? 1);
const scenario = await loadScenario();
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;

if (values.cold) {
  console.log(`cold builds, one at a time (${targets.length} releases):`);
  for (const target of targets) {
    const started = Date.now();
    const image = await ensureImage(parseTarget(target), { bases: "auto", rebuild: true, noCache: true });
    console.log(`  ${target.padEnd(10)} ${s(Date.now() - started)}  ${image.image}`);
  }
}
for (const t of targets) await ensureImage(parseTarget(t), { bases: "auto" }); // warm: not measured

for (const concurrency of limits) {
  for (let i = 0; i < runs; i++) {
    const result = await runMatrix([{ scenario }], targets, { bases: "auto", concurrency, retries: 0 });
    const seconds = result.cells.map((c) => c.seconds * 1000);
    const labels = result.cells.map((c) => `${c.target}:${c.label ?? "error"}`);
    console.log(
      `\nwarm matrix, ${targets.length} releases × ${scenario.name}, ${concurrency} at once (run ${i + 1}/${runs}): wall ${s(result.runWallMs)} (with image checks ${s(result.wallMs)}; target ≤ 180 s)`,
    );
    console.log(
      `  per cell: min ${s(Math.min(...seconds))}, median ${s(median(seconds))}, max ${s(Math.max(...seconds))}; ${result.counts["as-expected"]} as expected, ${result.counts.differs} differ, ${result.counts.unmeasured} unmeasured, ${result.counts.error} failed`,
    );
    const odd = result.cells.filter((c) => c.status === "differs" || c.status === "error");
    if (odd.length)
      console.log(
        `  differ: ${odd.map((c) => `${c.target} ${c.label ?? "error"} (${c.reason})`).join("; ")}`,
      );
    else console.log(`  ${labels.join(" ")}`);
  }
}
process.exit(0);
