import { describe, expect, it } from "vitest";
import { UserError } from "../../harness/core/errors.js";
import {
  findRelease,
  officialTarballUrl,
  parseReleaseTable,
  Release,
  releases,
  requireRelease,
} from "../../harness/targets/releases.js";
import { compareVersions, versionPattern } from "../../harness/targets/spec.js";

describe("findRelease / requireRelease", () => {
  it("3.2.8 carries its published sha1", () => {
    expect(requireRelease("3.2.8").published).toEqual({
      algo: "sha1",
      digest: "6780d1abb66f33a97aad0edbe020403d0a15b67f",
    });
  });

  it("3.2.9 is the first release with a published sha256", () => {
    const release = requireRelease("3.2.9");
    expect(release.published?.algo).toBe("sha256");
    expect(release.published?.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it("7.0.15 carries its published sha256", () => {
    expect(findRelease("7.0.15")?.published).toEqual({
      algo: "sha256",
      digest: "98066f5363504b26c34dd20fbcc3c957990d764cdf42576c836fc021073f4341",
    });
  });

  it("sha1 up to 3.2.8, sha256 after", () => {
    for (const r of releases) {
      if (!r.published) continue;
      const expected = compareVersions(r.version, "3.2.8") <= 0 ? "sha1" : "sha256";
      expect(r.published.algo, r.version).toBe(expected);
      expect(r.published.digest.length, r.version).toBe(expected === "sha1" ? 40 : 64);
    }
  });

  it("findRelease returns undefined for an unknown version", () => {
    expect(findRelease("3.2.99")).toBeUndefined();
    expect(findRelease("")).toBeUndefined();
  });

  it("requireRelease refuses an unknown version with a UserError naming it and the known range", () => {
    let error: unknown;
    try {
      requireRelease("9.9.9");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    const message = (error as UserError).message;
    expect(message).toContain("unknown release 9.9.9");
    expect(message).toContain(`${releases[0]?.version}..${releases.at(-1)?.version}`);
  });
});

describe("releases list", () => {
  it("is sorted by version and has no duplicates", () => {
    const versions = releases.map((r) => r.version);
    expect(versions.length).toBeGreaterThan(10);
    for (let i = 1; i < versions.length; i++) {
      expect(
        compareVersions(versions[i - 1] ?? "", versions[i] ?? ""),
        `${versions[i - 1]} < ${versions[i]}`,
      ).toBeLessThan(0);
    }
    expect(new Set(versions).size).toBe(versions.length);
    expect(versions[0]).toBe("2.8.0");
    expect(versions).toContain("8.0-m01");
    expect(compareVersions(versions.at(-1) ?? "", "8.0.0")).toBeGreaterThan(0);
  });

  it("every entry is a valid Release with a digest to verify by and a target-grammar version", () => {
    for (const r of releases) {
      expect(() => Release.parse(r)).not.toThrow();
      expect(r.published ?? r.files, r.version).toBeDefined();
      expect(r.version).toMatch(versionPattern);
    }
  });

  it("covers every release of a series, not a chosen subset: 4.0.0 to 4.0.14 and 3.2.0 to 3.2.13", () => {
    for (let patch = 0; patch <= 14; patch++)
      expect(findRelease(`4.0.${patch}`), `4.0.${patch}`).toBeDefined();
    for (let patch = 0; patch <= 13; patch++)
      expect(findRelease(`3.2.${patch}`), `3.2.${patch}`).toBeDefined();
  });

  it("every release the catalogue measured keeps a files digest (their cached tarballs may be repacks)", async () => {
    const { catalogueVersions } = await import("../../harness/catalogue/catalogue.js");
    for (const v of catalogueVersions()) expect(findRelease(v)?.files, v).toMatch(/^[0-9a-f]{64}$/);
  });

  it("files digests are distinct between releases", () => {
    const files = releases.flatMap((r) => (r.files ? [r.files] : []));
    expect(new Set(files).size).toBe(files.length);
  });

  it("a table out of order is refused, naming the entry", () => {
    const entry = (version: string) => ({ version, url: officialTarballUrl(version), files: "a".repeat(64) });
    expect(() =>
      parseReleaseTable(
        { description: "", hashesCommit: "0".repeat(40), releases: [entry("3.2.9"), entry("3.2.8")] },
        "x.json",
      ),
    ).toThrow(/releases\.1\.version: 3\.2\.8 must come after 3\.2\.9/);
  });

  it("builds the official download URL", () => {
    expect(officialTarballUrl("3.2.8")).toBe("https://download.redis.io/releases/redis-3.2.8.tar.gz");
  });
});

describe("releaseStatus (images releases)", () => {
  it("says how each release verifies, whether it is cached and what the catalogue measured", async () => {
    const { releaseStatus } = await import("../../harness/catalogue/catalogue.js");
    const rows = releaseStatus(releases, new Set(["3.2.8"]));
    expect(rows).toHaveLength(releases.length);
    const r328 = rows.find((r) => r.version === "3.2.8");
    expect(r328).toMatchObject({ verifies: "published sha1 or files digest", cached: true });
    expect(r328?.measured?.["aof-auto-rewrite-enomem"]).toBe("exhaustion");
    expect(rows.find((r) => r.version === "4.0.1")).toMatchObject({ cached: false, measured: null });
    expect(rows.find((r) => r.version === "2.8.24")?.verifies).toBe("files digest");
    expect(rows.find((r) => r.version === "6.2.15")?.verifies).toBe("published sha256");
  });
});
