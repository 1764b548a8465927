import { availableParallelism } from "node:os";
import { z } from "zod";
import { expectation } from "./catalogue/catalogue.js";
import { EvidenceSummary, summariseEvidence } from "./checkers/fd-leak.js";
import { describeEnvironment, Environment } from "./environment.js";
import { errorText } from "./errors.js";
import type { FaultName } from "./faults/index.js";
import { progress } from "./progress.js";
import { alignColumns } from "./report/table.js";
import type { RunResult } from "./result.js";
import { type RunOptions, runScenario } from "./run.js";
import { type Scenario, Verdict } from "./scenario/index.js";
import { type Shard, ShardInfo, takeShard } from "./shard.js";
import { ensureImage } from "./targets/build.js";
import { parseTarget } from "./targets/spec.js";
import { harnessVersion } from "./version.js";

/**
 * Scenarios × targets. runScenario runs every target it is given at once, so the matrix calls it
 * with one target per job from a pool of `concurrency` workers: that is the container limit. Images
 * are made first, one at a time (a build already uses both cores here).
 */
export const CellStatus = z.enum(["as-expected", "differs", "unmeasured", "error"]);
export type CellStatus = z.infer<typeof CellStatus>;

export const MatrixCell = z.object({
  scenario: z.string(),
  target: z.string(),
  /** The version the server reported (8.0-m01 says 7.9.224). */
  version: z.string().nullable(),
  verdict: Verdict.nullable(),
  expected: z.union([Verdict, z.literal("unmeasured")]),
  /** Where the expectation comes from: the catalogue for releases, the scenario for patched builds. */
  expectedFrom: z.enum(["catalogue", "scenario"]).nullable(),
  status: CellStatus,
  reason: z.string(),
  evidence: EvidenceSummary.nullable(),
  seconds: z.number(),
  runId: z.string().nullable(),
  /** Reruns this cell alone. */
  command: z.string().nullable(),
  /** Earlier runs of this cell that differed from the expectation (it was run again): flakiness, shown. */
  earlier: z
    .array(
      z.object({
        verdict: Verdict.nullable(),
        reason: z.string(),
        runId: z.string().nullable(),
        evidence: EvidenceSummary.nullable().default(null),
      }),
    )
    .default([]),
});
export type MatrixCell = z.infer<typeof MatrixCell>;

export const MatrixBuild = z.object({
  target: z.string(),
  image: z.string(),
  origin: z.enum(["built", "cached", "brought"]),
  seconds: z.number(),
});

export const MatrixResult = z.object({
  harness: z.object({ name: z.literal("redis-repro"), version: z.string() }),
  startedAt: z.string(),
  concurrency: z.number(),
  scenarios: z.array(z.string()),
  targets: z.array(z.string()),
  environment: Environment,
  builds: z.array(MatrixBuild),
  /** Wall time of the runs alone, and of builds + runs. */
  runWallMs: z.number(),
  wallMs: z.number(),
  counts: z.record(CellStatus, z.number()),
  /** False when any verdict differs from its expectation or a run failed; unmeasured cells pass. */
  ok: z.boolean(),
  cells: z.array(MatrixCell),
  /** Set when this is one part of a plan (`--shard I/N`): `redis-repro merge` joins the parts. */
  shard: ShardInfo.optional(),
});
export type MatrixResult = z.infer<typeof MatrixResult>;

export interface MatrixOptions extends RunOptions {
  concurrency: number;
  /** Times a cell that differs (or fails to run) is run again, after the others, to tell a flake. */
  retries: number;
  /** Which scenario × target cells to run (default: all); a sweep skips paths a release lacks. */
  cells?: (job: ScenarioJob, target: string) => boolean;
  /** Which finished cells are run again (default: those that differ or failed to run). */
  retry?: (cell: MatrixCell) => boolean;
  /** Each finished run, whole (history included), for a caller that needs more than the cell. */
  onRun?: (job: ScenarioJob, target: string, run: RunResult) => void;
  /** Run only this part of the cells (shard.ts says how they are dealt). */
  shard?: Shard;
}

export const MAX_CONCURRENCY = 8;

/** Containers at once: two per core (each mostly waits on serverCron ticks), at most 8. */
export function defaultConcurrency(cores = availableParallelism()): number {
  return Math.min(MAX_CONCURRENCY, Math.max(1, cores * 2));
}

export interface ScenarioJob {
  scenario: Scenario;
  /** How the user named it, for rerun commands. */
  ref?: string;
  /** The fault for this job's runs (default: the options' override, else the scenario's own). */
  fault?: FaultName;
}

/** Catalogue for releases; a patched build has only what its scenario states. */
export function cellExpectation(
  scenario: Scenario,
  target: string,
): { expected: Verdict | "unmeasured"; from: MatrixCell["expectedFrom"] } {
  return expectation(scenario, target);
}

/** Pure: one run's result (or its error) as a cell. */
export function toCell(
  scenario: Scenario,
  target: string,
  outcome: { run: RunResult } | { error: string },
  seconds: number,
): MatrixCell {
  const { expected, from } = cellExpectation(scenario, target);
  const base = { scenario: scenario.name, target, expected, expectedFrom: from, seconds };
  if ("error" in outcome)
    return {
      ...base,
      version: null,
      verdict: null,
      status: "error",
      reason: outcome.error,
      evidence: null,
      runId: null,
      command: null,
      earlier: [],
    };
  const r = outcome.run.results[0];
  if (!r) throw new Error(`run ${outcome.run.runId} has no result for ${target}`);
  const verdict = r.decision.verdict;
  const e = r.decision.evidence;
  return {
    ...base,
    version: r.version,
    verdict,
    status: expected === "unmeasured" ? "unmeasured" : expected === verdict ? "as-expected" : "differs",
    reason: r.decision.reason,
    evidence: summariseEvidence(e),
    runId: outcome.run.runId,
    command: outcome.run.command,
    earlier: [],
  };
}

/** Runs `work` over `items` with at most `limit` at once; results keep the items' order. */
export async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export async function runMatrix(
  scenarios: ScenarioJob[],
  requested: string[],
  options: MatrixOptions,
): Promise<MatrixResult> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  // Once, before any parallel run: it decides about Ryuk for the whole process.
  const environment = await describeEnvironment();

  // The planned cells, scenarios × targets as given; a shard keeps its part and builds only its images.
  const planned = scenarios.flatMap((job) =>
    requested.flatMap((asked) => (options.cells && !options.cells(job, asked) ? [] : [{ job, asked }])),
  );
  const { cells: mine, info: shard } = takeShard(
    planned,
    (p) => `${p.job.scenario.name}\u0000${p.job.fault ?? ""}\u0000${p.asked}`,
    requested,
    options.shard,
  );
  if (shard)
    progress(`[matrix] shard ${shard.index}/${shard.count}: ${mine.length} of ${shard.planned} cell(s)`);
  const wanted = requested.filter((asked) => mine.some((p) => p.asked === asked));

  const builds: z.infer<typeof MatrixBuild>[] = [];
  const canonical = new Map<string, string>();
  for (const [i, asked] of wanted.entries()) {
    const t0 = Date.now();
    progress(`[matrix] image ${i + 1}/${wanted.length} ${asked}`);
    const image = await ensureImage(parseTarget(asked), { bases: options.bases, rebuild: options.rebuild });
    const seconds = (Date.now() - t0) / 1000;
    builds.push({ target: image.target, image: image.image, origin: image.origin, seconds });
    canonical.set(asked, image.target);
    progress(
      `[matrix] image ${i + 1}/${wanted.length} ${image.target}: ${image.origin} ${image.image} (${seconds.toFixed(1)} s)`,
    );
  }
  // Canonical names from here on (a patch prefix such as 3.2.8+fix becomes 3.2.8+fix-aof-pipe-leak).
  const targets = [...new Set(builds.map((b) => b.target))];

  // A fixed run id (tests set one) would let each cell's cleanup remove its neighbours' containers.
  const concurrency = process.env.REDIS_REPRO_RUN_ID ? 1 : options.concurrency;
  const jobs = mine.map(({ job, asked }) => ({ ...job, target: canonical.get(asked) ?? asked }));
  const runsStarted = Date.now();
  let done = 0;
  let total = jobs.length;
  progress(`[matrix] ${jobs.length} run(s), ${concurrency} at once`);
  const runCell = async (job: (typeof jobs)[number]) => {
    const { scenario, ref, target, fault } = job;
    const t0 = Date.now();
    const outcome = await runScenario(scenario, [target], {
      ...options,
      // Images were made above: a rebuild here would build every one again.
      rebuild: false,
      scenarioRef: ref,
      ...(fault ? { faultOverride: fault } : {}),
    }).then(
      (run) => {
        options.onRun?.(job, target, run);
        return { run };
      },
      (error: unknown) => ({ error: errorText(error).split("\n")[0] ?? "error" }),
    );
    const cell = toCell(scenario, target, outcome, (Date.now() - t0) / 1000);
    done++;
    progress(
      `[matrix] ${done}/${total} ${target} × ${scenario.name}: ${cell.verdict ?? "error"} ${statusMark(cell)} (${cell.seconds.toFixed(1)} s)`,
    );
    return cell;
  };
  const cells = await pool(jobs, concurrency, runCell);
  for (let retry = 0; retry < options.retries; retry++) {
    const retry = options.retry ?? ((c: MatrixCell) => c.status === "differs" || c.status === "error");
    const again = jobs.flatMap((job, i) => {
      const cell = cells[i];
      return cell && retry(cell) ? [{ job, i }] : [];
    });
    if (again.length === 0) break;
    total += again.length;
    progress(`[matrix] running again what differed: ${again.map(({ job }) => job.target).join(" ")}`);
    const redone = await pool(again, concurrency, ({ job }) => runCell(job));
    redone.forEach((cell, k) => {
      const i = again[k]?.i ?? -1;
      const before = cells[i];
      if (!before) return;
      const { verdict, reason, runId, evidence } = before;
      const previous = { verdict, reason, runId, evidence };
      cells[i] = { ...cell, earlier: [...before.earlier, previous] };
    });
  }
  const counts = Object.fromEntries(
    CellStatus.options.map((s) => [s, cells.filter((c) => c.status === s).length]),
  ) as Record<CellStatus, number>;
  return {
    harness: { name: "redis-repro", version: harnessVersion },
    startedAt,
    concurrency,
    scenarios: scenarios.map((s) => s.scenario.name),
    targets,
    environment,
    builds,
    runWallMs: Date.now() - runsStarted,
    wallMs: Date.now() - started,
    counts,
    ok: counts.differs === 0 && counts.error === 0,
    cells,
    ...(shard ? { shard } : {}),
  };
}

export function statusMark(cell: MatrixCell): string {
  switch (cell.status) {
    case "as-expected":
      return "✓";
    case "differs":
      return `✗ expected ${cell.expected}`;
    case "unmeasured":
      return "(unmeasured)";
    case "error":
      return "✗ run failed";
  }
}

/** release × scenario → verdict, failed forks, fds baseline → peak; then what differs, with its reason. */
export function renderMatrix(result: MatrixResult): string {
  const cell = (target: string, scenario: string) =>
    result.cells.find((c) => c.target === target && c.scenario === scenario);
  const header = ["release", ...result.scenarios.flatMap((s) => [s, "forks", "fds base → peak", "time"])];
  const rows = result.targets.map((target) => [
    target,
    ...result.scenarios.flatMap((s) => {
      const c = cell(target, s);
      if (!c) return ["—", "", "", ""];
      const flaky = c.earlier.length
        ? ` (run ${c.earlier.length + 1}; before: ${c.earlier.map((e) => e.verdict ?? "error").join(", ")})`
        : "";
      return [
        `${c.verdict ?? "error"} ${statusMark(c)}${flaky}`,
        c.evidence === null ? "—" : String(c.evidence.attempts),
        c.evidence?.peak == null ? "—" : `${c.evidence.baseline ?? "—"} → ${c.evidence.peak}`,
        `${c.seconds.toFixed(1)} s`,
      ];
    }),
  ]);
  const lines = alignColumns([header, ...rows]);
  const { counts } = result;
  const out = [
    `matrix · ${result.targets.length} release(s) × ${result.scenarios.length} scenario(s) · ${result.concurrency} at once · runs ${secs(result.runWallMs)}, total ${secs(result.wallMs)} · redis-repro ${result.harness.version}`,
    "",
    ...lines,
    "",
  ];
  for (const c of result.cells.filter(
    (x) => x.status === "differs" || x.status === "error" || x.earlier.length,
  )) {
    out.push(`${c.target} × ${c.scenario}: ${c.verdict ?? "error"}: ${c.reason}`);
    for (const e of c.earlier)
      out.push(`    earlier run ${e.runId ?? "—"}: ${e.verdict ?? "error"}: ${e.reason}`);
    if (c.command) out.push(`    rerun: ${c.command}`);
  }
  const flaky = result.cells.filter((c) => c.earlier.length && c.status === "as-expected").length;
  out.push(
    `${counts["as-expected"]} as expected${flaky ? ` (${flaky} only when run again)` : ""}, ${counts.differs} differ, ${counts.unmeasured} unmeasured, ${counts.error} failed to run`,
    result.ok
      ? "every measured expectation met"
      : "an expectation was NOT met (catalogue: harness/catalogue/catalogue.json)",
  );
  return `${out.join("\n")}\n`;
}

const xml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** JUnit XML for CI: a suite per scenario, a case per target; unmeasured cases are skipped, not failed. */
export function renderJunit(result: MatrixResult): string {
  const suites = result.scenarios.map((scenario) => {
    const cells = result.cells.filter((c) => c.scenario === scenario);
    const count = (s: CellStatus) => cells.filter((c) => c.status === s).length;
    const time = cells.reduce((sum, c) => sum + c.seconds, 0).toFixed(3);
    const cases = cells.map((c) => {
      const earlier = c.earlier.map(
        (e) => `\nearlier run ${e.runId ?? "—"}: ${e.verdict ?? "error"}: ${e.reason}`,
      );
      const evidence = `verdict ${c.verdict ?? "none"}; expected ${c.expected}${c.expectedFrom ? ` (${c.expectedFrom})` : ""}; attempts ${c.evidence?.attempts ?? "—"}; fds ${c.evidence?.baseline ?? "—"} → ${c.evidence?.peak ?? "—"}; redis ${c.version ?? "?"}; ${c.reason}${earlier.join("")}${c.command ? `\nrerun: ${c.command}` : ""}`;
      const body =
        c.status === "differs"
          ? `<failure type="verdict" message="${xml(`expected ${c.expected}, got ${c.verdict}`)}">${xml(c.reason)}</failure>`
          : c.status === "error"
            ? `<error type="run" message="${xml(c.reason)}"/>`
            : c.status === "unmeasured"
              ? `<skipped message="${xml(`unmeasured: no recorded verdict; this run gave ${c.verdict}`)}"/>`
              : "";
      return `    <testcase classname="redis-repro.${xml(scenario)}" name="${xml(c.target)}" time="${c.seconds.toFixed(3)}">${body}<system-out>${xml(evidence)}</system-out></testcase>`;
    });
    return [
      `  <testsuite name="${xml(scenario)}" tests="${cells.length}" failures="${count("differs")}" errors="${count("error")}" skipped="${count("unmeasured")}" time="${time}" timestamp="${result.startedAt.slice(0, 19)}">`,
      ...cases,
      "  </testsuite>",
    ].join("\n");
  });
  const { counts } = result;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="redis-repro matrix" tests="${result.cells.length}" failures="${counts.differs}" errors="${counts.error}" skipped="${counts.unmeasured}" time="${(result.wallMs / 1000).toFixed(3)}">`,
    ...suites,
    "</testsuites>",
    "",
  ].join("\n");
}
