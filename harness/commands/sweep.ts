import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { catalogueVersions, selectReleases } from "../catalogue/catalogue.js";
import { UserError } from "../errors.js";
import { FaultName } from "../faults/index.js";
import { defaultConcurrency, MAX_CONCURRENCY } from "../matrix.js";
import { progress } from "../progress.js";
import { cellFile, prepareSweepReport, writeSweepReport } from "../report/sweep.js";
import type { RunResult } from "../result.js";
import {
  DEFAULT_FAULTS,
  renderSweep,
  renderSweepJunit,
  runSweep,
  SWEEP_PATHS,
  UNDRIVEN_PATHS,
} from "../sweep.js";
import { baseMode, baseOptions, type Command, commonOptions, printJson, stringList } from "./command.js";

const help = `redis-repro sweep [TARGETS…] [--fault NAME]… [--path NAME]… [--json] [--junit FILE] [--report DIR]

Runs every fork path of each target under each fault and says, with no expectation, what each
failed attempt leaks: fds by kind, files in the data and AOF directories, used_memory, and whether
a fresh client still connects. Cells run ${defaultConcurrency()} at once here, through the matrix's pool.

  TARGETS               3.2.8, 3.2.8+fix-aof-pipe-leak, 7.0.15, ranges A..B, image:REF (default 3.2.8)
  --fault NAME          repeatable: ${FaultName.options.filter((f) => f !== "none").join(", ")} (default both)
  --path NAME           repeatable (default every one):
${SWEEP_PATHS.map((p) => `                          ${p.name}: ${p.forks}`).join("\n")}
  --list                print the paths (how each is driven, and those found but not driven) and exit
  --concurrency N       containers at once, 1..${MAX_CONCURRENCY} (default ${defaultConcurrency()})
  --retries N           run a cell that failed to run or could not decide again, up to N times
                        (0..3, default 1); earlier runs stay in the JSON
  --json                print the sweep as JSON only
  --junit FILE          also write JUnit XML (a leak is a failure, an undecided cell is skipped)
  --report DIR          also write sweep.md, sweep.json and a chart per leaking cell there
  --bases MODE          auto | online | offline base images for builds (default auto)
  --rebuild             build every selected image again first
  --sources DIR         source cache (default $REDIS_REPRO_SOURCES or ~/.cache/redis-repro/sources)

Exit: 0 every cell clean, 1 something leaks or could not be decided, 2 usage or environment error.
`;

function count(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < min || n > max)
    throw new UserError(`${name} must be a whole number from ${min} to ${max}, not "${String(value)}"`);
  return n;
}

function listPaths(): string {
  const lines = SWEEP_PATHS.map((p) => `${p.name}\n    forks: ${p.forks}\n    driven: ${p.drive}`);
  const not = UNDRIVEN_PATHS.map((p) => `${p.name} (not driven)\n    forks: ${p.forks}\n    why: ${p.why}`);
  return `${[...lines, ...not].join("\n")}\n`;
}

export const sweepCommand: Command = {
  name: "sweep",
  summary: "every fork path of a release under fork failure: what each failed attempt leaks",
  help,
  options: {
    ...commonOptions,
    ...baseOptions,
    fault: { type: "string", multiple: true },
    path: { type: "string", multiple: true },
    list: { type: "boolean" },
    concurrency: { type: "string" },
    retries: { type: "string" },
    junit: { type: "string" },
    report: { type: "string" },
  },
  async run(values, positionals) {
    if (values.list) {
      process.stdout.write(listPaths());
      return 0;
    }
    const faults = stringList(values.fault).map((f) => {
      const parsed = FaultName.safeParse(f);
      if (!parsed.success || parsed.data === "none")
        throw new UserError(`--fault must be seccomp-enomem or pids-limit, not "${f}"`);
      return parsed.data;
    });
    const paths = stringList(values.path);
    for (const p of paths) {
      if (!SWEEP_PATHS.some((x) => x.name === p))
        throw new UserError(
          `--path ${p}: no such fork path; use one of ${SWEEP_PATHS.map((x) => x.name).join(", ")}`,
        );
    }
    const asked = positionals.length ? positionals.join(",") : "3.2.8";
    // Releases and ranges go through the catalogue's selection; anything else (patched builds,
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
      faults: faults.length ? faults : DEFAULT_FAULTS,
      ...(paths.length ? { paths } : {}),
      bases: baseMode(values),
      rebuild: values.rebuild === true,
      concurrency: count(values.concurrency, "--concurrency", 1, MAX_CONCURRENCY, defaultConcurrency()),
      retries: count(values.retries, "--retries", 0, 3, 1),
      onRun: (cell, run) => {
        if (report) runs.set(cellFile(cell), run);
      },
    });
    if (typeof values.junit === "string") {
      const file = resolve(values.junit);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, renderSweepJunit(result));
      progress(`[sweep] JUnit XML → ${file}`);
    }
    if (report) {
      await writeSweepReport(report, result, runs);
      progress(`[sweep] report: ${join(report, "sweep.md")}`);
    }
    if (values.json) printJson(result);
    else process.stdout.write(renderSweep(result));
    return result.clean ? 0 : 1;
  },
};
