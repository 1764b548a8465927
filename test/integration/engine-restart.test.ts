import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerode } from "../../harness/engine/client.js";
import { LABEL_RUN } from "../../harness/engine/labels.js";
import { ensureImage } from "../../harness/targets/build.js";
import { parseTarget } from "../../harness/targets/spec.js";
import {
  copyImage,
  type PrivateEngine,
  privateEngineMissing,
  startPrivateEngine,
} from "../helpers/private-engine.js";
import { cli, missingSource, scenarioFile, skipTitle, spawnCli, stderrLine } from "./support.js";

/**
 * The engine restarted mid-run: the run ends with one clear line and the environment's exit code,
 * and what it left is removed by the next cleanup. The shared engine is never restarted: the test
 * starts a private dockerd of its own (test/helpers/private-engine.ts) and points DOCKER_HOST at it.
 */
const missing = (await missingSource("3.2.8")) ?? privateEngineMissing();
if (privateEngineMissing()) console.warn(`[skip] ${privateEngineMissing()}`);
let engine: PrivateEngine | undefined;
let image = "";

beforeAll(async () => {
  if (missing) return;
  image = (await ensureImage(parseTarget("3.2.8"), { bases: "auto" })).image;
  engine = await startPrivateEngine();
  await copyImage(await dockerode(), engine.docker, image);
}, 300_000);

afterAll(async () => {
  await engine?.stop();
}, 120_000);

describe.skipIf(missing)(skipTitle("the engine restarted mid-run", missing), () => {
  it("one clear line, exit 2; the next cleanup removes what the run left", async () => {
    if (!engine) throw new Error("no private engine");
    const env = {
      DOCKER_HOST: engine.host,
      TESTCONTAINERS_RYUK_DISABLED: "true",
      REDIS_REPRO_RUN_ID: `restart-${process.pid}`,
    };
    // No fault: the run would go on to its time limit, so only the restart can end it early.
    const file = await scenarioFile((s) => {
      s.name = "long";
      s.fault = "none";
      s.budgets.timeLimitSeconds = 60;
    });
    const child = spawnCli(["run", "--scenario", file, "--target", `image:${image}`], env);
    await stderrLine(child, /workload loaded; watching/);
    const { downMs } = await engine.restart();
    const result = await child;
    const lines = String(result.stderr)
      .split("\n")
      .filter((l) => l.startsWith("redis-repro:"));
    expect(lines, String(result.stderr).slice(-800)).toHaveLength(1);
    expect(lines[0]).toMatch(/container engine stopped answering|engine shutting down or restarting/);
    expect(result.exitCode).toBe(3); // environment
    console.log(`[engine-restart] engine down for ${downMs} ms; the run ended with: ${lines[0]}`);

    const cleanup = await cli(["cleanup"], {
      DOCKER_HOST: engine.host,
      TESTCONTAINERS_RYUK_DISABLED: "true",
    });
    expect(cleanup.exitCode).toBe(0);
    const left = await engine.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_RUN}=${env.REDIS_REPRO_RUN_ID}`] },
    });
    expect(left).toEqual([]);
  }, 180_000);
});
