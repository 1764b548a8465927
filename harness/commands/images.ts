import { releaseStatus } from "../catalogue/catalogue.js";
import { listManagedImages } from "../engine/images.js";
import { LABEL_KIND, LABEL_PATCHES, LABEL_SOURCE_CHECK, LABEL_VERSION } from "../engine/labels.js";
import { UserError } from "../errors.js";
import { progress } from "../progress.js";
import { alignColumns } from "../report/table.js";
import { resolveBases } from "../targets/bases.js";
import { ensureImage, type TargetImage } from "../targets/build.js";
import { releases } from "../targets/releases.js";
import { cachedSourcePath } from "../targets/sources.js";
import { parseTarget } from "../targets/spec.js";
import { baseMode, baseOptions, type Command, commonOptions, printJson } from "./command.js";

const help = `redis-repro images <build|ls|releases|bases> …

  images build TARGET…   build (or find cached) images: 3.2.8, 3.2.8+fix-aof-pipe-leak, image:redis:3.2.8,
                         git:REF (with --git-dir DIR or REDIS_REPRO_GIT), dir:PATH (a tree as it is)
  images ls              list the images the harness made
  images releases        every release (2.8.0 on): how it verifies, whether its tarball is cached, and
                         whether the catalogue has measured verdicts for it
  images bases           make sure the base images exist (pull, or make offline equivalents)

Options:
  --bases auto|online|offline   official bases, falling back to offline equivalents (auto, default)
  --rebuild                     build even when the content tag exists
  --git-dir DIR                 the clone git:REF targets come from (a bare clone works)
  --sources DIR                 source cache (default: $REDIS_REPRO_SOURCES or ~/.cache/redis-repro/sources)
  --json                        JSON only on stdout
`;

async function build(targets: string[], values: Parameters<Command["run"]>[0]): Promise<number> {
  if (targets.length === 0)
    throw new UserError("images build needs at least one target, e.g. 3.2.8+fix-aof-pipe-leak");
  const specs = targets.map(parseTarget);
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

async function ls(json: boolean): Promise<number> {
  const images = (await listManagedImages()).sort((a, b) => b.created - a.created);
  if (json) {
    printJson(images);
    return 0;
  }
  for (const image of images) {
    const l = image.labels;
    const what =
      l[LABEL_KIND] === "redis"
        ? `redis ${l[LABEL_VERSION]}${l[LABEL_PATCHES] ? `+${l[LABEL_PATCHES]}` : ""} (${l[LABEL_SOURCE_CHECK]})`
        : (l[LABEL_KIND] ?? "");
    const created = new Date(image.created * 1000).toISOString().slice(0, 19).replace("T", " ");
    process.stdout.write(`${image.tag}\t${what}\t${(image.size / 1e6).toFixed(1)} MB\t${created}\n`);
  }
  return 0;
}

async function listReleases(json: boolean): Promise<number> {
  const cached = new Set<string>();
  for (const r of releases) if (await cachedSourcePath(r.version)) cached.add(r.version);
  const rows = releaseStatus(releases, cached);
  if (json) {
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
    `${rows.length} releases, ${cached.size} with a cached tarball, ${run} with measured verdicts (${rows[0]?.version} .. ${rows.at(-1)?.version})\n`,
  );
  return 0;
}

export const imagesCommand: Command = {
  name: "images",
  summary: "build, list and inspect the Redis images behind targets",
  help,
  options: { ...commonOptions, ...baseOptions },
  async run(values, positionals) {
    const [sub, ...rest] = positionals;
    switch (sub) {
      case "build":
        return build(rest, values);
      case "ls":
        return ls(values.json === true);
      case "releases":
        return listReleases(values.json === true);
      case "bases": {
        const bases = await resolveBases(baseMode(values));
        if (values.json) printJson(bases);
        else for (const b of Object.values(bases)) process.stdout.write(`${b.role}\t${b.ref}\t${b.how}\n`);
        return 0;
      }
      default:
        throw new UserError(
          `images needs build, ls, releases or bases, not "${sub ?? ""}": run \`redis-repro images --help\``,
        );
    }
  },
};
