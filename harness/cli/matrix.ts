import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { cellRuns, defaultConcurrency, MAX_CONCURRENCY, runMatrix } from "../campaigns/matrix.js";
import { parseShard } from "../campaigns/shard.js";
import {
  type Catalogue,
  catalogue,
  catalogueDebianTargets,
  catalogueFile,
  catalogueReleases,
  catalogueVersions,
  type Expectation,
  loadCatalogue,
  recordMeasurements,
  selectReleases,
  writeCatalogue,
} from "../catalogue/catalogue.js";
import { UserError } from "../core/errors.js";
import { sourceDirsText } from "../core/paths.js";
import { progress } from "../core/progress.js";
import { matrixJunit, renderMatrix } from "../report/matrix.js";
import { alignColumns } from "../report/table.js";
import { DEFAULT_SCENARIO, listScenarios, loadScenario } from "../scenario/index.js";
import { cachedSourcePath } from "../targets/sources.js";
import { baseMode, type Input, parseCount, printJson, stringList } from "./command.js";

async function cachedVersions(): Promise<string[]> {
  const present = await Promise.all(catalogueVersions().map(async (v) => [v, await cachedSourcePath(v)]));
  return present.filter(([, path]) => path).map(([v]) => v as string);
}

function printCatalogue(data: Catalogue): void {
  const scenarios = [
    ...new Set([...data.releases, ...data.debian].flatMap((r) => Object.keys(r.expect))),
  ].sort();
  const measured = (expect: Record<string, Expectation>) =>
    scenarios.map((s) => {
      const e = expect[s] ?? "unmeasured";
      if (e === "unmeasured") return e;
      const others = Object.entries(e.otherLabels ?? {}).map(([label, n]) => `, ${label} ×${n}`);
      return `${e.label} ×${e.runs}${others.join("")} (${e.date}, ${e.harness})`;
    });
  const rows = [
    ["release", "hash check", "protected-mode", "aof", ...scenarios],
    ...catalogueReleases(data).map((r) => [
      r.reportsVersion ? `${r.version} (reports ${r.reportsVersion})` : r.version,
      r.release.published ? `published ${r.release.published.algo}` : "files digest",
      r.config.protectedMode,
      r.config.aof,
      ...measured(r.expect),
    ]),
    ...data.debian.map((d) => [
      d.reportsVersion ? `${d.target} (reports ${d.reportsVersion})` : d.target,
      "debian archive",
      d.config.protectedMode,
      d.config.aof,
      ...measured(d.expect),
    ]),
  ];
  const lines = alignColumns(rows);
  process.stdout.write(`${lines.join("\n")}\n`);
}

export async function run({ values, args }: Input): Promise<number> {
  if (values.catalogue) {
    if (values.json) printJson(catalogueReleases());
    else printCatalogue(catalogue);
    return 0;
  }
  const concurrency = parseCount(
    values.concurrency,
    "--concurrency",
    1,
    MAX_CONCURRENCY,
    defaultConcurrency(),
  );
  const cached = await cachedVersions();
  const selection = args.length ? args.join(",") : "cached";
  const targets = selectReleases(selection, catalogueVersions(), {
    cached,
    debian: catalogueDebianTargets(),
  });
  if (targets.length === 0)
    throw new UserError(
      `no release tarball in the source cache ${sourceDirsText()}: name releases (e.g. 7.0.15 or 3.2.0..3.2.13) or add tarballs with \`redis-repro sources add FILE\``,
    );
  const refs = stringList(values.scenario);
  const names = refs.includes("all") ? await listScenarios() : refs.length ? refs : [DEFAULT_SCENARIO];
  const scenarios = [];
  for (const ref of names) scenarios.push({ scenario: await loadScenario(ref) });
  progress(
    `[matrix] ${targets.length} release(s) × ${scenarios.length} scenario(s): ${targets.join(" ")}${args.length ? "" : ` (releases in ${sourceDirsText()})`}`,
  );

  const result = await runMatrix(scenarios, targets, {
    bases: baseMode(values),
    rebuild: values.rebuild === true,
    concurrency,
    retries: parseCount(values.retries, "--retries", 0, 3, 1),
    ...(typeof values.shard === "string" ? { shard: parseShard(values.shard) } : {}),
  });
  if (typeof values.junit === "string") {
    const file = resolve(values.junit);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, matrixJunit(result));
    progress(`[matrix] JUnit XML → ${file}`);
  }
  if (values.record) {
    // Every run counts, the earlier runs of a cell that was run again too: flakiness is recorded.
    const measured = result.cells.flatMap((c) =>
      cellRuns(c).flatMap(({ outcome, label, summary, runId }) =>
        outcome === null || label === null || runId === null
          ? []
          : [{ target: c.target, scenario: c.scenario, outcome, label, summary, runId }],
      ),
    );
    const {
      catalogue: updated,
      recorded,
      changes,
    } = recordMeasurements(loadCatalogue(), measured, {
      date: result.startedAt.slice(0, 10),
      harness: result.harness.version,
    });
    await writeCatalogue(updated);
    for (const change of changes) progress(`[catalogue] changed: ${change}`);
    progress(`[catalogue] recorded ${recorded} run(s) into ${catalogueFile}; rebuild to use them`);
  }
  if (values.json) printJson(result);
  else process.stdout.write(renderMatrix(result));
  return result.ok ? 0 : 1;
}
