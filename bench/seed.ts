/**
 * Benchmark: `redis-repro run` (the seed: 3.2.8 vs 3.2.8+fix-aof-pipe-leak, warm images) against the
 * hand-written docker script doing the same (bench/docker-baseline.sh, or --baseline FILE), run side by
 * side in one session, alternating which goes first. Prints both medians, their ratio, and a phase table.
 * Usage: npm run bench -- [N] [--baseline FILE]   (default 5 rounds, after one unmeasured warm-up each)
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { execa } from "execa";
import { cliBin, projectRoot } from "../harness/core/paths.js";
import { alignColumns } from "../harness/report/table.js";
import type { RunResult } from "../harness/run/result.js";
import { ensureImage } from "../harness/targets/build.js";
import { parseTarget } from "../harness/targets/spec.js";

const TARGETS = ["3.2.8", "3.2.8+fix-aof-pipe-leak"];

const { values, positionals } = parseArgs({
  options: { baseline: { type: "string" } },
  allowPositionals: true,
});
const rounds = Number(positionals[0] ?? 5);
const baselineScript = values.baseline ?? join(projectRoot, "bench", "docker-baseline.sh");
const cli = cliBin;

const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "—");

interface Phases {
  wallMs: number;
  ok: boolean;
  /** Run-level phases (ms). */
  run: Record<string, number>;
  /** Per-target phases (ms), in TARGETS order. */
  targets: Record<string, number>[];
}

async function harnessRound(dir: string, i: number): Promise<Phases> {
  const trace = join(dir, `trace-${i}.json`);
  const started = Date.now();
  const child = await execa("node", [cli, "run", ...TARGETS, "--json"], {
    env: { REDIS_REPRO_TRACE: trace },
    reject: false,
  });
  const wallMs = Date.now() - started;
  const marks = JSON.parse(await readFile(trace, "utf8")) as Record<string, number>;
  const m = (name: string) => marks[name] ?? Number.NaN;
  let result: RunResult | undefined;
  try {
    result = JSON.parse(child.stdout) as RunResult;
  } catch {
    console.error(`redis-repro run printed no JSON (exit ${child.exitCode}): ${child.stderr.slice(-300)}`);
  }
  const results = result?.results ?? [];
  // A round that did not meet the expectations says why, so a flake can be told from a slow machine.
  for (const r of results)
    if (r.matches === false)
      console.log(`  ${r.target}: ${r.decision.label} (${r.decision.outcome}): ${r.decision.reason}`);
  if (child.exitCode !== 0 && result) console.log(`  redis-repro run exited ${child.exitCode}`);
  return {
    wallMs,
    ok: child.exitCode === 0 && result?.ok === true,
    run: {
      "process start": m("main") - started,
      "load command": m("start") - m("main"),
      "image check": m("images") - m("start"),
      engine: m("engine") - m("start"),
      "cleanup and exit": m("exit") - m("targets"),
    },
    targets: TARGETS.map((_, k): Record<string, number> => {
      const p = results[k]?.phases;
      if (!p) return {};
      return {
        "container start": p.containerStartMs,
        workload: p.workloadMs,
        "until verdict": p.decideMs,
        teardown: p.totalMs - p.containerStartMs - p.workloadMs - p.decideMs,
      };
    }),
  };
}

async function baselineRound(images: string[]): Promise<Phases> {
  const started = Date.now();
  const child = await execa("bash", [baselineScript, ...images], { reject: false });
  const wallMs = Date.now() - started;
  const lines = child.stdout.split("\n");
  const expected = ["exhaustion", "stable"];
  const targets = images.map((image) => {
    const line = lines.find((l) => l.startsWith(`${image} `)) ?? "";
    const field = (name: string) =>
      Number(new RegExp(`${name}=([\\d.]+)`).exec(line)?.[1] ?? Number.NaN) * 1000;
    return {
      verdict: line.split(" ")[1] ?? "",
      "container start": field("start"),
      workload: field("workload"),
      "until verdict": field("verdict"),
      teardown: field("teardown"),
    };
  });
  return {
    wallMs,
    ok: targets.every((t, k) => t.verdict === expected[k]),
    run: {},
    targets: targets.map(({ verdict: _, ...phases }) => phases),
  };
}

const images: string[] = [];
for (const t of TARGETS) images.push((await ensureImage(parseTarget(t), { bases: "auto" })).image);
const dir = await mkdtemp(join(tmpdir(), "redis-repro-bench-"));
console.log(`warm-up (unmeasured): one round of each`);
await harnessRound(dir, -1);
await baselineRound(images);

const ours: Phases[] = [];
const theirs: Phases[] = [];
for (let i = 0; i < rounds; i++) {
  // Alternate who goes first, so a slow moment of the shared machine hits both alike.
  const order = i % 2 === 0 ? ["ours", "theirs"] : ["theirs", "ours"];
  for (const who of order) {
    if (who === "ours") ours.push(await harnessRound(dir, i));
    else theirs.push(await baselineRound(images));
  }
  const a = ours.at(-1);
  const b = theirs.at(-1);
  console.log(
    `round ${i + 1}/${rounds}: redis-repro run ${sec(a?.wallMs ?? Number.NaN)}${a?.ok ? "" : " (NOT as expected)"}, docker script ${sec(b?.wallMs ?? Number.NaN)}${b?.ok ? "" : " (NOT as expected)"}`,
  );
}
await rm(dir, { recursive: true, force: true });

const ourWall = median(ours.map((r) => r.wallMs));
const theirWall = median(theirs.map((r) => r.wallMs));
console.log(
  `\n${rounds} rounds, warm images, ${TARGETS.join(" vs ")} in parallel; baseline: ${baselineScript.replace(projectRoot, ".")}`,
);
console.log(`redis-repro run  median ${sec(ourWall)} (min ${sec(Math.min(...ours.map((r) => r.wallMs)))})`);
console.log(
  `docker script    median ${sec(theirWall)} (min ${sec(Math.min(...theirs.map((r) => r.wallMs)))})`,
);
console.log(`ratio of medians ${(ourWall / theirWall).toFixed(2)}×`);
console.log(
  `as expected: redis-repro ${ours.filter((r) => r.ok).length}/${ours.length}, docker script ${theirs.filter((r) => r.ok).length}/${theirs.length}`,
);

const rows: [string, string, string][] = [["phase (median)", "redis-repro run", "docker script"]];
const runPhase = (name: string) => sec(median(ours.map((r) => r.run[name] ?? Number.NaN)));
const perTarget = (runs: Phases[], name: string) =>
  TARGETS.map((_, k) => sec(median(runs.map((r) => r.targets[k]?.[name] ?? Number.NaN)))).join(" / ");
rows.push(["process start (node, CLI parse)", runPhase("process start"), "—"]);
rows.push(["load command (imports, scenario)", runPhase("load command"), "—"]);
rows.push(["image check (both targets)", runPhase("image check"), "—"]);
rows.push(["engine (beside image check)", runPhase("engine"), "—"]);
for (const name of ["container start", "workload", "until verdict", "teardown"])
  rows.push([`${name} (3.2.8 / fix)`, perTarget(ours, name), perTarget(theirs, name)]);
rows.push(["cleanup and exit (after both)", runPhase("cleanup and exit"), "—"]);
rows.push(["wall", sec(ourWall), sec(theirWall)]);
console.log(alignColumns(rows).join("\n"));
process.exit(0);
