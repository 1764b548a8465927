import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Slow tests (the production-settings fidelity run) are opted into with npm run test:slow.
    exclude: process.env.REDIS_REPRO_SLOW ? [] : ["test/**/*.slow.test.ts"],
    // Integration tests build images and run containers on a 2-core machine: one file at a time.
    fileParallelism: false,
    // Shared images are built once, first (bases and Redis take minutes on a fresh machine).
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 600_000,
    reporters: ["default"],
  },
});
