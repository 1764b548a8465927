import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import tarStream from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EpisodeResult,
  imageOf,
  LIBFIU_CASES,
  PIDS_CASE,
  runCloseEpisode,
  runCutEpisode,
  runEpisode,
  SECCOMP_CASES,
} from "../../bench/fault-episodes.js";
import { ExitCode } from "../../harness/core/errors.js";
import { removeContainers } from "../../harness/engine/cleanup.js";
import { dockerode, prepareReaper } from "../../harness/engine/client.js";
import { buildImage, localImageId, removeImage } from "../../harness/engine/images.js";
import { LABEL_MANAGED, LABEL_RUN } from "../../harness/engine/labels.js";
import { RedisReproContainer } from "../../harness/parts/container/redis-container.js";
import { faultFrom, LIBFIU_POINTS, LIBFIU_PRELOAD } from "../../harness/parts/faults/index.js";
import { derivedTag, RUNTIME_PACKAGES, resolveBase } from "../../harness/targets/bases.js";
import { cli, countContainers, missingSource, skipTitle } from "./support.js";

/**
 * Each injector on real containers with real Redis: no effect before start, the failure's own log
 * line (or a leaked fd) after it, none after the heal. The latencies are bench/faults.ts's job
 * (docs/faults.md); these assert what the injectors do.
 */
const missing328 = await missingSource("3.2.8");
const missing7 = await missingSource("7.0.15");
const runId = `faults-test-${process.pid}`;

beforeAll(async () => {
  await prepareReaper();
});

afterAll(async () => {
  await removeContainers(runId);
});

function healed(r: EpisodeResult): void {
  const context = `${r.fault} on ${r.version}: ${r.log
    .slice(-5)
    .map((l) => l.line)
    .join(" | ")}`;
  expect(r.effectsBeforeStart, context).toBe(0);
  expect(r.firstEffectMs, context).toBeDefined();
  expect(r.effectsDuringFault, context).toBeGreaterThan(0);
  expect(r.healed, context).toBeDefined();
  expect(r.effectsAfterHeal, context).toBe(0);
}

describe.skipIf(missing328)(skipTitle("libfiu in the harness's images (3.2.8)", missing328), () => {
  it("the image carries fiu-run, fiu-ctrl and the preload, whose failure points are the fault's table", async () => {
    const node = await new RedisReproContainer(await imageOf("3.2.8")).withRun(runId, "3.2.8").start();
    try {
      for (const program of ["/usr/bin/fiu-run", "/usr/bin/fiu-ctrl"])
        expect((await node.exec(["test", "-x", program])).exitCode, program).toBe(0);
      const library = (await node.exec(["cat", LIBFIU_PRELOAD])).stdout;
      const inLibrary = new Set<string>(library.match(/(?:posix|libc|linux)\/[a-z0-9_/]+/g));
      // The table leaves out the points that shorten instead of failing, and the five that ignore errno.
      const ignored = [
        "posix/io/dir/readdir_r",
        "posix/stdio/tmp/tmpnam",
        "posix/stdio/gp/ungetc",
        "posix/stdio/ftrylockfile",
        "posix/stdio/error/ferror",
      ];
      const failing = [...inLibrary].filter((p) => !p.endsWith("/reduce") && !ignored.includes(p)).sort();
      expect([...LIBFIU_POINTS.values()].sort()).toEqual(failing);
      for (const p of ignored) expect(inLibrary.has(p), p).toBe(true);
    } finally {
      await node.discard();
    }
  }, 120_000);

  it.each(LIBFIU_CASES.filter((c) => c.heals !== false).map((c) => [c.call, c] as const))(
    "libfiu %s: fails in the running server from start, works again after heal",
    async (_call, c) => {
      const r = await runEpisode("3.2.8", c);
      healed(r);
      expect(r.started).toMatch(/^fiu-ctrl enable name=/);
      expect(r.healed).toMatch(/^fiu-ctrl disable name=/);
    },
    180_000,
  );

  it("libfiu malloc: the first failed allocation aborts the server (nothing to heal)", async () => {
    const c = LIBFIU_CASES.find((x) => x.call === "malloc");
    if (!c) throw new Error("no malloc case");
    const r = await runEpisode("3.2.8", c);
    expect(r.effectsBeforeStart).toBe(0);
    expect(r.firstEffectMs).toBeDefined();
    expect(r.sample[0]).toMatch(/Out Of Memory allocating \d+ bytes/);
  }, 180_000);

  it("libfiu close: each failed close leaves an fd open; after the heal the count stops rising", async () => {
    const r = await runCloseEpisode("3.2.8");
    healed(r);
  }, 180_000);

  it("pids-limit: fork fails with EAGAIN from start, and BGSAVE forks again after the heal", async () => {
    const r = await runEpisode("3.2.8", PIDS_CASE);
    healed(r);
    expect(r.started).toMatch(/^pids limit set to \d+/);
    expect(r.healed).toBe("pids limit set back to 64");
    expect(r.log.some((l) => l.t > (r.firstEffectMs ?? 0) && /Background saving started/.test(l.line))).toBe(
      true,
    );
  }, 180_000);

  it("seccomp from data: pipe and pipe2 fail with EMFILE from the start (3.2.8's AOF rewrite pipes)", async () => {
    const [c] = SECCOMP_CASES;
    if (!c) throw new Error("no seccomp case");
    const under = await runEpisode("3.2.8", c);
    expect(under.effectsDuringFault).toBeGreaterThan(0);
    const control = await runEpisode("3.2.8", { ...c, fault: "none" });
    expect(control.effectsBeforeStart + control.effectsDuringFault).toBe(0);
    expect(control.log.some((l) => /Background append only file rewriting started/.test(l.line))).toBe(true);
  }, 180_000);
});

describe.skipIf(missing7)(skipTitle("libfiu on 7.0.15", missing7), () => {
  it("libfiu fork: fails in the running server from start, works again after heal", async () => {
    const c = LIBFIU_CASES.find((x) => x.call === "fork");
    if (!c) throw new Error("no fork case");
    healed(await runEpisode("7.0.15", c));
  }, 180_000);

  it("seccomp pipe and pipe2 failing keep 7.0.15 from starting: it makes its module pipe at start", async () => {
    const fault = faultFrom({ fault: "seccomp", calls: ["pipe", "pipe2"], errno: "EMFILE" });
    // The harness's start fails as it should, but the server exits before testcontainers reads its
    // log (and testcontainers removes it): the same profile on a plain container shows why.
    await expect(
      new RedisReproContainer(await imageOf("7.0.15")).withRun(runId, "7.0.15").withFault(fault).start(),
    ).rejects.toThrow();
    const docker = await dockerode();
    const container = await docker.createContainer({
      Image: (await imageOf("7.0.15")).image,
      Cmd: ["--protected-mode", "no"],
      Labels: { [LABEL_MANAGED]: "true", [LABEL_RUN]: runId },
      HostConfig: {
        SecurityOpt: ["no-new-privileges", ...(fault.container?.securityOpt ?? [])],
        CapDrop: ["ALL"],
      },
    });
    try {
      await container.start();
      expect((await container.wait()).StatusCode).toBe(1);
      const log = (await container.logs({ stdout: true, stderr: true })).toString();
      expect(log).toMatch(/Can't create the pipe for module threads: Too many open files/);
    } finally {
      await container.remove({ force: true });
    }
  }, 120_000);

  it("libfiu accept cannot reach 7.0.15: it accepts with accept4, which the preload does not wrap", async () => {
    const c = LIBFIU_CASES.find((x) => x.call === "accept");
    if (!c) throw new Error("no accept case");
    const r = await runEpisode("7.0.15", c);
    expect(r.started).toMatch(/^fiu-ctrl enable name=posix\/io\/net\/accept/);
    expect(r.effectsBeforeStart + r.effectsDuringFault + r.effectsAfterHeal).toBe(0);
  }, 180_000);
});

const tuned = { master: { "repl-ping-slave-period": 1 }, replica: { "repl-timeout": 5 } };

describe.each([
  ["3.2.8", missing328],
  ["7.0.15", missing7],
])("network-cut on %s", (version, missing) => {
  it.skipIf(missing)(
    skipTitle("a replica cut off from its master goes down, and syncs again after the reconnect", missing),
    async () => {
      const r = await runCutEpisode(version, tuned);
      const tail = r.log
        .slice(-6)
        .map((l) => l.line)
        .join(" | ");
      expect(r.downMs, tail).toBeDefined();
      expect(r.upMs, tail).toBeDefined();
      expect(r.syncLine, tail).toMatch(
        /Master accepted a Partial Resynchronization|sync: Finished with success/,
      );
      // The harness's own connection to the replica is not on the cut network.
      expect(r.keptAnswered).toBe(true);
      expect(r.portKept).toBe(true);
    },
    180_000,
  );
});

describe("the online path: an official runtime base gets libfiu in a derived base", () => {
  it("a local Debian base without libfiu (the builder base stands in) gets libfiu0 and fiu-utils, once", async () => {
    const official = await resolveBase("builder", "auto");
    const env = { ...process.env, REDIS_REPRO_RUNTIME_IMAGE: official.ref };
    const tag = derivedTag("runtime", official.id, RUNTIME_PACKAGES);
    const existed = await localImageId(tag);
    try {
      const derived = await resolveBase("runtime", "online", env);
      expect(derived.ref).toBe(tag);
      expect(derived.id).toBe(await localImageId(tag));
      // Made once: the second resolve finds it.
      expect((await resolveBase("runtime", "online", env)).id).toBe(derived.id);
      const docker = await dockerode();
      for (const path of [LIBFIU_PRELOAD, "/usr/bin/fiu-run", "/usr/bin/fiu-ctrl"]) {
        const container = await docker.createContainer({
          Image: tag,
          Entrypoint: ["test", "-e", path],
          Labels: { [LABEL_MANAGED]: "true", [LABEL_RUN]: runId },
        });
        try {
          await container.start();
          expect((await container.wait()).StatusCode, path).toBe(0);
        } finally {
          await container.remove({ force: true });
        }
      }
    } finally {
      if (!existed) await removeImage(tag);
    }
  }, 600_000);
});

/** An image like the harness's, with libfiu taken out (all of it, or only the preload). */
async function imageWithout(paths: string[], tag: string): Promise<string> {
  const pack = tarStream.pack();
  const dockerfile = `FROM ${(await imageOf("3.2.8")).image}\nUSER root\nRUN rm -rf ${paths.join(" ")}\nUSER redis\n`;
  pack.entry({ name: "Dockerfile" }, dockerfile, () => pack.finalize());
  await buildImage({
    context: pack as unknown as Readable,
    tag,
    buildargs: {},
    labels: {},
    onLine: () => undefined,
  });
  return tag;
}

describe.skipIf(missing328)(skipTitle("bad input for the injectors (3.2.8)", missing328), () => {
  let scenario: (fault: unknown) => Promise<string>;
  const images: string[] = [];
  let dir = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "redis-repro-faults-"));
    const seed = JSON.parse(
      await readFile(new URL("../../scenarios/aof-auto-rewrite-enomem.json", import.meta.url), "utf8"),
    );
    scenario = async (fault) => {
      const file = join(dir, `${images.length}-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(
        file,
        JSON.stringify({ ...seed, fault, budgets: { ...seed.budgets, timeLimitSeconds: 20 } }),
      );
      return file;
    };
  });

  afterAll(async () => {
    for (const image of images) await removeImage(image);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function oneLine(args: string[], run: string, exitCode: number): Promise<string> {
    const result = await cli(args, { REDIS_REPRO_RUN_ID: run });
    const lines = result.stderr
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("redis-repro:"));
    expect(result.exitCode, result.stderr).toBe(exitCode);
    expect(lines, result.stderr).toHaveLength(1);
    expect(await countContainers(run)).toBe(0);
    return lines[0] ?? "";
  }

  it("a failure point libfiu does not know: exit 2, naming the field, the known calls and the seccomp way", async () => {
    const file = await scenario({ fault: "libfiu", call: "pipe2", errno: "EMFILE" });
    const line = await oneLine(["run", "--scenario", file, "3.2.8"], `${runId}-point`, ExitCode.usage);
    expect(line).toMatch(/invalid scenario .*fault\.call: libfiu 1\.1 has no failure point for "pipe2"/);
    expect(line).toMatch(/accept, bind.*fork.*write/);
    expect(line).toMatch(/"fault": "seccomp"/);
  }, 120_000);

  it("an unknown errno or system call: exit 2 naming the value", async () => {
    const errno = await scenario({ fault: "seccomp", calls: ["pipe2"], errno: "EBOGUS" });
    expect(await oneLine(["run", "--scenario", errno, "3.2.8"], `${runId}-errno`, ExitCode.usage)).toMatch(
      /fault\.errno: "EBOGUS" is not a Linux errno/,
    );
    const call = await scenario({ fault: "seccomp", calls: ["pipe3"], errno: "EMFILE" });
    expect(await oneLine(["run", "--scenario", call, "3.2.8"], `${runId}-call`, ExitCode.usage)).toMatch(
      /fault\.calls\.0: "pipe3" is not an x86_64 system call/,
    );
  }, 120_000);

  it("libfiu on an image without fiu-run: exit 3 naming the wrapper and the fix, no container left", async () => {
    const image = await imageWithout(
      ["/usr/lib/fiu", "/usr/bin/fiu-run", "/usr/bin/fiu-ctrl", "/usr/bin/fiu-ls"],
      `redis-repro/test-nofiu:${process.pid}`,
    );
    images.push(image);
    const file = await scenario({ fault: "libfiu", call: "fork", errno: "ENOMEM" });
    const line = await oneLine(
      ["run", "--scenario", file, `image:${image}`],
      `${runId}-nofiu`,
      ExitCode.environment,
    );
    expect(line).toMatch(/lacks fiu-run, which the libfiu:fork:ENOMEM fault starts the server with/);
  }, 180_000);

  it("libfiu on an image with fiu-run but no preload: exit 3 at the fault's start, no container left", async () => {
    const image = await imageWithout(["/usr/lib/fiu"], `redis-repro/test-nopreload:${process.pid}`);
    images.push(image);
    const file = await scenario({ fault: "libfiu", call: "fork", errno: "ENOMEM" });
    const line = await oneLine(
      ["run", "--scenario", file, `image:${image}`],
      `${runId}-nopreload`,
      ExitCode.environment,
    );
    expect(line).toMatch(/has no libfiu \(\/usr\/lib\/fiu\/fiu_posix_preload\.so is missing\)/);
  }, 180_000);

  it("the same scenario with the library: the fault starts and fork fails in the server", async () => {
    const file = await scenario({ fault: "libfiu", call: "fork", errno: "ENOMEM" });
    const result = await cli(["run", "--scenario", file, "3.2.8", "--json"], {
      REDIS_REPRO_RUN_ID: `${runId}-fiu`,
    });
    expect(result.exitCode, result.stderr.slice(-500)).not.toBe(ExitCode.environment);
    expect(result.stdout).toMatch(/fork: Cannot allocate memory/);
    expect(await countContainers(`${runId}-fiu`)).toBe(0);
  }, 300_000);
});
