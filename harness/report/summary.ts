import { aofView } from "../checkers/aof-dir.js";
import type { RunResult, TargetResult } from "../result.js";
import { serverTitle } from "../targets/server.js";
import { alignColumns } from "./table.js";

const seconds = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`;

function verdictCell(r: TargetResult): string {
  const mark =
    r.matches === null ? "(no expectation)" : r.matches ? "✓ as expected" : `✗ expected ${r.expected}`;
  return `${r.decision.verdict} ${mark}`;
}

/** What the fresh-client probe found: the probe that shows a full event loop. */
export function freshClient(r: TargetResult): string {
  if (r.decision.evidence.refusedProbe) return `refused (${r.decision.evidence.refusedProbe})`;
  const last = r.probes.at(-1);
  if (!last) return "not probed";
  return last.ok
    ? `connects (${r.probes.filter((p) => p.ok).length}/${r.probes.length} probes)`
    : `refused (${last.error})`;
}

/** From the first failed fork to the ceiling: what the seed's "about 3 minutes" measures. */
export function timeToExhaustion(r: TargetResult): number | null {
  const { exhaustedMs, firstFailureMs } = r.decision.evidence;
  return exhaustedMs === null || firstFailureMs === null ? null : exhaustedMs - firstFailureMs;
}

/** The AOF directory's rows, when a target's checker watched it (aof-dir). */
function aofRows(results: TargetResult[]): [string, ...string[]][] {
  const a = (r: TargetResult) => aofView(r.decision.evidence);
  if (!results.some(a)) return [];
  const span = (x: number | null | undefined, y: number | null | undefined) => `${x ?? "—"} → ${y ?? "—"}`;
  return [
    ["AOF files before → after", ...results.map((r) => span(a(r)?.files?.before, a(r)?.files?.after))],
    ["manifest bytes", ...results.map((r) => span(a(r)?.manifest?.before, a(r)?.manifest?.after))],
    [
      "rewrite limiter",
      ...results.map((r) =>
        a(r)?.limiter.line ? `engaged after ${a(r)?.limiter.attemptsAtLimit} failed forks` : "never engaged",
      ),
    ],
    ["consecutive failures", ...results.map((r) => r.info.aof_rewrites_consecutive_failures ?? "—")],
  ];
}

/**
 * Which server and version ran, where a target's name does not say it already (a release's does:
 * 3.2.8 is redis 3.2.8): deb:, git:, dir: and image: targets, and every Valkey.
 */
function serverRows(results: TargetResult[]): [string, ...string[]][] {
  const named = (r: TargetResult) => /^\d/.test(r.target) && (r.server ?? "redis") === "redis";
  return results.every(named) ? [] : [["server", ...results.map((r) => serverTitle(r.server, r.version))]];
}

/** Rows of the side-by-side table: one column per target. */
export function summaryRows(results: TargetResult[]): [string, ...string[]][] {
  const e = (r: TargetResult) => r.decision.evidence;
  return [
    ["", ...results.map((r) => r.target)],
    ...serverRows(results),
    ["verdict", ...results.map(verdictCell)],
    ["failed forks", ...results.map((r) => String(e(r).attempts))],
    [
      "fds per failed fork",
      ...results.map((r) => (e(r).fdsPerAttempt === null ? "—" : String(e(r).fdsPerAttempt))),
    ],
    ["fds baseline → peak", ...results.map((r) => `${e(r).baseline ?? "—"} → ${e(r).peak ?? "—"}`)],
    ["event loop ceiling", ...results.map((r) => String(e(r).ceiling))],
    ["time to exhaustion", ...results.map((r) => seconds(timeToExhaustion(r)))],
    ["fresh client", ...results.map(freshClient)],
    ["fork error", ...results.map((r) => e(r).errno ?? "—")],
    ...aofRows(results),
    [
      "wall: start/load/verdict",
      ...results.map(
        (r) =>
          `${seconds(r.phases.containerStartMs)} / ${seconds(r.phases.workloadMs)} / ${seconds(r.phases.verdictMs)}`,
      ),
    ],
    [
      "memory peak / limit",
      ...results.map(
        (r) =>
          `${r.memory.peakBytes === null ? "—" : (r.memory.peakBytes / 1024 ** 2).toFixed(1)} / ${(r.memory.limitBytes / 1024 ** 2).toFixed(0)} MiB`,
      ),
    ],
  ];
}

export function renderSummary(run: RunResult): string {
  const rows = summaryRows(run.results);
  const lines = alignColumns(rows);
  const out = [
    `scenario ${run.scenario} · run ${run.runId} · redis-repro ${run.harness.version}`,
    "",
    ...lines,
    "",
  ];
  for (const r of run.results) {
    out.push(`${r.target}: ${r.decision.verdict}: ${r.decision.reason}`);
    for (const line of r.decision.evidence.logLines) out.push(`    ${line}`);
    const limiter = r.decision.evidence.limiter?.line;
    if (limiter) out.push(`    ${limiter}`);
  }
  out.push("", run.ok ? "every stated expectation met" : "an expectation was NOT met");
  return `${out.join("\n")}\n`;
}
