import { createHash } from "node:crypto";
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../harness/core/errors.js";
import { sourceDirs } from "../../harness/core/paths.js";
import { type Release, requireRelease } from "../../harness/targets/releases.js";
import {
  addSource,
  cachedSourcePath,
  cacheNames,
  resolveSource,
  verifyTarball,
} from "../../harness/targets/sources.js";
import { fileHash, readTarball } from "../../harness/targets/verify.js";
import { type TarEntry, writeTarGz } from "../helpers/tarball.js";

const entries = (top: string, aof = "int main(void) { return 0; }\n"): TarEntry[] => [
  { name: `${top}/` },
  { name: `${top}/src/aof.c`, content: aof },
  { name: `${top}/README`, content: "redis\n" },
];

let dir: string;
let counter = 0;
const fresh = async (name: string) => {
  const sub = join(dir, String(counter++));
  await mkdir(sub, { recursive: true });
  return join(sub, name);
};

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "redis-repro-sources-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("cacheNames", () => {
  it("lists upstream's name first, then Debian's", () => {
    expect(cacheNames("3.2.8")).toEqual(["redis-3.2.8.tar.gz", "redis_3.2.8.orig.tar.gz"]);
  });
});

/** Any URL: verification never looks at it. */
const url = "https://download.redis.io/releases/redis-test.tar.gz";

describe("verifyTarball", () => {
  it("trusts a tarball whose sha256 is the published one (published-sha256)", async () => {
    const path = await writeTarGz(await fresh("redis-9.0.0.tar.gz"), entries("redis-9.0.0"));
    const digest = await fileHash(path, "sha256");
    const { filesDigest } = await readTarball(path);
    const release: Release = {
      version: "9.0.0",
      url,
      published: { algo: "sha256", digest },
      // Deliberately not the tarball's files digest: the published hash alone must be enough.
      files: "0".repeat(64),
    };
    expect(await verifyTarball(path, release)).toEqual({ check: "published-sha256", digest, filesDigest });
  });

  it("trusts a tarball whose sha1 is the published one (published-sha1)", async () => {
    const path = await writeTarGz(await fresh("redis-3.0.0.tar.gz"), entries("redis-3.0.0"));
    const digest = await fileHash(path, "sha1");
    const release: Release = {
      version: "3.0.0",
      url,
      published: { algo: "sha1", digest },
      files: "1".repeat(64),
    };
    const result = await verifyTarball(path, release);
    expect(result.check).toBe("published-sha1");
    expect(result.digest).toBe(digest);
  });

  it("trusts a repacked tarball by its files digest when the published hash does not match", async () => {
    const official = await writeTarGz(await fresh("redis-9.0.0.tar.gz"), entries("redis-9.0.0"), 9);
    const repacked = await writeTarGz(
      await fresh("redis_9.0.0.orig.tar.gz"),
      [...entries("redis-9.0.0.orig")].reverse(),
      1,
    );
    const { filesDigest } = await readTarball(official);
    const release: Release = {
      version: "9.0.0",
      url,
      published: { algo: "sha256", digest: await fileHash(official, "sha256") },
      files: filesDigest,
    };
    expect(await verifyTarball(repacked, release)).toEqual({
      check: "files-digest",
      digest: filesDigest,
      filesDigest,
    });
  });

  it("uses the files digest for a release without a published hash", async () => {
    const path = await writeTarGz(await fresh("redis-5.0.14.tar.gz"), entries("redis-5.0.14"));
    const { filesDigest } = await readTarball(path);
    expect((await verifyTarball(path, { version: "5.0.14", url, files: filesDigest })).check).toBe(
      "files-digest",
    );
  });

  it("refuses a mismatch with a UserError naming the file and both digests", async () => {
    const good = await writeTarGz(await fresh("redis-9.0.0.tar.gz"), entries("redis-9.0.0"));
    const expected = (await readTarball(good)).filesDigest;
    const bad = await writeTarGz(
      await fresh("redis-9.0.0.tar.gz"),
      entries("redis-9.0.0", "int main(void) { return 1; }\n"),
    );
    const actual = (await readTarball(bad)).filesDigest;
    expect(actual).not.toBe(expected);
    const release: Release = {
      version: "9.0.0",
      url,
      published: { algo: "sha256", digest: await fileHash(good, "sha256") },
      files: expected,
    };
    const error = await rejection(verifyTarball(bad, release));
    expect(error.message).toContain("redis-9.0.0.tar.gz is not redis 9.0.0");
    expect(error.message).toContain(actual);
    expect(error.message).toContain(expected);
    expect(error.message).toContain("sha256 differs from the published one");
    expect(error.message).not.toContain("\n");
  });

  it("does not mention a published hash the release does not have", async () => {
    const bad = await writeTarGz(await fresh("redis-5.0.14.tar.gz"), entries("redis-5.0.14"));
    const error = await rejection(verifyTarball(bad, { version: "5.0.14", url, files: "a".repeat(64) }));
    expect(error.message).not.toContain("published");
    expect(error.message).toContain("a".repeat(64));
  });
});

describe("resolveSource (cache only; every case has a file in the cache, so nothing is downloaded)", () => {
  it("refuses a tarball in the cache that is not the release, naming the file", async () => {
    const cache = join(dir, "cache-wrong");
    await mkdir(cache);
    await writeTarGz(join(cache, "redis-3.2.8.tar.gz"), entries("redis-3.2.8"));
    const error = await rejection(resolveSource("3.2.8", cache));
    expect(error.message).toContain("redis-3.2.8.tar.gz is not redis 3.2.8");
    expect(error.message).toContain(requireRelease("3.2.8").files);
    expect(error.message).toContain("sha1 differs");
  });

  it("refuses a corrupt (not gzip) tarball in the cache with a UserError naming the file", async () => {
    const cache = join(dir, "cache-corrupt");
    await mkdir(cache);
    await writeFile(join(cache, "redis-3.2.8.tar.gz"), "<html>404 Not Found</html>");
    const error = await rejection(resolveSource("3.2.8", cache));
    expect(error.message).toContain("redis-3.2.8.tar.gz is not a readable .tar.gz");
    expect(error.message).toContain("delete it");
  });

  it("looks for Debian's name when upstream's is absent", async () => {
    const cache = join(dir, "cache-debian");
    await mkdir(cache);
    await writeTarGz(join(cache, "redis_3.2.8.orig.tar.gz"), entries("redis-3.2.8"));
    const error = await rejection(resolveSource("3.2.8", cache));
    expect(error.message).toContain("redis_3.2.8.orig.tar.gz is not redis 3.2.8");
  });

  it("refuses an unknown release before looking anywhere", async () => {
    const error = await rejection(resolveSource("9.9.9", join(dir, "does-not-exist")));
    expect(error.message).toContain("unknown release 9.9.9");
  });
});

describe("sourceDirs", () => {
  it("is REDIS_REPRO_SOURCES split like PATH, else the cache's sources folder", () => {
    expect(sourceDirs({ REDIS_REPRO_SOURCES: "/w/cache:/shared/ro" })).toEqual(["/w/cache", "/shared/ro"]);
    expect(sourceDirs({ REDIS_REPRO_SOURCES: "", REDIS_REPRO_CACHE: "/c" })).toEqual(["/c/sources"]);
  });
});

describe("cachedSourcePath", () => {
  it("searches the folders in order and finds a tarball in a later one", async () => {
    const first = join(dir, "lookup-first");
    const second = join(dir, "lookup-second");
    await mkdir(first);
    await mkdir(second);
    await writeFile(join(second, "redis-3.2.9.tar.gz"), "");
    expect(await cachedSourcePath("3.2.9", [first, second])).toBe(join(second, "redis-3.2.9.tar.gz"));
    await writeFile(join(first, "redis-3.2.9.tar.gz"), "");
    expect(await cachedSourcePath("3.2.9", [first, second])).toBe(join(first, "redis-3.2.9.tar.gz"));
  });

  it("finds upstream's or Debian's name, or nothing", async () => {
    const cache = join(dir, "cache-lookup");
    await mkdir(cache);
    expect(await cachedSourcePath("3.2.8", cache)).toBeUndefined();
    await writeFile(join(cache, "redis_3.2.8.orig.tar.gz"), "");
    expect(await cachedSourcePath("3.2.8", cache)).toBe(join(cache, "redis_3.2.8.orig.tar.gz"));
    await writeFile(join(cache, "redis-3.2.8.tar.gz"), "");
    expect(await cachedSourcePath("3.2.8", cache)).toBe(join(cache, "redis-3.2.8.tar.gz"));
  });
});

describe("addSource", () => {
  it("refuses a file that does not exist", async () => {
    const error = await rejection(addSource(join(dir, "nope.tar.gz"), "3.2.8", join(dir, "add-none")));
    expect(error.message).toContain("nope.tar.gz does not exist");
  });

  it("reads the version from the top folder and refuses a tarball that is not that release, copying nothing", async () => {
    const file = await writeTarGz(await fresh("mine.tar.gz"), entries("redis-3.2.8"));
    const cache = join(dir, "add-wrong");
    const error = await rejection(addSource(file, undefined, cache));
    expect(error.message).toContain("mine.tar.gz is not redis 3.2.8");
    const exists = await access(cache).then(
      () => true,
      () => false,
    );
    expect(exists ? await readdir(cache) : []).toEqual([]);
  });

  it("refuses a top folder that names no known release", async () => {
    const file = await writeTarGz(await fresh("mine.tar.gz"), entries("redis-9.9.9"));
    const error = await rejection(addSource(file, undefined, join(dir, "add-unknown")));
    expect(error.message).toContain("unknown release 9.9.9");
  });

  it("an explicit version wins over the top folder", async () => {
    const file = await writeTarGz(await fresh("mine.tar.gz"), entries("redis-9.9.9"));
    const error = await rejection(addSource(file, "7.0.15", join(dir, "add-explicit")));
    expect(error.message).toContain("is not redis 7.0.15");
  });
});

describe("a fake release built from a test tarball round-trips through verifyTarball", () => {
  it("published sha256 computed independently matches fileHash", async () => {
    const path = await writeTarGz(await fresh("redis-1.0.0.tar.gz"), entries("redis-1.0.0"));
    const independent = createHash("sha256")
      .update(await readFile(path))
      .digest("hex");
    const result = await verifyTarball(path, {
      version: "1.0.0",
      url,
      published: { algo: "sha256", digest: independent },
      files: "f".repeat(64),
    });
    expect(result.check).toBe("published-sha256");
  });
});
