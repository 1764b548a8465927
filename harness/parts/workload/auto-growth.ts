import type { Redis } from "ioredis";
import { infoSection } from "../probes/info.js";

/** Redis's own units for sizes in config: kb/mb/gb are powers of 1024. */
export function redisBytes(size: string): number {
  const match = /^(\d+)(kb|mb|gb)?$/i.exec(size);
  if (!match) throw new Error(`not a Redis size: ${size}`);
  const unit = (match[2] ?? "").toLowerCase();
  return (
    Number(match[1]) * (unit === "kb" ? 1024 : unit === "mb" ? 1024 ** 2 : unit === "gb" ? 1024 ** 3 : 1)
  );
}

export interface Grown {
  writes: number;
  aofBytes: number;
}

/**
 * Writes until the AOF is past auto-aof-rewrite-min-size (and so past the growth percentage over an
 * empty base), then stops: from there serverCron starts a rewrite on every tick by itself.
 */
export async function growAofPastRewriteThreshold(
  client: Redis,
  minSize: string,
  valueBytes: number,
  signal: AbortSignal,
): Promise<Grown> {
  const target = redisBytes(minSize) * 1.25;
  const value = "x".repeat(valueBytes);
  let writes = 0;
  let aofBytes = 0;
  // Bounded: a server whose AOF does not grow must not keep us writing forever (4× what should do).
  const maxRounds = Math.ceil((target * 4) / (valueBytes * 200)) + 10;
  for (let round = 0; round < maxRounds; round++) {
    // Stopped by the run: what was written so far, not a complaint about the server.
    if (signal.aborted) return { writes, aofBytes };
    const info = await infoSection(client, "persistence");
    aofBytes = Number(info.aof_current_size ?? 0);
    if (aofBytes > target) return { writes, aofBytes };
    const batch = client.pipeline();
    for (let i = 0; i < 200; i++) batch.set(`repro:${writes + i}`, value);
    await batch.exec();
    writes += 200;
  }
  throw new Error(`the AOF did not grow past ${target} bytes after ${writes} writes (is appendonly on?)`);
}
