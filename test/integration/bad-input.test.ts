import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../harness/core/errors.js";
import { listManagedImages } from "../../harness/engine/images.js";
import { cli, countContainers, missingSource, skipTitle } from "./support.js";

/**
 * Every user error: one line on stderr naming the problem and the fix, exit 2 (usage) or 3 (environment),
 * nothing tagged or left running.
 */
let errorRuns = 0;

/**
 * The engine is shared with other runs while this file runs: what the command left is counted by its
 * own run id (containers) and by its targets (images), never by totals another run may change.
 */
async function expectUserError(
  args: string[],
  pattern: RegExp,
  env: Record<string, string> = {},
  exitCode: number = ExitCode.usage,
) {
  const runId = `bad-input-${process.pid}-${++errorRuns}`;
  // An image a target of these args would make is tagged with its version (and patches: "3.2.8-fix-…").
  const targets = args.filter((a) => /^\d+\.\d+\.\d+/.test(a)).map((a) => a.replace(/\+/g, "-"));
  const imagesBefore = new Set((await listManagedImages()).map((i) => i.tag));
  const result = await cli(args, { REDIS_REPRO_RUN_ID: runId, ...env });
  expect(result.exitCode).toBe(exitCode);
  const lines = result.stderr
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("redis-repro:"));
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  const added = (await listManagedImages()).map((i) => i.tag).filter((t) => !imagesBefore.has(t));
  expect(added.filter((tag) => targets.some((t) => tag.includes(`:${t}-`)))).toEqual([]);
  expect(await countContainers(runId)).toBe(0);
  return result;
}

let emptySources: string;
const missing7 = await missingSource("7.0.15");
const missing329 = await missingSource("3.2.9");

beforeAll(async () => {
  emptySources = await mkdtemp(join(tmpdir(), "redis-repro-empty-"));
});

describe("bad input", () => {
  it("an unknown release", async () => {
    await expectUserError(["images", "build", "9.9.9"], /unknown release 9\.9\.9: .*pick one of those/);
  });

  it("a malformed target", async () => {
    await expectUserError(["images", "build", "3.2.8+Fix!"], /malformed target "3\.2\.8\+Fix!"/);
    await expectUserError(["run", "--target", "latest"], /malformed target "latest"/);
  });

  it("an unknown patch", async () => {
    await expectUserError(
      ["images", "build", "3.2.8+no-such-patch"],
      /patch "no-such-patch" does not exist in docker\/patches\//,
    );
  });

  it("a tarball that fails verification is refused, naming the file and both digests", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-corrupt-"));
    const { gzipSync } = await import("node:zlib");
    await writeFile(join(dir, "redis-3.2.8.tar.gz"), gzipSync(Buffer.alloc(1024)));
    await expectUserError(
      ["images", "build", "3.2.8", "--sources", dir],
      /redis-3\.2\.8\.tar\.gz is not redis 3\.2\.8: files digest [0-9a-f]{64} ≠ expected [0-9a-f]{64}/,
    );
  });

  it("a missing tarball names the file, the cache and how to provide it", async () => {
    await expectUserError(
      ["images", "build", "3.2.8"],
      /redis-3\.2\.8\.tar\.gz is not in the source cache .* REDIS_REPRO_SOURCES/,
      { REDIS_REPRO_SOURCES: emptySources },
      ExitCode.environment,
    );
  });

  it.skipIf(missing7)(skipTitle("a patch written for another release", missing7), async () => {
    await expectUserError(
      ["images", "build", "7.0.15+fix-aof-pipe-leak"],
      /written for redis 3\.2\.0\.\.3\.2\.8, not 7\.0\.15/,
    );
  });

  it.skipIf(missing329)(
    skipTitle("a patch the release already has (3.2.9 has the fix)", missing329),
    async () => {
      await expectUserError(
        ["images", "build", "3.2.9+fix-aof-pipe-leak"],
        /patch fix-aof-pipe-leak is already in redis 3\.2\.9/,
      );
    },
  );

  it("an engine that does not answer, within 5 s, naming DOCKER_HOST", async () => {
    const started = Date.now();
    const result = await cli(["images", "ls"], { DOCKER_HOST: "tcp://127.0.0.1:1" });
    expect(result.exitCode).toBe(ExitCode.environment);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/no container engine answers at DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("an invalid scenario file names the field", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-scenario-"));
    const file = join(dir, "bad.json");
    const { readFile } = await import("node:fs/promises");
    const seed = JSON.parse(
      await readFile(new URL("../../scenarios/aof-auto-rewrite-enomem.json", import.meta.url), "utf8"),
    );
    seed.limits.memory = "lots";
    await writeFile(file, JSON.stringify(seed));
    await expectUserError(["run", "--scenario", file], /invalid scenario .*bad\.json: limits\.memory: /);
  });

  it("fault episodes that cannot work: a recovery with no heal, a window past the time limit, a link cut with one node, a libfiu point it does not know", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-episodes-"));
    const { readFile } = await import("node:fs/promises");
    const episode = JSON.parse(
      await readFile(new URL("../../scenarios/seed-episode-fork-heal.json", import.meta.url), "utf8"),
    );
    const file = async (name: string, change: (s: typeof episode) => void) => {
      const copy = structuredClone(episode);
      change(copy);
      const path = join(dir, `${name}.json`);
      await writeFile(path, JSON.stringify(copy));
      return path;
    };
    const run = (path: string) => ["run", "--scenario", path, "3.2.8"];
    await expectUserError(
      run(await file("never", (s) => (s.faults[0].heal = "never"))),
      /invalid scenario .*never\.json: checker recovery judges recovery after the last heal, but the libfiu:fork:ENOMEM episode on main never heals \(a whole-run fault\): give it a heal/,
    );
    await expectUserError(
      run(await file("late", (s) => (s.faults[0].heal = { afterMs: 55_000 }))),
      /invalid scenario .*late\.json: checker recovery waits 10 s after .*time limit of 60 s: raise budgets\.timeLimitSeconds to at least 70, or shorten checker\.ms/,
    );
    await expectUserError(
      run(await file("cut", (s) => (s.faults[0].fault = { fault: "network-cut" }))),
      /invalid scenario .*cut\.json: the network-cut episode on main cuts main off from the other nodes, but the scenario has no other node: add one/,
    );
    await expectUserError(
      run(await file("point", (s) => (s.faults[0].fault.call = "posix/io/rw/bogus"))),
      /invalid scenario .*point\.json: faults\.0\.fault\.call: libfiu 1\.1 has no failure point for "posix\/io\/rw\/bogus": name one of accept, .*\(or its point, e\.g\. posix\/io\/rw\/write\)/,
    );
    await rm(dir, { recursive: true, force: true });
  });

  it("sweep --heal with a fault that cannot heal, and a recovery window without --heal", async () => {
    await expectUserError(
      ["sweep", "3.2.8", "--heal", "--fault", "seccomp-enomem", "--path", "rdb-bgsave"],
      /^redis-repro: --heal: seccomp-enomem cannot be lifted while the server runs \(a seccomp profile is fixed when the container starts\); use libfiu:CALL:ERRNO or pids-limit$/,
    );
    await expectUserError(
      ["sweep", "3.2.8", "--recover-within", "5"],
      /^redis-repro: --recover-within judges recovery after a heal: add --heal$/,
    );
    await expectUserError(
      ["sweep", "3.2.8", "--heal", "--recover-within", "0"],
      /^redis-repro: --recover-within must be a whole number from 1 to 120, not "0"$/,
    );
  });

  it("unknown commands and options", async () => {
    await expectUserError(["frobnicate"], /unknown command "frobnicate"/);
    await expectUserError(["run", "--colour"], /Unknown option '--colour'/);
    await expectUserError(
      ["run", "--fault", "cosmic-ray"],
      /--fault must be one of seccomp-enomem, pids-limit, none/,
    );
    // A word given where the command takes none, or one too many, is refused, not ignored.
    await expectUserError(["images", "ls", "7.0.15"], /images ls takes no arguments, not "7\.0\.15"/);
    await expectUserError(["report", "show", "a", "b"], /report show takes DIR only, not also "b"/);
    await expectUserError(["images"], /images needs a subcommand: build, ls, releases, debian, bases/);
  });
});
