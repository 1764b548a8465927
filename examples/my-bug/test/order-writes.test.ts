import { parseScenario, RedisReproContainer, redisArgs, runScenario } from "redis-repro";
import { describe, expect, inject, it } from "vitest";
import definition from "../scenarios/order-writes.js";

describe("our write pattern under a failing fork", () => {
  it("3.2.8 runs out of fds; the patched build stays flat", async () => {
    const scenario = parseScenario(definition, "scenarios/order-writes.ts");
    const result = await runScenario(scenario, scenario.targets, { bases: "auto" });
    expect(result).toHaveVerdict("exhaustion", "3.2.8");
    expect(result).toHaveVerdict("stable", "3.2.8+fix-aof-pipe-leak");
    expect(result).toMeetExpectations();
    // The script's own writes are what grew the AOF: the info probe watched it.
    const leaking = result.results.find((r) => r.target === "3.2.8");
    expect(leaking?.series["info.aof_current_size"]?.at(-1)?.v ?? 0).toBeGreaterThan(64 * 1024);
  });

  it("the container class answers on its own, with the image the global setup built", async () => {
    const image = inject("redisReproImages")["3.2.8"];
    if (!image) throw new Error("the global setup provided no 3.2.8 image");
    const redis = await new RedisReproContainer(image.image)
      .withRun(`example-${Date.now()}`, "3.2.8")
      .withServerArgs(redisArgs(image.version, { appendonly: false }))
      .start();
    try {
      const client = redis.client();
      await client.connect();
      expect(await client.ping()).toBe("PONG");
      const fds = await redis.fds(0);
      expect(fds?.total).toBeGreaterThan(3);
      client.disconnect();
    } finally {
      await redis.discard();
    }
  });
});
