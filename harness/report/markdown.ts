import { faultWindows } from "../core/history.js";
import { Server, serverTitle } from "../targets/server.js";
import type { Report, ReportTarget } from "./model.js";
import { outcomeCell } from "./summary.js";

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

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

function outcomeText(t: ReportTarget): string {
  const words = outcomeCell({ decision: t, matches: t.matches, expected: t.expected });
  // The label in bold: what the run gave, before what was expected of it.
  return words.replace(/^(\S+)/, "**$1**");
}

/**
 * The side-by-side table, one column per target: the outcome with ✓/✗, then the facts of the checker
 * that decided, in its own words (the union of their names, "—" where a target has none of that name).
 */
function summaryTable(report: Report): string {
  const names = [...new Set(report.targets.flatMap((t) => t.facts.map((f) => f.name)))];
  const fact = (t: ReportTarget, name: string) => t.facts.find((f) => f.name === name)?.value ?? "—";
  return table(
    ["", ...report.targets.map((t) => code(cell(t.target)))],
    [
      ["outcome", ...report.targets.map((t) => cell(outcomeText(t)))],
      ["checker", ...report.targets.map((t) => code(cell(t.checker)))],
      ...names.map((name) => [cell(name), ...report.targets.map((t) => cell(fact(t, name)))]),
    ],
  );
}

/** The chart and its caption, or why there is none. */
function chartSection(report: Report): string[] {
  const chart = report.files.chart;
  if (!chart) return [report.chartNote ?? "No chart.", ""];
  const plots = report.run.results.flatMap((r) => (r.decision.plot ? [r.decision.plot] : []));
  const title = plots[0]?.title ?? "The checker's series over time";
  const crosses = [...new Set(plots.flatMap((p) => p.marks.map((m) => m.label)))];
  const faults = report.run.results.some((r) => r.history.events.some((e) => e.kind === "fault-start"));
  const marks = report.run.results.some((r) => r.history.events.some((e) => e.kind === "mark"));
  const caption = [
    `one line per target`,
    "rings: attempts",
    ...(crosses.length ? [`✕: ${crosses.join(", ")}`] : []),
    ...(plots.some((p) => p.ceiling !== null)
      ? [`dashed: the ${plots.find((p) => p.ceiling !== null)?.ceilingLabel ?? "ceiling"}`]
      : []),
    ...(faults ? ["shaded: fault windows"] : []),
    ...(marks ? ["ticks under the axis: the scenario's marks"] : []),
  ];
  return [
    `![${title}, one line per target](${chart})`,
    "",
    `*${chart}* (attach it when pasting this into an issue): ${title}; ${caption.join("; ")}.`,
    "",
  ];
}

/**
 * Neighbouring releases with one label share a row (2.8.24 … 6.2.16: 21 releases); a patched build
 * always has its own, so it sits next to its release.
 */
export function releaseRows(releases: Report["releases"]): string[][] {
  const groups: Report["releases"][] = [];
  for (const r of releases) {
    const group = groups.at(-1);
    const prev = group?.at(-1);
    const plain = (t: string) => !t.includes("+");
    if (group && prev && plain(prev.target) && plain(r.target) && prev.label === r.label) group.push(r);
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
    const gave = first.label === first.outcome ? first.label : `${first.label} (${first.outcome})`;
    return [name, gave, String(runs), dates.at(-1) ?? ""];
  });
}

/** The scenario's recorded outcomes across releases: which releases are affected, as measured. */
function releasesSection(report: Report): string[] {
  if (report.releases.length === 0) return [];
  return [
    "### Across releases (measured)",
    "",
    `What real runs of ${code(report.run.scenario)} gave on each release, as recorded in the harness's catalogue by ${code("redis-repro matrix --record")}:`,
    "",
    table(["release", "label (outcome)", "runs", "last run"], releaseRows(report.releases), [
      "l",
      "l",
      "r",
      "l",
    ]),
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

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Each fault window of each target's run, from its history's fault-start and fault-heal events: when
 * it started and healed on the run's clock, the attempts inside it, and what the injector did at
 * either end (the events' words: the fiu-ctrl command, the pids limit set, the network left).
 */
export function episodesSection(report: Report): string[] {
  const rows = report.run.results.flatMap((r) => {
    const { events, attempts } = r.history;
    const windows = faultWindows(r.history);
    return windows.map((w) => {
      const said = (kind: string, t: number | null) =>
        events.find(
          (e) => e.kind === kind && e.t === t && e.node === w.node && (e.name ?? "fault") === w.name,
        )?.line ?? "";
      const end = w.heal ?? Number.POSITIVE_INFINITY;
      const inside = attempts.filter((a) => a.t >= w.start && a.t <= end).length;
      return [
        code(cell(r.target)),
        code(cell(w.name)),
        cell(w.node),
        secs(w.start),
        w.heal === null ? "never (on to the end)" : `${secs(w.heal)} (after ${secs(w.heal - w.start)})`,
        String(inside),
        cell(said("fault-start", w.start)),
        cell(w.heal === null ? "" : said("fault-heal", w.heal)),
      ];
    });
  });
  if (rows.length === 0) return [];
  return [
    "### Fault episodes",
    "",
    "Each fault window as the run recorded it (times on each target's own clock, from its start):",
    "",
    table(["target", "fault", "node", "started", "healed", "attempts in it", "start did", "heal did"], rows, [
      "l",
      "l",
      "l",
      "r",
      "l",
      "r",
      "l",
      "l",
    ]),
    "",
  ];
}

function evidence(report: Report): string[] {
  const out: string[] = [];
  for (const t of report.targets) {
    const gave = t.label === t.outcome ? t.label : `${t.label} (${t.outcome})`;
    out.push(`**${code(t.target)}: ${gave}.** ${t.reason}.`, "");
    if (t.parts.length) out.push(...t.parts.map((p) => `- ${cell(p)}`), "");
    if (t.lines.length) out.push(fence(t.lines, "text"), "");
    else out.push("No error line was logged.", "");
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
  // `expect` is left out of the settings (the expectations are listed per target below), and so is
  // `$schema` (an editor's hint, not a setting).
  const { name, description, targets, expect: _expect, $schema: _schema, ...settings } = report.scenario;
  const rows: [string, unknown][] = [];
  flatten(settings, "", rows);
  const out = [`### Scenario ${code(name)}`, ""];
  if (typeof description === "string" && description) out.push(`> ${cell(description)}`, "");
  const body = rows.map(([k, v]) => [code(cell(k)), code(cell(settingValue(k, v)))]);
  // Every target as run, with its expectation wherever it lives (catalogue or the scenario's own).
  const expected = report.targets.filter((t) => t.expected !== null);
  if (expected.length)
    body.push(["expected", cell(expected.map((t) => `${t.target} → ${t.expected}`).join(", "))]);
  if (Array.isArray(targets)) body.push(["default targets", cell(targets.map(String).join(", "))]);
  const faults = [...new Set(report.targets.flatMap((t) => t.faults))];
  if (faults.join(",") !== String(settings.fault ?? ""))
    body.push(["faults as run", cell(faults.join(", ") || "none")]);
  out.push(table(["setting", "value"], body), "");
  const script = report.files.script;
  out.push(
    script
      ? `The scenario is a script: ${code(script.file)} beside this report is a copy of it (sha256 ${code(script.sha256)}); ${code(report.files.scenario)} records its data and cannot run.`
      : `The whole scenario, as run, is ${code(report.files.scenario)} beside this report.`,
    "",
  );
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
    code(cell(t.faults.join(", ") || "none")),
    cell(t.source.check ? `${code(t.source.check)}: ${t.source.meaning}` : t.source.meaning),
  ]);
  return [
    "### Environment",
    "",
    table(["what", "value"], rows),
    "",
    table(["target", "server", "image", "faults", "source verified by"], targets),
    "",
  ];
}

function filesSection(report: Report): string[] {
  const f = report.files;
  const lines = [
    `- ${code(f.json)}: this report as data; ${code("redis-repro report show DIR")} prints the run's summary from it`,
    ...(f.chart ? [`- ${code(f.chart)}: the chart above`] : []),
    `- ${code(f.scenario)}: the scenario as run${f.script ? " (a record: the script's data)" : ""}`,
    ...(f.script ? [`- ${code(f.script.file)}: the scenario script, sha256 ${code(f.script.sha256)}`] : []),
    ...f.raw.map(
      (r) =>
        `- ${code(r.target)}: ${r.logs.map((l) => `${code(l.file)} (${l.node}'s log)`).join(", ")}, ${code(r.events)} (events: log lines recognised, marks, faults, limits), ${code(r.series)} (every probe's readings), ${code(r.attempts)} (attempts)`,
    ),
  ];
  return ["### Files", "", ...lines, ""];
}

export function renderMarkdown(report: Report): string {
  const run = report.run;
  const started = run.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const faults = [...new Set(report.targets.flatMap((t) => t.faults))].join(", ") || "none";
  const out = [
    `## redis-repro · ${report.title}`,
    "",
    `${report.expectations} Scenario ${code(run.scenario)}, faults ${code(faults)}, run ${code(run.runId)} started ${started}, redis-repro ${run.harness.version}.`,
    "",
    summaryTable(report),
    "",
    ...chartSection(report),
    "### What happened",
    "",
    ...evidence(report),
    ...episodesSection(report),
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
