import { describe, expect, it } from "vitest";
import { redisBytes } from "../../harness/parts/workload/auto-growth.js";
import { seedSeries } from "../helpers/seed-data.js";

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

  it("the recorded workload stopped just past 1.25 × auto-aof-rewrite-min-size (64kb)", () => {
    const target = redisBytes("64kb") * 1.25;
    for (const result of seedSeries()) {
      const aofBytes = result.workload?.aofBytes ?? 0;
      expect(aofBytes).toBeGreaterThan(target);
      // Writes go in batches of 200, and each wrote at least its value bytes to the AOF.
      expect((result.workload?.writes ?? 0) % 200).toBe(0);
      expect(aofBytes).toBeGreaterThanOrEqual((result.workload?.writes ?? 0) * 128);
    }
  });
});
