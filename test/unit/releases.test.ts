import { describe, expect, it } from "vitest";
import { UserError } from "../../harness/errors.js";
import {
  findRelease,
  officialTarballUrl,
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
    expect(versions[0]).toBe("2.8.24");
    expect(versions.at(-1)).toBe("8.0-m01");
  });

  it("every entry is a valid Release with a 64-hex files digest and a target-grammar version", () => {
    for (const r of releases) {
      expect(() => Release.parse(r)).not.toThrow();
      expect(r.files, r.version).toMatch(/^[0-9a-f]{64}$/);
      expect(r.version).toMatch(versionPattern);
    }
  });

  it("files digests are distinct between releases", () => {
    expect(new Set(releases.map((r) => r.files)).size).toBe(releases.length);
  });

  it("builds the official download URL", () => {
    expect(officialTarballUrl("3.2.8")).toBe("https://download.redis.io/releases/redis-3.2.8.tar.gz");
  });
});
