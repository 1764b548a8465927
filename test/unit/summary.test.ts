import { describe, expect, it } from "vitest";
import type { Decision } from "../../harness/core/outcome.js";
import { factNames, quotedLines, renderSummary, summaryRows } from "../../harness/report/summary.js";
import type { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { decidedRun } from "../helpers/decided.js";

/** The recorded seed run (3.2.8 vs its fix), decided again by the seed scenario's own checker (fd-leak). */
const seed = await loadScenario("aof-auto-rewrite-enomem");
const run = decidedRun("seed-3.2.8-vs-fix.json", seed.checker);
const text = renderSummary(run);
/** The recorded 7.0.15 pair, decided by aof-dir: a checker whose facts name files, not fds. */
const aof = await loadScenario("aof-dir-growth-enomem");
const aofRun = decidedRun("aof-dir-7.0.15-vs-count-failed-aof-fork.json", aof.checker);

const row = (label: string, ...cells: string[]) =>
  new RegExp(`^${[label, ...cells].map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join(" +")}$`, "m");

describe("renderSummary on the recorded seed run, decided by fd-leak", () => {
  it("heads with scenario, run id and harness version", () => {
    expect(text.split("\n")[0]).toBe(
      "scenario aof-auto-rewrite-enomem · run 20261126T140826-8ec4c3 · redis-repro 0.1.0",
    );
  });

  it("prints the outcome and label with ✓ against the catalogue, then each target's reason", () => {
    expect(text).toMatch(row("outcome", "exhaustion (bug) ✓ as expected", "stable (no-bug) ✓ as expected"));
    expect(text).toContain(
      "\n3.2.8: exhaustion (bug): 6 fds leaked per failed fork; fds reached the ceiling 192",
    );
    expect(text).toContain(
      "\n3.2.8+fix-aof-pipe-leak: stable (no-bug): fds stayed within 0 of the baseline 8",
    );
  });

  it("then the deciding checker's facts, in its order, side by side", () => {
    const lines = text.split("\n");
    const labels = lines.slice(4, 11).map((l) => l.split(/ {2,}/)[0]);
    expect(labels).toEqual([
      "failed forks",
      "fds per failed fork",
      "fds baseline → peak",
      "event loop ceiling",
      "time to exhaustion",
      "fresh client",
      "fork error",
    ]);
    expect(text).toMatch(row("fds per failed fork", "6 (a leak leaves 6)", "0 (a leak leaves 6)"));
    expect(text).toMatch(row("fds baseline → peak", "8 → 194", "8 → 8"));
    expect(text).toMatch(
      row("fresh client", "refused at 3.5 s: Connection is closed.", "connected (4 probes)"),
    );
  });

  it("then the phases and memory", () => {
    expect(text).toMatch(row("wall: start/load/decide", "0.2 s / 0.1 s / 3.5 s", "0.7 s / 0.1 s / 3.0 s"));
    expect(text).toMatch(row("memory peak / limit", "2.6 / 64 MiB", "2.4 / 64 MiB"));
  });

  it("quotes the three seed log lines: the first attempt and each warning after it", () => {
    for (const line of [
      "Can't rewrite append only file in background: fork: Cannot allocate memory",
      "Error opening /setting AOF rewrite IPC pipes: Numerical result out of range",
      "Error registering fd event for the new client: Numerical result out of range (fd=194)",
    ]) {
      expect(text).toMatch(new RegExp(`^ {4}1:M .*${line.replace(/[()/]/g, "\\$&")}$`, "m"));
    }
  });

  it("ends with the expectation line", () => {
    expect(text.endsWith("\nevery stated expectation met\n")).toBe(true);
  });

  it("table rows line up: each column starts two spaces after its widest cell", () => {
    const rows = summaryRows(run.results);
    const table = text.split("\n").slice(2, 2 + rows.length);
    expect(table).toHaveLength(rows.length);
    const width = (col: number) => Math.max(...rows.map((r) => (r[col] ?? "").length));
    const starts = [width(0) + 2, width(0) + 2 + width(1) + 2];
    for (const [i, line] of table.entries()) {
      expect(line.slice(0, width(0)).trimEnd(), line).toBe(rows[i]?.[0]);
      for (const [k, start] of starts.entries()) {
        expect(line.slice(start - 2, start), line).toBe("  ");
        expect(line.slice(start).startsWith(rows[i]?.[k + 1] ?? "\0"), line).toBe(true);
      }
    }
  });

  it("reports an unmet expectation and a target with none", () => {
    const [first, second] = run.results;
    if (!first || !second) throw new Error("fixture has two results");
    const failed = renderSummary({
      ...run,
      ok: false,
      results: [{ ...first, expected: "no-bug", matches: false }, second],
    });
    expect(failed).toContain("exhaustion (bug) ✗ expected no-bug");
    expect(failed.endsWith("\nan expectation was NOT met\n")).toBe(true);
    const noExpectation = renderSummary({ ...run, results: [{ ...first, expected: null, matches: null }] });
    expect(noExpectation).toContain("exhaustion (bug) (no expectation)");
  });
});

describe("rows come from the checker that decided", () => {
  it("aof-dir's facts name files and the limiter: no fd row at all", () => {
    const text = renderSummary(aofRun);
    expect(text).toMatch(row("outcome", "growing (bug) ✓ as expected", "stable (no-bug) ✓ as expected"));
    expect(text).toMatch(/^rewrite limiter +not engaged +engaged after 3 attempts at 6 files/m);
    expect(text).not.toMatch(/^fds|^event loop|^fresh client/m);
    // The limiter's own line is quoted: a warning the server logged after the first attempt.
    expect(text).toContain(
      "    1:M 27 Nov 2026 17:50:44.641 # Background AOF rewrite has repeatedly failed and triggered the limit",
    );
  });

  it("targets decided by different checkers: the union of their fact names, in order, — where one has none", () => {
    const [leaky] = run.results;
    const [grows] = aofRun.results;
    if (!leaky || !grows) throw new Error("fixtures have results");
    const mixed: RunResult = { ...run, results: [leaky, grows] };
    const names = factNames(mixed.results);
    expect(names.slice(0, 2)).toEqual(["failed forks", "fds per failed fork"]);
    expect(names).toContain("rewrite limiter");
    // "failed forks" is a fact of both: one row.
    expect(names.filter((n) => n === "failed forks")).toHaveLength(1);
    const text = renderSummary(mixed);
    expect(text).toMatch(row("failed forks", "31", "28"));
    expect(text).toMatch(/^fds per failed fork +6 \(a leak leaves 6\) +—$/m);
    expect(text).toMatch(/^rewrite limiter +— +not engaged$/m);
  });

  it("a decision with no facts prints only the outcome, phases and memory; a composition its parts", () => {
    const [first] = run.results;
    if (!first) throw new Error("no result");
    const part = (
      checker: string,
      outcome: Decision["outcome"],
      label: string,
      reason: string,
    ): Decision => ({
      checker,
      outcome,
      label,
      reason,
      summary: "",
      facts: [],
      evidence: {},
    });
    const decision: Decision = {
      ...part("all", "bug", "bug", "every part found the bug"),
      parts: [
        part("assert", "bug", "violated", "info.aof_last_bgrewrite_status was ok at the end"),
        part("within", "bug", "timeout", "no rewrite succeeded within 5000 ms of heal"),
      ],
    };
    const bare: RunResult = { ...run, results: [{ ...first, decision, expected: null, matches: null }] };
    const text = renderSummary(bare);
    expect(summaryRows(bare.results).map((r) => r[0])).toEqual([
      "",
      "outcome",
      "wall: start/load/decide",
      "memory peak / limit",
    ]);
    expect(text).toContain("3.2.8: bug: every part found the bug\n");
    expect(text).toContain("    assert: violated (bug): info.aof_last_bgrewrite_status was ok at the end\n");
    expect(text).toContain("    within: timeout (bug): no rewrite succeeded within 5000 ms of heal\n");
  });
});

describe("quotedLines", () => {
  it("names another node's line, and quotes nothing before the first attempt", () => {
    const [first] = run.results;
    if (!first) throw new Error("no result");
    const warning = "1:M 26 Nov 14:08:28.000 # Connection with master lost.";
    const history = {
      ...first.history,
      events: [
        ...first.history.events,
        { t: 1, node: "replica", kind: "lost", line: warning },
        { t: 5000, node: "replica", kind: "lost", line: warning },
      ],
    };
    const lines = quotedLines({ history });
    expect(lines).toContain(`replica: ${warning}`);
    expect(lines.filter((l) => l.startsWith("replica:"))).toHaveLength(1);
    expect(lines[0]).toContain("Can't rewrite append only file in background");
  });
});
