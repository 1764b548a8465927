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
  Measured,
  parseCatalogue,
  recordMeasurements,
} from "../../harness/catalogue/catalogue.js";
import { RESOURCE_LABELS } from "../../harness/parts/checkers/index.js";
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

  it("every entry is either measured (outcome, label, summary, date, harness version, runs) or says unmeasured", () => {
    for (const r of catalogue.releases) {
      for (const [scenario, e] of Object.entries(r.expect)) {
        if (e === "unmeasured") continue;
        expect(() => Measured.parse(e), `${r.version} × ${scenario}`).not.toThrow();
        expect(e.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
        expect(e.harness).toMatch(/^\d+\.\d+\.\d+/);
        expect(e.runId).toMatch(/^\d{8}T\d{6}-[0-9a-f]{6}$/);
        expect(e.summary, `${r.version} × ${scenario}`).toMatch(/\S/);
        // The resource checkers' summaries, migrated from the old evidence, start with the attempts.
        if (e.label in RESOURCE_LABELS)
          expect(e.summary, `${r.version} × ${scenario}`).toMatch(/^\d+ failed forks, /);
      }
    }
  });

  it("keeps what was measured: the old verdicts as labels, each with its outcome", () => {
    const outcomes: Record<string, string> = {
      exhaustion: "bug",
      growing: "bug",
      stable: "no-bug",
      inconclusive: "unknown",
    };
    const seen = new Set<string>();
    for (const r of catalogue.releases)
      for (const table of [r.expect, ...Object.values(r.builds ?? {})])
        for (const e of Object.values(table)) {
          if (e === "unmeasured" || !(e.label in outcomes)) continue;
          expect(outcomes[e.label], e.label).toBe(e.outcome);
          seen.add(e.label);
        }
    expect([...seen].sort()).toEqual(["exhaustion", "growing", "inconclusive", "stable"]);
    // The seed's leak and its fix, as measured, with the figures of the latest run in words.
    expect(expectationFor("3.2.8", "aof-auto-rewrite-enomem")).toMatchObject({
      outcome: "bug",
      label: "exhaustion",
      summary: "31 failed forks, 6 fd/attempt, fds 8 → 194",
    });
    expect(expectationFor("3.2.9", "aof-auto-rewrite-enomem")).toMatchObject({
      outcome: "no-bug",
      label: "stable",
    });
    expect(expectationFor("7.0.15", "aof-dir-growth-enomem")).toMatchObject({
      outcome: "bug",
      label: "growing",
      summary: expect.stringMatching(/^\d+ failed forks, aofdir\.files \d+ → \d+ \(/),
    });
    expect(expectationFor("2.8.24", "aof-dir-growth-enomem")).toMatchObject({
      outcome: "unknown",
      label: "inconclusive",
      summary: expect.stringContaining("aofdir.files not seen"),
    });
  });

  it("the seed scenario is measured on every release", () => {
    for (const r of catalogue.releases)
      expect(r.expect["aof-auto-rewrite-enomem"], r.version).not.toBe("unmeasured");
  });

  it("agrees with what every scenario file states for a release", async () => {
    for (const name of await listScenarios()) {
      const scenario = await loadScenario(name);
      for (const [target, expected] of Object.entries(scenario.expect)) {
        const e = expectationFor(target, scenario.name);
        if (e !== "unmeasured") expect([e.label, e.outcome], `${target} × ${name}`).toContain(expected);
      }
    }
  });

  it("holds the count-failed-aof-fork builds of the 7.x releases: stable where the release grows", () => {
    for (const version of ["7.0.15", "7.2.6", "7.4.1", "8.0-m01"]) {
      const target = `${version}+count-failed-aof-fork`;
      expect(expectationFor(version, "aof-dir-growth-enomem"), version).toMatchObject({ label: "growing" });
      expect(expectationFor(target, "aof-dir-growth-enomem"), target).toMatchObject({
        outcome: "no-bug",
        label: "stable",
        summary: expect.stringMatching(/^3 failed forks, /),
      });
      for (const t of [version, target])
        expect(expectationFor(t, "aof-dir-fork-ok-control"), t).toMatchObject({
          label: "stable",
          summary: expect.stringMatching(/^0 failed forks, /),
        });
    }
  });

  it("patches nobody ran, unknown releases and unlisted scenarios are unmeasured, never guessed", () => {
    expect(expectationFor("3.2.8+fix-aof-pipe-leak", "aof-auto-rewrite-enomem")).toMatchObject({
      label: "stable",
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
    // A label without its measurement is a guess.
    expect(parse([entry("3.2.8", { seed: "stable" })])).toThrow(
      /invalid catalogue t: releases\.0\.expect\.seed/,
    );
    expect(parse([entry("3.2.8", { seed: { outcome: "no-bug", label: "stable" } })])).toThrow();
    const measured = {
      outcome: "no-bug",
      label: "stable",
      summary: "30 failed forks",
      date: "2026-11-26",
      harness: "0.1.0",
      runs: 1,
      runId: "r",
    };
    expect(parse([entry("3.2.8", { seed: measured })])).not.toThrow();
    // An outcome that is not one, an old entry with its verdict, the label counted among the others.
    expect(parse([entry("3.2.8", { seed: { ...measured, outcome: "fine" } })])).toThrow(/expect\.seed/);
    expect(parse([entry("3.2.8", { seed: { ...measured, verdict: "stable" } })])).toThrow(/expect\.seed/);
    expect(parse([entry("3.2.8", { seed: { ...measured, otherLabels: { stable: 1 } } })])).toThrow(
      /otherLabels\.stable/,
    );
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
  const m = (target: string, label: "exhaustion" | "stable", runId = "20261126T141120-5f1566") => ({
    target,
    scenario: "s",
    outcome: label === "stable" ? ("no-bug" as const) : ("bug" as const),
    label,
    summary: label === "stable" ? "31 failed forks, fds 8 → 8" : "31 failed forks, fds 8 → 194",
    runId,
  });
  const meta = { date: "2026-11-26", harness: "0.1.0" };

  it("records a first measurement with its date and harness version; a patched build under its release", () => {
    const { catalogue: c, recorded } = recordMeasurements(
      base,
      [m("3.2.8", "exhaustion"), m("3.2.8+fix-aof-pipe-leak", "stable")],
      meta,
    );
    expect(recorded).toBe(2);
    expect(expectationFor("3.2.8", "s", c)).toEqual({
      outcome: "bug",
      label: "exhaustion",
      summary: "31 failed forks, fds 8 → 194",
      date: "2026-11-26",
      harness: "0.1.0",
      runs: 1,
      runId: "20261126T141120-5f1566",
    });
    // The build's label is its own: it neither replaces the release's nor is taken from it.
    expect(expectationFor("3.2.8+fix-aof-pipe-leak", "s", c)).toMatchObject({ label: "stable", runs: 1 });
    expect(c.releases[0]?.builds?.["fix-aof-pipe-leak"]?.s).toMatchObject({
      outcome: "no-bug",
      label: "stable",
    });
    expect(expectationFor("3.2.8+other-patch", "s", c)).toBe("unmeasured");
    expect(expectationFor("3.2.9", "s", c)).toBe("unmeasured");
  });

  it("tallies runs per label: the majority is expected, the others stay counted, a change is named", () => {
    const once = recordMeasurements(base, [m("3.2.8", "exhaustion", "run-1")], meta).catalogue;
    const twice = recordMeasurements(once, [m("3.2.8", "exhaustion", "run-2")], {
      ...meta,
      date: "2026-11-27",
    });
    expect(expectationFor("3.2.8", "s", twice.catalogue)).toMatchObject({
      runs: 2,
      date: "2026-11-27",
      runId: "run-2",
    });
    expect(twice.changes).toEqual([]);
    // A flake is counted under its label; the kept run, day and harness stay the last agreeing run's.
    const flake = recordMeasurements(twice.catalogue, [m("3.2.8", "stable", "run-3")], {
      date: "2026-11-28",
      harness: "0.2.0",
    });
    expect(flake.changes).toEqual([]);
    expect(expectationFor("3.2.8", "s", flake.catalogue)).toEqual({
      outcome: "bug",
      label: "exhaustion",
      summary: "31 failed forks, fds 8 → 194",
      date: "2026-11-27",
      harness: "0.1.0",
      runs: 2,
      otherLabels: { stable: 1 },
      runId: "run-2",
    });
    const turned = recordMeasurements(
      flake.catalogue,
      [m("3.2.8", "stable", "run-4"), m("3.2.8", "stable", "run-5")],
      meta,
    );
    expect(expectationFor("3.2.8", "s", turned.catalogue)).toMatchObject({
      outcome: "no-bug",
      label: "stable",
      runs: 3,
      otherLabels: { exhaustion: 2 },
      summary: "31 failed forks, fds 8 → 8",
      runId: "run-5",
    });
    expect(turned.changes).toEqual(["3.2.8 × s: was exhaustion (2 run(s)), now stable (3 run(s))"]);
  });
});

describe("expectation: the one place a target's expectation is asked", () => {
  const measured = (label: "exhaustion" | "stable" | "growing") => ({
    outcome: label === "stable" ? "no-bug" : "bug",
    label,
    summary: "31 failed forks",
    date: "2026-11-26",
    harness: "0.1.0",
    runs: 1,
    runId: "20261126T141120-5f1566",
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

  it("the catalogue's measured label comes first, for releases and for their patched builds", () => {
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

  it("then the scenario's own expect (an outcome or a label), for what the catalogue does not hold", () => {
    const scenario = {
      name: "other",
      expect: { "3.2.8": "growing", "3.2.9": "no-bug", "image:mine": "bug" },
    };
    // "unmeasured" in the catalogue holds nothing: the scenario's word stands.
    expect(expectation(scenario, "3.2.8", data)).toEqual({ expected: "growing", from: "scenario" });
    expect(expectation(scenario, "3.2.9", data)).toEqual({ expected: "no-bug", from: "scenario" });
    expect(expectation(scenario, "image:mine", data)).toEqual({ expected: "bug", from: "scenario" });
  });

  it("on the shipped catalogue, the seed's measured labels", () => {
    const seed = { name: "aof-auto-rewrite-enomem", expect: {} };
    expect(expectation(seed, "3.2.8")).toEqual({ expected: "exhaustion", from: "catalogue" });
    expect(expectation(seed, "3.2.9")).toEqual({ expected: "stable", from: "catalogue" });
    expect(expectation(seed, "3.2.8+fix-aof-pipe-leak")).toEqual({ expected: "stable", from: "catalogue" });
  });

  it("else unmeasured, from nowhere", () => {
    const scenario = { name: "s", expect: {} };
    expect(expectation(scenario, "3.2.9", data)).toEqual({ expected: "unmeasured", from: null });
    expect(expectation(scenario, "3.2.8+other-patch", data)).toEqual({ expected: "unmeasured", from: null });
    expect(expectation(scenario, "image:mine", data)).toEqual({ expected: "unmeasured", from: null });
  });
});
