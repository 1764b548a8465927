import { describe, expect, it } from "vitest";
import { cell, code, fence, renderMarkdown } from "../../harness/report/markdown.js";
import { buildReport, readerCommand, sourceMeaning } from "../../harness/report/model.js";
import type { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { decidedRun } from "../helpers/decided.js";

const scenario = await loadScenario("aof-auto-rewrite-enomem");
const now = new Date("2026-11-26T15:00:00.000Z");
/** The recorded seed run, decided by the scenario's own checker (fd-leak). */
const run = decidedRun("seed-3.2.8-vs-fix.json", scenario.checker);
const report = buildReport(run, scenario, { now, dirs: [] });
const md = renderMarkdown(report);
const lines = md.split("\n");

function cells(first: string, line: string | undefined): string[] {
  if (!line) throw new Error(`no row for ${first}`);
  return line
    .slice(2, -2)
    .split(/(?<!\\) \| /)
    .map((c) => c.trim());
}

/** The summary table's row for `first`: the first row that starts with it. */
const firstRow = (first: string) =>
  cells(
    first,
    lines.find((l) => l.startsWith(`| ${first} |`)),
  );
/** The last row that starts with `first`: targets appear again in the environment's table. */
const row = (first: string) =>
  cells(
    first,
    lines.findLast((l) => l.startsWith(`| ${first} |`)),
  );

describe("report.md of the recorded seed run", () => {
  it("opens with the scenario, both labels and whether expectations were met", () => {
    expect(lines[0]).toBe(
      "## redis-repro · aof-auto-rewrite-enomem: 3.2.8 exhaustion, 3.2.8+fix-aof-pipe-leak stable",
    );
    expect(md).toContain("Every stated expectation was met.");
    expect(md).toContain(`run \`${run.runId}\` started 2026-11-26 14:08:26 UTC`);
  });

  it("has a column per target: the outcome with ✓, the checker, then the checker's facts in its order", () => {
    expect(firstRow("")).toEqual(["", "`3.2.8`", "`3.2.8+fix-aof-pipe-leak`"]);
    expect(firstRow("outcome")).toEqual([
      "outcome",
      "**exhaustion** (bug) ✓ as expected",
      "**stable** (no-bug) ✓ as expected",
    ]);
    expect(firstRow("checker")).toEqual(["checker", "`fd-leak`", "`fd-leak`"]);
    const at = lines.findIndex((l) => l.startsWith("| checker |"));
    expect(lines.slice(at + 1, at + 8).map((l) => cells("", l)[0])).toEqual([
      "failed forks",
      "fds per failed fork",
      "fds baseline → peak",
      "event loop ceiling",
      "time to exhaustion",
      "fresh client",
      "fork error",
    ]);
    expect(firstRow("fds baseline → peak")).toEqual(["fds baseline → peak", "8 → 194", "8 → 8"]);
    expect(firstRow("fresh client")).toEqual([
      "fresh client",
      "refused at 3.5 s: Connection is closed.",
      "connected (4 probes)",
    ]);
  });

  it("shows the chart the decision asked for, with a caption from its plot", () => {
    expect(md).toContain("![open fds of the main node, one line per target](chart.svg)");
    expect(md).toContain(
      "*chart.svg* (attach it when pasting this into an issue): open fds of the main node; one line per target; rings: attempts; ✕: client refused; dashed: the ceiling.",
    );
  });

  it("quotes the log lines in fenced blocks, after each target's reason", () => {
    expect(md).toContain(
      [
        "```text",
        "1:M 26 Nov 14:08:27.198 # Can't rewrite append only file in background: fork: Cannot allocate memory",
        "1:M 26 Nov 14:08:30.326 # Error opening /setting AOF rewrite IPC pipes: Numerical result out of range",
        "1:M 26 Nov 14:08:30.397 # Error registering fd event for the new client: Numerical result out of range (fd=194)",
        "```",
      ].join("\n"),
    );
    expect(md).toContain("**`3.2.8`: exhaustion (bug).** 6 fds leaked per failed fork;");
  });

  it("gives the exact rerun command", () => {
    expect(md).toContain(["### Rerun", "", "```sh", run.command, "```"].join("\n"));
  });

  it("lists the scenario's settings as run, not its $schema", () => {
    expect(row("`redis.maxclients`")).toEqual(["`redis.maxclients`", "`64`"]);
    expect(row("`redis.appendonly`")).toEqual(["`redis.appendonly`", "`yes`"]);
    expect(row("`limits.memory`")).toEqual(["`limits.memory`", "`64m`"]);
    expect(row("`fault`")).toEqual(["`fault`", "`seccomp-enomem`"]);
    expect(md).not.toContain("$schema");
    // The expectations, wherever they live (the catalogue here).
    expect(row("expected")[1]).toBe("3.2.8 → exhaustion, 3.2.8+fix-aof-pipe-leak → stable");
    expect(md).not.toContain("faults as run");
  });

  it("describes the environment and how each source was verified", () => {
    expect(row("redis-repro")[1]).toBe("0.1.0 on Node v20.20.2");
    expect(row("kernel")[1]).toBe("6.18.44-fc-v669");
    expect(row("container engine")[1]).toBe("20.10.24+dfsg1 (API 1.41) on Debian GNU/Linux 12 (bookworm)");
    expect(row("cgroup")[1]).toBe("v1 (cgroupfs driver)");
    expect(row("CPUs")[1]).toBe("2");
    expect(row("memory")[1]).toBe("23.5 GiB");
    const source = row("`3.2.8`").at(-1);
    expect(source).toBe(
      "`files-digest`: sha256 over the files inside the tarball equals the release's known files digest",
    );
  });

  it("names every raw file", () => {
    for (const f of report.files.raw)
      for (const p of [...f.logs.map((l) => l.file), f.events, f.series, f.attempts]) expect(md).toContain(p);
  });

  it("says which expectation failed, and marks it", () => {
    const failed: RunResult = structuredClone(run);
    const fixed = failed.results[1];
    if (!fixed) throw new Error("no fix result");
    fixed.decision.label = "exhaustion";
    fixed.decision.outcome = "bug";
    fixed.matches = false;
    failed.ok = false;
    const text = renderMarkdown(buildReport(failed, scenario, { now, dirs: [] }));
    expect(text).toContain(
      "An expectation was NOT met: 3.2.8+fix-aof-pipe-leak was expected to give stable and gives exhaustion (bug).",
    );
    expect(text).toContain("**exhaustion** (bug) ✗ expected stable");
  });

  it("names faults as run when they differ from the scenario's", () => {
    const control: RunResult = structuredClone(run);
    for (const r of control.results) r.faults = ["none"];
    const text = renderMarkdown(buildReport(control, scenario, { now, dirs: [] }));
    expect(text).toContain("| faults as run | none |");
  });

  it("with no plot: no chart, and the report says why", () => {
    const bare: RunResult = structuredClone(run);
    for (const r of bare.results) delete r.decision.plot;
    const plain = buildReport(bare, scenario, { now, dirs: [] });
    expect(plain.files.chart).toBeNull();
    const text = renderMarkdown(plain);
    expect(text).not.toContain("chart.svg");
    expect(text).toContain("No chart: the decisions of fd-leak name no series to plot.");
  });

  it("a checker with other facts gets other rows: none of fd-leak's", () => {
    const other: RunResult = structuredClone(run);
    for (const r of other.results) {
      r.decision = {
        checker: "assert",
        outcome: "bug",
        label: "violated",
        reason: "info.aof_last_bgrewrite_status was ok at the end",
        summary: "status ok after 3 failed rewrites",
        facts: [
          { name: "condition", value: "info.aof_last_bgrewrite_status equals err" },
          { name: "seen", value: "ok at 4.2 s" },
        ],
        evidence: {},
      };
    }
    const text = renderMarkdown(buildReport(other, scenario, { now, dirs: [] }));
    const table = text.split("### What happened")[0] ?? "";
    expect(table).toContain("| condition | info.aof_last_bgrewrite_status equals err |");
    expect(table).not.toMatch(/fds|failed forks|ceiling/);
  });
});

describe("Markdown building blocks", () => {
  it("escapes pipes and line breaks in table cells", () => {
    expect(cell("a|b\nc")).toBe("a\\|b c");
  });

  it("keeps backticks inside inline code and fenced blocks", () => {
    expect(code("a`b")).toBe("``a`b``");
    expect(code("`x")).toBe("`` `x ``");
    expect(fence(["```", "x"])).toBe("````\n```\nx\n````");
  });

  it("a scenario given as a file reruns from the copy shipped beside the report: scenario.json, or the script", () => {
    expect(
      readerCommand("npx redis-repro run --scenario ~/s/x.json --target 3.2.8", "scenario.json"),
    ).toEqual({
      command: "npx redis-repro run --scenario scenario.json --target 3.2.8",
      note: expect.stringContaining("scenario.json beside this report"),
    });
    expect(
      readerCommand("npx redis-repro run --scenario seed --target 3.2.8", "scenario.json").note,
    ).toBeNull();
    const sha256 = "a".repeat(64);
    const script = readerCommand(
      "npx redis-repro run --scenario ./bugs/x.ts --target 3.2.8",
      "scenario.json",
      {
        file: "scenario.ts",
        sha256,
      },
    );
    expect(script.command).toBe("npx redis-repro run --scenario scenario.ts --target 3.2.8");
    expect(script.note).toContain(`scenario.ts beside this report is a copy of it (sha256 ${sha256})`);
    expect(script.note).toContain("scenario.json is a record of its data, not runnable");
  });

  it("explains every kind of source check", () => {
    expect(sourceMeaning({ sourceCheck: "published-sha1", imageOrigin: "built" })).toBe(
      "tarball sha1 equals the hash Redis published for the release",
    );
    expect(sourceMeaning({ sourceCheck: null, imageOrigin: "brought" })).toContain("brought image");
    expect(sourceMeaning({ sourceCheck: null, imageOrigin: "cached" })).toBe("not recorded");
  });
});
