/**
 * Benchmark: each fault injector's latency on real containers, for docs/faults.md: from start() to
 * the first effect (a log line of the failure, or a leaked fd for close) and from heal() to the last,
 * with the duration of the start and heal calls themselves; and the network cut between a master and
 * its replica (cut → master_link_status down, reconnect → up and the sync's log line).
 * Usage: npm run build && node dist/bench/faults.js [libfiu|pids|seccomp|cut ...] [--versions 3.2.8,7.0.15]
 */
import { parseArgs } from "node:util";
import { alignColumns } from "../harness/report/table.js";
import {
  type CutResult,
  type EpisodeResult,
  LIBFIU_CASES,
  PIDS_CASE,
  runCloseEpisode,
  runCutEpisode,
  runEpisode,
  SECCOMP_CASES,
} from "./fault-episodes.js";

const { values, positionals } = parseArgs({
  options: { versions: { type: "string", default: "3.2.8,7.0.15" }, json: { type: "boolean" } },
  allowPositionals: true,
});
const versions = (values.versions ?? "").split(",");
const groups = positionals.length ? positionals : ["libfiu", "pids", "seccomp", "cut"];
const ms = (v: number | undefined) => (v === undefined ? "—" : `${Math.round(v)} ms`);

const episodes: EpisodeResult[] = [];
const cuts: CutResult[] = [];
const failures: string[] = [];
/** One measurement; a failure is reported and the others go on. */
async function measure<T>(what: string, run: () => Promise<T>, into: T[]): Promise<void> {
  process.stderr.write(`[faults] ${what}\n`);
  try {
    into.push(await run());
  } catch (error) {
    failures.push(`${what}: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
}
for (const version of versions) {
  if (groups.includes("libfiu")) {
    for (const c of LIBFIU_CASES)
      await measure(`${version} libfiu ${c.call}`, () => runEpisode(version, c), episodes);
    await measure(`${version} libfiu close`, () => runCloseEpisode(version), episodes);
  }
  if (groups.includes("pids"))
    await measure(`${version} pids-limit`, () => runEpisode(version, PIDS_CASE), episodes);
  if (groups.includes("seccomp")) {
    // 7.x makes its module pipe with pipe2 at start: under this fault it never starts
    // (test/integration/faults.test.ts shows it), so there is no episode to time.
    if (version.startsWith("3."))
      for (const c of SECCOMP_CASES)
        await measure(`${version} seccomp ${c.call}`, () => runEpisode(version, c), episodes);
    else
      process.stderr.write(
        `[faults] ${version} seccomp pipe: not timed (the server cannot start under it)\n`,
      );
  }
  if (groups.includes("cut")) {
    await measure(`${version} network-cut, defaults`, () => runCutEpisode(version), cuts);
    const tuned = { master: { "repl-ping-slave-period": 1 }, replica: { "repl-timeout": 5 } };
    await measure(`${version} network-cut, tuned`, () => runCutEpisode(version, tuned), cuts);
  }
}
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ episodes: episodes.map(({ log, ...e }) => e), cuts: cuts.map(({ log, ...c }) => c) }, null, 2)}\n`,
  );
} else {
  const rows = [
    [
      "release",
      "fault",
      "start call",
      "start→first effect",
      "heal call",
      "heal→last effect",
      "effects before/during/after",
      "first effect",
    ],
    ...episodes.map((e) => [
      e.version,
      e.fault,
      ms(e.startCallMs),
      ms(e.firstEffectMs),
      ms(e.healCallMs),
      ms(e.lastEffectMs),
      `${e.effectsBeforeStart}/${e.effectsDuringFault}/${e.effectsAfterHeal}`,
      (e.sample[0] ?? "").slice(0, 110),
    ]),
  ];
  process.stdout.write(`${alignColumns(rows).join("\n")}\n\n`);
  const cutRows = [
    [
      "release",
      "settings",
      "cut call",
      "cut→link down",
      "reconnect call",
      "reconnect→link up",
      "reconnect→sync line",
      "kept conn. answered",
      "port kept",
    ],
    ...cuts.map((c) => [
      c.version,
      c.settings,
      ms(c.startCallMs),
      ms(c.downMs),
      ms(c.healCallMs),
      ms(c.upMs),
      ms(c.syncLineMs),
      String(c.keptAnswered),
      String(c.portKept),
    ]),
  ];
  if (cuts.length) process.stdout.write(`${alignColumns(cutRows).join("\n")}\n`);
  for (const c of cuts) if (c.syncLine) process.stdout.write(`${c.version} ${c.settings}: ${c.syncLine}\n`);
}
for (const f of failures) process.stdout.write(`failed: ${f}\n`);
process.exit(failures.length ? 1 : 0);
