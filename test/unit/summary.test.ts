import { describe, expect, it } from "vitest";
import { renderSummary, summaryRows, timeToExhaustion } from "../../harness/report/summary.js";
import { RunResult } from "../../harness/run/result.js";
import { seedRun, seedRunData } from "../helpers/fixture.js";

describe("renderSummary on the recorded seed run", () => {
  const run = seedRun();
  const text = renderSummary(run);

  it("the fixture is a valid RunResult", () => {
    const parsed = RunResult.safeParse(seedRunData());
    expect(parsed.success, parsed.error?.message).toBe(true);
    expect(run.results.map((r) => r.target)).toEqual(["3.2.8", "3.2.8+fix-aof-pipe-leak"]);
  });

  it("heads with scenario, run id and harness version", () => {
    expect(run.runId).toMatch(/^\d{8}T\d{6}-[0-9a-f]{6}$/);
    expect(text.split("\n")[0]).toBe(
      `scenario aof-auto-rewrite-enomem · run ${run.runId} · redis-repro 0.1.0`,
    );
  });

  it("names both targets and both verdicts", () => {
    expect(text).toContain("\n3.2.8: exhaustion: 6 fds leaked per failed fork; fds reached the ceiling 192");
    expect(text).toContain("3.2.8+fix-aof-pipe-leak: stable: fds stayed within 0 of the baseline 8");
    expect(text).toMatch(/^verdict +exhaustion ✓ as expected +stable ✓ as expected$/m);
  });

  it("quotes the three seed log lines", () => {
    for (const line of [
      "Can't rewrite append only file in background: fork: Cannot allocate memory",
      "Error opening /setting AOF rewrite IPC pipes: Numerical result out of range",
      "Error registering fd event for the new client: Numerical result out of range (fd=194)",
    ]) {
      expect(text).toMatch(new RegExp(`^ {4}1:M .*${line.replace(/[()/]/g, "\\$&")}$`, "m"));
    }
  });

  it("shows the measured numbers side by side", () => {
    const [leaky, fixed] = run.results;
    if (!leaky || !fixed) throw new Error("fixture has two results");
    const e = leaky.decision.evidence;
    const f = fixed.decision.evidence;
    const row = (label: string, ...cells: string[]) =>
      new RegExp(
        `^${[label, ...cells].map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join(" +")}$`,
        "m",
      );
    expect(text).toMatch(row("failed forks", String(e.attempts), String(f.attempts)));
    expect(e.attempts).toBeGreaterThanOrEqual(30);
    expect(text).toMatch(row("fds per failed fork", "6", "0"));
    expect(text).toMatch(row("fds baseline → peak", `8 → ${e.peak}`, "8 → 8"));
    expect(e.peak).toBeGreaterThanOrEqual(192);
    expect(text).toMatch(row("event loop ceiling", "192", "192"));
    const tte = ((e.exhaustedMs ?? 0) - (e.firstFailureMs ?? 0)) / 1000;
    expect(text).toMatch(row("time to exhaustion", `${tte.toFixed(1)} s`, "—"));
    expect(text).toMatch(
      row(
        "fresh client",
        "refused (Connection is closed.)",
        `connects (${fixed.probes.length}/${fixed.probes.length} probes)`,
      ),
    );
    expect(text).toMatch(row("fork error", "Cannot allocate memory", "Cannot allocate memory"));
    const mib = (r: typeof leaky) => ((r.memory.peakBytes ?? 0) / 1024 ** 2).toFixed(1);
    expect(text).toMatch(row("memory peak / limit", `${mib(leaky)} / 64 MiB`, `${mib(fixed)} / 64 MiB`));
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

  it("reports an unmet expectation", () => {
    const [first, second] = run.results;
    if (!first || !second) throw new Error("fixture has two results");
    const failed = renderSummary({ ...run, ok: false, results: [{ ...first, matches: false }, second] });
    expect(failed).toContain("exhaustion ✗ expected exhaustion");
    expect(failed.endsWith("\nan expectation was NOT met\n")).toBe(true);
    const noExpectation = renderSummary({ ...run, results: [{ ...first, expected: null, matches: null }] });
    expect(noExpectation).toContain("exhaustion (no expectation)");
  });
});

describe("timeToExhaustion", () => {
  it("is from the first failed fork to the ceiling, or null", () => {
    const [leaky, fixed] = seedRun().results;
    const e = leaky?.decision.evidence;
    expect(e?.exhaustedMs).toBeGreaterThan(e?.firstFailureMs ?? Number.POSITIVE_INFINITY);
    expect(leaky && timeToExhaustion(leaky)).toBe((e?.exhaustedMs ?? 0) - (e?.firstFailureMs ?? 0));
    expect(fixed && timeToExhaustion(fixed)).toBeNull();
  });
});
