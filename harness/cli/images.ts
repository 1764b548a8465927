import { releaseStatus } from "../catalogue/catalogue.js";
import { progress } from "../core/progress.js";
import { listManagedImages } from "../engine/images.js";
import {
  LABEL_KIND,
  LABEL_PATCHES,
  LABEL_SERVER,
  LABEL_SOURCE_CHECK,
  LABEL_VERSION,
} from "../engine/labels.js";
import { alignColumns } from "../report/table.js";
import { resolveBases } from "../targets/bases.js";
import { ensureImage, type TargetImage } from "../targets/build.js";
import { releases as knownReleases } from "../targets/releases.js";
import { cachedSourcePath } from "../targets/sources.js";
import { parseTarget } from "../targets/spec.js";
import { baseMode, type Input, printJson, stringList } from "./command.js";

export async function build({ values, args }: Input): Promise<number> {
  const specs = args.map(parseTarget);
  const results: TargetImage[] = [];
  // One build at a time: on 2 cores a build already uses both, and bases must exist first.
  for (const spec of specs) {
    const started = Date.now();
    const image = await ensureImage(spec, { bases: baseMode(values), rebuild: values.rebuild === true });
    const seconds = ((Date.now() - started) / 1000).toFixed(2);
    progress(
      `[images] ${image.target}: ${image.origin} ${image.image} in ${seconds} s${image.sourceCheck ? ` (source: ${image.sourceCheck})` : ""}`,
    );
    results.push(image);
  }
  if (values.json) printJson(results);
  else for (const r of results) process.stdout.write(`${r.target}\t${r.origin}\t${r.image}\n`);
  return 0;
}

export async function ls({ values }: Input): Promise<number> {
  const images = (await listManagedImages()).sort((a, b) => b.created - a.created);
  if (values.json) {
    printJson(images);
    return 0;
  }
  for (const image of images) {
    const l = image.labels;
    const what =
      l[LABEL_KIND] === "redis"
        ? `${l[LABEL_SERVER] ?? "redis"} ${l[LABEL_VERSION]}${l[LABEL_PATCHES] ? `+${l[LABEL_PATCHES]}` : ""} (${l[LABEL_SOURCE_CHECK]})`
        : (l[LABEL_KIND] ?? "");
    const created = new Date(image.created * 1000).toISOString().slice(0, 19).replace("T", " ");
    process.stdout.write(`${image.tag}\t${what}\t${(image.size / 1e6).toFixed(1)} MB\t${created}\n`);
  }
  return 0;
}

export async function releases({ values }: Input): Promise<number> {
  const cached = new Set<string>();
  for (const r of knownReleases) if (await cachedSourcePath(r.version)) cached.add(r.version);
  const rows = releaseStatus(knownReleases, cached);
  if (values.json) {
    printJson(rows);
    return 0;
  }
  const measured = (m: Record<string, string> | null) => {
    if (!m) return "never run";
    const n = Object.keys(m).length;
    return n ? `measured: ${n} scenario(s)` : "in catalogue, unmeasured";
  };
  const lines = alignColumns([
    ["release", "verifies by", "tarball", "catalogue"],
    ...rows.map((r) => [r.version, r.verifies, r.cached ? "cached" : "—", measured(r.measured)]),
  ]);
  process.stdout.write(`${lines.join("\n")}\n`);
  const run = rows.filter((r) => r.measured && Object.keys(r.measured).length).length;
  process.stdout.write(
    `${rows.length} releases, ${cached.size} with a cached tarball, ${run} measured (${rows[0]?.version} .. ${rows.at(-1)?.version})\n`,
  );
  return 0;
}

export async function bases({ values }: Input): Promise<number> {
  const resolved = await resolveBases(baseMode(values));
  if (values.json) printJson(resolved);
  else for (const b of Object.values(resolved)) process.stdout.write(`${b.role}\t${b.ref}\t${b.how}\n`);
  return 0;
}

/** What Debian's archive offers for the servers, as deb: targets, and what is cached or measured. */
export async function debian({ values }: Input): Promise<number> {
  const { DEFAULT_SUITES, cachedDebianSource, debianOffers, origTarball } = await import(
    "../targets/debian.js"
  );
  const { catalogue } = await import("../catalogue/catalogue.js");
  const asked = stringList(values.suite);
  const offers = await debianOffers(asked.length ? asked : DEFAULT_SUITES);
  const rows = [];
  for (const suite of offers)
    for (const p of suite.packages) {
      const key = `deb:${p.package}/${p.version}`;
      const entry = catalogue.debian.find((d) => d.target === key);
      const measured = entry ? Object.keys(entry.expect).length : 0;
      rows.push({
        suite: suite.suite,
        codename: suite.codename,
        indexDate: suite.date,
        package: p.package,
        debianVersion: p.debianVersion,
        target: `${key}@${suite.suite}`,
        orig: origTarball(p)?.name ?? null,
        cached: Boolean(await cachedDebianSource(p.package, p.version)),
        measured,
      });
    }
  if (values.json) {
    printJson(rows);
    return 0;
  }
  const lines = alignColumns([
    ["target", "Debian version", "orig tarball", "tarball", "catalogue"],
    ...rows.map((r) => [
      r.target,
      r.debianVersion,
      r.orig ?? "—",
      r.cached ? "cached" : "—",
      r.measured ? `measured: ${r.measured} scenario(s)` : "never run",
    ]),
  ]);
  process.stdout.write(`${lines.join("\n")}\n`);
  const missing = (asked.length ? asked : DEFAULT_SUITES).filter((s) => !offers.some((o) => o.suite === s));
  process.stdout.write(
    `${rows.length} source package(s) in ${offers.length} suite(s)${missing.length ? `; no such suite: ${missing.join(", ")}` : ""}; a target without @SUITE takes the first suite listed that has it\n`,
  );
  return 0;
}
