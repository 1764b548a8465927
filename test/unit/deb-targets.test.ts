import { describe, expect, it } from "vitest";
import {
  type Catalogue,
  compareTargets,
  expectationFor,
  loadCatalogue,
  parseCatalogue,
  recordMeasurements,
  selectReleases,
} from "../../harness/catalogue/catalogue.js";
import { formatTarget, parseTarget } from "../../harness/targets/spec.js";
import { userError } from "../helpers/errors.js";

describe("deb: targets", () => {
  it("parses package, upstream version, optional suite and patches", () => {
    expect(parseTarget("deb:redis/8.0.6")).toEqual({
      kind: "deb",
      package: "redis",
      version: "8.0.6",
      patches: [],
    });
    expect(parseTarget("deb:valkey/8.1.1@trixie+count-failed-aof-fork-valkey")).toEqual({
      kind: "deb",
      package: "valkey",
      version: "8.1.1",
      suite: "trixie",
      patches: ["count-failed-aof-fork-valkey"],
    });
  });

  it.each(["deb:redis/8.0.6", "deb:valkey/9.1.2@sid", "deb:redis/8.0.2@trixie-backports+a+b"])(
    "round-trips %s",
    (text) => {
      expect(formatTarget(parseTarget(text))).toBe(text);
    },
  );

  it.each([
    ["deb:redis", "deb:PACKAGE/VERSION"],
    ["deb:keydb/6.3.4", "must be redis or valkey"],
    ["deb:redis/5:8.0.6-3", "not an upstream version"],
    ["deb:valkey/8.1.1+dfsg1-3", "repack suffix"],
    ["deb:redis/8.0.6@Sid", "not a suite name"],
    ["deb:redis/8.0.6@", "deb:PACKAGE/VERSION"],
  ])("refuses %s in one line (%s)", (input, words) => {
    const error = userError(() => parseTarget(input));
    expect(error.message).toContain(words);
    expect(error.message).not.toContain("\n");
    expect(error.exitCode).toBe(2);
  });

  it("orders releases first, then deb: targets by package and version, each before its patched builds", () => {
    const list = [
      "deb:valkey/9.1.2",
      "deb:redis/8.0.6+count-failed-aof-fork",
      "7.0.15",
      "deb:redis/8.0.6",
      "deb:valkey/8.1.1@trixie",
      "deb:redis/8.0.2",
    ];
    expect([...list].sort(compareTargets)).toEqual([
      "7.0.15",
      "deb:redis/8.0.2",
      "deb:redis/8.0.6",
      "deb:redis/8.0.6+count-failed-aof-fork",
      "deb:valkey/8.1.1@trixie",
      "deb:valkey/9.1.2",
    ]);
  });

  it("are selected as given (the archive, not the catalogue, says whether they exist), and by the keyword debian", () => {
    expect(selectReleases("7.0.15,deb:valkey/9.1.2+count-failed-aof-fork-valkey", ["7.0.15"])).toEqual([
      "7.0.15",
      "deb:valkey/9.1.2+count-failed-aof-fork-valkey",
    ]);
    expect(selectReleases("debian", ["7.0.15"], { debian: ["deb:redis/8.0.6"] })).toEqual([
      "deb:redis/8.0.6",
    ]);
  });
});

describe("the catalogue's deb: entries", () => {
  const base: Catalogue = loadCatalogue();
  const measure = (target: string, label: "growing" | "stable", runId: string) => ({
    target,
    scenario: "aof-dir-growth-enomem",
    outcome: label === "growing" ? ("bug" as const) : ("no-bug" as const),
    label,
    summary: label === "growing" ? "11 failed forks, aofdir.files 3 → 14 (1/attempt)" : "3 failed forks",
    runId,
  });

  it("are made by the first recording, under the target without its suite, patched builds under builds", () => {
    const { catalogue, recorded } = recordMeasurements(
      { ...base, debian: [] },
      [
        measure("deb:valkey/9.1.2@sid", "growing", "r1"),
        measure("deb:redis/8.0.6", "growing", "r2"),
        measure("deb:redis/8.0.6+count-failed-aof-fork", "stable", "r3"),
      ],
      { date: "2026-12-04", harness: "0.1.0" },
    );
    expect(recorded).toBe(3);
    expect(catalogue.debian.map((d) => d.target)).toEqual(["deb:redis/8.0.6", "deb:valkey/9.1.2"]);
    expect(catalogue.debian[1]?.config).toEqual({ protectedMode: "off", aof: "multi-part" });
    expect(expectationFor("deb:valkey/9.1.2@trixie", "aof-dir-growth-enomem", catalogue)).toMatchObject({
      outcome: "bug",
      label: "growing",
      summary: "11 failed forks, aofdir.files 3 → 14 (1/attempt)",
      runs: 1,
      runId: "r1",
    });
    expect(
      expectationFor("deb:redis/8.0.6+count-failed-aof-fork", "aof-dir-growth-enomem", catalogue),
    ).toMatchObject({ outcome: "no-bug", label: "stable", runId: "r3" });
    expect(expectationFor("deb:redis/8.0.2", "aof-dir-growth-enomem", catalogue)).toBe("unmeasured");
    // Releases are untouched.
    expect(catalogue.releases).toEqual(base.releases);
  });

  it("tally a second run like the releases do", () => {
    const first = recordMeasurements({ ...base, debian: [] }, [measure("deb:redis/8.0.6", "growing", "a")], {
      date: "2026-12-04",
      harness: "0.1.0",
    }).catalogue;
    const second = recordMeasurements(first, [measure("deb:redis/8.0.6@sid", "growing", "b")], {
      date: "2026-12-05",
      harness: "0.1.0",
    }).catalogue;
    expect(expectationFor("deb:redis/8.0.6", "aof-dir-growth-enomem", second)).toMatchObject({
      runs: 2,
      date: "2026-12-05",
      runId: "b",
    });
  });

  it("must be sorted and keyed without a suite", () => {
    const entry = { config: { protectedMode: "off", aof: "multi-part" }, expect: {} };
    expect(() =>
      parseCatalogue(
        {
          ...base,
          debian: [
            { target: "deb:valkey/9.1.2", ...entry },
            { target: "deb:redis/8.0.6", ...entry },
          ],
        },
        "test",
      ),
    ).toThrow(/deb:redis\/8\.0\.6 must come after deb:valkey\/9\.1\.2/);
    expect(() =>
      parseCatalogue({ ...base, debian: [{ target: "deb:redis/8.0.6@sid", ...entry }] }, "test"),
    ).toThrow(/no suite/);
  });
});
