import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seriesOf } from "../../harness/core/history.js";
import { AofDirEvidence } from "../../harness/parts/checkers/index.js";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { ensureImage } from "../../harness/targets/build.js";
import { debianOffers, readInRelease, resolveDebianSource } from "../../harness/targets/debian.js";
import { debianMirror } from "../../harness/targets/debian-mirror.js";
import { resolveSource } from "../../harness/targets/sources.js";
import { compareVersions, parseTarget } from "../../harness/targets/spec.js";
import { cli, countContainers } from "./support.js";

/**
 * deb: targets on the real archive, the real gpgv and the real engine. Nothing here skips: CI
 * (.ci/run) reaches Debian's archive, as every machine of this project does. The targets are the
 * newest redis and valkey in sid, read from sid's index when the test runs, so every change is tested
 * on the newest release Debian carries; when sid moves to a new upstream release the test follows, and
 * fails if the AOF finding no longer holds there or the patch no longer applies: both are news.
 */
const base = await mkdtemp(join(tmpdir(), "redis-repro-debian-it-"));
afterAll(() => rm(base, { recursive: true, force: true }));

const newest = async (pkg: "redis" | "valkey") => {
  const [sid] = await debianOffers(["sid"]);
  const versions = (sid?.packages ?? []).filter((p) => p.package === pkg).map((p) => p.version);
  const top = versions.sort(compareVersions).at(-1);
  if (!top) throw new Error(`sid offers no ${pkg}`);
  return top;
};

describe("Debian's archive: the chain of trust", () => {
  it("sid's InRelease verifies with gpgv; one changed byte of its signed text, or a keyring without its keys, does not", async () => {
    const url = `${debianMirror()}/dists/sid/InRelease`;
    const data = Buffer.from(await (await fetch(url)).arrayBuffer());
    const index = await readInRelease(data, "sid", url);
    expect(index.signers.length).toBeGreaterThan(0);
    expect(index.sha256.get("main/source/Sources.xz")?.sha256).toMatch(/^[0-9a-f]{64}$/);

    const text = data.toString("utf8");
    const at = text.indexOf("main/source/Sources.xz");
    const tampered = Buffer.from(
      `${text.slice(0, at - 2)}${text[at - 2] === "1" ? "2" : "1"}${text.slice(at - 1)}`,
    );
    await expect(readInRelease(tampered, "sid", url)).rejects.toThrow(/is not signed by a key of/);

    const previous = process.env.REDIS_REPRO_DEBIAN_KEYRING;
    process.env.REDIS_REPRO_DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-removed-keys.gpg";
    try {
      await expect(readInRelease(data, "sid", url)).rejects.toThrow(/is not signed by a key of/);
    } finally {
      if (previous === undefined) delete process.env.REDIS_REPRO_DEBIAN_KEYRING;
      else process.env.REDIS_REPRO_DEBIAN_KEYRING = previous;
    }
  }, 120_000);

  it("sources add deb:redis/7.0.15@bookworm fetches Debian's orig tarball verified; the release 7.0.15 then finds it by its files digest; a changed byte is refused", async () => {
    const dir = join(base, "sources");
    const env = { REDIS_REPRO_SOURCES: dir };
    const added = await cli(["sources", "add", "deb:redis/7.0.15@bookworm", "--json"], env);
    expect(added.exitCode, added.stderr).toBe(0);
    const out = JSON.parse(added.stdout);
    expect(out.provenance).toMatchObject({
      package: "redis",
      version: "7.0.15",
      suite: "bookworm",
      file: "redis_7.0.15.orig.tar.gz",
    });
    expect(out.provenance.debianVersion).toMatch(/^5:7\.0\.15-/);
    const again = await cli(["sources", "add", "deb:redis/7.0.15", "--json"], env);
    expect(JSON.parse(again.stdout).origin).toBe("cache");

    const { source } = await resolveSource("7.0.15", [dir]);
    expect(source.check).toBe("files-digest");

    const tarball = join(dir, "redis_7.0.15.orig.tar.gz");
    const bytes = await readFile(tarball);
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 1;
    await writeFile(tarball, bytes);
    await expect(resolveDebianSource("redis", "7.0.15", undefined, [dir])).rejects.toThrow(
      /does not match the sha256 Debian's index gave for it/,
    );
  }, 300_000);

  it("a version the archive does not carry is one line naming what it offers", async () => {
    const result = await cli(["images", "build", "deb:redis/1.2.3@sid"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr.trim().split("\n").at(-1)).toMatch(
      /^redis-repro: Debian's archive has no redis 1\.2\.3 in sid \(it offers 8\.\S+ in sid\): name one of those/,
    );
  }, 120_000);
});

describe("the newest redis and valkey in sid, built from Debian's orig tarballs", () => {
  const versions = { redis: "", valkey: "" };
  const targets = { redis: "", patched: "", valkey: "" };

  beforeAll(async () => {
    versions.redis = await newest("redis");
    versions.valkey = await newest("valkey");
    targets.redis = `deb:redis/${versions.redis}@sid`;
    targets.patched = `${targets.redis}+count-failed-aof-fork`;
    targets.valkey = `deb:valkey/${versions.valkey}@sid`;
    // Built here, one at a time, so the runs below measure the servers and not the compiler.
    for (const t of Object.values(targets)) await ensureImage(parseTarget(t), { bases: "auto" });
  }, 1_800_000);

  it("aof-dir-growth-enomem: both grow one incr file per failed fork with no limiter line; the patch stops redis after 3", async () => {
    const growth = await loadScenario("aof-dir-growth-enomem");
    const run = await runScenario(growth, [targets.redis, targets.patched, targets.valkey], {
      bases: "auto",
    });
    const [redis, patched, valkey] = run.results;
    if (!redis || !patched || !valkey) throw new Error("three results expected");

    expect([redis.server, redis.version]).toEqual(["redis", versions.redis]);
    expect([valkey.server, valkey.version]).toEqual(["valkey", versions.valkey]);
    expect(valkey.history.events.find((e) => e.kind === "started")?.line).toMatch(/Valkey version=/);
    expect(valkey.image).toMatch(/^redis-repro\/redis:deb-valkey-/);

    for (const r of [redis, valkey]) {
      expect(r.checker).toBe("aof-dir");
      expect(r, `${r.target}: ${r.decision.reason}`).toHaveOutcome("bug");
      expect(r, `${r.target}: ${r.decision.reason}`).toHaveOutcome("growing");
      const a = AofDirEvidence.parse(r.decision.evidence);
      expect(a.files.perAttempt ?? 0).toBeGreaterThanOrEqual(0.8);
      expect(a.limiter.line).toBeNull();
      expect(a.errno).toBe("Cannot allocate memory");
      // INFO's counter of failed rewrites, sampled every tick, never moved: the failed fork is not counted.
      const counter = seriesOf(r.history, "info.aof_rewrites_consecutive_failures");
      expect(counter.length).toBeGreaterThan(0);
      expect(counter.every((p) => p.v === 0)).toBe(true);
    }

    expect(patched, patched.decision.reason).toHaveOutcome("no-bug");
    expect(patched, patched.decision.reason).toHaveOutcome("stable");
    expect(AofDirEvidence.parse(patched.decision.evidence).limiter.attemptsAtLimit).toBe(3);
    expect(seriesOf(patched.history, "info.aof_rewrites_consecutive_failures").at(-1)?.v).toBe(3);
    expect(await countContainers(run.runId)).toBe(0);
  }, 300_000);

  it("repl-diskless-pipe-leak-enomem: valkey's primary crashes on the second sync after a failed fork, and the run says so (exit 1, not the scenario's limits)", async () => {
    const result = await cli([
      "run",
      "--scenario",
      "repl-diskless-pipe-leak-enomem",
      targets.valkey,
      "--json",
    ]);
    expect(result.exitCode, result.stderr).toBe(1);
    const run = JSON.parse(result.stdout);
    const [valkey] = run.results;
    expect(valkey.decision.outcome).toBe("unknown");
    expect(valkey.ended).toMatchObject({ reason: "container-exited", cause: "crashed" });
    expect(valkey.ended.detail).toMatch(
      /^the server crashed \(assertion failed: rdb\.c:\d+ 'server\.rdb_pipe_read == -1 && server\.rdb_child_exit_pipe == -1' is not true; exit code 139\)$/,
    );
    expect(result.stderr).toMatch(/: a bug in the server, not in the scenario's limits;/);
    expect(await countContainers(run.runId)).toBe(0);
  }, 180_000);
});
