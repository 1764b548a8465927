import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  Catalogue,
  catalogue,
  catalogueFile,
  catalogueReleases,
  catalogueVersions,
  expectation,
  expectationFor,
  expectedVerdict,
  Measured,
  parseCatalogue,
  recordMeasurements,
} from "../../harness/catalogue/catalogue.js";
import { listScenarios, loadScenario, RedisConfig } from "../../harness/scenario/index.js";
import { redisArgs } from "../../harness/targets/config.js";
import { releases } from "../../harness/targets/releases.js";
import { compareVersions } from "../../harness/targets/spec.js";

const raw = JSON.parse(readFileSync(catalogueFile, "utf8"));
const config = RedisConfig.parse({
  appendonly: true,
  "auto-aof-rewrite-percentage": 100,
  "auto-aof-rewrite-min-size": "64kb",
  maxclients: 64,
  hz: 10,
  dir: "/data",
});

describe("the release catalogue (harness/catalogue/catalogue.json)", () => {
  it("is valid by its zod schema", () => {
    expect(() => Catalogue.parse(raw)).not.toThrow();
  });

  it("lists releases of the release table, in its order (the table has every release; these were run)", () => {
    const table = releases.map((r) => r.version);
    expect(catalogueVersions()).toEqual(table.filter((v) => catalogueVersions().includes(v)));
    expect(catalogueVersions().every((v) => table.includes(v))).toBe(true);
    for (const v of [
      "2.8.24",
      "3.0.7",
      ...Array.from({ length: 14 }, (_, i) => `3.2.${i}`),
      "4.0.0",
      "4.0.14",
      "5.0.14",
      "6.0.20",
      "6.2.16",
      "7.0.15",
      "7.2.6",
      "7.4.1",
      "8.0-m01",
    ])
      expect(catalogueVersions()).toContain(v);
  });

  it("reuses the hashes of targets/releases.ts instead of repeating them", () => {
    expect(JSON.stringify(raw)).not.toMatch(/[0-9a-f]{40}/);
    for (const r of catalogueReleases()) expect(r.release.files).toMatch(/^[0-9a-f]{64}$/);
    expect(catalogueReleases().find((r) => r.version === "3.2.8")?.release.published?.algo).toBe("sha1");
  });

  it("says which config each release needs, and redisArgs gives exactly that", () => {
    for (const r of catalogue.releases) {
      const args = redisArgs(r.version, config);
      const before32 = compareVersions(r.version, "3.2.0") < 0;
      expect(r.config.protectedMode, r.version).toBe(before32 ? "absent" : "off");
      if (r.config.protectedMode === "absent") expect(args, r.version).not.toContain("--protected-mode");
      else expect(args[args.indexOf("--protected-mode") + 1], r.version).toBe("no");
      expect(r.config.aof, r.version).toBe(
        compareVersions(r.version, "7.0.0") >= 0 ? "multi-part" : "single-file",
      );
      // appenddirname exists from 7.0 only: the harness relies on its default instead of passing it.
      expect(args, r.version).not.toContain("--appenddirname");
    }
    expect(catalogue.releases.find((r) => r.version === "8.0-m01")?.reportsVersion).toBe("7.9.224");
  });

  it("every verdict is either measured (date, harness version, runs) or says unmeasured", () => {
    for (const r of catalogue.releases) {
      for (const [scenario, e] of Object.entries(r.expect)) {
        if (e === "unmeasured") continue;
        expect(() => Measured.parse(e), `${r.version} × ${scenario}`).not.toThrow();
        expect(e.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(e.harness).toMatch(/^\d+\.\d+\.\d+/);
        expect(e.runId).toMatch(/^\d{8}T\d{6}-[0-9a-f]{6}$/);
      }
    }
  });

  it("the seed scenario is measured on every release", () => {
    for (const r of catalogue.releases)
      expect(r.expect["aof-auto-rewrite-enomem"], r.version).not.toBe("unmeasured");
  });

  it("agrees with what every scenario file states for a release", async () => {
    for (const name of await listScenarios()) {
      const scenario = await loadScenario(name);
      for (const [target, verdict] of Object.entries(scenario.expect)) {
        const e = expectationFor(target, scenario.name);
        if (e !== "unmeasured") expect(e.verdict, `${target} × ${name}`).toBe(verdict);
      }
    }
  });

  it("holds the count-failed-aof-fork builds of the 7.x releases: stable where the release grows", () => {
    for (const version of ["7.0.15", "7.2.6", "7.4.1", "8.0-m01"]) {
      const target = `${version}+count-failed-aof-fork`;
      expect(expectationFor(version, "aof-dir-growth-enomem"), version).toMatchObject({ verdict: "growing" });
      expect(expectationFor(target, "aof-dir-growth-enomem"), target).toMatchObject({
        verdict: "stable",
        evidence: { attempts: 3 },
      });
      for (const t of [version, target])
        expect(expectationFor(t, "aof-dir-fork-ok-control"), t).toMatchObject({
          verdict: "stable",
          evidence: { attempts: 0 },
        });
    }
  });

  it("patches nobody ran, unknown releases and unlisted scenarios are unmeasured, never guessed", () => {
    expect(expectationFor("3.2.8+fix-aof-pipe-leak", "aof-auto-rewrite-enomem")).toMatchObject({
      verdict: "stable",
    });
    expect(expectationFor("3.2.0+fix-aof-pipe-leak", "aof-auto-rewrite-enomem")).toBe("unmeasured");
    expect(expectationFor("9.9.9", "aof-auto-rewrite-enomem")).toBe("unmeasured");
    expect(expectationFor("3.2.8", "no-such-scenario")).toBe("unmeasured");
  });

  it("rejects unsorted, unknown or unrecorded entries", () => {
    const entry = (version: string, expect: unknown = {}) => ({
      version,
      config: { protectedMode: "off", aof: "single-file" },
      expect,
    });
    const parse = (releases: unknown[]) => () => parseCatalogue({ description: "", releases }, "t");
    expect(parse([entry("3.2.8"), entry("3.2.0")])).toThrow(/must come after 3\.2\.8/);
    expect(parse([entry("3.2.8"), entry("3.2.8")])).toThrow(/sorted, no duplicates/);
    expect(parse([entry("3.2.99")])).toThrow(/not in targets\/releases\.ts/);
    // A verdict without its measurement is a guess.
    expect(parse([entry("3.2.8", { seed: "stable" })])).toThrow(
      /invalid catalogue t: releases\.0\.expect\.seed/,
    );
    expect(parse([entry("3.2.8", { seed: { verdict: "stable" } })])).toThrow();
    expect(parse([{ ...entry("3.2.8"), config: { protectedMode: "yes", aof: "single-file" } }])).toThrow(
      /config\.protectedMode/,
    );
  });
});

describe("recordMeasurements", () => {
  const base = parseCatalogue(
    {
      description: "",
      releases: [
        {
          version: "3.2.8",
          config: { protectedMode: "off", aof: "single-file" },
          expect: { s: "unmeasured" },
        },
        { version: "3.2.9", config: { protectedMode: "off", aof: "single-file" }, expect: {} },
      ],
    },
    "t",
  );
  const m = (target: string, verdict: "exhaustion" | "stable") => ({
    target,
    scenario: "s",
    verdict,
    runId: "20261126T141120-5f1566",
    evidence: {
      attempts: 31,
      baseline: 8,
      peak: verdict === "stable" ? 8 : 194,
      fdsPerAttempt: verdict === "stable" ? 0 : 6,
      growth: [],
    },
  });
  const meta = { date: "2026-11-26", harness: "0.1.0" };

  it("records a first measurement with its date and harness version; a patched build under its release", () => {
    const { catalogue: c, recorded } = recordMeasurements(
      base,
      [m("3.2.8", "exhaustion"), m("3.2.8+fix-aof-pipe-leak", "stable")],
      meta,
    );
    expect(recorded).toBe(2);
    expect(expectationFor("3.2.8", "s", c)).toMatchObject({
      verdict: "exhaustion",
      date: "2026-11-26",
      harness: "0.1.0",
      runs: 1,
    });
    // The build's verdict is its own: it neither replaces the release's nor is taken from it.
    expect(expectationFor("3.2.8+fix-aof-pipe-leak", "s", c)).toMatchObject({ verdict: "stable", runs: 1 });
    expect(c.releases[0]?.builds?.["fix-aof-pipe-leak"]?.s).toMatchObject({ verdict: "stable" });
    expect(expectationFor("3.2.8+other-patch", "s", c)).toBe("unmeasured");
    expect(expectationFor("3.2.9", "s", c)).toBe("unmeasured");
  });

  it("tallies runs per verdict: the majority is expected, the others stay counted, a change is named", () => {
    const once = recordMeasurements(base, [m("3.2.8", "exhaustion")], meta).catalogue;
    const twice = recordMeasurements(once, [m("3.2.8", "exhaustion")], { ...meta, date: "2026-11-27" });
    expect(expectationFor("3.2.8", "s", twice.catalogue)).toMatchObject({ runs: 2, date: "2026-11-27" });
    expect(twice.changes).toEqual([]);
    const flake = recordMeasurements(twice.catalogue, [m("3.2.8", "stable")], meta);
    expect(flake.changes).toEqual([]);
    expect(expectationFor("3.2.8", "s", flake.catalogue)).toMatchObject({
      verdict: "exhaustion",
      runs: 2,
      otherVerdicts: { stable: 1 },
      evidence: { peak: 194 },
    });
    const turned = recordMeasurements(flake.catalogue, [m("3.2.8", "stable"), m("3.2.8", "stable")], meta);
    expect(expectationFor("3.2.8", "s", turned.catalogue)).toMatchObject({
      verdict: "stable",
      runs: 3,
      otherVerdicts: { exhaustion: 2 },
      evidence: { peak: 8 },
    });
    expect(turned.changes).toEqual(["3.2.8 × s: was exhaustion (2 run(s)), now stable (3 run(s))"]);
  });
});

describe("expectation: the one place a target's expected verdict is asked", () => {
  const measured = (verdict: "exhaustion" | "stable" | "growing") => ({
    verdict,
    date: "2026-11-26",
    harness: "0.1.0",
    runs: 1,
    runId: "20261126T141120-5f1566",
    evidence: { attempts: 31, fdsPerAttempt: 6, baseline: 8, peak: 194, growth: [] },
  });
  const data = parseCatalogue(
    {
      description: "",
      releases: [
        {
          version: "3.2.8",
          config: { protectedMode: "off", aof: "single-file" },
          expect: { s: measured("exhaustion"), other: "unmeasured" },
          builds: { "fix-aof-pipe-leak": { s: measured("stable") } },
        },
        { version: "3.2.9", config: { protectedMode: "off", aof: "single-file" }, expect: {} },
      ],
    },
    "t",
  );

  it("the catalogue's measured verdict comes first, for releases and for their patched builds", () => {
    const scenario = {
      name: "s",
      expect: { "3.2.8": "stable" as const, "3.2.8+fix-aof-pipe-leak": "growing" as const },
    };
    expect(expectation(scenario, "3.2.8", data)).toEqual({ expected: "exhaustion", from: "catalogue" });
    expect(expectation(scenario, "3.2.8+fix-aof-pipe-leak", data)).toEqual({
      expected: "stable",
      from: "catalogue",
    });
  });

  it("then the scenario's own expect, for what the catalogue does not hold", () => {
    const scenario = {
      name: "other",
      expect: {
        "3.2.8": "growing" as const,
        "3.2.9": "stable" as const,
        "image:mine": "exhaustion" as const,
      },
    };
    // "unmeasured" in the catalogue holds nothing: the scenario's word stands.
    expect(expectation(scenario, "3.2.8", data)).toEqual({ expected: "growing", from: "scenario" });
    expect(expectation(scenario, "3.2.9", data)).toEqual({ expected: "stable", from: "scenario" });
    expect(expectation(scenario, "image:mine", data)).toEqual({ expected: "exhaustion", from: "scenario" });
  });

  it("else unmeasured, from nowhere", () => {
    const scenario = { name: "s", expect: {} };
    expect(expectation(scenario, "3.2.9", data)).toEqual({ expected: "unmeasured", from: null });
    expect(expectation(scenario, "3.2.8+other-patch", data)).toEqual({ expected: "unmeasured", from: null });
    expect(expectation(scenario, "image:mine", data)).toEqual({ expected: "unmeasured", from: null });
  });

  it("expectedVerdict gives the same answer on the shipped catalogue, null for unmeasured", () => {
    const scenario = {
      name: "aof-auto-rewrite-enomem",
      expect: { "3.2.8+fix-aof-pipe-leak": "stable" as const },
    };
    const recorded = expectationFor("3.2.8", scenario.name);
    if (recorded === "unmeasured") throw new Error("the seed scenario is unmeasured on 3.2.8");
    expect(expectedVerdict(scenario, "3.2.8")).toBe(recorded.verdict);
    expect(expectedVerdict(scenario, "3.2.8+fix-aof-pipe-leak")).toBe("stable");
    expect(expectedVerdict(scenario, "image:nothing-known")).toBeNull();
  });
});
