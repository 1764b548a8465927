import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { gzipSync } from "node:zlib";
import type { execa as Execa } from "execa";
import { errorText, UserError } from "../core/errors.js";
import type { Server } from "./server.js";
import { digestLine, filesDigestOf } from "./verify.js";

/**
 * execa and tar-stream load with the first git: target, not with every run (a release's run never
 * calls git). Every call here is awaited, so the promise stands in for execa's result.
 */
const execa = ((...args: unknown[]) =>
  import("execa").then((m) => (m.execa as (...a: unknown[]) => unknown)(...args))) as unknown as typeof Execa;

/**
 * Sources that are not releases: a commit of a local clone (`git:REF`, built from `git archive` of the
 * resolved commit) and a working tree as it is (`dir:PATH`, uncommitted changes included, known by
 * the digest of its files). Both hand the build a .tar.gz with one top folder, like a release tarball.
 */

/** The clone named by --git-dir (the CLI puts it in REDIS_REPRO_GIT) or REDIS_REPRO_GIT. */
export function gitDirSetting(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.REDIS_REPRO_GIT || undefined;
}

export async function git(gitDir: string, args: string[]): Promise<string> {
  const result = await execa("git", ["--git-dir", gitDir, ...args], {
    reject: false,
    stripFinalNewline: true,
  });
  if (result.exitCode !== 0) {
    const first = String(result.stderr).trim().split("\n")[0] ?? "";
    throw new Error(`git ${args[0]} failed: ${first}`);
  }
  return String(result.stdout);
}

/** The git directory of DIR, which may be a bare clone or a working tree (or inside one). */
export async function resolveGitDir(dir: string | undefined): Promise<string> {
  if (!dir)
    throw new UserError(
      "git: targets need a local clone of Redis: pass --git-dir DIR or set REDIS_REPRO_GIT (a bare clone works too)",
    );
  const result = await execa("git", ["-C", resolve(dir), "rev-parse", "--absolute-git-dir"], {
    reject: false,
  });
  if (result.exitCode !== 0)
    throw new UserError(
      `${dir} is not a git repository (${String(result.stderr).trim().split("\n")[0]}): give --git-dir the path of a Redis clone`,
    );
  return String(result.stdout).trim();
}

export interface Commit {
  id: string;
  subject: string;
}

/** A ref (tag, branch, commit id, HEAD~2…) to its full commit id; an unknown ref is the user's error. */
export async function resolveCommit(gitDir: string, ref: string): Promise<Commit> {
  // The parser refuses refs starting with "-"; --end-of-options makes sure git never reads one as an option.
  const out = await git(gitDir, [
    "log",
    "-1",
    "--format=%H%x00%s",
    "--end-of-options",
    `${ref}^{commit}`,
    "--",
  ]).catch((error: unknown) => {
    throw new UserError(
      `${ref} is not a commit in ${gitDir} (${errorText(error)}): give a tag, branch or commit id of that clone`,
    );
  });
  const [id = "", subject = ""] = out.split("\0");
  return { id, subject };
}

/**
 * Commits after `from` up to and including `to`, oldest first: what a bisection between them walks.
 * First-parent by default, so merged branches count as their merge commit, as `git bisect
 * --first-parent` does.
 */
export async function commitsBetween(
  gitDir: string,
  from: string,
  to: string,
  firstParent = true,
): Promise<Commit[]> {
  const args = [
    "log",
    "--reverse",
    "--topo-order",
    "--format=%H%x00%s",
    ...(firstParent ? ["--first-parent"] : []),
  ];
  const out = await git(gitDir, [...args, "--end-of-options", `${from}..${to}`, "--"]);
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [id = "", subject = ""] = line.split("\0");
      return { id, subject };
    });
}

/** Is `ancestor` an ancestor of `descendant`? */
export async function isAncestor(gitDir: string, ancestor: string, descendant: string): Promise<boolean> {
  const result = await execa(
    "git",
    ["--git-dir", gitDir, "merge-base", "--is-ancestor", ancestor, descendant],
    {
      reject: false,
    },
  );
  return result.exitCode === 0;
}

/** `git archive` of a commit as .tar.gz with one top folder, in memory (a Redis tree is a few MB). */
export async function archiveCommit(gitDir: string, commit: string): Promise<Buffer> {
  const result = await execa(
    "git",
    ["--git-dir", gitDir, "archive", "--format=tar.gz", "--prefix=redis/", "--end-of-options", commit],
    { encoding: "buffer", reject: false },
  );
  if (result.exitCode !== 0)
    throw new UserError(`git archive of ${commit} failed (${Buffer.from(result.stderr).toString().trim()})`);
  return Buffer.from(result.stdout);
}

/** Files of a commit, by path, for checking patches in memory; a path the commit lacks is left out. */
export async function commitFiles(
  gitDir: string,
  commit: string,
  paths: string[],
): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const path of paths) {
    const result = await execa("git", ["--git-dir", gitDir, "show", `${commit}:${path}`], {
      encoding: "buffer",
      reject: false,
    });
    if (result.exitCode === 0) files.set(path, Buffer.from(result.stdout));
  }
  return files;
}

/**
 * The version a tree calls itself, from src/version.h (`#define REDIS_VERSION "3.2.8"`). Valkey's
 * header has both VALKEY_VERSION (its own) and REDIS_VERSION (7.2.4, for compatibility): its own wins.
 */
export function versionFromHeader(text: string): string | undefined {
  return (
    /^#define\s+VALKEY_VERSION\s+"([^"]+)"/m.exec(text)?.[1] ??
    /^#define\s+REDIS_VERSION\s+"([^"]+)"/m.exec(text)?.[1]
  );
}

/** Which server a tree is, from src/version.h: Valkey's defines VALKEY_VERSION. */
export function serverFromHeader(text: string): Server {
  return /^#define\s+VALKEY_VERSION\s/m.test(text) ? "valkey" : "redis";
}

interface TreeEntry {
  path: string;
  type: "file" | "symlink";
  mode: number;
  content: Buffer;
  linkname?: string;
}

/**
 * The files of a working tree as they are on disk. Inside a git work tree: tracked files (with their
 * uncommitted changes) and untracked files that are not ignored, so build output (*.o, ignored by
 * Redis's .gitignore) stays out; elsewhere every file but .git.
 */
async function treeEntries(root: string): Promise<TreeEntry[]> {
  const listed = await execa(
    "git",
    ["-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    {
      reject: false,
    },
  );
  // ls-files lists paths relative to root, also when root is a folder inside a larger work tree.
  const paths =
    listed.exitCode === 0
      ? [...new Set(String(listed.stdout).split("\0").filter(Boolean))]
      : await walk(root, root);
  const entries: TreeEntry[] = [];
  for (const path of paths) {
    const full = join(root, path);
    const info = await lstat(full).catch(() => undefined);
    if (!info) continue; // deleted in the work tree: as it is means without it
    if (info.isSymbolicLink()) {
      const linkname = await readlink(full);
      entries.push({ path, type: "symlink", mode: 0o777, content: Buffer.alloc(0), linkname });
    } else if (info.isFile()) {
      entries.push({ path, type: "file", mode: info.mode & 0o777, content: await readFile(full) });
    }
  }
  return entries;
}

async function walk(root: string, dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === ".git") continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await walk(root, full)));
    else found.push(relative(root, full).split(sep).join("/"));
  }
  return found;
}

export interface WorkTree {
  root: string;
  /** The files digest (verify.ts), the same function a release tarball's files are known by. */
  filesDigest: string;
  tarball: Buffer;
  files: Map<string, Buffer>;
  version: string | undefined;
  server: Server;
}

/** Reads a working tree as it is and packs it as .tar.gz with one top folder. */
export async function readWorkTree(path: string): Promise<WorkTree> {
  const root = resolve(path);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory())
    throw new UserError(`dir:${path} is not a directory: give the path of a Redis source tree`);
  const entries = (await treeEntries(root)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (!entries.some((e) => e.path === "src/server.c" || e.path === "src/redis.c"))
    throw new UserError(
      `dir:${path} holds no src/server.c or src/redis.c: give the top folder of a Redis source tree`,
    );
  const sha = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
  const filesDigest = filesDigestOf(
    entries.map((e) => ({
      path: e.path,
      line: digestLine(e.type, sha(e.type === "symlink" ? (e.linkname ?? "") : e.content), e.path),
    })),
  );
  const tarStream = (await import("tar-stream")).default;
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on("data", (chunk: unknown) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((done, fail) => {
    pack.on("end", () => done());
    pack.on("error", fail);
  });
  for (const e of entries) {
    const header = { name: `redis/${e.path}`, mode: e.mode, mtime: new Date(0) };
    await new Promise<void>((done, fail) => {
      const callback = (error?: Error | null) => (error ? fail(error) : done());
      if (e.type === "symlink") pack.entry({ ...header, type: "symlink", linkname: e.linkname }, callback);
      else pack.entry(header, e.content, callback);
    });
  }
  pack.finalize();
  await ended;
  const files = new Map(entries.filter((e) => e.type === "file").map((e) => [e.path, e.content]));
  const header = files.get("src/version.h");
  return {
    root,
    filesDigest,
    tarball: gzipSync(Buffer.concat(chunks), { level: 1 }),
    files,
    version: header ? versionFromHeader(header.toString("utf8")) : undefined,
    server: serverFromHeader(header?.toString("utf8") ?? ""),
  };
}
