import { type Decision, decisionText } from "../core/outcome.js";
import type { RunResult, TargetResult } from "../run/result.js";
import { serverTitle } from "../targets/server.js";
import { alignColumns } from "./table.js";

const seconds = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`;

/** The decision in words, with ✓/✗ against what was expected. */
export function outcomeCell(r: {
  decision: Pick<Decision, "outcome" | "label">;
  matches: boolean | null;
  expected: string | null;
}): string {
  const mark =
    r.matches === null ? "(no expectation)" : r.matches ? "✓ as expected" : `✗ expected ${r.expected}`;
  return `${decisionText(r.decision)} ${mark}`;
}

/** A log line at Redis's warning level: "# " after the timestamp, in every release's prefix. */
const WARNING = / # /;

/**
 * The log lines a reader wants quoted: the first attempt's line, then the first line of each kind of
 * log event at Redis's warning level (#) from the first attempt on (from the server's readiness when
 * there was none): a failed fork, a pipe or fd-registration error, the AOF rewrite limiter. On any
 * node (another node's line is named), in time order.
 */
export function quotedLines(r: Pick<TargetResult, "history">): string[] {
  const { history } = r;
  const first = history.attempts.find((a) => a.line);
  const from = first?.t ?? history.events.find((e) => e.kind === "ready")?.t ?? 0;
  const warnings = new Map<string, { t: number; line: string }>();
  for (const e of history.events) {
    if (e.t < from || e.line === undefined || !WARNING.test(e.line)) continue;
    const key = `${e.node}\u0000${e.kind}`;
    if (!warnings.has(key))
      warnings.set(key, { t: e.t, line: e.node === "main" ? e.line : `${e.node}: ${e.line}` });
  }
  const lines = [...(first?.line ? [{ t: first.t, line: first.line }] : []), ...warnings.values()]
    .sort((a, b) => a.t - b.t)
    .map((l) => l.line);
  return [...new Set(lines)];
}

/** Names of the facts of several decisions, in the order they first appear. */
export function factNames(results: Pick<TargetResult, "decision">[]): string[] {
  return [...new Set(results.flatMap((r) => r.decision.facts.map((f) => f.name)))];
}

/**
 * Which server and version ran, where a target's name does not say it already (a release's does:
 * 3.2.8 is redis 3.2.8): deb:, git:, dir: and image: targets, and every Valkey.
 */
function serverRows(results: TargetResult[]): [string, ...string[]][] {
  const named = (r: TargetResult) => /^\d/.test(r.target) && (r.server ?? "redis") === "redis";
  return results.every(named) ? [] : [["server", ...results.map((r) => serverTitle(r.server, r.version))]];
}

/**
 * Rows of the side-by-side table, one column per target: the outcome with ✓/✗, then the facts of
 * the checker that decided (the union of their names, "—" where a target has none of that name),
 * then the run's phases and memory.
 */
export function summaryRows(results: TargetResult[]): [string, ...string[]][] {
  const fact = (r: TargetResult, name: string) => r.decision.facts.find((f) => f.name === name)?.value ?? "—";
  return [
    ["", ...results.map((r) => r.target)],
    ...serverRows(results),
    ["outcome", ...results.map(outcomeCell)],
    ...factNames(results).map((name): [string, ...string[]] => [name, ...results.map((r) => fact(r, name))]),
    [
      "wall: start/load/decide",
      ...results.map(
        (r) =>
          `${seconds(r.phases.containerStartMs)} / ${seconds(r.phases.workloadMs)} / ${seconds(r.phases.decideMs)}`,
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

/** A decision's parts, indented under it: a composition keeps each part's own words. */
function partLines(decision: TargetResult["decision"], depth = 1): string[] {
  return (decision.parts ?? []).flatMap((p) => [
    `${"    ".repeat(depth)}${p.checker}: ${decisionText(p)}: ${p.reason}`,
    ...partLines(p, depth + 1),
  ]);
}

export function renderSummary(run: RunResult): string {
  const rows = summaryRows(run.results);
  const out = [
    `scenario ${run.scenario} · run ${run.runId} · redis-repro ${run.harness.version}`,
    "",
    ...alignColumns(rows),
    "",
  ];
  for (const r of run.results) {
    out.push(`${r.target}: ${decisionText(r.decision)}: ${r.decision.reason}`);
    out.push(...partLines(r.decision));
    for (const line of quotedLines(r)) out.push(`    ${line}`);
  }
  out.push("", run.ok ? "every stated expectation met" : "an expectation was NOT met");
  return `${out.join("\n")}\n`;
}
