import { UserError } from "../core/errors.js";
import { CellStatus, type MatrixResult } from "./matrix.js";
import type { ShardInfo } from "./shard.js";
import type { SweepResult } from "./sweep.js";

/**
 * Joins the results of the parts of one matrix or sweep (`--shard I/N` on several runners) into one
 * result, as if one machine had run every cell: the table, JSON and JUnit are then made from it as
 * for any run. Pure: files are read by the command (cli/merge.ts).
 *
 * Refused (usage error, one line naming the files): parts of different plans (another command
 * line, another catalogue), the same part twice, a cell in two parts, sharded and unsharded results
 * mixed. Reported, not refused: parts that are missing (their cells are not in the table, and the
 * merged result is not ok), so a CI summary still shows what did run.
 */
export interface Part<R> {
  file: string;
  result: R;
}

export interface Merged<R> {
  result: R;
  /** Lines for what the merged result lacks (missing shards); empty when whole. */
  problems: string[];
}

interface Common {
  harness: MatrixResult["harness"];
  concurrency: number;
  environment: MatrixResult["environment"];
  startedAt: string;
  runWallMs: number;
  wallMs: number;
  targets: string[];
  builds: MatrixResult["builds"];
  shard?: ShardInfo | undefined;
}

/** Checks the parts belong together; returns the missing shards' lines and the plan's target order. */
function checkParts<R extends Common>(parts: Part<R>[]): { problems: string[]; order: string[] } {
  if (parts.length === 0)
    throw new UserError("merge needs at least one result (a --json file of matrix or sweep)");
  const sharded = parts.filter((p) => p.result.shard);
  if (sharded.length && sharded.length < parts.length) {
    const plain = parts.find((p) => !p.result.shard);
    throw new UserError(
      `${plain?.file} is a whole result and ${sharded[0]?.file} one shard of a plan: merge the shards of one plan (results of --shard I/N), or whole results of different runs`,
    );
  }
  if (!sharded.length) return { problems: [], order: [] };
  const first = sharded[0] as Part<R>;
  const plan = first.result.shard as ShardInfo;
  const seen = new Map<number, string>();
  for (const part of sharded) {
    const s = part.result.shard as ShardInfo;
    if (s.plan !== plan.plan || s.count !== plan.count)
      throw new UserError(
        `${part.file} (shard ${s.index}/${s.count} of plan ${s.plan}) and ${first.file} (shard ${plan.index}/${plan.count} of plan ${plan.plan}) are parts of different plans: every shard must run the same command line (and catalogue) with its own --shard I/N`,
      );
    const twice = seen.get(s.index);
    if (twice)
      throw new UserError(
        `${twice} and ${part.file} are both shard ${s.index}/${s.count}: give each shard once`,
      );
    seen.set(s.index, part.file);
  }
  const missing = Array.from({ length: plan.count }, (_, i) => i + 1).filter((i) => !seen.has(i));
  const problems = missing.length
    ? [
        `missing shard(s) ${missing.map((i) => `${i}/${plan.count}`).join(", ")}: their cells are not in this table (${seen.size} of ${plan.count} shard(s) given)`,
      ]
    : [];
  return { problems, order: plan.targets };
}

/** Targets in the plan's order where known (a target named another way goes after, as met). */
function orderTargets(all: string[], order: string[]): string[] {
  const unique = [...new Set(all)];
  const rank = (t: string) => {
    const i = order.indexOf(t);
    return i < 0 ? order.length + unique.indexOf(t) : i;
  };
  return unique.sort((a, b) => rank(a) - rank(b));
}

function union(lists: string[][]): string[] {
  return [...new Set(lists.flat())];
}

/**
 * Fields every merged result shares: the first part's harness and environment, the highest
 * concurrency, the earliest start, the longest part's wall time, all builds.
 */
function mergedCommon<R extends Common>(parts: Part<R>[], order: string[]) {
  const results = parts.map((p) => p.result);
  const first = results[0] as R;
  return {
    harness: first.harness,
    concurrency: Math.max(...results.map((r) => r.concurrency)),
    environment: first.environment,
    startedAt: results.map((r) => r.startedAt).sort()[0] ?? "",
    runWallMs: Math.max(...results.map((r) => r.runWallMs)),
    wallMs: Math.max(...results.map((r) => r.wallMs)),
    targets: orderTargets(
      results.flatMap((r) => r.targets),
      order,
    ),
    builds: results.flatMap((r) => r.builds),
  };
}

function noDuplicates<C>(parts: Part<{ cells: C[] }>[], key: (c: C) => string, name: (c: C) => string): void {
  const where = new Map<string, string>();
  for (const part of parts)
    for (const cell of part.result.cells) {
      const k = key(cell);
      const other = where.get(k);
      if (other)
        throw new UserError(
          `${name(cell)} is in both ${other} and ${part.file}: merge parts that split one plan, not runs that overlap`,
        );
      where.set(k, part.file);
    }
}

/** Parts sorted by shard index (whole results keep their order). */
function byIndex<R extends Common>(parts: Part<R>[]): Part<R>[] {
  return [...parts].sort((a, b) => (a.result.shard?.index ?? 0) - (b.result.shard?.index ?? 0));
}

export function mergeMatrix(input: Part<MatrixResult>[]): Merged<MatrixResult> {
  const { problems, order } = checkParts(input);
  const parts = byIndex(input);
  noDuplicates(
    parts,
    (c) => `${c.scenario}\u0000${c.target}`,
    (c) => `cell ${c.target} × ${c.scenario}`,
  );
  const common = mergedCommon(parts, order);
  const scenarios = union(parts.map((p) => p.result.scenarios));
  const cells = parts
    .flatMap((p) => p.result.cells)
    .sort(
      (a, b) =>
        scenarios.indexOf(a.scenario) - scenarios.indexOf(b.scenario) ||
        common.targets.indexOf(a.target) - common.targets.indexOf(b.target),
    );
  const counts = Object.fromEntries(
    CellStatus.options.map((s) => [s, cells.filter((c) => c.status === s).length]),
  ) as MatrixResult["counts"];
  return {
    result: {
      ...common,
      scenarios,
      counts,
      ok: counts.differs === 0 && counts.error === 0 && problems.length === 0,
      cells,
    },
    problems,
  };
}

export function mergeSweep(input: Part<SweepResult>[]): Merged<SweepResult> {
  const { problems, order } = checkParts(input);
  const parts = byIndex(input);
  noDuplicates(
    parts,
    (c) => `${c.path}\u0000${c.fault}\u0000${c.target}`,
    (c) => `cell ${c.target} × ${c.path} × ${c.fault}`,
  );
  const common = mergedCommon(parts, order);
  // A healed sweep's cells judge recovery too: one table cannot hold both kinds.
  const heals = new Set(parts.map((p) => JSON.stringify(p.result.heal)));
  if (heals.size > 1)
    throw new UserError(
      `${parts.map((p) => `${p.file} ${p.result.heal ? "healed its faults (--heal)" : "kept its faults on"}`).join(", ")}: merge sweeps run the same way`,
    );
  const paths = union(parts.map((p) => p.result.paths));
  const faults = union(parts.map((p) => p.result.faults));
  const cells = parts
    .flatMap((p) => p.result.cells)
    .sort(
      (a, b) =>
        faults.indexOf(a.fault) - faults.indexOf(b.fault) ||
        paths.indexOf(a.path) - paths.indexOf(b.path) ||
        common.targets.indexOf(a.target) - common.targets.indexOf(b.target),
    );
  return {
    result: {
      ...common,
      faults,
      paths,
      heal: parts[0]?.result.heal ?? null,
      clean: cells.every((c) => c.outcome === "no-bug") && problems.length === 0,
      cells,
    },
    problems,
  };
}
