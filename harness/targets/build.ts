import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import tarStream from "tar-stream";
import { z } from "zod";
import { buildImage, localImage, localImageId, tryPull } from "../engine/images.js";
import {
  LABEL_CONTENT,
  LABEL_KIND,
  LABEL_PATCHES,
  LABEL_SOURCE_CHECK,
  LABEL_TARGET,
  LABEL_VERSION,
} from "../engine/labels.js";
import { errorText, UserError } from "../errors.js";
import { buildLogsDir, dockerDir } from "../paths.js";
import { progress } from "../progress.js";
import { type BaseMode, type ResolvedBase, resolveBases } from "./bases.js";
import { checkPatches, loadPatches, type Patch, strippedPath } from "./patches.js";
import { requireRelease } from "./releases.js";
import { resolveSource, VerifiedSource } from "./sources.js";
import { formatTarget, type TargetSpec } from "./spec.js";

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
  version: z.string().optional(),
  patches: z.array(z.string()),
  source: VerifiedSource.optional(),
  sourceCheck: z.string().optional(),
  buildSeconds: z.number().optional(),
});
export type TargetImage = z.infer<typeof TargetImage>;

export interface ContentInput {
  version: string;
  filesDigest: string;
  patches: { name: string; text: string }[];
  dockerfile: string;
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
  hash.update(`bases ${input.builderId} ${input.runtimeId}\n`);
  return hash.digest("hex");
}

export function imageTag(version: string, patches: string[], content: string): string {
  return `${IMAGE_REPO}:${[version, ...patches].join("-")}-${content.slice(0, 12)}`;
}

async function buildContext(source: VerifiedSource, patches: Patch[], dockerfile: string) {
  const pack = tarStream.pack();
  const add = (name: string, content: string | Buffer) =>
    new Promise<void>((resolve, reject) => pack.entry({ name }, content, (e) => (e ? reject(e) : resolve())));
  await add("Dockerfile", dockerfile);
  await add("patches/.keep", "");
  for (const [i, p] of patches.entries())
    await add(`patches/${String(i + 1).padStart(2, "0")}-${p.name}.patch`, p.text);
  const size = (await stat(source.file)).size;
  const entry = pack.entry({ name: "redis.tar.gz", size }, (e) => {
    if (e) pack.destroy(e);
    else pack.finalize();
  });
  createReadStream(source.file).pipe(entry);
  // tar-stream's Pack is a streamx Readable, which the engine API reads like a Node one.
  return pack as unknown as Readable;
}

export interface EnsureOptions {
  bases: BaseMode;
  /** Build even when the tag exists (a broken cache, a suspicious result). */
  rebuild?: boolean;
  /** With rebuild: skip the engine's layer cache too, so the build is as cold as a first one. */
  noCache?: boolean;
}

let queue: Promise<unknown> = Promise.resolve();

/** Builds and base making run one at a time: on 2 cores one build already uses both, and two debootstraps only compete. */
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const next = queue.then(work, work);
  queue = next.catch(() => undefined);
  return next;
}

/**
 * The images behind several targets, in their order. Every target is checked first, in parallel (a
 * cache hit is a tarball verification and an inspect); only when all pass do missing images build,
 * one at a time, so a bad target costs no build of the others.
 */
export async function ensureImages(specs: TargetSpec[], options: EnsureOptions): Promise<TargetImage[]> {
  // Targets of one release (3.2.8 and 3.2.8+fix) share one pass over its tarball, which hands back
  // every file any of their patches changes.
  const patchFiles = await Promise.all(
    specs.map(async (spec) =>
      spec.kind === "release"
        ? (await loadPatches(spec.patches)).flatMap((p) => p.files.map(strippedPath))
        : [],
    ),
  );
  const reads = new Map<string, ReturnType<typeof resolveSource>>();
  const readOnce: SourceReader = (version) => {
    let read = reads.get(version);
    if (!read) {
      const wanted = new Set(
        specs.flatMap((s, i) => (s.kind === "release" && s.version === version ? (patchFiles[i] ?? []) : [])),
      );
      read = resolveSource(version, undefined, (path) => wanted.has(path));
      reads.set(version, read);
    }
    return read;
  };
  const plans = await Promise.allSettled(specs.map((spec) => planImage(spec, options, readOnce)));
  const failed = plans.find((p) => p.status === "rejected");
  if (failed) throw failed.reason;
  const images: TargetImage[] = [];
  for (const plan of plans) if (plan.status === "fulfilled") images.push(await plan.value());
  return images;
}

/**
 * Makes sure the image behind a target exists: a cache hit is an inspect; a miss resolves and verifies
 * the source, checks the patches in memory, then builds. Nothing is tagged unless every step passed.
 */
export async function ensureImage(spec: TargetSpec, options: EnsureOptions): Promise<TargetImage> {
  return (await planImage(spec, options))();
}

/** Finds and verifies a release's tarball, handing back the wanted files from the same pass. */
type SourceReader = (version: string, wanted: Set<string>) => ReturnType<typeof resolveSource>;

const readAlone: SourceReader = (version, wanted) =>
  resolveSource(version, undefined, (path) => wanted.has(path));

/** Everything short of building: what is there, or the build that would make it. */
async function planImage(
  spec: TargetSpec,
  options: EnsureOptions,
  readSource: SourceReader = readAlone,
): Promise<() => Promise<TargetImage>> {
  const target = formatTarget(spec);
  if (spec.kind === "image") {
    const brought = await ensureBroughtImage(spec.image, target);
    return async () => brought;
  }

  const release = requireRelease(spec.version);
  const patches = await loadPatches(spec.patches);
  const wanted = new Set(patches.flatMap((p) => p.files.map(strippedPath)));
  const { source, files } = await readSource(spec.version, wanted);
  checkPatches(release.version, patches, files);

  const dockerfile = await readFile(join(dockerDir, "Dockerfile"), "utf8");
  const bases = await oneAtATime(() => resolveBases(options.bases));
  const content = contentHash({
    version: release.version,
    filesDigest: release.files,
    patches,
    dockerfile,
    builderId: bases.builder.id,
    runtimeId: bases.runtime.id,
  });
  const tag = imageTag(
    release.version,
    patches.map((p) => p.name),
    content,
  );
  const names = patches.map((p) => p.name);
  const canonical = formatTarget({ kind: "release", version: release.version, patches: names });
  const image = {
    target: canonical,
    image: tag,
    version: release.version,
    patches: names,
    source,
    sourceCheck: source.check,
  };
  const existing = options.rebuild ? undefined : await localImageId(tag);
  if (existing) return async () => ({ ...image, imageId: existing, origin: "cached" });
  return async () => {
    const started = Date.now();
    await oneAtATime(() =>
      runBuild(canonical, tag, source, patches, dockerfile, bases, options.noCache === true),
    );
    const imageId = await localImageId(tag);
    if (!imageId) throw new Error(`build of ${tag} reported success but left no image`);
    return { ...image, imageId, origin: "built", buildSeconds: (Date.now() - started) / 1000 };
  };
}

async function runBuild(
  target: string,
  tag: string,
  source: VerifiedSource,
  patches: Patch[],
  dockerfile: string,
  bases: Record<"builder" | "runtime", ResolvedBase>,
  noCache: boolean,
): Promise<void> {
  const logDir = buildLogsDir();
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${tag.replace(/[/:]/g, "_")}.log`);
  const lines: string[] = [];
  let compiled = 0;
  let lastReport = Date.now();
  progress(
    `[build ${target}] ${tag} from ${source.file} (${source.check}) on ${bases.builder.ref} → ${bases.runtime.ref}`,
  );
  try {
    await buildImage({
      context: await buildContext(source, patches, dockerfile),
      tag,
      noCache,
      buildargs: { BUILDER_IMAGE: bases.builder.ref, RUNTIME_IMAGE: bases.runtime.ref },
      labels: {
        [LABEL_KIND]: "redis",
        [LABEL_TARGET]: target,
        [LABEL_VERSION]: source.version,
        [LABEL_PATCHES]: patches.map((p) => p.name).join(","),
        [LABEL_SOURCE_CHECK]: source.check,
        [LABEL_CONTENT]: tag.slice(tag.lastIndexOf("-") + 1),
      },
      onLine: (line) => {
        lines.push(line);
        if (/^Step \d+\/\d+ :/.test(line) || /^applying /.test(line)) progress(`[build ${target}] ${line}`);
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
  return {
    target,
    image,
    imageId: id,
    origin: "brought",
    version: labels[LABEL_VERSION],
    patches: labels[LABEL_PATCHES] ? (labels[LABEL_PATCHES] ?? "").split(",") : [],
    sourceCheck: labels[LABEL_SOURCE_CHECK],
  };
}
