import { availableParallelism } from "node:os";
import { z } from "zod";
import { expectation } from "../catalogue/catalogue.js";
import { errorText } from "../core/errors.js";
import { type Decision, Expected, meets, Outcome } from "../core/outcome.js";
import { progress } from "../core/progress.js";
import { harnessVersion } from "../core/version.js";
import { describeEnvironment, Environment } from "../engine/environment.js";
import type { FaultName } from "../parts/faults/index.js";
import type { RunResult } from "../run/result.js";
import { type RunOptions, runScenario } from "../run/scenario.js";
import type { Scenario } from "../scenario/index.js";
import { ensureImage } from "../targets/build.js";
import { parseTarget } from "../targets/spec.js";
import { type Shard, ShardInfo, takeShard } from "./shard.js";

/**
 * Scenarios × targets. runScenario runs every target it is given at once, so the matrix calls it
 * with one target per job from a pool of `concurrency` workers: that is the container limit. Images
 * are made first, one at a time (a build already uses both cores here).
 */
export const CellStatus = z.enum(["as-expected", "differs", "unmeasured", "error"]);
export type CellStatus = z.infer<typeof CellStatus>;

/** What one run of a cell gave: the decision's outcome, label and summary line, or nothing (it failed). */
export const CellRun = z.object({
  outcome: Outcome.nullable(),
  label: z.string().nullable(),
  /** The decision's line of figures ("31 failed forks, 6 fd/attempt, fds 8 → 194"); "" for a run that failed. */
  summary: z.string(),
  reason: z.string(),
  runId: z.string().nullable(),
});
export type CellRun = z.infer<typeof CellRun>;

export const MatrixCell = CellRun.extend({
  scenario: z.string(),
  target: z.string(),
  /** The version the server reported (8.0-m01 says 7.9.224). */
  version: z.string().nullable(),
  /** The checker that decided (null: the run failed). */
  checker: z.string().nullable().default(null),
  /** An outcome or a label (the catalogue states labels), or unmeasured. */
  expected: z.union([Expected, z.literal("unmeasured")]),
  /** Where the expectation comes from: the catalogue for releases, the scenario for what it does not hold. */
  expectedFrom: z.enum(["catalogue", "scenario"]).nullable(),
  status: CellStatus,
  seconds: z.number(),
  /** Reruns this cell alone. */
  command: z.string().nullable(),
  /** Earlier runs of this cell that differed from the expectation (it was run again): flakiness, shown. */
  earlier: z.array(CellRun).default([]),
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
  /** False when any cell differs from its expectation or a run failed; unmeasured cells pass. */
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
  /** The fault for this job's runs (default: the options' override, else the scenario's own). */
  fault?: FaultName;
}

/** Catalogue for releases; a patched build has only what its scenario states. */
export function cellExpectation(
  scenario: Scenario,
  target: string,
): { expected: Expected | "unmeasured"; from: MatrixCell["expectedFrom"] } {
  return expectation(scenario, target);
}

/** Whether a decision meets the cell's expectation; unmeasured when there is none. */
export function cellStatus(
  decision: Pick<Decision, "outcome" | "label">,
  expected: Expected | "unmeasured",
): CellStatus {
  if (expected === "unmeasured") return "unmeasured";
  return meets(decision, expected) ? "as-expected" : "differs";
}

/** Pure: one run's result (or its error) as a cell. */
export function toCell(
  scenario: Scenario,
  target: string,
  ran: { run: RunResult } | { error: string },
  seconds: number,
): MatrixCell {
  const { expected, from } = cellExpectation(scenario, target);
  const base = { scenario: scenario.name, target, expected, expectedFrom: from, seconds, earlier: [] };
  if ("error" in ran)
    return {
      ...base,
      version: null,
      checker: null,
      outcome: null,
      label: null,
      summary: "",
      status: "error",
      reason: ran.error,
      runId: null,
      command: null,
    };
  const r = ran.run.results[0];
  if (!r) throw new Error(`run ${ran.run.runId} has no result for ${target}`);
  const { decision } = r;
  return {
    ...base,
    version: r.version,
    checker: decision.checker,
    outcome: decision.outcome,
    label: decision.label,
    summary: decision.summary,
    status: cellStatus(decision, expected),
    reason: decision.reason,
    runId: ran.run.runId,
    command: ran.run.command,
  };
}

/** The runs of a cell, earliest first, each as --record counts it. */
export function cellRuns(cell: MatrixCell): CellRun[] {
  const { outcome, label, summary, reason, runId } = cell;
  return [...cell.earlier, { outcome, label, summary, reason, runId }];
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
    const { scenario, target, fault } = job;
    const t0 = Date.now();
    const ran = await runScenario(scenario, [target], {
      ...options,
      // Images were made above: a rebuild here would build every one again.
      rebuild: false,
      ...(fault ? { faultOverride: fault } : {}),
    }).then(
      (run) => {
        options.onRun?.(job, target, run);
        return { run };
      },
      (error: unknown) => ({ error: errorText(error).split("\n")[0] ?? "error" }),
    );
    const cell = toCell(scenario, target, ran, (Date.now() - t0) / 1000);
    done++;
    progress(
      `[matrix] ${done}/${total} ${target} × ${scenario.name}: ${cell.label ?? "error"} ${statusMark(cell)} (${cell.seconds.toFixed(1)} s)`,
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
      cells[i] = { ...cell, earlier: cellRuns(before) };
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

/** ✓, ✗ and what was expected, or why there is no mark: the words after a cell's label. */
export function statusMark(cell: Pick<MatrixCell, "status" | "expected">): string {
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
