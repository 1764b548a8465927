import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { basename } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, gzipSync } from "node:zlib";
import { errorText, UserError } from "../core/errors.js";

/**
 * Two ways to trust a tarball. Official tarballs verify by their published hash (sha1 up to 3.2.8,
 * sha256 after). Any other tarball of the same release (a mirror, Debian's .orig.tar.gz, a git archive
 * of the tag) holds the same files but not the same bytes, so it verifies by a digest over its files:
 * sha256 of the sorted lines "<type> <sha256 of content or link target> <path below the top folder>".
 */
export type HashAlgo = "sha1" | "sha256";

export async function fileHash(path: string, algo: HashAlgo): Promise<string> {
  const hash = createHash(algo);
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

export interface TarFile {
  path: string;
  content: Buffer;
}

export interface TarballContents {
  filesDigest: string;
  /** The files `want` asked for, by path below the top folder. */
  files: Map<string, Buffer>;
  topDir: string;
}

/** xz's magic bytes: Debian repacks some orig tarballs as .tar.xz (valkey 8.1.1+dfsg1). */
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);

export async function isXz(path: string): Promise<boolean> {
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(XZ_MAGIC.length);
    await handle.read(head, 0, head.length, 0);
    return head.equals(XZ_MAGIC);
  } finally {
    await handle.close();
  }
}

/** A tarball's uncompressed tar stream: gzip in process, xz through the xz program. */
async function tarStreamOf(path: string): Promise<Readable | [Readable, ...NodeJS.ReadWriteStream[]]> {
  if (!(await isXz(path))) return [createReadStream(path), createGunzip()];
  const { execa } = await import("execa");
  const child = execa("xz", ["-dc", path], { buffer: false });
  child.catch(() => undefined);
  return child.stdout;
}

/** A .tar.xz as .tar.gz bytes (the image build's context always carries gzip). */
export async function gzipOfXz(path: string): Promise<Buffer> {
  const { execa } = await import("execa");
  const tar = await execa("xz", ["-dc", path], { encoding: "buffer", maxBuffer: 1024 ** 3 });
  return gzipSync(Buffer.from(tar.stdout), { level: 1 });
}

/**
 * Walks a .tar.gz (or .tar.xz) once: returns the files digest, and the contents of the files `want`
 * asks for (paths below the top folder), so patches can be checked in the same pass.
 */
export async function readTarball(
  path: string,
  want: (relativePath: string) => boolean = () => false,
): Promise<TarballContents> {
  try {
    return await readTar(await tarStreamOf(path), want);
  } catch (error) {
    // A truncated download, an HTML error page saved as .tar.gz: the user's to fix, in one line.
    throw new UserError(
      `${basename(path)} is not a readable .tar.gz (${errorText(error)}): delete it and provide a genuine tarball`,
    );
  }
}

/** One line of the files digest; shared by tarballs and working trees (targets/git.ts). */
export function digestLine(type: "file" | "symlink", contentSha256: string, relative: string): string {
  return `${type} ${contentSha256} ${relative}`;
}

/** The files digest of digest lines: byte order, not locale order, so it does not depend on the machine. */
export function filesDigestOf(entries: { path: string; line: string }[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return createHash("sha256")
    .update(sorted.map((e) => `${e.line}\n`).join(""))
    .digest("hex");
}

/** readTarball on a tar stream: `input` ends in uncompressed tar (e.g. `git archive`'s output). */
export async function readTar(
  input: Readable | [Readable, ...NodeJS.ReadWriteStream[]],
  want: (relativePath: string) => boolean = () => false,
): Promise<TarballContents> {
  const entries: { path: string; line: string }[] = [];
  const files = new Map<string, Buffer>();
  let topDir = "";
  // Loaded here: a run whose images are built never reads a tarball (targets/build.ts).
  const tarStream = (await import("tar-stream")).default;
  const extract = tarStream.extract();
  extract.on("entry", (header, stream, next) => {
    const [top = "", ...rest] = header.name.replace(/^\.\//, "").split("/");
    const relative = rest.join("/");
    if (!topDir && top) topDir = top;
    const isFile = header.type === "file" || header.type === "contiguous-file";
    if (header.type === "symlink" && relative) {
      const target = createHash("sha256")
        .update(header.linkname ?? "")
        .digest("hex");
      entries.push({ path: relative, line: digestLine("symlink", target, relative) });
    }
    if (!isFile || !relative) {
      stream.on("end", next);
      stream.resume();
      return;
    }
    const hash = createHash("sha256");
    const chunks: Buffer[] = [];
    const keep = want(relative);
    stream.on("data", (data: unknown) => {
      const chunk = data as Buffer;
      hash.update(chunk);
      if (keep) chunks.push(chunk);
    });
    stream.on("end", () => {
      entries.push({ path: relative, line: digestLine("file", hash.digest("hex"), relative) });
      if (keep) files.set(relative, Buffer.concat(chunks));
      next();
    });
  });
  await pipeline([...(Array.isArray(input) ? input : [input]), extract as unknown as NodeJS.WritableStream]);
  return { filesDigest: filesDigestOf(entries), files, topDir };
}
