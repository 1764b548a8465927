import { createHash } from "node:crypto";
import { z } from "zod";
import { UserError } from "../core/errors.js";

/**
 * Splitting a matrix (or sweep) over several machines, for any CI: each runner is given the same
 * command line plus `--shard I/N` and runs only its part of the cells.
 *
 * The split: the planned cells are listed in a fixed order (scenarios in the order given, then
 * targets in the order given: for `matrix`, scenario × release; for `sweep`, path × fault × target,
 * leaving out the paths a release lacks), and cell k (from 0) goes to shard (k mod N) + 1. Dealt
 * round-robin, neighbours (a release's scenarios, a range's releases) land on different runners,
 * and shard sizes differ by one at most. The same command line gives the same list on every runner,
 * so the parts never overlap and together cover every cell; each part's result carries a digest of
 * the whole list, so `redis-repro merge` can tell shards of one plan from shards of different ones,
 * and name a shard that is missing.
 */
export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export const ShardInfo = z.object({
  index: z.number().int().positive(),
  count: z.number().int().positive(),
  /** sha256 (first 16 hex digits) over the planned cells' keys, in order. */
  plan: z.string(),
  /** Cells in the whole plan, every shard's. */
  planned: z.number().int().nonnegative(),
  /** Targets as given, in the plan's order (a merged table's rows). */
  targets: z.array(z.string()),
});
export type ShardInfo = z.infer<typeof ShardInfo>;

export const MAX_SHARDS = 1000;

/** `I/N` with 1 ≤ I ≤ N: the one-line error names what is wrong and what is accepted. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || count > MAX_SHARDS || index < 1 || index > count)
    throw new UserError(
      `--shard must be I/N with 1 ≤ I ≤ N ≤ ${MAX_SHARDS} (this runner's part and the number of parts, e.g. 2/4), not "${text}"`,
    );
  return { index, count };
}

/** Whether the k-th planned cell (from 0) is this shard's. */
export function inShard(k: number, shard: Shard): boolean {
  return k % shard.count === shard.index - 1;
}

export function planDigest(keys: string[]): string {
  return createHash("sha256").update(keys.join("\n")).digest("hex").slice(0, 16);
}

/** The cells of one shard of a plan (in plan order), and what its result records about the plan. */
export function takeShard<T>(
  planned: T[],
  key: (cell: T) => string,
  targets: string[],
  shard: Shard | undefined,
): { cells: T[]; info: ShardInfo | undefined } {
  if (!shard) return { cells: planned, info: undefined };
  return {
    cells: planned.filter((_, k) => inShard(k, shard)),
    info: { ...shard, plan: planDigest(planned.map(key)), planned: planned.length, targets },
  };
}
