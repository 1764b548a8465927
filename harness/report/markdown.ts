import { programOf, Server, serverTitle } from "../targets/server.js";
import type { Report, ReportTarget } from "./model.js";

/**
 * report.md: rendered from the report's data alone (report.json), ready to paste into an issue.
 * GitHub-flavoured: tables, fenced blocks; nothing that needs HTML to read.
 */

/** A table cell: a pipe would end the cell and a newline the row. */
export function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/** Inline code that survives backticks inside (image refs, log text). */
export function code(text: string): string {
  const runs = text.match(/`+/g) ?? [];
  const ticks = "`".repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${ticks}${pad}${text}${pad}${ticks}`;
}

/** A fenced block no line inside can close early. */
export function fence(lines: string[], lang = ""): string {
  const runs = lines.join("\n").match(/`{3,}/g) ?? [];
  const ticks = "`".repeat(Math.max(3, ...runs.map((r) => r.length + 1)));
  return [`${ticks}${lang}`, ...lines, ticks].join("\n");
}

function table(head: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const rule = head.map((_, i) => (align?.[i] === "r" ? "---:" : "---"));
  return [head, rule, ...rows].map((row) => `| ${row.join(" | ")} |`).join("\n");
}

const seconds = (ms: number | null) => (ms === null ? "—" : `${(ms / 1000).toFixed(1)} s`);
const orDash = (v: number | null) => (v === null ? "—" : String(v));
const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

function verdictCell(t: ReportTarget): string {
  const mark =
    t.matches === null ? "(no expectation)" : t.matches ? "✓ as expected" : `✗ expected ${t.expected}`;
  return `**${t.verdict}** ${mark}`;
}

function summaryTable(report: Report): string {
  return table(
    [
      "target",
      "verdict",
      "failed forks",
      "fds per failed fork",
      "fds baseline → peak",
      "event loop ceiling",
      "time to exhaustion",
      "fresh client",
    ],
    report.targets.map((t) => [
      code(cell(t.target)),
      cell(verdictCell(t)),
      String(t.attempts),
      orDash(t.fdsPerAttempt),
      `${orDash(t.baseline)} → ${orDash(t.peak)}`,
      String(t.ceiling),
      seconds(t.timeToExhaustionMs),
      cell(t.freshClient),
    ]),
    ["l", "l", "r", "r", "l", "r", "r", "l"],
  );
}

const bytes = (before: number | null, after: number | null) => `${orDash(before)} → ${orDash(after)}`;

/** The AOF directory's table and chart (resource aof-dir): what a failed fork leaves on disk. */
function aofSection(report: Report): string[] {
  if (report.aof.length === 0) return [];
  const rows = report.aof.map((a) => [
    code(cell(a.target)),
    `**${a.verdict}**`,
    String(a.attempts),
    bytes(a.filesBefore, a.filesAfter),
    orDash(a.filesPerAttempt),
    bytes(a.manifestBytesBefore, a.manifestBytesAfter),
    orDash(a.manifestBytesPerAttempt),
    a.limiterLine ? `after ${orDash(a.attemptsAtLimit)} failed forks` : "never",
    orDash(a.consecutiveFailures === null ? null : Number(a.consecutiveFailures)),
  ]);
  const out = [
    "### The AOF directory",
    "",
    table(
      [
        "target",
        "verdict",
        "failed forks",
        "files before → after",
        "files per failed fork",
        "manifest bytes before → after",
        "manifest bytes per failed fork",
        "limiter line",
        "INFO aof_rewrites_consecutive_failures",
      ],
      rows,
      ["l", "l", "r", "l", "r", "l", "r", "l", "r"],
    ),
    "",
  ];
  const lines = [...new Set(report.aof.flatMap((a) => (a.limiterLine ? [a.limiterLine] : [])))];
  if (lines.length) out.push("The limiter's line, as logged:", "", fence(lines, "text"), "");
  if (report.files.aofChart)
    out.push(
      `![Files in the AOF directory over time, one line per target](${report.files.aofChart})`,
      "",
      `*${report.files.aofChart}*: files in ${code("appendonlydir/")} (base, incr and manifest) over time; rings: failed forks; ✕: the rewrite limiter's "triggered the limit" line.`,
      "",
    );
  return out;
}

/**
 * Neighbouring releases with one verdict share a row (2.8.24 … 6.2.16: 21 releases); a patched build
 * always has its own, so it sits next to its release.
 */
export function releaseRows(releases: Report["releases"]): string[][] {
  const groups: Report["releases"][] = [];
  for (const r of releases) {
    const group = groups.at(-1);
    const prev = group?.at(-1);
    const plain = (t: string) => !t.includes("+");
    if (group && prev && plain(prev.target) && plain(r.target) && prev.verdict === r.verdict) group.push(r);
    else groups.push([r]);
  }
  return groups.map((g) => {
    const [first, last] = [g[0], g.at(-1)];
    if (!first || !last) return [];
    const runs = g.reduce((n, r) => n + r.runs, 0);
    const dates = [...new Set(g.map((r) => r.date))].sort();
    const name =
      g.length === 1
        ? code(first.target)
        : `${code(first.target)} … ${code(last.target)} (${g.length} releases)`;
    return [name, first.verdict, String(runs), dates.at(-1) ?? ""];
  });
}

/** The scenario's recorded verdicts across releases: which releases are affected, as measured. */
function releasesSection(report: Report): string[] {
  if (report.releases.length === 0) return [];
  return [
    "### Across releases (measured)",
    "",
    `The verdict real runs of ${code(report.run.scenario)} gave on each release, as recorded in the harness's catalogue by ${code("redis-repro matrix --record")}:`,
    "",
    table(["release", "verdict", "runs", "last run"], releaseRows(report.releases), ["l", "l", "r", "l"]),
    "",
  ];
}

function patchesSection(report: Report): string[] {
  if (report.patches.length === 0) return [];
  const out = ["### Patches", ""];
  for (const p of report.patches)
    out.push(
      `${code(`${p.name}.patch`)}, as the patched target was built with it:`,
      "",
      fence(p.text.trimEnd().split("\n"), "diff"),
      "",
    );
  return out;
}

function evidence(report: Report): string[] {
  const out: string[] = [];
  for (const t of report.targets) {
    out.push(`**${code(t.target)}: ${t.verdict}.** ${t.reason}.`, "");
    if (t.evidence.length) out.push(fence(t.evidence, "text"), "");
    else out.push("No seed log line was seen.", "");
  }
  return out;
}

/** A setting's value as a reader would write it: sizes in MiB, booleans as Redis spells them. */
function settingValue(key: string, value: unknown): string {
  if (key === "limits.memory" && typeof value === "number")
    return `${Number.isInteger(value / 1024 ** 2) ? value / 1024 ** 2 : (value / 1024 ** 2).toFixed(1)} MiB`;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "string") return value === "" ? '""' : value;
  return JSON.stringify(value);
}

function flatten(value: unknown, prefix: string, out: [string, unknown][]): void {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.push([prefix, value]);
}

function scenarioSection(report: Report): string[] {
  // `expect` is left out of the settings: the expectations are listed per target below.
  const { name, description, targets, expect: _expect, ...settings } = report.scenario;
  const rows: [string, unknown][] = [];
  flatten(settings, "", rows);
  const out = [`### Scenario ${code(name)}`, ""];
  if (typeof description === "string" && description) out.push(`> ${cell(description)}`, "");
  const body = rows.map(([k, v]) => [code(cell(k)), code(cell(settingValue(k, v)))]);
  // Every target as run, with its expectation wherever it lives (catalogue or the scenario's own).
  const expected = report.targets.filter((t) => t.expected !== null);
  if (expected.length)
    body.push(["expected verdicts", cell(expected.map((t) => `${t.target} → ${t.expected}`).join(", "))]);
  if (Array.isArray(targets)) body.push(["default targets", cell(targets.map(String).join(", "))]);
  const faults = [...new Set(report.targets.map((t) => t.fault))];
  if (faults.some((f) => f !== settings.fault)) body.push(["fault as run", cell(faults.join(", "))]);
  out.push(table(["setting", "value"], body), "");
  out.push(`The whole scenario, as run, is ${code(report.files.scenario)} beside this report.`, "");
  return out;
}

function environmentSection(report: Report): string[] {
  const e = report.environment;
  const cgroup = `v${e.engine.cgroupVersion}${e.engine.cgroupDriver ? ` (${e.engine.cgroupDriver} driver)` : ""}`;
  const rows = [
    ["redis-repro", `${e.harnessVersion} on Node ${e.node}`],
    ["kernel", e.kernel],
    ["container engine", `${e.engine.version} (API ${e.engine.apiVersion}) on ${e.engine.os || "?"}`],
    ["cgroup", cgroup],
    ["storage driver", e.engine.storageDriver || "?"],
    ["seccomp", e.engine.seccomp ? "enabled in the engine" : "not reported by the engine"],
    ["CPUs", String(e.cpus)],
    ["memory", gib(e.memoryBytes)],
    ["container cleanup", e.reaper === "ryuk" ? "Ryuk and the harness" : "the harness (Ryuk off)"],
  ].map(([k, v]) => [k ?? "", cell(v ?? "")]);
  const targets = report.targets.map((t) => [
    code(cell(t.target)),
    cell(serverTitle(Server.safeParse(t.server).data, t.version)),
    `${code(cell(t.image))} (${t.imageOrigin})`,
    code(cell(t.fault)),
    cell(t.source.check ? `${code(t.source.check)}: ${t.source.meaning}` : t.source.meaning),
  ]);
  return [
    "### Environment",
    "",
    table(["what", "value"], rows),
    "",
    table(["target", "server", "image", "fault", "source verified by"], targets),
    "",
  ];
}

function filesSection(report: Report): string[] {
  const f = report.files;
  const lines = [
    `- ${code(f.json)}: this report as data; ${code("redis-repro report show DIR")} prints the run's summary from it`,
    `- ${code(f.chart)}: the chart above`,
    ...(f.aofChart ? [`- ${code(f.aofChart)}: files in the AOF directory over time`] : []),
    `- ${code(f.scenario)}: the scenario as run`,
    ...f.raw.map(
      (r) =>
        `- ${code(r.target)}: ${code(r.log)} (the container's log), ${code(r.samples)} (fd samples), ${code(r.events)} (parsed log events), ${code(r.probes)} (fresh-client probes)${r.series ? `, ${code(r.series)} (probe series)` : ""}`,
    ),
  ];
  return ["### Files", "", ...lines, ""];
}

export function renderMarkdown(report: Report): string {
  const run = report.run;
  const started = run.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const faults = [...new Set(report.targets.map((t) => t.fault))].join(", ");
  const program = programOf(report.targets.map((t) => t.server));
  const out = [
    `## redis-repro · ${report.title}`,
    "",
    `${report.outcome} Scenario ${code(run.scenario)}, fault ${code(faults)}, run ${code(run.runId)} started ${started}, redis-repro ${run.harness.version}.`,
    "",
    summaryTable(report),
    "",
    `![Open fds of ${program} over time, one line per target](${report.files.chart})`,
    "",
    `*${report.files.chart}* (attach it when pasting this into an issue): open fds of each target's ${program === "the server" ? "server" : program} over time; dashed: the event loop ceiling; rings: failed forks; ✕: a fresh client refused.`,
    "",
    ...aofSection(report),
    "### What happened",
    "",
    ...evidence(report),
    ...releasesSection(report),
    ...patchesSection(report),
    "### Rerun",
    "",
    fence([report.rerun.command], "sh"),
    "",
  ];
  if (report.rerun.note) out.push(report.rerun.note, "");
  out.push(
    `Needs Node ≥ 20.19 and a Docker engine. Release tarballs come from the source cache or download.redis.io and are verified before use (see Environment). Add ${code("--report DIR")} for a report like this one.`,
    "",
    ...scenarioSection(report),
    ...environmentSection(report),
    ...filesSection(report),
    `<sub>Written by redis-repro ${report.environment.harnessVersion} at ${report.generatedAt}.</sub>`,
  );
  return `${out.join("\n")}\n`;
}
