/**
 * Stability across versions: runs the same matrix twice (no retries, so a flaky cell shows) through
 * the CLI, keeps both JSON results, and prints every cell whose label or status differs between
 * them, with each run's reason. Exit 1 when a cell differs.
 * Usage: npm run build && node dist/bench/matrix-twice.js [matrix arguments…] [--out DIR]
 *        (default arguments: cached releases × every scenario: `--scenario all`)
 *        node dist/bench/matrix-twice.js --from A.json B.json   (compare two saved `matrix --json`)
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { MatrixResult } from "../harness/campaigns/matrix.js";
import { projectRoot } from "../harness/core/paths.js";
import { renderComparison } from "./matrix-compare.js";

const args = process.argv.slice(2);
const read = async (file: string) => MatrixResult.parse(JSON.parse(await readFile(file, "utf8")));

let results: MatrixResult[];
if (args[0] === "--from") {
  const [a, b] = args.slice(1);
  if (!a || !b) throw new Error("--from needs two matrix JSON files");
  results = [await read(a), await read(b)];
} else {
  const outAt = args.indexOf("--out");
  const out = outAt >= 0 ? (args[outAt + 1] ?? "matrix-twice") : `matrix-twice-${Date.now()}`;
  const matrixArgs = args.filter((_, i) => i !== outAt && i !== outAt + 1);
  if (!matrixArgs.some((a) => a === "--scenario")) matrixArgs.push("--scenario", "all");
  await mkdir(out, { recursive: true });
  results = [];
  for (const round of [1, 2]) {
    const started = Date.now();
    const run = await execa(
      "node",
      [join(projectRoot, "dist", "harness", "cli.js"), "matrix", ...matrixArgs, "--retries", "0", "--json"],
      { reject: false, stderr: "inherit" },
    );
    const file = join(out, `matrix-${round}.json`);
    await writeFile(file, String(run.stdout));
    const result = MatrixResult.parse(JSON.parse(String(run.stdout)));
    console.log(
      `matrix ${round}: exit ${run.exitCode}, ${result.cells.length} cells, ${result.counts["as-expected"]} as expected, ${result.counts.differs} differ from the catalogue, ${result.counts.unmeasured} unmeasured, ${result.counts.error} failed, wall ${((Date.now() - started) / 1000).toFixed(1)} s → ${file}`,
    );
    results.push(result);
  }
}
const [first, second] = results as [MatrixResult, MatrixResult];
const text = renderComparison(first, second);
process.stdout.write(text);
process.exit(text.startsWith(`${first.cells.length} cell(s) compared: 0 differ`) ? 0 : 1);
