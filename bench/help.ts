/**
 * Benchmark: wall time of `redis-repro --help` and `redis-repro run --help` (what a user waits for
 * before anything runs), beside a bare `node -e 0` on the same machine at the same moment.
 * Usage: npm run bench:help -- [N]   (default 20 of each, interleaved)
 */
import { execa } from "execa";
import { cliBin } from "../harness/core/paths.js";

const n = Number(process.argv[2] ?? 20);
const cli = cliBin;
const cases: [string, string[]][] = [
  ["node -e 0 (reference)", ["-e", "0"]],
  ["redis-repro --help", [cli, "--help"]],
  ["redis-repro run --help", [cli, "run", "--help"]],
];
const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let i = 0; i < n; i++) {
  for (const [name, args] of cases) {
    const started = process.hrtime.bigint();
    await execa("node", args);
    times.get(name)?.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
console.log(`${n} runs each, interleaved; wall time per process (ms)`);
for (const [name, xs] of times)
  console.log(
    `${name.padEnd(24)} median ${median(xs).toFixed(0)}  min ${Math.min(...xs).toFixed(0)}  max ${Math.max(...xs).toFixed(0)}`,
  );
