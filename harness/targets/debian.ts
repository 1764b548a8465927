import { createHash } from "node:crypto";
import { access, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { errorText, UserError } from "../core/errors.js";
import { cacheRoot, sourceDirs } from "../core/paths.js";
import { progress } from "../core/progress.js";
import { debianMirror } from "./debian-mirror.js";
import { fileHash } from "./verify.js";

/**
 * `deb:` targets: the upstream source of a server as Debian's archive carries it, its orig tarball
 * found and verified through the archive's own chain of trust, the way apt does:
 *
 *   dists/SUITE/InRelease   signed by the archive's key (gpgv against debian-archive-keyring)
 *     └─ main/source/Sources.xz   its sha256 and size listed in the signed part of InRelease
 *          └─ pool/…/PKG_VERSION.orig.tar.*   its sha256 and size listed in the package's stanza
 *
 * Only the orig tarball is used: upstream's code without Debian's packaging patches (debian/patches
 * change paths, the default config, the build system), so a finding is about the release as its
 * project made it, and a patch of ours applies to the same text as upstream's tree.
 */
export const DEB_PACKAGES = ["redis", "valkey"] as const;
export const DebPackage = z.enum(DEB_PACKAGES);
export type DebPackage = z.infer<typeof DebPackage>;

/** Suites searched, in this order, when a target names none: the newest first. */
export const DEFAULT_SUITES = [
  "sid",
  "forky",
  "trixie",
  "trixie-backports",
  "bookworm",
  "bookworm-backports",
  "experimental",
] as const;

export function debianKeyring(env: NodeJS.ProcessEnv = process.env): string {
  return env.REDIS_REPRO_DEBIAN_KEYRING ?? "/usr/share/keyrings/debian-archive-keyring.gpg";
}

/** How a cached orig tarball came to be trusted; written beside it as NAME.debian.json. */
export const DebianProvenance = z
  .object({
    package: DebPackage,
    /** Upstream's version as targets name it: no epoch, no Debian revision, no repack suffix. */
    version: z.string(),
    /** The source package's full version, e.g. 5:8.0.6-3 or 8.1.1+dfsg1-3+deb13u3. */
    debianVersion: z.string(),
    suite: z.string(),
    codename: z.string(),
    mirror: z.string(),
    file: z.string(),
    url: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().positive(),
    inRelease: z.object({
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      date: z.string(),
      validUntil: z.string().nullable(),
      /** Fingerprints of the keys whose good signatures gpgv reported. */
      signers: z.array(z.string()).min(1),
      keyring: z.string(),
    }),
    sources: z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number() }),
    fetchedAt: z.string(),
  })
  .strict();
export type DebianProvenance = z.infer<typeof DebianProvenance>;

/** One source package of a suite's Sources index, as far as the harness reads it. */
export interface DebianSourcePackage {
  package: DebPackage;
  debianVersion: string;
  version: string;
  directory: string;
  files: { name: string; sha256: string; size: number }[];
}

export interface InReleaseIndex {
  suite: string;
  codename: string;
  date: string;
  validUntil: string | null;
  acquireByHash: boolean;
  sha256: Map<string, { sha256: string; size: number }>;
  signers: string[];
  fileSha256: string;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Upstream's version from a Debian version: drops the epoch ("5:"), the Debian revision ("-3",
 * "-1~deb12u7") and a repack suffix ("+dfsg1", "+ds"); "~rc1" (Debian's pre-release order) becomes
 * "-rc1" as upstream writes it.
 */
export function upstreamVersion(debianVersion: string): string {
  const noEpoch = debianVersion.replace(/^\d+:/, "");
  const dash = noEpoch.lastIndexOf("-");
  const upstream = dash > 0 ? noEpoch.slice(0, dash) : noEpoch;
  return upstream.replace(/[+~](?:dfsg|ds)\d*$/, "").replace(/~(rc|m)(\d+)/, "-$1$2");
}

/**
 * The signed text of a clear-signed file (RFC 4880 §7): headers and the signature block removed,
 * dash-escaping undone. Anything outside the one signed block is refused, so what is parsed is what
 * gpgv checked.
 */
export function clearSignedText(text: string): string {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  if (lines[0] !== "-----BEGIN PGP SIGNED MESSAGE-----") throw new Error("not a clear-signed file");
  let i = 1;
  while (i < lines.length && lines[i] !== "") {
    if (!/^Hash: /.test(lines[i] ?? "")) throw new Error(`unexpected armor header: ${lines[i]}`);
    i++;
  }
  const end = lines.indexOf("-----BEGIN PGP SIGNATURE-----", i);
  const close = lines.indexOf("-----END PGP SIGNATURE-----", end);
  if (end < 0 || close < 0) throw new Error("no signature block");
  if (lines.slice(close + 1).some((l) => l.trim() !== "")) throw new Error("text after the signature");
  if (lines.indexOf("-----BEGIN PGP SIGNED MESSAGE-----", 1) >= 0) throw new Error("two signed blocks");
  return lines
    .slice(i + 1, end)
    .map((l) => (l.startsWith("- ") ? l.slice(2) : l))
    .join("\n");
}

/** Fields of a deb822 paragraph; continuation lines (leading space) join their field with "\n". */
export function deb822Fields(paragraph: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last = "";
  for (const line of paragraph.split("\n")) {
    if (/^\s/.test(line) && last) fields.set(last, `${fields.get(last) ?? ""}\n${line.trim()}`);
    else {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      last = line.slice(0, colon);
      fields.set(last, line.slice(colon + 1).trim());
    }
  }
  return fields;
}

/** Pure: an InRelease file's signed text as the index the harness reads. */
export function parseInRelease(
  signed: string,
  suite: string,
): Omit<InReleaseIndex, "signers" | "fileSha256"> {
  const fields = deb822Fields(signed);
  const sums = new Map<string, { sha256: string; size: number }>();
  for (const line of (fields.get("SHA256") ?? "").split("\n")) {
    const [hash, size, path] = line.trim().split(/\s+/);
    if (hash && size && path && /^[0-9a-f]{64}$/.test(hash))
      sums.set(path, { sha256: hash, size: Number(size) });
  }
  return {
    suite,
    codename: fields.get("Codename") ?? suite,
    date: fields.get("Date") ?? "",
    validUntil: fields.get("Valid-Until") ?? null,
    acquireByHash: fields.get("Acquire-By-Hash") === "yes",
    sha256: sums,
  };
}

/** Pure: the stanzas of a Sources index for the given packages (several versions may be listed). */
export function parseSources(
  text: string,
  packages: readonly DebPackage[] = DEB_PACKAGES,
): DebianSourcePackage[] {
  const found: DebianSourcePackage[] = [];
  for (const name of packages) {
    // Stanzas start at the top or after a blank line; finding them by text keeps a 70 MB index cheap.
    const marker = `Package: ${name}\n`;
    let at = text.startsWith(marker) ? 0 : text.indexOf(`\n\n${marker}`);
    while (at >= 0) {
      const start = at === 0 && text.startsWith(marker) ? 0 : at + 2;
      const stop = text.indexOf("\n\n", start);
      const fields = deb822Fields(text.slice(start, stop < 0 ? undefined : stop));
      const debianVersion = fields.get("Version") ?? "";
      const files = (fields.get("Checksums-Sha256") ?? "")
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .flatMap(([hash, size, file]) =>
          hash && size && file && /^[0-9a-f]{64}$/.test(hash)
            ? [{ name: file, sha256: hash, size: Number(size) }]
            : [],
        );
      found.push({
        package: name,
        debianVersion,
        version: upstreamVersion(debianVersion),
        directory: fields.get("Directory") ?? "",
        files,
      });
      at = stop < 0 ? -1 : text.indexOf(`\n\n${marker}`, stop);
    }
  }
  return found;
}

/** The orig tarball of a source package (the upstream source; .debian.tar.* holds Debian's packaging). */
export function origTarball(pkg: DebianSourcePackage): DebianSourcePackage["files"][number] | undefined {
  return pkg.files.find((f) => /\.orig\.tar\.(gz|xz|bz2)$/.test(f.name));
}

async function download(url: string, what: string): Promise<Buffer> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(120_000) });
    if (response.status === 404) throw new NotFound(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  } catch (error) {
    if (error instanceof NotFound) throw error;
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : errorText(error);
    throw new UserError(
      `cannot fetch ${what} from ${url} (${cause}): check that Debian's archive is reachable, or set REDIS_REPRO_DEBIAN_MIRROR to a mirror`,
      "environment",
    );
  }
}

class NotFound extends Error {}

/** gpgv's verdict on a clear-signed file: the fingerprints of the good signatures, or why not. */
async function verifySignature(data: Buffer, what: string): Promise<string[]> {
  const keyring = debianKeyring();
  if (!(await exists(keyring)))
    throw new UserError(
      `Debian's archive keyring ${keyring} is missing, so ${what} cannot be verified: install it (\`apt-get install debian-archive-keyring\`) or set REDIS_REPRO_DEBIAN_KEYRING to a copy`,
      "environment",
    );
  const { execa } = await import("execa");
  const result = await execa("gpgv", ["--status-fd", "1", "--keyring", keyring, "-"], {
    input: data,
    reject: false,
  }).catch((error: unknown) => ({ exitCode: -1, stdout: "", stderr: errorText(error) }));
  if (result.exitCode === -1 || /ENOENT/.test(String(result.stderr)))
    throw new UserError(
      `gpgv is not installed, so ${what} cannot be verified: install it (\`apt-get install gpgv\`)`,
      "environment",
    );
  const status = String(result.stdout);
  const signers = [...status.matchAll(/^\[GNUPG:\] VALIDSIG (\S+)/gm)].map((m) => m[1] ?? "");
  // As apt: one good signature by a key of the keyring is enough; a signature by a key the keyring
  // lacks (an older keyring, ERRSIG/NO_PUBKEY, which makes gpgv exit non-zero) is not held against
  // it, but a bad one (BADSIG: the text does not match) always is.
  if (signers.length === 0 || /^\[GNUPG:\] BADSIG/m.test(status))
    throw new UserError(
      `${what} is not signed by a key of ${keyring} (gpgv: ${String(result.stderr).trim().split("\n").at(-1)}): the mirror may be broken or tampered with; try another with REDIS_REPRO_DEBIAN_MIRROR`,
      "environment",
    );
  return signers;
}

/**
 * An InRelease file's bytes as the index they sign: gpgv checks the signature against Debian's
 * archive keyring first, and only the signed text is parsed.
 */
export async function readInRelease(data: Buffer, suite: string, url: string): Promise<InReleaseIndex> {
  const signers = await verifySignature(data, url);
  let signed: string;
  try {
    signed = clearSignedText(data.toString("utf8"));
  } catch (error) {
    throw new UserError(`${url} is not a clear-signed index (${errorText(error)})`, "environment");
  }
  return { ...parseInRelease(signed, suite), signers, fileSha256: sha256(data) };
}

const inReleases = new Map<string, Promise<InReleaseIndex | undefined>>();

/** A suite's InRelease, signature verified; undefined where the archive has no such suite. */
export function inRelease(suite: string): Promise<InReleaseIndex | undefined> {
  const key = `${debianMirror()} ${suite}`;
  let found = inReleases.get(key);
  if (!found) {
    found = (async () => {
      const url = `${debianMirror()}/dists/${suite}/InRelease`;
      const data = await download(url, `${suite}'s InRelease`).catch((error: unknown) => {
        if (error instanceof NotFound) return undefined;
        throw error;
      });
      if (!data) return undefined;
      const index = await readInRelease(data, suite, url);
      if (index.validUntil && Date.parse(index.validUntil) < Date.now())
        progress(
          `[debian] ${suite}'s InRelease expired on ${index.validUntil} (a stale mirror): its signature is good and it is used to find sources by exact version`,
        );
      return index;
    })();
    inReleases.set(key, found);
    found.catch(() => inReleases.delete(key));
  }
  return found;
}

const SOURCES_PATH = "main/source/Sources.xz";

function indexDir(): string {
  return join(cacheRoot(), "debian", "indexes");
}

/**
 * A suite's Sources index, checked against the sha256 and size its InRelease lists; cached by that
 * hash (a suite's index changes a few times a day; an unchanged one is not fetched again).
 */
export async function suiteSources(
  index: InReleaseIndex,
): Promise<{ packages: DebianSourcePackage[]; sha256: string; size: number }> {
  const listed = index.sha256.get(SOURCES_PATH);
  if (!listed) throw new UserError(`${index.suite}'s InRelease lists no ${SOURCES_PATH}`, "environment");
  const dir = indexDir();
  const host = new URL(debianMirror()).host;
  const file = join(dir, `${host}_${index.suite}_Sources_${listed.sha256}.xz`);
  if (!(await exists(file)) || (await fileHash(file, "sha256")) !== listed.sha256) {
    // By hash where the archive offers it: the file cannot change between InRelease and this request.
    const path = index.acquireByHash ? `main/source/by-hash/SHA256/${listed.sha256}` : SOURCES_PATH;
    const url = `${debianMirror()}/dists/${index.suite}/${path}`;
    progress(`[debian] fetching ${index.suite}'s source index (${(listed.size / 1e6).toFixed(1)} MB)`);
    const data = await download(url, `${index.suite}'s Sources index`).catch((error: unknown) => {
      if (error instanceof NotFound)
        throw new UserError(`${url} is missing although ${index.suite}'s InRelease lists it`, "environment");
      throw error;
    });
    if (data.length !== listed.size || sha256(data) !== listed.sha256)
      throw new UserError(
        `${url} does not match ${index.suite}'s signed InRelease (sha256 ${sha256(data)}, ${data.length} bytes; listed ${listed.sha256}, ${listed.size} bytes): the mirror may be mid-update; try again`,
        "environment",
      );
    await mkdir(dir, { recursive: true });
    for (const old of await readdir(dir))
      if (old.startsWith(`${host}_${index.suite}_Sources_`)) await rm(join(dir, old), { force: true });
    await writeFile(`${file}.partial`, data);
    await rename(`${file}.partial`, file);
  }
  const { execa } = await import("execa");
  const text = await execa("xz", ["-dc", file], { maxBuffer: 1024 ** 3 }).then(
    (r) => String(r.stdout),
    (error: unknown) => {
      throw new UserError(
        /ENOENT/.test(errorText(error))
          ? "xz is not installed, and Debian's Sources indexes are xz-compressed: install it (`apt-get install xz-utils`)"
          : `cannot read ${file} (${errorText(error)}): delete it and try again`,
        "environment",
      );
    },
  );
  return { packages: parseSources(text), ...listed };
}

/** What the archive offers for the servers, suite by suite (for `images debian`). */
export async function debianOffers(
  suites: readonly string[] = DEFAULT_SUITES,
): Promise<{ suite: string; codename: string; date: string; packages: DebianSourcePackage[] }[]> {
  const out = [];
  for (const suite of suites) {
    const index = await inRelease(suite);
    if (!index) continue;
    const { packages } = await suiteSources(index);
    out.push({ suite, codename: index.codename, date: index.date, packages });
  }
  return out;
}

/** The record beside a cached orig tarball. */
export function provenanceFile(tarball: string): string {
  return `${tarball}.debian.json`;
}

/**
 * A cached orig tarball of PKG VERSION whose recorded chain still matches its bytes, or undefined.
 * The chain was verified when it was fetched; here the tarball's sha256 is checked against it.
 */
export async function cachedDebianSource(
  pkg: DebPackage,
  version: string,
  dirs: string[] = sourceDirs(),
): Promise<{ file: string; provenance: DebianProvenance } | undefined> {
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.startsWith(`${pkg}_`) && n.endsWith(".debian.json"))) {
      const parsed = DebianProvenance.safeParse(
        await readFile(join(dir, name), "utf8").then(JSON.parse, () => undefined),
      );
      if (!parsed.success || parsed.data.package !== pkg || parsed.data.version !== version) continue;
      const file = join(dir, parsed.data.file);
      if (!(await exists(file))) continue;
      const digest = await fileHash(file, "sha256");
      if (digest !== parsed.data.sha256)
        throw new UserError(
          `${file} does not match the sha256 Debian's index gave for it when it was fetched (${parsed.data.sha256}, now ${digest}): delete it and its .debian.json and try again`,
        );
      return { file, provenance: parsed.data };
    }
  }
  return undefined;
}

/**
 * Finds PKG VERSION in a suite (or the first default suite that has it), downloads its orig tarball
 * into the first source folder and verifies it against the signed indexes. Nothing unverified is
 * kept: a mismatch deletes the download.
 */
export async function fetchDebianSource(
  pkg: DebPackage,
  version: string,
  suite: string | undefined,
  dirs: string[] = sourceDirs(),
): Promise<{ file: string; provenance: DebianProvenance }> {
  const suites = suite ? [suite] : [...DEFAULT_SUITES];
  const seen: string[] = [];
  for (const name of suites) {
    const index = await inRelease(name);
    if (!index) {
      if (suite)
        throw new UserError(
          `Debian's archive has no suite "${suite}": name one of ${DEFAULT_SUITES.join(", ")} (or another under dists/)`,
        );
      continue;
    }
    const sources = await suiteSources(index);
    const offered = sources.packages.filter((p) => p.package === pkg);
    seen.push(...offered.map((p) => `${p.version} in ${name}`));
    const match = offered.find((p) => p.version === version);
    const orig = match && origTarball(match);
    if (!match || !orig) continue;
    const url = `${debianMirror()}/${match.directory}/${orig.name}`;
    const dir = dirs[0] as string;
    const file = join(dir, orig.name);
    progress(`[debian] downloading ${url} (${match.debianVersion} in ${name})`);
    const data = await download(url, `${pkg} ${version}'s orig tarball`).catch((error: unknown) => {
      if (error instanceof NotFound)
        throw new UserError(
          `${url} is missing although ${name}'s index lists it: the mirror may be mid-update; try again, or name another suite with @SUITE`,
          "environment",
        );
      throw error;
    });
    const digest = sha256(data);
    if (data.length !== orig.size || digest !== orig.sha256)
      throw new UserError(
        `${url} does not match ${name}'s signed source index (sha256 ${digest}, ${data.length} bytes; listed ${orig.sha256}, ${orig.size} bytes): nothing was kept; try again or use another mirror`,
        "environment",
      );
    const provenance: DebianProvenance = {
      package: pkg,
      version,
      debianVersion: match.debianVersion,
      suite: name,
      codename: index.codename,
      mirror: debianMirror(),
      file: orig.name,
      url,
      sha256: digest,
      size: data.length,
      inRelease: {
        sha256: index.fileSha256,
        date: index.date,
        validUntil: index.validUntil,
        signers: index.signers,
        keyring: debianKeyring(),
      },
      sources: { path: SOURCES_PATH, sha256: sources.sha256, size: sources.size },
      fetchedAt: new Date().toISOString(),
    };
    await mkdir(dir, { recursive: true });
    await writeFile(`${file}.partial`, data);
    await rename(`${file}.partial`, file);
    await writeFile(provenanceFile(file), `${JSON.stringify(provenance, null, 2)}\n`);
    return { file, provenance };
  }
  const offers = [...new Set(seen)];
  throw new UserError(
    `Debian's archive has no ${pkg} ${version} in ${suites.join(", ")}${offers.length ? ` (it offers ${offers.join(", ")})` : ""}: name one of those (\`redis-repro images debian\` lists them)`,
  );
}

/**
 * The cached tarball, else one fetched and verified now. A cached one serves whatever suite is named:
 * the archive never holds two different orig tarballs of one upstream version.
 */
export async function resolveDebianSource(
  pkg: DebPackage,
  version: string,
  suite: string | undefined,
  dirs: string[] = sourceDirs(),
): Promise<{ file: string; provenance: DebianProvenance; origin: "cache" | "download" }> {
  const cached = await cachedDebianSource(pkg, version, dirs);
  if (cached) return { ...cached, origin: "cache" };
  return { ...(await fetchDebianSource(pkg, version, suite, dirs)), origin: "download" };
}
