import { createWriteStream } from "node:fs";
import { access, copyFile, mkdir, rename, rm } from "node:fs/promises";
import { basename, delimiter, join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { errorText, UserError } from "../core/errors.js";
import { sourceDirs } from "../core/paths.js";
import { progress } from "../core/progress.js";
import { officialTarballUrl, type Release, requireRelease } from "./releases.js";
import { fileHash, readTarball, type TarballContents } from "./verify.js";

export const SourceCheck = z.enum(["published-sha1", "published-sha256", "files-digest"]);

/** How a release's tarball was found and why it is trusted; recorded in image labels and reports. */
export const VerifiedSource = z.object({
  version: z.string(),
  file: z.string(),
  origin: z.enum(["cache", "download"]),
  check: SourceCheck,
  digest: z.string(),
  filesDigest: z.string(),
});
export type VerifiedSource = z.infer<typeof VerifiedSource>;

/** Names a tarball of VERSION may have in the cache: upstream's first, then Debian's source package. */
export function cacheNames(version: string): string[] {
  return [`redis-${version}.tar.gz`, `redis_${version}.orig.tar.gz`];
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Checks a tarball against a release: the published hash first (only an official tarball can match it),
 * then the files digest (any faithful tarball of the release matches it). Throws on a mismatch.
 */
export async function verifyTarball(
  path: string,
  release: Release,
  read?: Pick<TarballContents, "filesDigest">,
): Promise<Pick<VerifiedSource, "check" | "digest" | "filesDigest">> {
  const { filesDigest } = read ?? (await readTarball(path));
  if (release.published) {
    const digest = await fileHash(path, release.published.algo);
    if (digest === release.published.digest) {
      return { check: `published-${release.published.algo}`, digest, filesDigest };
    }
  }
  if (release.files && filesDigest === release.files)
    return { check: "files-digest", digest: filesDigest, filesDigest };
  if (!release.files && release.published) {
    // No clone had the tag: only the official tarball itself can be trusted.
    throw new UserError(
      `${basename(path)} is not the official redis ${release.version} tarball: its ${release.published.algo} differs from the published one (${release.url}), and no files digest is known for this release; delete it and provide the official tarball`,
    );
  }
  const published = release.published ? `; ${release.published.algo} differs from the published one too` : "";
  throw new UserError(
    `${basename(path)} is not redis ${release.version}: files digest ${filesDigest} ≠ expected ${release.files}${published}; delete it and provide a genuine tarball`,
  );
}

async function download(version: string, dirs: string[]): Promise<string> {
  const dir = dirs[0] as string;
  const url = officialTarballUrl(version);
  const target = join(dir, `redis-${version}.tar.gz`);
  const partial = `${target}.partial`;
  progress(`[sources] downloading ${url}`);
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(60_000) });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    await mkdir(dir, { recursive: true });
    await pipeline(
      Readable.fromWeb(response.body as import("node:stream/web").ReadableStream),
      createWriteStream(partial),
    );
  } catch (error) {
    await rm(partial, { force: true });
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : errorText(error);
    throw new UserError(
      `redis-${version}.tar.gz is not in the source cache ${dirs.join(delimiter)} and the download from ${url} failed (${cause}): put the tarball in one of them (or name a folder holding it with REDIS_REPRO_SOURCES or --sources) or run \`redis-repro sources add FILE\``,
      "environment",
    );
  }
  return partial;
}

/**
 * Finds (or downloads) and verifies the tarball of a release. Nothing unverified is ever returned.
 * `want` names files to hand back from the same pass over the tarball (the ones patches change).
 */
export async function resolveSource(
  version: string,
  dirs: string | string[] = sourceDirs(),
  want: (relativePath: string) => boolean = () => false,
): Promise<{ source: VerifiedSource; files: TarballContents["files"] }> {
  const release = requireRelease(version);
  const cached = await cachedSourcePath(version, dirs);
  if (cached) {
    const read = await readTarball(cached, want);
    const verified = await verifyTarball(cached, release, read);
    return { source: { version, file: cached, origin: "cache", ...verified }, files: read.files };
  }
  const partial = await download(version, typeof dirs === "string" ? [dirs] : dirs);
  try {
    const read = await readTarball(partial, want);
    const verified = await verifyTarball(partial, release, read);
    const file = partial.replace(/\.partial$/, "");
    await rename(partial, file);
    return { source: { version, file, origin: "download", ...verified }, files: read.files };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** Is a tarball of this release in the cache? (Tests use it to skip with a reason, never to fake.) */
export async function cachedSourcePath(
  version: string,
  dirs: string | string[] = sourceDirs(),
): Promise<string | undefined> {
  for (const dir of typeof dirs === "string" ? [dirs] : dirs) {
    for (const name of cacheNames(version)) {
      if (await exists(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

/** Verifies a tarball the user has and copies it into the cache under upstream's name. */
export async function addSource(
  file: string,
  version: string | undefined,
  dir = sourceDirs()[0] as string,
): Promise<VerifiedSource> {
  if (!(await exists(file))) throw new UserError(`${file} does not exist: give the path of a redis .tar.gz`);
  const read = await readTarball(file);
  const release = requireRelease(version ?? read.topDir.replace(/^redis-/, ""));
  const verified = await verifyTarball(file, release, read);
  await mkdir(dir, { recursive: true });
  const target = join(dir, `redis-${release.version}.tar.gz`);
  await copyFile(file, target);
  return { version: release.version, file: target, origin: "cache", ...verified };
}
