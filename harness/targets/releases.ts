import { z } from "zod";
import { UserError } from "../errors.js";
import { compareVersions } from "./spec.js";

/**
 * The releases the harness can build and how each tarball is trusted.
 * - published: the digest in the public redis-hashes list (sha1 up to 3.2.8, sha256 after); present only
 *   where that list (or docker-library, which copies it) was read, never guessed.
 * - files: the files digest (see verify.ts) of `git archive <tag>`, which is how upstream makes its
 *   tarballs; for 7.0.15 it was also checked against Debian's redis_7.0.15.orig.tar.gz.
 */
export const Release = z.object({
  version: z.string(),
  published: z
    .object({ algo: z.enum(["sha1", "sha256"]), digest: z.string().regex(/^[0-9a-f]{40,64}$/) })
    .optional(),
  files: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Release = z.infer<typeof Release>;

export const releases: readonly Release[] = z
  .array(Release)
  .parse([
    { version: "2.8.24", files: "642e1b24370e6d60feb53a9e58387efb53181fa43dc0248c5a66c39930e0ceff" },
    {
      version: "3.0.7",
      published: { algo: "sha1", digest: "e56b4b7e033ae8dbf311f9191cf6fdf3ae974d1c" },
      files: "90e232d9e6dbb538ec975d202b462667fa4f592cc92adbe402b2bab4d8fe1a5f",
    },
    {
      version: "3.2.0",
      published: { algo: "sha1", digest: "0c1820931094369c8cc19fc1be62f598bc5961ca" },
      files: "da4fdd6ce9f47aa3da30c5d562c996a709709dc2760a711ff16a43bb2b2df16c",
    },
    {
      version: "3.2.1",
      published: { algo: "sha1", digest: "26c0fc282369121b4e278523fce122910b65fbbf" },
      files: "adf8c9da9b63f64b45d3a811f59a55fdf4aa15b8e9874af8acd4f52835177fa9",
    },
    {
      version: "3.2.2",
      published: { algo: "sha1", digest: "3141be9757532139f445bd5f6f4fae293bc33d27" },
      files: "f390d6d2bef4368130ce333b5790872f5ad0e1adbe504eab25195b40f92f90d0",
    },
    {
      version: "3.2.3",
      published: { algo: "sha1", digest: "92d6d93ef2efc91e595c8bf578bf72baff397507" },
      files: "a1fad18c4790ceee125e60cea610e2206bdf3fc1f9811d33e4e5dbff4d163523",
    },
    {
      version: "3.2.4",
      published: { algo: "sha1", digest: "f0fe685cbfdb8c2d8c74613ad8a5a5f33fba40c9" },
      files: "b2de3e468b14fad13ed41c249971c827b58f1054930caa43fd475e2e8dc5ea15",
    },
    {
      version: "3.2.5",
      published: { algo: "sha1", digest: "6f6333db6111badaa74519d743589ac4635eba7a" },
      files: "fe922a97f9dfe14121a89757dd142546c9eb6e8ae8edca3b4f33d72059f81891",
    },
    {
      version: "3.2.6",
      published: { algo: "sha1", digest: "0c7bc5c751bdbc6fabed178db9cdbdd948915d1b" },
      files: "62842151004dcea7c1f62a3db6ad8c5b033138c1899866e5b79c19d0f74ee66e",
    },
    {
      version: "3.2.7",
      published: { algo: "sha1", digest: "6889af053020cd72ebb16805ead0ce9b3a69a9ef" },
      files: "f48c4a50a4e458049c8ffe7ea9b5f83f910d59b8ad5c3d3f084f2584f8c006db",
    },
    {
      version: "3.2.8",
      published: { algo: "sha1", digest: "6780d1abb66f33a97aad0edbe020403d0a15b67f" },
      files: "a98a109dd23993b780a3c33654653a1ae5c79f377e670b3fad092559a8664fb3",
    },
    {
      version: "3.2.9",
      published: {
        algo: "sha256",
        digest: "6eaacfa983b287e440d0839ead20c2231749d5d6b78bbe0e0ffa3a890c59ff26",
      },
      files: "7e2c6b3907c7a24c085bbb57e86f3d55f410dd7f7bff5409d71ca322b60f833f",
    },
    {
      version: "3.2.10",
      published: {
        algo: "sha256",
        digest: "411c604a716104f7f5a326abfad32de9cea10f15f987bec45cf86f315e9e63a0",
      },
      files: "77c7004d6c986d86872b9474a985f20ee6ff06147fa2628c6296bfb3d967ab52",
    },
    {
      version: "3.2.11",
      published: {
        algo: "sha256",
        digest: "31ae927cab09f90c9ca5954aab7aeecc3bb4da6087d3d12ba0a929ceb54081b5",
      },
      files: "ce198fd6fa955fae6eac29926335da043ed93b0df0d8779980332dc3efde1e67",
    },
    {
      version: "3.2.12",
      published: {
        algo: "sha256",
        digest: "98c4254ae1be4e452aa7884245471501c9aa657993e0318d88f048093e7f88fd",
      },
      files: "e868d1e8b1052bfca80c01a46d28991d5aa810d858b39055a52b0a271f945a96",
    },
    {
      version: "3.2.13",
      published: {
        algo: "sha256",
        digest: "862979c9853fdb1d275d9eb9077f34621596fec1843e3e7f2e2f09ce09a387ba",
      },
      files: "b597a0810a2f91edef9e997c11f1d4874a70b45b1da6dcc4f94279c4552dc6d7",
    },
    {
      version: "4.0.0",
      published: {
        algo: "sha256",
        digest: "d539ae309295721d5c3ed7298939645b6f86ab5d25fdf2a0352ab575c159df2d",
      },
      files: "ce9d94565a8afebaab295a7299f6b103eeb66d50d95cd772110a5e555b2292b8",
    },
    {
      version: "4.0.14",
      published: {
        algo: "sha256",
        digest: "1e1e18420a86cfb285933123b04a82e1ebda20bfb0a289472745a087587e93a7",
      },
      files: "13600e9b4a6545a651df9d58ea98686d76382f65e18a667f93e02bd8d022ef28",
    },
    { version: "5.0.14", files: "7f0c9efee834d3abaa049daf11c828cf3b73972dcd4d5a101623b345847fb83d" },
    { version: "6.0.20", files: "58107d021c7fac99cc4f4d39a487aa78a1554b7e687cd24c5a8108bfd7f42f6b" },
    { version: "6.2.16", files: "1918c61c32634531a7eae5c755eca61038c8b4b9696162fca41522f6137c9040" },
    {
      version: "7.0.15",
      published: {
        algo: "sha256",
        digest: "98066f5363504b26c34dd20fbcc3c957990d764cdf42576c836fc021073f4341",
      },
      files: "fac5ff1393232711aa647a43163c3d02609d7807eb3199f097aeea23273683c3",
    },
    { version: "7.2.6", files: "5d4a45d65a103aa61bb99422ded10bd7778455090f634944423673644a532e8c" },
    {
      version: "7.4.1",
      published: {
        algo: "sha256",
        digest: "bc34b878eb89421bbfca6fa78752343bf37af312a09eb0fae47c9575977dfaa2",
      },
      files: "02007be277ceb314a0465c16e5717fe84b9b04e140c7288cd03bfb554b38eb88",
    },
    { version: "8.0-m01", files: "b91f6743c4f9a098060799daf4774d6a9bc7e06f3c06a80b632da48259217062" },
  ])
  .sort((a, b) => compareVersions(a.version, b.version));

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

export function officialTarballUrl(version: string): string {
  return `https://download.redis.io/releases/redis-${version}.tar.gz`;
}
