import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeContainers } from "../../harness/engine/cleanup.js";
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
import {
  cli,
  countContainers,
  missingSource,
  scenarioFile,
  skipTitle,
  spawnCli,
  stderrLine,
} from "./support.js";

/**
 * The engine's side of a run going wrong: a CLI killed with SIGKILL (its containers stay until a
 * cleanup or the next run, which must not touch a live run's), and a container removed from outside.
 * The engine restarting mid-run is in engine-restart.test.ts (it needs a private engine).
 *
 * The SIGKILL cases run on a private engine: on the shared one any other process's run sweeps a dead
 * run's containers at its start, and may do so between the kill and this file's cleanup or next run.
 */
const missing = await missingSource("3.2.8");
const missingEngine = missing ?? privateEngineMissing();
if (!missing && privateEngineMissing()) console.warn(`[skip] ${privateEngineMissing()}`);
let engine: PrivateEngine | undefined;
/** The 3.2.8 image, copied into the private engine and run there as a brought image. */
let target = "";

beforeAll(async () => {
  if (missingEngine) return;
  const image = (await ensureImage(parseTarget("3.2.8"), { bases: "auto" })).image;
  engine = await startPrivateEngine();
  await copyImage(await dockerode(), engine.docker, image);
  target = `image:${image}`;
}, 300_000);

/** The private engine's address for the CLI, and for this process's own look at it. */
function onPrivate(env: Record<string, string>): Record<string, string> {
  if (!engine) throw new Error("no private engine");
  return { ...env, DOCKER_HOST: engine.host, TESTCONTAINERS_RYUK_DISABLED: "true" };
}

async function privateCount(runId: string): Promise<number> {
  if (!engine) throw new Error("no private engine");
  const filters = { label: [`${LABEL_RUN}=${runId}`] };
  return (await engine.docker.listContainers({ all: true, filters })).length;
}
const ids: string[] = [];
function runId(name: string): string {
  const id = `faults-${process.pid}-${name}`;
  ids.push(id);
  return id;
}

afterAll(async () => {
  for (const id of ids) await removeContainers(id);
  await engine?.stop();
}, 120_000);

/** A run that stays up until its time limit: no fault, so no decision comes early. */
const longRun = () =>
  scenarioFile((s) => {
    s.name = "long";
    s.fault = "none";
    s.budgets.timeLimitSeconds = 40;
  });

const errorLines = (stderr: string) =>
  stderr.split("\n").filter((l) => l.startsWith("redis-repro:") && !l.includes("warning"));

describe.skipIf(missingEngine)(
  skipTitle("a run killed with SIGKILL, on a private engine", missingEngine),
  () => {
    it("SIGKILL leaves the run's containers; cleanup removes them and keeps a live run's", async () => {
      const file = await longRun();
      const live = runId("live");
      const killed = runId("killed");
      const liveChild = spawnCli(
        ["run", "--scenario", file, "--target", target],
        onPrivate({ REDIS_REPRO_RUN_ID: live }),
      );
      const child = spawnCli(
        ["run", "--scenario", file, "--target", target],
        onPrivate({ REDIS_REPRO_RUN_ID: killed }),
      );
      await Promise.all([
        stderrLine(liveChild, /workload loaded; watching/),
        stderrLine(child, /workload loaded; watching/),
      ]);
      child.kill("SIGKILL");
      await child;
      expect(await privateCount(killed)).toBe(1);

      const cleanup = await cli(["cleanup", "--json"], onPrivate({}));
      expect(cleanup.exitCode).toBe(0);
      const sweep = JSON.parse(cleanup.stdout) as {
        removed: number;
        runs: string[];
        kept: { alive: number };
      };
      expect(sweep.runs).toContain(killed);
      expect(sweep.runs).not.toContain(live);
      expect(sweep.kept.alive).toBeGreaterThanOrEqual(1);
      expect(await privateCount(killed)).toBe(0);
      expect(await privateCount(live)).toBe(1);

      liveChild.kill("SIGINT");
      expect((await liveChild).exitCode).toBe(130);
      expect(await privateCount(live)).toBe(0);
    }, 120_000);

    it("the next run removes a killed run's containers with one warning line, and gives its outcome", async () => {
      const file = await longRun();
      const killed = runId("killed-2");
      const next = runId("next");
      const child = spawnCli(
        ["run", "--scenario", file, "--target", target],
        onPrivate({ REDIS_REPRO_RUN_ID: killed }),
      );
      await stderrLine(child, /workload loaded; watching/);
      child.kill("SIGKILL");
      await child;
      expect(await privateCount(killed)).toBe(1);

      // Not --json: that keeps stderr quiet, the warning included.
      const result = await cli(["run", "--target", target], onPrivate({ REDIS_REPRO_RUN_ID: next }));
      expect(result.exitCode, result.stderr.slice(-800)).toBe(0);
      const warnings = result.stderr.split("\n").filter((l) => l.includes("warning: removed"));
      expect(warnings, result.stderr.slice(-1500)).toHaveLength(1);
      expect(warnings[0]).toContain(killed);
      // Its outcome, as the seed's checker gives it on 3.2.8.
      expect(result.stdout).toMatch(/^outcome +exhaustion \(bug\) \(no expectation\)/m);
      expect(await privateCount(killed)).toBe(0);
      expect(await privateCount(next)).toBe(0);
    }, 120_000);
  },
);

describe.skipIf(missing)(skipTitle("engine-side faults", missing), () => {
  it("a container removed from outside mid-run: one clear line, exit 2, no hang, nothing left", async () => {
    const file = await longRun();
    const id = runId("removed");
    const child = spawnCli(["run", "--scenario", file, "--target", "3.2.8"], { REDIS_REPRO_RUN_ID: id });
    await stderrLine(child, /workload loaded; watching/);
    const docker = await dockerode();
    const [container] = await docker.listContainers({ filters: { label: [`${LABEL_RUN}=${id}`] } });
    if (!container) throw new Error("the run's container is not there");
    const removedAt = Date.now();
    await docker.getContainer(container.Id).remove({ force: true });
    const result = await child;
    const seconds = (Date.now() - removedAt) / 1000;
    const lines = errorLines(String(result.stderr));
    expect(lines, String(result.stderr).slice(-800)).toHaveLength(1);
    expect(lines[0]).toMatch(/the container for 3\.2\.8 was removed from outside the harness/);
    expect(result.exitCode).toBe(3); // environment
    // Well inside the scenario's 40 s limit: the run noticed, it did not wait for its time limit.
    expect(seconds).toBeLessThan(30);
    expect(await countContainers(id)).toBe(0);
  }, 90_000);
});
