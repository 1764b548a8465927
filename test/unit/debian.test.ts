import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import {
  clearSignedText,
  deb822Fields,
  origTarball,
  parseInRelease,
  parseSources,
  upstreamVersion,
} from "../../harness/targets/debian.js";

/** The redis, valkey and redis-py-cluster stanzas of sid's and trixie's Sources, as fetched on 2026-12-04. */
const sources = await readFile(new URL("../fixtures/debian/sources-sid-trixie.txt", import.meta.url), "utf8");

describe("upstreamVersion", () => {
  it.each([
    ["5:8.0.6-3", "8.0.6"],
    ["5:8.0.2-3+deb13u3", "8.0.2"],
    ["5:7.0.15-1~deb12u7", "7.0.15"],
    ["8.1.1+dfsg1-3+deb13u3", "8.1.1"],
    ["9.1.2-1", "9.1.2"],
    ["5:8.2.0~rc1-1", "8.2.0-rc1"],
    ["7.2.4+ds-2", "7.2.4"],
    ["1.0", "1.0"],
  ])("%s → %s", (debian, upstream) => {
    expect(upstreamVersion(debian)).toBe(upstream);
  });
});

describe("parseSources on real stanzas", () => {
  const found = parseSources(sources);

  it("finds redis and valkey of both suites and nothing of redis-py-cluster", () => {
    expect(found.map((p) => `${p.package} ${p.debianVersion}`).sort()).toEqual([
      "redis 5:8.0.2-3+deb13u3",
      "redis 5:8.0.6-3",
      "valkey 8.1.1+dfsg1-3+deb13u3",
      "valkey 9.1.2-1",
    ]);
  });

  it("reads the directory and the orig tarball with its sha256 and size", () => {
    const redis = found.find((p) => p.debianVersion === "5:8.0.6-3");
    expect(redis).toMatchObject({ package: "redis", version: "8.0.6", directory: "pool/main/r/redis" });
    expect(redis && origTarball(redis)).toEqual({
      name: "redis_8.0.6.orig.tar.gz",
      sha256: "763bf3005bcbf77c1d8145016a9627e45219665f99cf5a736bc73ec70faf0c8e",
      size: 3873351,
    });
  });

  it("finds a repacked .orig.tar.xz and names its upstream version without the suffix", () => {
    const valkey = found.find((p) => p.debianVersion.startsWith("8.1.1"));
    expect(valkey?.version).toBe("8.1.1");
    expect(valkey && origTarball(valkey)?.name).toBe("valkey_8.1.1+dfsg1.orig.tar.xz");
  });

  it("finds a stanza at the very start of the index, and none when the package is absent", () => {
    const first = sources.slice(sources.indexOf("Package: valkey\n"));
    expect(parseSources(first, ["valkey"])[0]?.debianVersion).toBe("9.1.2-1");
    expect(parseSources("Package: redisearch\nVersion: 1\n\n", ["redis"])).toEqual([]);
  });
});

describe("deb822Fields", () => {
  it("joins continuation lines and keeps single-line fields", () => {
    const fields = deb822Fields("Package: x\nFiles:\n a 1 b\n c 2 d\nVersion: 1.0");
    expect(fields.get("Package")).toBe("x");
    expect(fields.get("Files")).toBe("\na 1 b\nc 2 d");
    expect(fields.get("Version")).toBe("1.0");
  });
});

const signed = (body: string, after = "") =>
  `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n${body}\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n${after}`;

describe("clearSignedText", () => {
  it("returns the signed body with dash-escaping undone", () => {
    expect(clearSignedText(signed("Origin: Debian\n- -----not armor\nSuite: unstable"))).toBe(
      "Origin: Debian\n-----not armor\nSuite: unstable",
    );
  });

  it.each([
    ["not clear-signed", "Origin: Debian\n"],
    ["text after the signature", signed("Origin: Debian", "Suite: evil\n")],
    [
      "a second signed block",
      signed("Origin: Debian").replace("abc", "abc\n-----BEGIN PGP SIGNED MESSAGE-----"),
    ],
    ["an unknown armor header", signed("x").replace("Hash: SHA256", "Comment: hi")],
    ["no signature", "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\n"],
  ])("refuses %s", (_what, text) => {
    expect(() => clearSignedText(text)).toThrow();
  });
});

describe("parseInRelease", () => {
  it("reads the suite's dates and the SHA256 list (not the MD5 one)", () => {
    const text = [
      "Origin: Debian",
      "Suite: unstable",
      "Codename: sid",
      "Date: Fri, 30 Oct 2026 08:08:01 UTC",
      "Valid-Until: Fri, 06 Nov 2026 08:08:01 UTC",
      "Acquire-By-Hash: yes",
      "MD5Sum:",
      " c4bb5f45d93e05a810ad8b0bcef5fcb1 12103252 main/source/Sources.xz",
      "SHA256:",
      " 4f6b97c1b0cb0b078f424478d4e75fbebf639c79604e899f656e528692b6cf4c 12103252 main/source/Sources.xz",
    ].join("\n");
    const index = parseInRelease(text, "sid");
    expect(index).toMatchObject({
      suite: "sid",
      codename: "sid",
      validUntil: "Fri, 06 Nov 2026 08:08:01 UTC",
      acquireByHash: true,
    });
    expect(index.sha256.get("main/source/Sources.xz")).toEqual({
      sha256: "4f6b97c1b0cb0b078f424478d4e75fbebf639c79604e899f656e528692b6cf4c",
      size: 12103252,
    });
    expect(index.sha256.size).toBe(1);
  });
});
