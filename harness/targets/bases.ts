import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { z } from "zod";
import { errorText, UserError } from "../core/errors.js";
import { cacheRoot } from "../core/paths.js";
import { progress } from "../core/progress.js";
import { buildImage, importImage, localImageId, tryPull } from "../engine/images.js";
import { LABEL_KIND } from "../engine/labels.js";
import { debianMirror } from "./debian-mirror.js";

/**
 * Images the Dockerfile builds FROM. By default the official ones a user would pull; where they are
 * missing and cannot be pulled (offline machines), equivalent local images are made once with
 * debootstrap + import and reused: same Debian release, same compiler, so builds behave the same.
 */
export const BaseMode = z.enum(["auto", "online", "offline"]);
export type BaseMode = z.infer<typeof BaseMode>;

export type BaseRole = "builder" | "runtime";

interface BaseDefinition {
  official: string;
  offline: string;
  /** debootstrap --include list for the offline equivalent. */
  include: string[];
  /**
   * Packages the images need at run time that the official image lacks: in the offline base through
   * debootstrap's --include, on top of the official one in a derived base made once (builds run
   * without network, so the Dockerfile cannot install them).
   */
  packages: string[];
}

/** libfiu's preload and its launcher and control scripts (parts/faults/libfiu.ts). */
export const RUNTIME_PACKAGES = ["libfiu0", "fiu-utils"];

const suite = "bookworm";

export function baseDefinitions(env: NodeJS.ProcessEnv = process.env): Record<BaseRole, BaseDefinition> {
  return {
    builder: {
      official: env.REDIS_REPRO_BUILDER_IMAGE ?? `buildpack-deps:${suite}`,
      // A new name whenever the list grows, so an older offline builder is not taken for this one:
      // ccache, then g++ (Redis 8.0 and Valkey 8.1 compile deps/fast_float as C++; the official
      // buildpack-deps:bookworm has g++ already).
      offline: `redis-repro/base:${suite}-builder-cxx`,
      include: ["gcc", "g++", "make", "libc6-dev", "patch", "ccache"],
      packages: [],
    },
    runtime: {
      official: env.REDIS_REPRO_RUNTIME_IMAGE ?? `debian:${suite}-slim`,
      // A new name with libfiu: an older offline runtime without it is not taken for this one.
      offline: `redis-repro/base:${suite}-slim-fiu`,
      include: RUNTIME_PACKAGES,
      packages: RUNTIME_PACKAGES,
    },
  };
}

export interface ResolvedBase {
  role: BaseRole;
  ref: string;
  id: string;
  how: "local" | "pulled" | "offline" | "made-offline";
}

async function isRoot(): Promise<boolean> {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

async function makeOffline(role: BaseRole, definition: BaseDefinition): Promise<string> {
  const mirror = debianMirror();
  // Loaded here, not at the top: only this rare step runs programs, and every run imports this module.
  const { execa } = await import("execa");
  const hasDebootstrap = await execa("debootstrap", ["--version"], { reject: false }).then(
    (r) => r.exitCode === 0,
  );
  if (!(await isRoot()) || !hasDebootstrap) {
    // The one step that needs root: scripts/ensure-engine.sh installs debootstrap and makes both bases.
    const missing = (await isRoot()) ? "debootstrap (not installed)" : "root (debootstrap)";
    throw new UserError(
      `base image ${definition.official} is missing and cannot be pulled, and making the offline ${definition.offline} needs ${missing}: run \`sudo bash scripts/ensure-engine.sh\` once (as root: \`bash scripts/ensure-engine.sh\`), or pull ${definition.official}`,
      "environment",
    );
  }
  await mkdir(join(cacheRoot(), "tmp"), { recursive: true });
  const root = await mkdtemp(join(cacheRoot(), "tmp", `rootfs-${role}-`));
  try {
    progress(
      `[bases] debootstrap ${suite} (${role}${definition.include.length ? `: ${definition.include.join(", ")}` : ""}) from ${mirror}`,
    );
    const include = definition.include.length ? [`--include=${definition.include.join(",")}`] : [];
    await execa("debootstrap", ["--variant=minbase", ...include, suite, root, mirror], { all: true }).catch(
      (error: { all?: string }) => {
        const tail = (error.all ?? "").trim().split("\n").slice(-1)[0];
        throw new UserError(
          `debootstrap of ${definition.offline} failed (${tail}): check that ${mirror} is reachable (or set REDIS_REPRO_DEBIAN_MIRROR)`,
          "environment",
        );
      },
    );
    // Package lists and .debs are not part of an image; the official slim image drops them too.
    await execa("find", [
      join(root, "var/lib/apt/lists"),
      join(root, "var/cache/apt"),
      "-type",
      "f",
      "-delete",
    ]);
    const tar = execa("tar", ["--numeric-owner", "-C", root, "-c", "."], { buffer: false });
    const [repo = "", tag = ""] = definition.offline.split(":");
    await importImage(tar.stdout, repo, tag, { [LABEL_KIND]: `base-${role}` });
    await tar;
    const id = await localImageId(definition.offline);
    if (!id) throw new Error(`import of ${definition.offline} left no image`);
    progress(`[bases] made ${definition.offline}`);
    return id;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The tag of an official base with packages added: its id and the package list name it. */
export function derivedTag(role: BaseRole, officialId: string, packages: string[]): string {
  const digest = createHash("sha256").update(packages.join(" ")).digest("hex").slice(0, 8);
  return `redis-repro/base:${role}-${officialId.replace(/^sha256:/, "").slice(0, 12)}-${digest}`;
}

/**
 * An official base with the packages the images need and it lacks, made once with the network
 * (apt-get from the image's own sources, as a pull would fetch it) and reused: the Redis builds
 * that start FROM it stay without network. Where it cannot be made (no Debian archive, a base
 * without apt), the official base is used as it is: only the faults that need the packages refuse
 * to run on its images, each saying so.
 */
async function withPackages(base: ResolvedBase, packages: string[]): Promise<ResolvedBase> {
  if (!packages.length) return base;
  const tag = derivedTag(base.role, base.id, packages);
  const existing = await localImageId(tag);
  if (existing) return { ...base, ref: tag, id: existing };
  progress(`[bases] adding ${packages.join(", ")} to ${base.ref} as ${tag}`);
  // Loaded here, with the first derived base: a run whose bases exist never makes a context.
  const tarStream = (await import("tar-stream")).default;
  const pack = tarStream.pack();
  const dockerfile = [
    `FROM ${base.id}`,
    // Lists and caches are not part of an image (the official slim image drops them too).
    `RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${packages.join(" ")} && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin`,
    "",
  ].join("\n");
  pack.entry({ name: "Dockerfile" }, dockerfile, () => pack.finalize());
  const lines: string[] = [];
  const [repo = "", version = ""] = tag.split(":");
  try {
    await buildImage({
      // tar-stream's Pack is a streamx Readable, which the engine API reads like a Node one.
      context: pack as unknown as Readable,
      tag: `${repo}:${version}`,
      buildargs: {},
      labels: { [LABEL_KIND]: `base-${base.role}` },
      network: true,
      onLine: (line) => lines.push(line),
    });
  } catch (error) {
    progress(
      `[bases] could not add ${packages.join(", ")} to ${base.ref} (${errorText(error).split("\n")[0]}); using it as it is: the libfiu fault will refuse its images`,
    );
    return base;
  }
  const id = await localImageId(tag);
  if (!id) throw new Error(`build of ${tag} reported success but left no image`);
  progress(`[bases] made ${tag}`);
  return { ...base, ref: tag, id };
}

export async function resolveBase(
  role: BaseRole,
  mode: BaseMode,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedBase> {
  const definition = baseDefinitions(env)[role];
  const official = await resolveOfficial(role, mode, definition);
  if (official) return withPackages(official, definition.packages);
  const existing = await localImageId(definition.offline);
  if (existing) return { role, ref: definition.offline, id: existing, how: "offline" };
  try {
    return { role, ref: definition.offline, id: await makeOffline(role, definition), how: "made-offline" };
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`making ${definition.offline} failed: ${errorText(error)}`, "environment");
  }
}

/** The official base, local or pulled; undefined where the offline equivalent is to be used. */
async function resolveOfficial(
  role: BaseRole,
  mode: BaseMode,
  definition: BaseDefinition,
): Promise<ResolvedBase | undefined> {
  if (mode !== "offline") {
    const id = await localImageId(definition.official);
    if (id) return { role, ref: definition.official, id, how: "local" };
  }
  if (mode === "auto" && (await localImageId(definition.offline))) return undefined;
  if (mode !== "offline") {
    progress(`[bases] pulling ${definition.official}`);
    const pulled = await tryPull(definition.official);
    const id = pulled.ok ? await localImageId(definition.official) : undefined;
    if (id) return { role, ref: definition.official, id, how: "pulled" };
    if (mode === "online") {
      throw new UserError(
        `base image ${definition.official} cannot be pulled (${pulled.ok ? "no image after pull" : pulled.reason}): check the registry, or use --bases offline`,
        "environment",
      );
    }
    progress(
      `[bases] cannot pull ${definition.official} (${pulled.ok ? "?" : pulled.reason}); using an offline equivalent`,
    );
  }
  return undefined;
}

export async function resolveBases(mode: BaseMode): Promise<Record<BaseRole, ResolvedBase>> {
  // One after the other: both may run debootstrap, and two at once only compete for the mirror.
  const builder = await resolveBase("builder", mode);
  const runtime = await resolveBase("runtime", mode);
  return { builder, runtime };
}
