import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Images are built once, before any test, outside the tests' timeouts.
    globalSetup: ["./global-setup.ts"],
    setupFiles: ["./setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
  },
});
