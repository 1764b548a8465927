import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { defaultConcurrency, MAX_CONCURRENCY } from "../campaigns/matrix.js";
import { parseShard } from "../campaigns/shard.js";
import { DEFAULT_RECOVERY_MS, runSweep, SWEEP_PATHS, UNDRIVEN_PATHS } from "../campaigns/sweep.js";
import { catalogueVersions, selectReleases } from "../catalogue/catalogue.js";
import { UserError } from "../core/errors.js";
import { progress } from "../core/progress.js";
import { cellFile, prepareSweepReport, renderSweep, sweepJunit, writeSweepReport } from "../report/sweep.js";
import type { RunResult } from "../run/result.js";
import { baseMode, type Input, parseCount, printJson, stringList } from "./command.js";

function listPaths(): string {
  const lines = SWEEP_PATHS.map((p) => `${p.name}\n    forks: ${p.forks}\n    driven: ${p.drive}`);
  const not = UNDRIVEN_PATHS.map((p) => `${p.name} (not driven)\n    forks: ${p.forks}\n    why: ${p.why}`);
  return `${[...lines, ...not].join("\n")}\n`;
}

export async function run({ values, args }: Input): Promise<number> {
  if (values.list) {
    process.stdout.write(listPaths());
    return 0;
  }
  // Checked by runSweep against the injectors (none is not one: a sweep needs a call that fails).
  const faults = stringList(values.fault);
  const paths = stringList(values.path);
  for (const p of paths) {
    if (!SWEEP_PATHS.some((x) => x.name === p))
      throw new UserError(
        `--path ${p}: no such fork path; use one of ${SWEEP_PATHS.map((x) => x.name).join(", ")}`,
      );
  }
  const within = values["recover-within"];
  if (within !== undefined && values.heal !== true)
    throw new UserError("--recover-within judges recovery after a heal: add --heal");
  const heal =
    values.heal === true
      ? { withinMs: parseCount(within, "--recover-within", 1, 120, DEFAULT_RECOVERY_MS / 1000) * 1000 }
      : undefined;
  const asked = args.length ? args.join(",") : "3.2.8";
  // Ranges go through the catalogue's selection; anything else (releases, patched builds, git:,
  // image:REF) is taken as written.
  const targets = asked
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean)
    .flatMap((t) => (t.includes("..") ? selectReleases(t, catalogueVersions(), { cached: [] }) : [t]));
  const report = typeof values.report === "string" ? values.report : undefined;
  if (report) await prepareSweepReport(report);
  const runs = new Map<string, RunResult>();
  const result = await runSweep(targets, {
    // None given: runSweep's defaults (the two fork faults, or those that heal with --heal).
    faults,
    ...(heal ? { heal } : {}),
    ...(paths.length ? { paths } : {}),
    bases: baseMode(values),
    rebuild: values.rebuild === true,
    concurrency: parseCount(values.concurrency, "--concurrency", 1, MAX_CONCURRENCY, defaultConcurrency()),
    retries: parseCount(values.retries, "--retries", 0, 3, 1),
    ...(typeof values.shard === "string" ? { shard: parseShard(values.shard) } : {}),
    onRun: (cell, run) => {
      if (report) runs.set(cellFile(cell), run);
    },
  });
  if (typeof values.junit === "string") {
    const file = resolve(values.junit);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, sweepJunit(result));
    progress(`[sweep] JUnit XML → ${file}`);
  }
  if (report) {
    await writeSweepReport(report, result, runs);
    progress(`[sweep] report: ${join(report, "sweep.md")}`);
  }
  if (values.json) printJson(result);
  else process.stdout.write(renderSweep(result));
  return result.clean ? 0 : 1;
}
