import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPatch } from "diff";
import tarStream from "tar-stream";
import { afterAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../harness/core/errors.js";
import { dockerode } from "../../harness/engine/client.js";
import { importImage, listManagedImages, removeImage } from "../../harness/engine/images.js";
import { cachedSourcePath } from "../../harness/targets/sources.js";
import { readTarball } from "../../harness/targets/verify.js";
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
 * A harness that studies a leak must not leak: every ending leaves no labelled container behind,
 * and every failure is one line with exit 2 (usage, the scenario's limits) or 3 (environment).
 */
const missing7 = await missingSource("7.0.15");
/**
 * A patch of the user's own (REDIS_REPRO_PATCHES) against one file of 7.0.15, written to a new folder:
 * it makes a content tag that does not exist yet.
 */
async function userPatch(name: string, file: string, change: (text: string) => string): Promise<string> {
  const tarball = (await cachedSourcePath("7.0.15")) ?? "";
  const { files } = await readTarball(tarball, (p) => p === file);
  const before = files.get(file)?.toString("utf8") ?? "";
  const after = change(before);
  expect(after).not.toBe(before);
  const dir = await mkdtemp(join(tmpdir(), "redis-repro-patches-"));
  const diff = createPatch(file, before, after)
    .replace(/^--- /m, "--- a/")
    .replace(/^\+\+\+ /m, "+++ b/");
  await writeFile(join(dir, `${name}.patch`), diff);
  return dir;
}

/**
 * Containers on the engine that a run's nodes are not: a build's own containers carry no run label.
 * By id, so that other work on a shared engine (runs, builds ending) does not change the answer.
 */
async function unlabelledContainers(): Promise<Set<string>> {
  const all = await (await dockerode()).listContainers({ all: true });
  return new Set(all.filter((c) => !c.Labels?.["redis-repro.run"]).map((c) => c.Id));
}

let runCounter = 0;
/** A run id per CLI call, so the count is of that run's containers even while other runs go on. */
function runEnv(): { env: Record<string, string>; id: string } {
  const id = `endings-${process.pid}-${++runCounter}`;
  return { env: { REDIS_REPRO_RUN_ID: id }, id };
}

const oneLine = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("redis-repro:"));
const tempImages: string[] = [];

afterAll(async () => {
  for (const image of tempImages) await removeImage(image);
});

describe.skipIf(missing7)(skipTitle("every ending leaves nothing running", missing7), () => {
  it("success: exit 0", async () => {
    const { env, id } = runEnv();
    const result = await cli(["run", "--target", "7.0.15"], env);
    expect(result.exitCode).toBe(0);
    expect(await countContainers(id)).toBe(0);
  }, 60_000);

  it("an outcome not as expected: exit 1", async () => {
    const file = await scenarioFile((s) => {
      s.name = "wrong-expectation";
      s.expect = { "7.0.15": "exhaustion" };
    });
    const { env, id } = runEnv();
    const result = await cli(["run", "--scenario", file, "--target", "7.0.15"], env);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/^outcome +stable \(no-bug\) ✗ expected exhaustion/m);
    expect(await countContainers(id)).toBe(0);
  }, 60_000);

  it("an exception inside a part (the workload cannot grow an AOF that is off)", async () => {
    const file = await scenarioFile((s) => {
      s.name = "workload-throws";
      s.redis.appendonly = false;
      // A scenario of the user's (the catalogue does not hold it) states what it expects.
      s.expect = { "7.0.15": "stable" };
    });
    const { env, id } = runEnv();
    const result = await cli(["run", "--scenario", file, "--target", "7.0.15", "--json"], env);
    const run = JSON.parse(result.stdout);
    expect(run.results[0].decision.outcome).toBe("unknown");
    expect(run.results[0].decision.label).toBe("inconclusive");
    expect(run.results[0].ended.reason).toBe("error");
    expect(run.results[0].decision.reason).toMatch(/the AOF did not grow/);
    expect(result.exitCode).toBe(1);
    expect(await countContainers(id)).toBe(0);
  }, 60_000);

  it("the hard time limit", async () => {
    const file = await scenarioFile((s) => {
      s.name = "time-limit";
      s.fault = "none";
      s.budgets.timeLimitSeconds = 4;
    });
    const { env, id } = runEnv();
    const result = await cli(["run", "--scenario", file, "--target", "7.0.15", "--json"], env);
    expect(JSON.parse(result.stdout).results[0].decision.reason).toMatch(/time limit 4 s/);
    expect(await countContainers(id)).toBe(0);
  }, 60_000);

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)(
    "%s during a run: exit %i, the run's containers removed",
    async (signal, code) => {
      const file = await scenarioFile((s) => {
        s.name = "interrupted";
        s.fault = "none";
        s.budgets.timeLimitSeconds = 120;
      });
      const { env, id } = runEnv();
      const child = spawnCli(["run", "--scenario", file, "--target", "7.0.15"], env);
      await stderrLine(child, /workload loaded; watching/);
      expect(await countContainers(id)).toBe(1);
      child.kill(signal);
      const result = await child;
      expect(result.exitCode).toBe(code);
      expect(String(result.stderr)).toContain(`${signal}: cleaning up`);
      expect(await countContainers(id)).toBe(0);
    },
    60_000,
  );

  it("SIGINT during a matrix: exit 130, the matrix's containers removed", async () => {
    const file = await scenarioFile((s) => {
      s.name = "interrupted-matrix";
      s.fault = "none";
      s.budgets.timeLimitSeconds = 120;
    });
    const { env, id } = runEnv();
    const child = spawnCli(["matrix", "7.0.15", "--scenario", file, "--retries", "0"], env);
    await stderrLine(child, /workload loaded; watching/);
    expect(await countContainers(id)).toBe(1);
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(await countContainers(id)).toBe(0);
  }, 60_000);

  it("SIGINT during an image build: nothing tagged, no build container left", async () => {
    // A harmless patch of the user's own (REDIS_REPRO_PATCHES) makes a content tag that does not exist yet.
    const name = `interrupt-${Date.now().toString(36)}`;
    const dir = await userPatch(name, "README.md", (readme) =>
      readme.replace(/^This README/m, `This README (${name})`),
    );
    const before = await unlabelledContainers();
    const child = spawnCli(["images", "build", `7.0.15+${name}`], { REDIS_REPRO_PATCHES: dir });
    // The compile step (its text names make; ccache wraps it where the builder has it).
    await stderrLine(child, /Step \d+\/\d+ : RUN .*make -j/);
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode).toBe(130);
    // The engine cancels a build whose client went away and then removes its container: 10 s was
    // not always enough on a loaded machine (a CI run saw it still there then; gone when it ended).
    const added = async () => [...(await unlabelledContainers())].filter((id) => !before.has(id));
    for (let i = 0; i < 60 && (await added()).length > 0; i++) await new Promise((r) => setTimeout(r, 500));
    expect(await added()).toEqual([]);
    expect((await listManagedImages()).some((i) => i.tag.includes(name))).toBe(false);
  }, 120_000);

  it("a build that fails: one line naming the kept log, its tail printed, nothing tagged", async () => {
    const name = `broken-${Date.now().toString(36)}`;
    const dir = await userPatch(
      name,
      "src/version.h",
      (header) => `${header}#error "${name}: this patch breaks the build on purpose"\n`,
    );
    const { env } = runEnv();
    const result = await cli(["images", "build", `7.0.15+${name}`], { ...env, REDIS_REPRO_PATCHES: dir });
    expect(result.exitCode).toBe(ExitCode.environment);
    const lines = oneLine(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/image build for 7\.0\.15\+broken-\w+ failed \(.*\): full log in .*build-logs/);
    // The tail of the log comes before the one line, so the reason is on screen.
    expect(result.stderr).toContain("this patch breaks the build on purpose");
    const logFile = /full log in (\S+)$/.exec(lines[0] ?? "")?.[1] ?? "";
    expect(await readFile(logFile, "utf8")).toContain("#error");
    expect((await listManagedImages()).some((i) => i.tag.includes(name))).toBe(false);
  }, 120_000);

  it("a container that dies: OOM kill named, with the limit, exit 2 (the scenario's limits)", async () => {
    const file = await scenarioFile((s) => {
      s.name = "oom";
      s.limits.memory = "16m";
      s.workload = [
        { step: "fill", keys: 40000, valueBytes: 1024 },
        { step: "command", args: ["BGREWRITEAOF"], everyMs: 100 },
      ];
    });
    const { env, id } = runEnv();
    const result = await cli(["run", "--scenario", file, "--target", "7.0.15"], env);
    expect(result.exitCode).toBe(ExitCode.usage);
    const lines = oneLine(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/the container for 7\.0\.15 died: OOM-killed at the memory limit of 16 MiB/);
    expect(await countContainers(id)).toBe(0);
  }, 60_000);
});

/** The smallest images: /etc/passwd and /data, no Redis at all; with or without the redis user. */
async function emptyImage(tag: string, withRedisUser: boolean): Promise<string> {
  const pack = tarStream.pack();
  const user = withRedisUser ? "redis:x:999:999::/data:/bin/sh\n" : "";
  pack.entry({ name: "etc/passwd" }, `root:x:0:0::/root:/bin/sh\n${user}`);
  pack.entry({ name: "etc/group" }, `root:x:0:\n${withRedisUser ? "redis:x:999:\n" : ""}`);
  pack.entry({ name: "data/", type: "directory", uid: 999, gid: 999 });
  pack.finalize();
  await importImage(pack as never, "redis-repro/test-empty", tag, {});
  tempImages.push(`redis-repro/test-empty:${tag}`);
  return `redis-repro/test-empty:${tag}`;
}

describe("images that cannot serve", () => {
  it("an image without redis-server: one line, exit 2", async () => {
    await emptyImage("with-user", true);
    const { env, id } = runEnv();
    const result = await cli(["run", "--target", "image:redis-repro/test-empty:with-user"], env);
    expect(result.exitCode).toBe(2);
    expect(oneLine(result.stderr)).toEqual([
      "redis-repro: image redis-repro/test-empty:with-user has no redis-server on its PATH: bring an image that holds one",
    ]);
    expect(await countContainers(id)).toBe(0);
  }, 60_000);

  it("an image without the redis user: one line, exit 2", async () => {
    await emptyImage("no-user", false);
    const { env, id } = runEnv();
    const result = await cli(["run", "--target", "image:redis-repro/test-empty:no-user"], env);
    expect(result.exitCode).toBe(2);
    expect(oneLine(result.stderr)[0]).toMatch(/has no user "redis"/);
    expect(await countContainers(id)).toBe(0);
  }, 60_000);
});
