import { parseScenario, RedisReproContainer, runScenario, seriesOf } from "redis-repro";
import { describe, expect, inject, it } from "vitest";
import definition from "../scenarios/order-writes.js";

describe("our write pattern under a failing fork", () => {
  it("3.2.8 runs out of fds; the patched build stays flat", async () => {
    const scenario = parseScenario(definition, "scenarios/order-writes.ts");
    const result = await runScenario(scenario, scenario.targets, { bases: "auto" });
    expect(result).toHaveOutcome("bug", "3.2.8");
    expect(result).toHaveOutcome("exhaustion", "3.2.8");
    expect(result).toHaveOutcome("no-bug", "3.2.8+fix-aof-pipe-leak");
    expect(result).toMeetExpectations();
    // The script's own writes are what grew the AOF: the info probe watched it.
    const leaking = result.results.find((r) => r.target === "3.2.8");
    if (!leaking) throw new Error("no result for 3.2.8");
    expect(seriesOf(leaking.history, "info.aof_current_size").at(-1)?.v ?? 0).toBeGreaterThan(64 * 1024);
  });

  it("the container class answers on its own, with the image the global setup built", async () => {
    const image = inject("redisReproImages")["3.2.8"];
    if (!image) throw new Error("the global setup provided no 3.2.8 image");
    const redis = await new RedisReproContainer(image)
      .withRun(`example-${Date.now()}`, "3.2.8")
      .withConfig({ appendonly: false })
      .start();
    try {
      const client = redis.client();
      await client.connect();
      expect(await client.ping()).toBe("PONG");
      // The server's open fds, each with what it points at: the listening socket among them.
      const fds = await redis.fds();
      expect(fds?.length ?? 0).toBeGreaterThan(3);
      expect(fds?.some((fd) => fd.target.startsWith("socket:"))).toBe(true);
      client.disconnect();
    } finally {
      await redis.discard();
    }
  });
});
