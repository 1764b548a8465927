import { describe, expect, it } from "vitest";
import { catalogueVersions, compareTargets, selectReleases } from "../../harness/catalogue/catalogue.js";
import { UserError } from "../../harness/core/errors.js";

const versions = catalogueVersions();
const all32 = Array.from({ length: 14 }, (_, i) => `3.2.${i}`);

describe("selectReleases: lists and ranges over the catalogue", () => {
  it("a range is every catalogue release between its ends, inclusive, by version (not by text)", () => {
    expect(selectReleases("3.2.0..3.2.13", versions)).toEqual(all32);
    expect(selectReleases("3.2.9..4.0.0", versions)).toEqual([
      "3.2.9",
      "3.2.10",
      "3.2.11",
      "3.2.12",
      "3.2.13",
      "4.0.0",
    ]);
    expect(selectReleases("7.4.1..8.0-m01", versions)).toEqual(["7.4.1", "8.0-m01"]);
    expect(selectReleases("3.2.8..3.2.8", versions)).toEqual(["3.2.8"]);
  });

  it("lists mix ranges, releases and patched builds, comma- or space-separated; deduplicated, ordered", () => {
    expect(selectReleases("3.2.0..3.2.13,4.0.14", versions)).toEqual([...all32, "4.0.14"]);
    expect(selectReleases("4.0.14 3.2.8+fix-aof-pipe-leak, 3.2.8 3.2.8", versions)).toEqual([
      "3.2.8",
      "3.2.8+fix-aof-pipe-leak",
      "4.0.14",
    ]);
    expect(selectReleases("redis@7.0.15", versions)).toEqual(["7.0.15"]);
  });

  it("keywords: all, and those the caller adds (cached)", () => {
    expect(selectReleases("all", versions)).toEqual(versions);
    expect(selectReleases("cached,2.8.24", versions, { cached: ["7.0.15"] })).toEqual(["2.8.24", "7.0.15"]);
    expect(selectReleases("cached", versions, { cached: [] })).toEqual([]);
  });

  it.each([
    ["3.2.13..3.2.0", /runs backwards: write 3\.2\.0\.\.3\.2\.13/],
    ["3.2.0..3.2.99", /unknown release 3\.2\.99/],
    ["9.9.9", /unknown release 9\.9\.9 in "9\.9\.9": the catalogue has 2\.8\.24\.\.8\.0-m01/],
    ["3.2..x", /malformed range/],
    ["image:redis:7", /is an image/],
    ["3.2.8+Fix", /malformed target/],
    [" , ", /no releases selected/],
    ["constructor", /malformed target/],
  ])("%s is a one-line usage error", (text, message) => {
    let error: unknown;
    try {
      selectReleases(text, versions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toMatch(message);
    expect((error as UserError).message).not.toContain("\n");
  });
});

describe("compareTargets: release order", () => {
  it("orders by version numerically, milestones before their release, a release before its patched builds", () => {
    const shuffled = ["8.0-m01", "3.2.10", "3.2.8+fix-aof-pipe-leak", "3.2.9", "3.2.8", "2.8.24", "7.4.1"];
    expect([...shuffled].sort(compareTargets)).toEqual([
      "2.8.24",
      "3.2.8",
      "3.2.8+fix-aof-pipe-leak",
      "3.2.9",
      "3.2.10",
      "7.4.1",
      "8.0-m01",
    ]);
  });
});
