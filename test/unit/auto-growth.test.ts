import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { growAofPastRewriteThreshold, redisBytes } from "../../harness/parts/workload/auto-growth.js";
import { recordedResult } from "../helpers/runs.js";

describe("redisBytes", () => {
  it.each<[string, number]>([
    ["64kb", 65536],
    ["64KB", 65536],
    ["1mb", 1048576],
    ["2gb", 2147483648],
    ["100", 100],
    ["0", 0],
  ])("%s is %d bytes", (size, bytes) => {
    expect(redisBytes(size)).toBe(bytes);
  });

  it.each(["64k", "64m", "1.5mb", "-1", "", "kb", "64 kb"])("refuses %j", (size) => {
    expect(() => redisBytes(size)).toThrow(`not a Redis size: ${size}`);
  });
});

/**
 * A client whose AOF grows by what each SET appends (a RESP command of `overhead` bytes plus the
 * value); `grows: false` is a server with appendonly off, whose AOF stays empty.
 */
function aofClient(options: { overhead?: number; grows?: boolean } = {}) {
  let size = 0;
  const batches: number[] = [];
  const client = {
    info: async (section: string) => `# ${section}\r\naof_current_size:${size}\r\n`,
    pipeline: () => {
      let bytes = 0;
      let sets = 0;
      const batch = {
        set: (_key: string, value: string) => {
          bytes += (options.overhead ?? 40) + value.length;
          sets++;
          return batch;
        },
        exec: async () => {
          if (options.grows !== false) size += bytes;
          batches.push(sets);
          return [];
        },
      };
      return batch;
    },
  };
  return { client: client as unknown as Redis, batches, size: () => size };
}

describe("growAofPastRewriteThreshold", () => {
  it("writes in batches of 200 until the AOF is past 1.25 × auto-aof-rewrite-min-size, then stops", async () => {
    const aof = aofClient();
    const grown = await growAofPastRewriteThreshold(aof.client, "64kb", 128, new AbortController().signal);
    const target = 65536 * 1.25;
    // 168 bytes a write: 81920 / 168 = 487.6, so the third batch of 200 (600 writes) gets past.
    expect(grown).toEqual({ writes: 600, aofBytes: 600 * 168 });
    expect(aof.batches).toEqual([200, 200, 200]);
    expect(grown.aofBytes).toBeGreaterThan(target);
    expect(grown.aofBytes - 200 * 168).toBeLessThanOrEqual(target);
  });

  it("gives up with the reason when the AOF does not grow (appendonly off), after a bounded number of writes", async () => {
    const aof = aofClient({ grows: false });
    await expect(
      growAofPastRewriteThreshold(aof.client, "64kb", 128, new AbortController().signal),
    ).rejects.toThrow(/^the AOF did not grow past 81920 bytes after \d+ writes \(is appendonly on\?\)$/);
    // Four times what should have done, in batches of 200, and a few more.
    expect(aof.batches.length).toBe(Math.ceil((81920 * 4) / (128 * 200)) + 10);
  });

  it("stops writing once the run's signal aborts, with what it wrote (no complaint about the server)", async () => {
    const aof = aofClient();
    const stop = new AbortController();
    const client = {
      info: (section: string) => aof.client.info(section),
      pipeline: () => {
        const batch = aof.client.pipeline();
        const exec = batch.exec.bind(batch);
        // The run decides while the second batch is being written.
        batch.exec = async () => {
          const replies = await exec();
          if (aof.batches.length === 2) stop.abort();
          return replies;
        };
        return batch;
      },
    } as unknown as Redis;
    const grown = await growAofPastRewriteThreshold(client, "64kb", 128, stop.signal);
    // The size is the last one read (before the second batch).
    expect(grown).toEqual({ writes: 400, aofBytes: 200 * 168 });
    expect(aof.batches).toEqual([200, 200]);
  });

  it("the recorded seed workload stopped just past 1.25 × 64kb, in batches of 200", () => {
    for (const target of ["3.2.8", "3.2.8+fix-aof-pipe-leak"]) {
      const { workload } = recordedResult("seed-3.2.8-vs-fix.json", target);
      expect(workload?.aofBytes ?? 0).toBeGreaterThan(redisBytes("64kb") * 1.25);
      expect((workload?.writes ?? 0) % 200).toBe(0);
      // Each write put at least its 128-byte value into the AOF.
      expect(workload?.aofBytes ?? 0).toBeGreaterThanOrEqual((workload?.writes ?? 0) * 128);
    }
  });
});
