/**
 * The CI matrix, made from the release catalogue at run time (no hand copy in the workflow): the
 * catalogue's releases dealt round-robin into a few shards, so slow builds (7.2 and later) spread out.
 * Usage: node dist/scripts/ci/matrix.js [--shards N]   prints {"include":[{"shard":"1","releases":"…"}]}
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { catalogueVersions } from "../../harness/catalogue/catalogue.js";

export const DEFAULT_SHARDS = 4;

export interface Shard {
  shard: string;
  /** Space-separated, as `redis-repro matrix` takes them. */
  releases: string;
}

export function shardReleases(versions: string[], count: number): Shard[] {
  const n = Math.max(1, Math.min(count, versions.length));
  return Array.from({ length: n }, (_, i) => ({
    shard: String(i + 1),
    releases: versions.filter((_, k) => k % n === i).join(" "),
  }));
}

function main(): void {
  const { values } = parseArgs({ options: { shards: { type: "string" } } });
  const count = Number(values.shards ?? DEFAULT_SHARDS);
  if (!Number.isInteger(count) || count < 1) {
    process.stderr.write(`ci/matrix: --shards must be a whole number ≥ 1, not "${values.shards}"\n`);
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify({ include: shardReleases(catalogueVersions(), count) })}\n`);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main();
