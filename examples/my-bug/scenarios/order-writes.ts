import { defineScenario } from "redis-repro";

/**
 * "Our Redis stopped taking connections after a while": our own write pattern (orders written in
 * pipelines) grows the AOF past its rewrite size, and fork() fails in the container.
 */
export default defineScenario({
  name: "order-writes-enomem",
  description: "Orders written in pipelines until serverCron rewrites the AOF, with fork() failing.",
  redis: {
    appendonly: true,
    "auto-aof-rewrite-percentage": 100,
    "auto-aof-rewrite-min-size": "64kb",
    maxclients: 64,
    hz: 10,
  },
  limits: { memory: "64m", pids: 64, nofile: 1024 },
  fault: "seccomp-enomem",
  workload: [
    async function writeOrders(client) {
      for (let batch = 0; batch < 8; batch++) {
        const pipeline = client.pipeline();
        // HMSET: HSET takes one field before Redis 4.
        for (let i = 0; i < 200; i++) pipeline.hmset(`order:${batch}:${i}`, { sku: "x".repeat(100), qty: i });
        await pipeline.exec();
      }
    },
  ],
  probes: [{ probe: "info", fields: ["aof_current_size", "used_memory"] }],
  checker: { checker: "fd-leak" },
  budgets: { attempts: 30, timeLimitSeconds: 60 },
  targets: ["3.2.8", "3.2.8+fix-aof-pipe-leak"],
  expect: { "3.2.8": "exhaustion", "3.2.8+fix-aof-pipe-leak": "stable" },
});
