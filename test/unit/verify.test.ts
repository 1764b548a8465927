import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../harness/core/errors.js";
import { fileHash, readTarball } from "../../harness/targets/verify.js";
import { type TarEntry, writeTarGz } from "../helpers/tarball.js";

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

const aof = "int rewriteAppendOnlyFileBackground(void) {\n    return C_OK;\n}\n";
const makefile = "all:\n\tcd src && $(MAKE) $@\n";
const readme = "This is the README of Redis.\n";

/** A small release-like tree: top folder, nested dirs, files, a symlink. */
function tree(top: string, overrides: Partial<Record<"aof" | "makefile" | "readme" | "link", string>> = {}) {
  return [
    { name: `${top}/` },
    { name: `${top}/Makefile`, content: overrides.makefile ?? makefile },
    { name: `${top}/README.md`, content: overrides.readme ?? readme },
    { name: `${top}/src/` },
    { name: `${top}/src/aof.c`, content: overrides.aof ?? aof },
    { name: `${top}/src/aof-link.c`, type: "symlink", linkname: overrides.link ?? "aof.c" },
  ] satisfies TarEntry[];
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "redis-repro-verify-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
const tarball = (entries: TarEntry[], level?: number) =>
  writeTarGz(join(dir, `t${counter++}.tar.gz`), entries, level);

describe("readTarball files digest", () => {
  it("is the sha256 of the sorted '<type> <sha256> <path>' lines below the top folder", async () => {
    const { filesDigest, topDir } = await readTarball(await tarball(tree("redis-3.2.8")));
    const lines = [
      `file ${sha256(makefile)} Makefile`,
      `file ${sha256(readme)} README.md`,
      `symlink ${sha256("aof.c")} src/aof-link.c`,
      `file ${sha256(aof)} src/aof.c`,
    ];
    // Byte order: "src/aof-link.c" < "src/aof.c" because "-" (0x2d) < "." (0x2e).
    expect(filesDigest).toBe(sha256(lines.map((l) => `${l}\n`).join("")));
    expect(topDir).toBe("redis-3.2.8");
  });

  it("does not depend on entry order, mtimes, modes, directory entries or gzip level", async () => {
    const a = await tarball(tree("redis-3.2.8"), 1);
    const shuffled = tree("redis-3.2.8")
      .filter((e) => e.content !== undefined || "linkname" in e)
      .reverse()
      .map((e) => ({ ...e, mtime: new Date("2026-01-01T12:34:56Z"), mode: "linkname" in e ? 0o777 : 0o600 }));
    const b = await tarball(shuffled, 9);
    const [da, db] = await Promise.all([readTarball(a), readTarball(b)]);
    expect(da.filesDigest).toBe(db.filesDigest);
    // The archives themselves differ: only the files digest can match them.
    expect(await fileHash(a, "sha256")).not.toBe(await fileHash(b, "sha256"));
  });

  it("does not include the top folder's name", async () => {
    const upstream = await readTarball(await tarball(tree("redis-3.2.8")));
    const debian = await readTarball(await tarball(tree("redis-3.2.8.orig")));
    const dotted = await readTarball(await tarball(tree("./redis-3.2.8")));
    expect(debian.filesDigest).toBe(upstream.filesDigest);
    expect(dotted.filesDigest).toBe(upstream.filesDigest);
    expect(debian.topDir).toBe("redis-3.2.8.orig");
    expect(dotted.topDir).toBe("redis-3.2.8");
  });

  it("changes when one file's content changes, even by one byte", async () => {
    const base = await readTarball(await tarball(tree("redis-3.2.8")));
    const changed = await readTarball(
      await tarball(tree("redis-3.2.8", { aof: aof.replace("C_OK", "C_ERR") })),
    );
    const changedTrailing = await readTarball(await tarball(tree("redis-3.2.8", { readme: `${readme} ` })));
    expect(changed.filesDigest).not.toBe(base.filesDigest);
    expect(changedTrailing.filesDigest).not.toBe(base.filesDigest);
  });

  it("changes when a symlink target, a file name, or the file set changes", async () => {
    const base = (await readTarball(await tarball(tree("redis-3.2.8")))).filesDigest;
    const relinked = (await readTarball(await tarball(tree("redis-3.2.8", { link: "rdb.c" })))).filesDigest;
    const renamed = (
      await readTarball(
        await tarball(
          tree("redis-3.2.8").map((e) =>
            e.name.endsWith("README.md") ? { ...e, name: "redis-3.2.8/README" } : e,
          ),
        ),
      )
    ).filesDigest;
    const extra = (
      await readTarball(
        await tarball([...tree("redis-3.2.8"), { name: "redis-3.2.8/extra.txt", content: "" }]),
      )
    ).filesDigest;
    expect(new Set([base, relinked, renamed, extra]).size).toBe(4);
  });

  it("returns the contents of the files asked for, by path below the top folder", async () => {
    const asked: string[] = [];
    const { files } = await readTarball(await tarball(tree("redis-3.2.8")), (p) => {
      asked.push(p);
      return p === "src/aof.c";
    });
    expect([...files.keys()]).toEqual(["src/aof.c"]);
    expect(files.get("src/aof.c")?.toString("utf8")).toBe(aof);
    expect(asked.sort()).toEqual(["Makefile", "README.md", "src/aof.c"]);
  });

  it("refuses a file that is not a gzip tarball with a UserError naming it", async () => {
    const garbage = join(dir, "redis-garbage.tar.gz");
    await writeFile(garbage, "this is not gzip at all");
    await expect(readTarball(garbage)).rejects.toThrow(UserError);
    await expect(readTarball(garbage)).rejects.toThrow(/redis-garbage\.tar\.gz/);

    const notTar = join(dir, "redis-nottar.tar.gz");
    await writeFile(notTar, gzipSync(Buffer.alloc(2048, 7)));
    await expect(readTarball(notTar)).rejects.toThrow(/redis-nottar\.tar\.gz/);

    // A download cut short: valid gzip header, missing end.
    const whole = await readFile(await tarball(tree("redis-3.2.8")));
    const truncated = join(dir, "redis-truncated.tar.gz");
    await writeFile(truncated, whole.subarray(0, whole.length - 16));
    await expect(readTarball(truncated)).rejects.toThrow(
      /^redis-truncated\.tar\.gz is not a readable \.tar\.gz/,
    );
  });
});

describe("fileHash", () => {
  it("hashes a file's bytes with sha1 and sha256", async () => {
    const path = join(dir, "plain.txt");
    await writeFile(path, "abc");
    expect(await fileHash(path, "sha1")).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(await fileHash(path, "sha256")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});
