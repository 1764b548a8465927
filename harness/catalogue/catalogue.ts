import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { firstIssue, UserError } from "../core/errors.js";
import { type Expected, Outcome } from "../core/outcome.js";
import { projectRoot } from "../core/paths.js";
import { findRelease, type Release } from "../targets/releases.js";
import {
  checkSortedVersions,
  compareVersions,
  debKey,
  debPackages,
  formatTarget,
  parseTarget,
  type TargetSpec,
  versionPattern,
} from "../targets/spec.js";

/**
 * The release catalogue: the releases the harness has run (the full list is targets/releases.ts),
 * the config facts that decide their redis-server arguments, and what each scenario gave on each in
 * real runs: the outcome (bug, no-bug, unknown) and the label its checker named. Hashes are not
 * repeated here: they stay in targets/releases.ts and are joined by version. Outcomes are data
 * written by `matrix --record` from runs, never typed in: a release nobody ran says "unmeasured".
 */
export const catalogueFile = join(projectRoot, "harness", "catalogue", "catalogue.json");

export const Measured = z
  .object({
    outcome: Outcome,
    /** The checker's word for what it saw (exhaustion, growing, stable…): what the catalogue expects. */
    label: z.string().min(1),
    /** The decision's summary line of the latest run that gave `label` (figures, not log lines). */
    summary: z.string(),
    /** Day of the last agreeing run (UTC) and the harness version that ran it. */
    date: z.iso.date(),
    harness: z.string().min(1),
    /** Recorded runs that gave this label. */
    runs: z.number().int().positive(),
    /** Recorded runs that gave another label (a flaky cell), by label: counted, never hidden. */
    otherLabels: z.record(z.string(), z.number().int().positive()).optional(),
    /** The latest run that gave `label`. */
    runId: z.string().min(1),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.otherLabels && Object.hasOwn(m.otherLabels, m.label))
      ctx.addIssue({
        code: "custom",
        path: ["otherLabels", m.label],
        message: "the expected label is not another label",
      });
  });
export type Measured = z.infer<typeof Measured>;

export const Expectation = z.union([z.literal("unmeasured"), Measured]);
export type Expectation = z.infer<typeof Expectation>;

/**
 * Facts about a release that decide its redis-server arguments. A record, not a setting:
 * targets/config.ts derives the arguments from the version (redisArgs) and does not read these; a
 * unit test checks that the two agree for every release here.
 */
export const ReleaseConfig = z
  .object({
    /** absent before 3.2 (passing the option is a fatal config error); from 3.2 it must be turned off. */
    protectedMode: z.enum(["absent", "off"]),
    /** single-file appendonly.aof up to 6.2; from 7.0 a manifest, base and incr files in appendonlydir/. */
    aof: z.enum(["single-file", "multi-part"]),
  })
  .strict();
export type ReleaseConfig = z.infer<typeof ReleaseConfig>;

export const CatalogueEntry = z
  .object({
    version: z.string().regex(versionPattern),
    /** What the server calls itself when that differs from the tag (milestones report 7.9.x). */
    reportsVersion: z.string().optional(),
    config: ReleaseConfig,
    /** By scenario name; a scenario missing here is unmeasured. */
    expect: z.record(z.string().regex(/^[a-z0-9-]+$/), Expectation),
    /** The same for builds of this release with patches, by their patch names joined with "+". */
    builds: z
      .record(z.string().regex(/^[a-z0-9+-]+$/), z.record(z.string().regex(/^[a-z0-9-]+$/), Expectation))
      .optional(),
  })
  .strict();
export type CatalogueEntry = z.infer<typeof CatalogueEntry>;

const scenarioTable = z.record(z.string().regex(/^[a-z0-9-]+$/), Expectation);

/**
 * A server as Debian's archive carries its source (`deb:redis/8.0.6`, `deb:valkey/9.1.2`), by
 * package and upstream version: the suite a target names only says where to look, and one upstream
 * version has one orig tarball in the whole archive. Its hashes are not here: they come from the
 * archive's signed indexes when the tarball is fetched (targets/debian.ts).
 */
export const DebianEntry = z
  .object({
    target: z
      .string()
      .regex(new RegExp(`^deb:(${debPackages.join("|")})/\\d[^@+\\s]*$`), "deb:PACKAGE/VERSION, no suite"),
    reportsVersion: z.string().optional(),
    config: ReleaseConfig,
    expect: scenarioTable,
    builds: z.record(z.string().regex(/^[a-z0-9+-]+$/), scenarioTable).optional(),
  })
  .strict();
export type DebianEntry = z.infer<typeof DebianEntry>;

/** deb: keys in catalogue order: by package, then version. */
export function compareDebKeys(a: string, b: string): number {
  const [pa = "", va = ""] = a.slice("deb:".length).split("/");
  const [pb = "", vb = ""] = b.slice("deb:".length).split("/");
  return pa.localeCompare(pb) || compareVersions(va, vb);
}

export const Catalogue = z
  .object({
    description: z.string(),
    releases: z.array(CatalogueEntry).min(1),
    /** Targets from Debian's archive (deb:PACKAGE/VERSION); written by `matrix --record` like the rest. */
    debian: z.array(DebianEntry).default([]),
  })
  .strict()
  .superRefine((data, ctx) => {
    data.releases.forEach((entry, i) => {
      if (!findRelease(entry.version))
        ctx.addIssue({
          code: "custom",
          path: ["releases", i, "version"],
          message: `${entry.version} is not in targets/releases.ts, so it cannot be verified or built`,
        });
    });
    checkSortedVersions(
      data.releases.map((r) => r.version),
      (issue) => ctx.addIssue(issue),
    );
    data.debian.forEach((entry, i) => {
      const previous = data.debian[i - 1];
      if (previous && compareDebKeys(previous.target, entry.target) >= 0)
        ctx.addIssue({
          code: "custom",
          path: ["debian", i, "target"],
          message: `${entry.target} must come after ${previous.target} (by package, then version; no duplicates)`,
        });
    });
  });
export type Catalogue = z.infer<typeof Catalogue>;

/** A catalogue entry with its release (tarball hashes) joined in. */
export type CatalogueRelease = CatalogueEntry & { release: Release };

export function parseCatalogue(data: unknown, source: string): Catalogue {
  const parsed = Catalogue.safeParse(data);
  if (!parsed.success) throw new Error(`invalid catalogue ${source}: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

export function loadCatalogue(file = catalogueFile): Catalogue {
  return parseCatalogue(JSON.parse(readFileSync(file, "utf8")), file);
}

export const catalogue: Catalogue = loadCatalogue();

export function catalogueReleases(data: Catalogue = catalogue): CatalogueRelease[] {
  return data.releases.map((entry) => ({ ...entry, release: findRelease(entry.version) as Release }));
}

export function catalogueVersions(data: Catalogue = catalogue): string[] {
  return data.releases.map((r) => r.version);
}

/** The deb: targets the catalogue holds (deb:PACKAGE/VERSION, in catalogue order). */
export function catalogueDebianTargets(data: Catalogue = catalogue): string[] {
  return data.debian.map((d) => d.target);
}

/** What the catalogue recorded for a release or a patched build of one; anything else is unmeasured. */
export function expectationFor(target: string, scenario: string, data: Catalogue = catalogue): Expectation {
  const spec = parseTarget(target);
  if (spec.kind !== "release" && spec.kind !== "deb") return "unmeasured";
  const entry =
    spec.kind === "deb"
      ? data.debian.find((d) => d.target === debKey(spec))
      : data.releases.find((r) => r.version === spec.version);
  const table = spec.patches.length ? entry?.builds?.[spec.patches.join("+")] : entry?.expect;
  return table && Object.hasOwn(table, scenario) ? (table[scenario] ?? "unmeasured") : "unmeasured";
}

/** A scenario as expectations need it: its name and its own `expect` (target → outcome or label). */
export interface ExpectingScenario {
  name: string;
  expect: Readonly<Record<string, string>>;
}

/**
 * What a target is expected to give, asked in one place by run and matrix alike: the catalogue's
 * measured label (releases and their patched builds), else the scenario's own `expect` (an outcome
 * or a label, for what the catalogue does not hold), else unmeasured.
 */
export function expectation(
  scenario: ExpectingScenario,
  target: string,
  data: Catalogue = catalogue,
): { expected: Expected | "unmeasured"; from: "catalogue" | "scenario" | null } {
  const recorded = expectationFor(target, scenario.name, data);
  if (recorded !== "unmeasured") return { expected: recorded.label, from: "catalogue" };
  const stated = scenario.expect[target];
  return stated ? { expected: stated, from: "scenario" } : { expected: "unmeasured", from: null };
}

/**
 * Orders targets as releases: by version, a release before its patched builds; deb: targets after
 * the releases, by package and version, each before its patched builds.
 */
export function compareTargets(a: string, b: string): number {
  const x = parseTarget(a);
  const y = parseTarget(b);
  if (x.kind === "deb" && y.kind === "deb")
    return compareDebKeys(debKey(x), debKey(y)) || x.patches.length - y.patches.length || a.localeCompare(b);
  if (x.kind === "release" && y.kind === "deb") return -1;
  if (x.kind === "deb" && y.kind === "release") return 1;
  if (x.kind !== "release" || y.kind !== "release") return a.localeCompare(b);
  return compareVersions(x.version, y.version) || x.patches.length - y.patches.length || a.localeCompare(b);
}

/**
 * Expands a release selection: items separated by commas or spaces, each a release (3.2.8), a
 * release with patches (3.2.8+fix-aof-pipe-leak), a range A..B (every catalogue release from A to B
 * inclusive, by compareVersions), or a keyword (`all`, and whatever the caller adds, such as
 * `cached`). The result is deduplicated and ordered by version.
 */
export function selectReleases(
  text: string,
  versions: readonly string[],
  keywords: Record<string, readonly string[]> = {},
): string[] {
  const named: Record<string, readonly string[]> = { all: versions, ...keywords };
  const known = (v: string, item: string) => {
    if (!versions.includes(v))
      throw new UserError(
        `unknown release ${v} in "${item}": the catalogue has ${versions[0]}..${versions.at(-1)} (see \`redis-repro matrix --catalogue\`)`,
      );
  };
  const picked: string[] = [];
  const items = text.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0) throw new UserError("no releases selected: give e.g. 3.2.0..3.2.13,4.0.14 or all");
  for (const item of items) {
    if (Object.hasOwn(named, item)) {
      picked.push(...(named[item] ?? []));
      continue;
    }
    const range = /^(.+?)\.\.(.+)$/.exec(item);
    if (range) {
      const [from = "", to = ""] = [range[1], range[2]];
      if (!versionPattern.test(from) || !versionPattern.test(to))
        throw new UserError(`malformed range "${item}": both ends must be releases, e.g. 3.2.0..3.2.13`);
      known(from, item);
      known(to, item);
      if (compareVersions(from, to) > 0)
        throw new UserError(`range "${item}" runs backwards: write ${to}..${from}`);
      picked.push(...versions.filter((v) => compareVersions(v, from) >= 0 && compareVersions(v, to) <= 0));
      continue;
    }
    const spec = parseTarget(item);
    // deb: targets need no catalogue entry: the archive's signed indexes say whether they exist.
    if (spec.kind === "deb") {
      picked.push(formatTarget(spec));
      continue;
    }
    if (spec.kind !== "release")
      throw new UserError(
        spec.kind === "image"
          ? `"${item}" is an image: matrix and bisect take releases (use \`run\` for images)`
          : `"${item}" is not a release: matrix takes releases (use \`run\` for git: and dir: targets, \`bisect --commits\` for commits)`,
      );
    known(spec.version, item);
    picked.push(formatTarget(spec));
  }
  return [...new Set(picked)].sort(compareTargets);
}

/** What one run measured, as the catalogue records it. */
export interface Measurement {
  target: string;
  scenario: string;
  outcome: Outcome;
  label: string;
  summary: string;
  runId: string;
}

/**
 * Pure: the catalogue with measurements recorded, for releases and for patched builds of them (under
 * the release's `builds`). Runs are tallied per label: the expected label is the one most runs gave
 * (a tie keeps the recorded one), the others stay counted in `otherLabels`, and a change of expected
 * label is listed in `changes` so that the maintainer sees it.
 */
export function recordMeasurements(
  data: Catalogue,
  measurements: Measurement[],
  meta: { date: string; harness: string },
): { catalogue: Catalogue; recorded: number; changes: string[] } {
  const changes: string[] = [];
  let recorded = 0;
  const releases = data.releases.map((entry) => {
    const builds = { ...entry.builds };
    for (const m of measurements) {
      const spec = parseTarget(m.target);
      if (spec.kind !== "release" || spec.version !== entry.version || spec.patches.length === 0) continue;
      const key = spec.patches.join("+");
      builds[key] = record(builds[key] ?? {}, [m], `${entry.version}+${key}`);
    }
    const expect = record(
      entry.expect,
      measurements.filter((x) => x.target === entry.version),
      entry.version,
    );
    return { ...entry, expect, ...(Object.keys(builds).length ? { builds } : {}) };
  });
  // deb: targets by their key (no suite); an entry is made the first time one is recorded.
  const debianByKey = new Map(data.debian.map((d) => [d.target, d]));
  for (const m of measurements) {
    const spec = parseTarget(m.target);
    if (spec.kind !== "deb") continue;
    const key = debKey(spec);
    const entry = debianByKey.get(key) ?? { target: key, config: debianConfig(spec), expect: {} };
    if (spec.patches.length) {
      const name = spec.patches.join("+");
      const builds = { ...entry.builds };
      builds[name] = record(builds[name] ?? {}, [m], `${key}+${name}`);
      debianByKey.set(key, { ...entry, builds });
    } else debianByKey.set(key, { ...entry, expect: record(entry.expect, [m], key) });
  }
  const debian = [...debianByKey.values()].sort((a, b) => compareDebKeys(a.target, b.target));
  function record(
    table: Record<string, Expectation>,
    found: Measurement[],
    name: string,
  ): Record<string, Expectation> {
    const expect = { ...table };
    for (const m of found) {
      const before = expect[m.scenario];
      const measured = before === undefined || before === "unmeasured" ? undefined : before;
      const tally: Record<string, number> = { ...measured?.otherLabels };
      if (measured) tally[measured.label] = measured.runs;
      tally[m.label] = (tally[m.label] ?? 0) + 1;
      const count = (label: string) => tally[label] ?? 0;
      const label = measured && count(measured.label) >= count(m.label) ? measured.label : m.label;
      if (measured && label !== measured.label)
        changes.push(
          `${name} × ${m.scenario}: was ${measured.label} (${measured.runs} run(s)), now ${label} (${count(label)} run(s))`,
        );
      const others = Object.fromEntries(Object.entries(tally).filter(([l]) => l !== label));
      // The kept run, its day and harness are those of the latest run that gave the expected label.
      const kept =
        m.label === label || !measured
          ? { outcome: m.outcome, summary: m.summary, runId: m.runId, ...meta }
          : measured;
      expect[m.scenario] = {
        outcome: kept.outcome,
        label,
        summary: kept.summary,
        date: kept.date,
        harness: kept.harness,
        runs: count(label),
        ...(Object.keys(others).length ? { otherLabels: others } : {}),
        runId: kept.runId,
      };
      recorded++;
    }
    return expect;
  }
  return {
    catalogue: parseCatalogue({ ...data, releases, debian }, "recorded catalogue"),
    recorded,
    changes,
  };
}

/** The config facts of a deb: target: protected mode off; the multi-part AOF from Redis 7.0, and in every Valkey. */
export function debianConfig(spec: Extract<TargetSpec, { kind: "deb" }>): ReleaseConfig {
  const multiPart = spec.package === "valkey" || compareVersions(spec.version, "7.0.0") >= 0;
  return { protectedMode: "off", aof: multiPart ? "multi-part" : "single-file" };
}

export async function writeCatalogue(data: Catalogue, file = catalogueFile): Promise<void> {
  await writeFile(file, `${JSON.stringify(Catalogue.parse(data), null, 2)}\n`);
}

/** One line of `images releases`: how a release verifies, whether it is cached, what was measured on it. */
export const ReleaseStatus = z.object({
  version: z.string(),
  verifies: z.string(),
  url: z.string(),
  cached: z.boolean(),
  /** Scenarios measured in the catalogue, each with its label; null when the catalogue does not list it. */
  measured: z.record(z.string(), z.string()).nullable(),
});
export type ReleaseStatus = z.infer<typeof ReleaseStatus>;

export function releaseStatus(
  table: readonly Release[],
  cached: ReadonlySet<string>,
  data: Catalogue = catalogue,
): ReleaseStatus[] {
  return table.map((r) => {
    const entry = data.releases.find((e) => e.version === r.version);
    const verifies = [r.published ? `published ${r.published.algo}` : "", r.files ? "files digest" : ""]
      .filter(Boolean)
      .join(" or ");
    const measured = entry
      ? Object.fromEntries(
          Object.entries(entry.expect).flatMap(([scenario, e]) =>
            e === "unmeasured" ? [] : [[scenario, e.label]],
          ),
        )
      : null;
    return { version: r.version, verifies, url: r.url, cached: cached.has(r.version), measured };
  });
}
