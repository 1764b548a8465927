import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { z } from "zod";
import { errorText, UserError } from "../core/errors.js";
import { buildLogsDir, dockerDir } from "../core/paths.js";
import { progress } from "../core/progress.js";
import { buildImage, localImage, localImageId, tryPull } from "../engine/images.js";
import {
  LABEL_COMMIT,
  LABEL_CONTENT,
  LABEL_KIND,
  LABEL_PATCHES,
  LABEL_SERVER,
  LABEL_SOURCE_CHECK,
  LABEL_TARGET,
  LABEL_VERSION,
} from "../engine/labels.js";
import { type BaseMode, type ResolvedBase, resolveBases } from "./bases.js";
import { DebianProvenance, resolveDebianSource } from "./debian.js";
import {
  archiveCommit,
  commitFiles,
  gitDirSetting,
  readWorkTree,
  resolveCommit,
  resolveGitDir,
  serverFromHeader,
  versionFromHeader,
} from "./git.js";
import { checkPatches, loadPatches, type Patch, strippedPath } from "./patches.js";
import { requireRelease } from "./releases.js";
import { Server } from "./server.js";
import { resolveSource, VerifiedSource } from "./sources.js";
import { formatTarget, type TargetSpec } from "./spec.js";
import { gzipOfXz, isXz, readTarball } from "./verify.js";

// Redis's Makefile colours its "CC file.o" lines.
const ansiColour = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

export const IMAGE_REPO = "redis-repro/redis";

/** What a run needs to know about the image behind a target. */
export const TargetImage = z.object({
  target: z.string(),
  image: z.string(),
  imageId: z.string(),
  /** Ours (built from verified sources) or the user's, used as is. */
  origin: z.enum(["built", "cached", "brought"]),
  /** The server it runs (absent: redis). */
  server: Server.optional(),
  version: z.string().optional(),
  patches: z.array(z.string()),
  source: VerifiedSource.optional(),
  sourceCheck: z.string().optional(),
  /** git: targets: the full commit id built. */
  commit: z.string().optional(),
  /** dir: targets: the files digest of the tree as it was built. */
  filesDigest: z.string().optional(),
  /** deb: targets: how the orig tarball was found and verified through the archive's indexes. */
  debian: DebianProvenance.optional(),
  buildSeconds: z.number().optional(),
});
export type TargetImage = z.infer<typeof TargetImage>;

export interface ContentInput {
  version: string;
  filesDigest: string;
  patches: { name: string; text: string }[];
  dockerfile: string;
  /** Other files the Dockerfile copies from the context (the syscall probe's source). */
  extraFiles?: { name: string; text: string }[];
  builderId: string;
  runtimeId: string;
}

/** Tags come from content: the same release, patches, Dockerfile and bases give the same tag. */
export function contentHash(input: ContentInput): string {
  const hash = createHash("sha256");
  hash.update(`redis-repro image v1\nversion ${input.version}\nfiles ${input.filesDigest}\n`);
  for (const p of input.patches) {
    hash.update(`patch ${p.name} ${createHash("sha256").update(p.text).digest("hex")}\n`);
  }
  hash.update(`dockerfile ${createHash("sha256").update(input.dockerfile).digest("hex")}\n`);
  for (const f of input.extraFiles ?? [])
    hash.update(`file ${f.name} ${createHash("sha256").update(f.text).digest("hex")}\n`);
  hash.update(`bases ${input.builderId} ${input.runtimeId}\n`);
  return hash.digest("hex");
}

export function imageTag(version: string, patches: string[], content: string): string {
  return `${IMAGE_REPO}:${[version, ...patches].join("-")}-${content.slice(0, 12)}`;
}

/** Files under docker/ that the Dockerfile copies besides sources and patches: part of the content tag. */
const EXTRA_FILES = ["probes/syscall-probe.c"];

async function extraFiles(): Promise<{ name: string; text: string }[]> {
  return Promise.all(
    EXTRA_FILES.map(async (name) => ({ name, text: await readFile(join(dockerDir, name), "utf8") })),
  );
}

/** The sources a build compiles: a .tar.gz with one top folder, as a file or in memory. */
interface BuildSource {
  /** For progress lines: where it comes from and why it is trusted. */
  describe: string;
  /** A file, or bytes made on demand (a cache hit never runs `git archive`). */
  tarball: { file: string } | { data: () => Promise<Buffer> };
  version: string | undefined;
  check: string;
  commit?: string;
  server: Server;
}

async function buildContext(
  source: BuildSource,
  patches: Patch[],
  dockerfile: string,
  extras: { name: string; text: string }[],
) {
  // Loaded here, with the first build: a run of built images never makes a context.
  const tarStream = (await import("tar-stream")).default;
  const pack = tarStream.pack();
  const add = (name: string, content: string | Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name }, content, (e) => (e ? reject(e) : resolve())));
  await add("Dockerfile", dockerfile);
  for (const f of extras) await add(f.name, f.text);
  await add("patches/.keep", "");
  for (const [i, p] of patches.entries())
    await add(`patches/${String(i + 1).padStart(2, "0")}-${p.name}.patch`, p.text);
  // The last entry is not awaited: it completes only once the engine reads the context.
  const finish = (e?: Error | null) => {
    if (e) pack.destroy(e);
    else pack.finalize();
  };
  if ("data" in source.tarball) {
    pack.entry({ name: "redis.tar.gz" }, await source.tarball.data(), finish);
  } else {
    const size = (await stat(source.tarball.file)).size;
    const entry = pack.entry({ name: "redis.tar.gz", size }, finish);
    createReadStream(source.tarball.file).pipe(entry);
  }
  // tar-stream's Pack is a streamx Readable, which the engine API reads like a Node one.
  return pack as unknown as Readable;
}

export interface EnsureOptions {
  bases: BaseMode;
  /** Build even when the tag exists (a broken cache, a suspicious result). */
  rebuild?: boolean;
  /** With rebuild: skip the engine's layer cache too, so the build is as cold as a first one. */
  noCache?: boolean;
  /** Compile with the ccache of earlier builds (default; REDIS_REPRO_CCACHE=0 turns it off). */
  ccache?: boolean;
  /** The clone git: targets come from (default: REDIS_REPRO_GIT, which --git-dir sets). */
  gitDir?: string;
}

/**
 * Makes sure the image behind a target exists: a cache hit is an inspect; a miss resolves and verifies
 * the source, checks the patches in memory, then builds. Nothing is tagged unless every step passed.
 */
export async function ensureImage(spec: TargetSpec, options: EnsureOptions): Promise<TargetImage> {
  const target = formatTarget(spec);
  if (spec.kind === "image") return ensureBroughtImage(spec.image, target);
  if (spec.kind === "git" || spec.kind === "dir") return ensureTreeImage(spec, options);
  if (spec.kind === "deb") return ensureDebImage(spec, options);

  const release = requireRelease(spec.version);
  const patches = await loadPatches(spec.patches);
  const wanted = new Set(patches.flatMap((p) => p.files.map(strippedPath)));
  const { source, files } = await resolveSource(spec.version, undefined, (path) => wanted.has(path));
  checkPatches(release.version, patches, files);
  const names = patches.map((p) => p.name);
  const built = await buildOrFind(
    {
      // The table's digest where known, so tags stay what they were; else the verified tarball's own.
      content: { version: release.version, filesDigest: release.files ?? source.filesDigest },
      tagName: release.version,
      target: formatTarget({ kind: "release", version: release.version, patches: names }),
      patches,
    },
    {
      describe: `${source.file} (${source.check})`,
      tarball: { file: source.file },
      version: source.version,
      check: source.check,
      server: "redis",
    },
    options,
  );
  return { ...built, server: "redis", version: release.version, source, sourceCheck: source.check };
}

/**
 * deb:PACKAGE/VERSION: Debian's orig tarball of that upstream release, found and verified through the
 * archive's signed indexes (targets/debian.ts), built like a release, without Debian's patches.
 */
async function ensureDebImage(
  spec: Extract<TargetSpec, { kind: "deb" }>,
  options: EnsureOptions,
): Promise<TargetImage> {
  const patches = await loadPatches(spec.patches);
  const names = patches.map((p) => p.name);
  const { file, provenance } = await resolveDebianSource(spec.package, spec.version, spec.suite);
  const wanted = new Set(["src/version.h", ...patches.flatMap((p) => p.files.map(strippedPath))]);
  const read = await readTarball(file, (path) => wanted.has(path));
  const header = read.files.get("src/version.h")?.toString("utf8") ?? "";
  const server = serverFromHeader(header);
  if (server !== spec.package || versionFromHeader(header) !== spec.version)
    throw new UserError(
      `${provenance.file} (Debian's ${spec.package} ${provenance.debianVersion}) calls itself ${server} ${versionFromHeader(header) ?? "?"} in src/version.h, not ${spec.package} ${spec.version}: name the version it holds`,
    );
  const title = `${spec.package} ${spec.version} (Debian ${provenance.debianVersion})`;
  checkPatches(spec.version, patches, read.files, title, server);
  const check = "debian-archive";
  const xz = await isXz(file);
  const built = await buildOrFind(
    {
      content: { version: `deb ${spec.package} ${spec.version}`, filesDigest: read.filesDigest },
      tagName: `deb-${spec.package}-${spec.version}`,
      target: formatTarget({ ...spec, patches: names }),
      patches,
    },
    {
      describe: `${file} (${provenance.debianVersion} from ${provenance.suite}, sha256 checked against its signed index)`,
      tarball: xz ? { data: once(() => gzipOfXz(file)) } : { file },
      version: spec.version,
      check,
      server,
    },
    options,
  );
  return {
    ...built,
    server,
    version: spec.version,
    sourceCheck: check,
    filesDigest: read.filesDigest,
    debian: provenance,
  };
}

/** git:REF (a commit of a clone, by `git archive`) and dir:PATH (a working tree as it is). */
async function ensureTreeImage(
  spec: Extract<TargetSpec, { kind: "git" | "dir" }>,
  options: EnsureOptions,
): Promise<TargetImage> {
  const patches = await loadPatches(spec.patches);
  const names = patches.map((p) => p.name);
  const wanted = [...new Set(["src/version.h", ...patches.flatMap((p) => p.files.map(strippedPath))])];
  if (spec.kind === "git") {
    const gitDir = await resolveGitDir(options.gitDir ?? gitDirSetting());
    const commit = await resolveCommit(gitDir, spec.ref);
    const files = await commitFiles(gitDir, commit.id, wanted);
    const header = files.get("src/version.h")?.toString("utf8") ?? "";
    const version = versionFromHeader(header);
    const server = serverFromHeader(header);
    const short = commit.id.slice(0, 9);
    checkPatches(version, patches, files, `git:${short}${version ? ` (${version})` : ""}`, server);
    const target = formatTarget({ kind: "git", ref: commit.id, patches: names });
    const built = await buildOrFind(
      {
        content: { version: `git ${commit.id}`, filesDigest: commit.id },
        tagName: `git-${commit.id}`,
        target,
        patches,
      },
      {
        describe: `git archive ${commit.id} of ${gitDir}`,
        tarball: { data: once(() => archiveCommit(gitDir, commit.id)) },
        version,
        check: "git-commit",
        commit: commit.id,
        server,
      },
      options,
    );
    return { ...built, server, version, commit: commit.id, sourceCheck: "git-commit" };
  }
  const tree = await readWorkTree(spec.path);
  checkPatches(
    tree.version,
    patches,
    tree.files,
    `dir:${spec.path}${tree.version ? ` (${tree.version})` : ""}`,
    tree.server,
  );
  const target = formatTarget({ kind: "dir", path: tree.root, patches: names });
  const built = await buildOrFind(
    {
      content: { version: "dir", filesDigest: tree.filesDigest },
      tagName: `dir-${tree.filesDigest.slice(0, 12)}`,
      target,
      patches,
    },
    {
      describe: `${tree.root} as it is (files digest ${tree.filesDigest.slice(0, 12)})`,
      tarball: { data: async () => tree.tarball },
      version: tree.version,
      check: "dir-files",
      server: tree.server,
    },
    options,
  );
  return {
    ...built,
    server: tree.server,
    version: tree.version,
    filesDigest: tree.filesDigest,
    sourceCheck: "dir-files",
  };
}

/** The build and the ccache tagging that follows it read the same bytes: make them once. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

/** The content tag of a target; a hit is an inspect, a miss a build. */
/** The content tag an image of `what` has (or would have): from content alone, nothing is read from the engine but the bases' ids. */
async function contentTag(
  what: { content: Pick<ContentInput, "version" | "filesDigest">; tagName: string; patches: Patch[] },
  options: Pick<EnsureOptions, "bases">,
) {
  const dockerfile = await readFile(join(dockerDir, "Dockerfile"), "utf8");
  const extras = await extraFiles();
  const bases = await resolveBases(options.bases);
  const content = contentHash({
    ...what.content,
    patches: what.patches,
    dockerfile,
    extraFiles: extras,
    builderId: bases.builder.id,
    runtimeId: bases.runtime.id,
  });
  const tag = imageTag(
    what.tagName,
    what.patches.map((p) => p.name),
    content,
  );
  return { tag, dockerfile, bases };
}

/**
 * A release's image when it is already built, found without its tarball: the release table knows
 * the files digest the tag is made from, and the tarball was verified against it when the image was
 * built (its label says how). Undefined when it must be built (or the table lacks the digest).
 */
async function cachedReleaseImage(
  spec: Extract<TargetSpec, { kind: "release" }>,
  options: EnsureOptions,
): Promise<TargetImage | undefined> {
  const release = requireRelease(spec.version);
  if (options.rebuild || !release.files) return undefined;
  const patches = await loadPatches(spec.patches);
  const { tag } = await contentTag(
    { content: { version: release.version, filesDigest: release.files }, tagName: release.version, patches },
    options,
  );
  const found = await localImage(tag);
  if (!found) return undefined;
  const names = patches.map((p) => p.name);
  return {
    target: formatTarget({ kind: "release", version: release.version, patches: names }),
    image: tag,
    imageId: found.id,
    origin: "cached",
    patches: names,
    version: release.version,
    ...(found.labels[LABEL_SOURCE_CHECK] ? { sourceCheck: found.labels[LABEL_SOURCE_CHECK] } : {}),
  };
}

/**
 * The images behind several targets (a run's): those already built are found at once, side by side;
 * the others are made one at a time, in order (a build already uses every core).
 */
export async function ensureImages(specs: TargetSpec[], options: EnsureOptions): Promise<TargetImage[]> {
  const found = await Promise.all(
    specs.map((spec) => (spec.kind === "release" ? cachedReleaseImage(spec, options) : undefined)),
  );
  const images: TargetImage[] = [];
  for (const [i, spec] of specs.entries()) images.push(found[i] ?? (await ensureImage(spec, options)));
  return images;
}

async function buildOrFind(
  what: {
    content: Pick<ContentInput, "version" | "filesDigest">;
    tagName: string;
    target: string;
    patches: Patch[];
  },
  source: BuildSource,
  options: EnsureOptions,
): Promise<Omit<TargetImage, "version" | "source" | "sourceCheck">> {
  const { tag, dockerfile, bases } = await contentTag(what, options);
  const names = what.patches.map((p) => p.name);
  const base = { target: what.target, image: tag, patches: names };
  const existing = options.rebuild ? undefined : await localImageId(tag);
  if (existing) return { ...base, imageId: existing, origin: "cached" };
  const started = Date.now();
  await runBuild(what.target, tag, source, what.patches, dockerfile, bases, options);
  const imageId = await localImageId(tag);
  if (!imageId) throw new Error(`build of ${tag} reported success but left no image`);
  return { ...base, imageId, origin: "built", buildSeconds: (Date.now() - started) / 1000 };
}

/**
 * Where the compiler cache lives between builds: the classic builder (all this engine's API offers
 * without a BuildKit session) has no cache mounts, so the "build" stage of the last build is tagged
 * and the next build copies its /ccache. One per builder base: another compiler, another cache.
 */
export function ccacheTag(builderId: string): string {
  return `redis-repro/ccache:${builderId.replace(/^sha256:/, "").slice(0, 12)}`;
}

function ccacheWanted(options: EnsureOptions, env: NodeJS.ProcessEnv = process.env): boolean {
  return options.ccache ?? env.REDIS_REPRO_CCACHE !== "0";
}

async function runBuild(
  target: string,
  tag: string,
  source: BuildSource,
  patches: Patch[],
  dockerfile: string,
  bases: Record<"builder" | "runtime", ResolvedBase>,
  options: EnsureOptions,
): Promise<void> {
  const logDir = buildLogsDir();
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${tag.replace(/[/:]/g, "_")}.log`);
  const lines: string[] = [];
  let compiled = 0;
  let lastReport = Date.now();
  const useCcache = ccacheWanted(options);
  const cacheTag = ccacheTag(bases.builder.id);
  const cacheFrom = useCcache && (await localImageId(cacheTag)) ? cacheTag : bases.builder.ref;
  progress(
    `[build ${target}] ${tag} from ${source.describe} on ${bases.builder.ref} → ${bases.runtime.ref}${useCcache ? ` (ccache from ${cacheFrom === cacheTag ? cacheTag : "empty"})` : ""}`,
  );
  const request = {
    buildargs: {
      BUILDER_IMAGE: bases.builder.ref,
      RUNTIME_IMAGE: bases.runtime.ref,
      CCACHE_IMAGE: cacheFrom,
    },
    labels: {
      [LABEL_KIND]: "redis",
      [LABEL_TARGET]: target,
      [LABEL_VERSION]: source.version ?? "",
      [LABEL_PATCHES]: patches.map((p) => p.name).join(","),
      [LABEL_SOURCE_CHECK]: source.check,
      [LABEL_SERVER]: source.server,
      [LABEL_CONTENT]: tag.slice(tag.lastIndexOf("-") + 1),
      ...(source.commit ? { [LABEL_COMMIT]: source.commit } : {}),
    },
  };
  try {
    await buildImage({
      ...request,
      context: await buildContext(source, patches, dockerfile, await extraFiles()),
      tag,
      noCache: options.noCache === true,
      onLine: (line) => {
        lines.push(line);
        if (/^Step \d+\/\d+ :/.test(line) || /^applying /.test(line) || /^ccache /.test(line))
          progress(`[build ${target}] ${line}`);
        if (/\bCC\b|\bLINK\b/.test(line.replace(ansiColour, " "))) compiled++;
        if (Date.now() - lastReport > 5_000) {
          lastReport = Date.now();
          progress(`[build ${target}] … ${compiled} files compiled`);
        }
      },
    });
    await writeFile(logFile, `${lines.join("\n")}\n`);
  } catch (error) {
    await writeFile(logFile, `${lines.join("\n")}\nERROR: ${errorText(error)}\n`);
    const tail = lines
      .slice(-15)
      .map((l) => `    ${l}`)
      .join("\n");
    process.stderr.write(`[build ${target}] failed; last lines of ${logFile}:\n${tail}\n`);
    throw new UserError(
      `image build for ${target} failed (${errorText(error).split("\n")[0]}): full log in ${logFile}`,
      "environment",
    );
  }
  if (useCcache) await keepCcache(source, patches, dockerfile, request, cacheTag);
}

/**
 * Tags this build's "build" stage as the next build's ccache: the same context up to that stage, so
 * every step is a layer-cache hit and this takes a second. A failure only costs the next build time.
 */
async function keepCcache(
  source: BuildSource,
  patches: Patch[],
  dockerfile: string,
  request: { buildargs: Record<string, string>; labels: Record<string, string> },
  cacheTag: string,
): Promise<void> {
  await buildImage({
    buildargs: request.buildargs,
    labels: { [LABEL_KIND]: "ccache" },
    context: await buildContext(source, patches, dockerfile, await extraFiles()),
    tag: cacheTag,
    target: "build",
    onLine: () => undefined,
  }).catch((error: unknown) => progress(`[build] could not keep the compiler cache: ${errorText(error)}`));
}

/** A user's image is used as is; it must be present or pullable. Its Redis version is read by running it. */
async function ensureBroughtImage(image: string, target: string): Promise<TargetImage> {
  let found = await localImage(image);
  if (!found) {
    progress(`[images] pulling ${image}`);
    const pulled = await tryPull(image);
    found = await localImage(image);
    if (!found) {
      throw new UserError(
        `image ${image} is not here and cannot be pulled (${pulled.ok ? "no image after pull" : pulled.reason}): pull or build it first`,
        "environment",
      );
    }
  }
  const { id, labels } = found;
  // Ours say which server they hold; another image is Valkey when its name says so.
  const server = Server.safeParse(labels[LABEL_SERVER]).data ?? (/valkey/i.test(image) ? "valkey" : "redis");
  return {
    target,
    image,
    imageId: id,
    origin: "brought",
    server,
    version: labels[LABEL_VERSION],
    patches: labels[LABEL_PATCHES] ? (labels[LABEL_PATCHES] ?? "").split(",") : [],
    sourceCheck: labels[LABEL_SOURCE_CHECK],
  };
}
