import { describe, expect, it } from "vitest";
import { cell, code, fence, renderMarkdown } from "../../harness/report/markdown.js";
import { buildReport, readerCommand, sourceMeaning } from "../../harness/report/model.js";
import type { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { seedRun } from "../helpers/fixture.js";

const scenario = await loadScenario("aof-auto-rewrite-enomem");
const now = new Date("2026-11-26T15:00:00.000Z");
const run = seedRun();
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
  it("opens with the scenario, both verdicts and whether expectations were met", () => {
    expect(lines[0]).toBe(
      "## redis-repro · aof-auto-rewrite-enomem: 3.2.8 exhaustion, 3.2.8+fix-aof-pipe-leak stable",
    );
    expect(md).toContain("Every stated expectation was met.");
    expect(md).toContain(`run \`${run.runId}\` started 2026-11-26 14:08:26 UTC`);
  });

  it("has one summary row per target with the measured numbers", () => {
    expect(firstRow("target")).toEqual([
      "target",
      "verdict",
      "failed forks",
      "fds per failed fork",
      "fds baseline → peak",
      "event loop ceiling",
      "time to exhaustion",
      "fresh client",
    ]);
    expect(firstRow("`3.2.8`")).toEqual([
      "`3.2.8`",
      "**exhaustion** ✓ as expected",
      "31",
      "6",
      "8 → 194",
      "192",
      "3.0 s",
      "refused (Connection is closed.)",
    ]);
    expect(firstRow("`3.2.8+fix-aof-pipe-leak`")).toEqual([
      "`3.2.8+fix-aof-pipe-leak`",
      "**stable** ✓ as expected",
      "30",
      "0",
      "8 → 8",
      "192",
      "—",
      "connects (4/4 probes)",
    ]);
  });

  it("shows the chart and quotes the evidence log lines in fenced blocks", () => {
    expect(md).toContain("![Open fds of redis-server over time, one line per target](fds.svg)");
    const leaky = run.results[0]?.decision.evidence.logLines ?? [];
    expect(leaky).toHaveLength(3);
    expect(md).toContain(["```text", ...leaky, "```"].join("\n"));
    expect(md).toContain("**`3.2.8`: exhaustion.** 6 fds leaked per failed fork;");
  });

  it("gives the exact rerun command", () => {
    expect(md).toContain(["### Rerun", "", "```sh", run.command, "```"].join("\n"));
  });

  it("lists the scenario's settings as run", () => {
    expect(row("`redis.maxclients`")).toEqual(["`redis.maxclients`", "`64`"]);
    expect(row("`redis.appendonly`")).toEqual(["`redis.appendonly`", "`yes`"]);
    expect(row("`limits.memory`")).toEqual(["`limits.memory`", "`64 MiB`"]);
    expect(row("`fault`")).toEqual(["`fault`", "`seccomp-enomem`"]);
    // The scenario's own expectations (the catalogue's show in the summary rows, "as expected").
    expect(row("expected verdicts")[1]).toContain("3.2.8+fix-aof-pipe-leak → stable");
    expect(md).not.toContain("fault as run");
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
      for (const p of [f.log, f.samples, f.events, f.probes]) expect(md).toContain(p);
  });

  it("says which expectation failed, and marks it", () => {
    const failed: RunResult = structuredClone(run);
    const fixed = failed.results[1];
    if (!fixed) throw new Error("no fix result");
    fixed.decision.verdict = "exhaustion";
    fixed.matches = false;
    failed.ok = false;
    const text = renderMarkdown(buildReport(failed, scenario, { now, dirs: [] }));
    expect(text).toContain(
      "An expectation was NOT met: 3.2.8+fix-aof-pipe-leak was expected to be stable and is exhaustion.",
    );
    expect(text).toContain("**exhaustion** ✗ expected stable");
  });

  it("names a fault override next to the scenario's fault", () => {
    const control: RunResult = structuredClone(run);
    for (const r of control.results) r.fault = "none";
    const text = renderMarkdown(buildReport(control, scenario, { now, dirs: [] }));
    expect(text).toContain("| fault as run | none |");
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

  it("a scenario given as a file reruns from the scenario.json shipped beside the report", () => {
    expect(
      readerCommand("npx redis-repro run --scenario ~/s/x.json --target 3.2.8", "scenario.json"),
    ).toEqual({
      command: "npx redis-repro run --scenario scenario.json --target 3.2.8",
      note: expect.stringContaining("scenario.json beside this report"),
    });
    expect(
      readerCommand("npx redis-repro run --scenario seed --target 3.2.8", "scenario.json").note,
    ).toBeNull();
  });

  it("explains every kind of source check", () => {
    expect(sourceMeaning({ sourceCheck: "published-sha1", imageOrigin: "built" })).toBe(
      "tarball sha1 equals the hash Redis published for the release",
    );
    expect(sourceMeaning({ sourceCheck: null, imageOrigin: "brought" })).toContain("brought image");
    expect(sourceMeaning({ sourceCheck: null, imageOrigin: "cached" })).toBe("not recorded");
  });
});
