import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { firstIssue, UserError } from "../core/errors.js";
import { projectRoot } from "../core/paths.js";
import { checkSortedVersions, versionPattern } from "./spec.js";

/**
 * The releases the harness can build and how each tarball is trusted, read from releases.json (data,
 * not code: it is regenerated from the public lists, never typed in).
 * - published: the digest in the public redis-hashes list (sha1 up to 3.2.8, sha256 after), with the URL
 *   that list gives.
 * - files: the files digest (see verify.ts) of `git archive <tag>`, which is how upstream makes its
 *   tarballs; for 7.0.15 it was also checked against Debian's redis_7.0.15.orig.tar.gz. Absent where the
 *   clone it was computed from lacks the tag: such a release verifies by its published digest only.
 */
export const Release = z
  .object({
    version: z.string().regex(versionPattern),
    published: z
      .object({ algo: z.enum(["sha1", "sha256"]), digest: z.string().regex(/^[0-9a-f]{40,64}$/) })
      .strict()
      .optional(),
    url: z.url(),
    files: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  })
  .strict()
  .refine((r) => r.published || r.files, { message: "a release needs a published digest or a files digest" });
export type Release = z.infer<typeof Release>;

export const ReleaseTable = z
  .object({
    description: z.string(),
    /** The redis-hashes commit the published digests were read from. */
    hashesCommit: z.string().regex(/^[0-9a-f]{40}$/),
    releases: z.array(Release).min(1),
  })
  .strict()
  .superRefine((data, ctx) =>
    checkSortedVersions(
      data.releases.map((r) => r.version),
      (issue) => ctx.addIssue(issue),
    ),
  );
export type ReleaseTable = z.infer<typeof ReleaseTable>;

export const releasesFile = join(projectRoot, "harness", "targets", "releases.json");

export function parseReleaseTable(data: unknown, source: string): ReleaseTable {
  const parsed = ReleaseTable.safeParse(data);
  if (!parsed.success) {
    throw new Error(`invalid release table ${source}: ${firstIssue(parsed.error)}`);
  }
  return parsed.data;
}

export const releases: readonly Release[] = parseReleaseTable(
  JSON.parse(readFileSync(releasesFile, "utf8")),
  releasesFile,
).releases;

export function findRelease(version: string): Release | undefined {
  return releases.find((r) => r.version === version);
}

export function requireRelease(version: string): Release {
  const release = findRelease(version);
  if (!release) {
    throw new UserError(
      `unknown release ${version}: the harness knows ${releases[0]?.version}..${releases.at(-1)?.version} (see \`redis-repro images releases\`); pick one of those or bring an image with image:REF`,
    );
  }
  return release;
}

/** Where a release's tarball is downloaded from: the list's URL, over https. */
export function officialTarballUrl(version: string): string {
  const url = findRelease(version)?.url ?? `https://download.redis.io/releases/redis-${version}.tar.gz`;
  return url.replace(/^http:\/\/download\.redis\.io\//, "https://download.redis.io/");
}
