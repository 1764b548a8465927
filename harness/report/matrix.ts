import { type MatrixResult, statusMark } from "../campaigns/matrix.js";
import { type JunitCase, renderJunit } from "./junit.js";
import { alignColumns } from "./table.js";

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A cell's words: its label, or "error" for a run that failed, with its outcome where the label hides it. */
function labelText(c: { outcome: string | null; label: string | null }): string {
  if (c.label === null || c.outcome === null) return "error";
  return c.label === c.outcome ? c.label : `${c.label} (${c.outcome})`;
}

/**
 * release × scenario → the label with ✓/✗ against the expectation, the decision's summary line and
 * the time; then every cell that differs, failed or was run again, with its reason and rerun command.
 */
export function renderMatrix(result: MatrixResult): string {
  const cell = (target: string, scenario: string) =>
    result.cells.find((c) => c.target === target && c.scenario === scenario);
  const header = ["release", ...result.scenarios.flatMap((s) => [s, "summary", "time"])];
  const rows = result.targets.map((target) => [
    target,
    ...result.scenarios.flatMap((s) => {
      const c = cell(target, s);
      if (!c) return ["—", "", ""];
      const flaky = c.earlier.length
        ? ` (run ${c.earlier.length + 1}; before: ${c.earlier.map((e) => e.label ?? "error").join(", ")})`
        : "";
      return [
        `${c.label ?? "error"} ${statusMark(c)}${flaky}`,
        c.summary || "—",
        `${c.seconds.toFixed(1)} s`,
      ];
    }),
  ]);
  const { counts } = result;
  const out = [
    `matrix · ${result.targets.length} release(s) × ${result.scenarios.length} scenario(s) · ${result.concurrency} at once · runs ${secs(result.runWallMs)}, total ${secs(result.wallMs)} · redis-repro ${result.harness.version}`,
    "",
    ...alignColumns([header, ...rows]),
    "",
  ];
  for (const c of result.cells.filter(
    (x) => x.status === "differs" || x.status === "error" || x.earlier.length,
  )) {
    out.push(`${c.target} × ${c.scenario}: ${labelText(c)}: ${c.reason}`);
    for (const e of c.earlier) out.push(`    earlier run ${e.runId ?? "—"}: ${labelText(e)}: ${e.reason}`);
    if (c.command) out.push(`    rerun: ${c.command}`);
  }
  const flaky = result.cells.filter((c) => c.earlier.length && c.status === "as-expected").length;
  out.push(
    `${counts["as-expected"]} as expected${flaky ? ` (${flaky} only when run again)` : ""}, ${counts.differs} differ, ${counts.unmeasured} unmeasured, ${counts.error} failed to run`,
    // A merge of shards with one missing is not ok though every cell in it may be (the merge says why).
    result.ok || (counts.differs === 0 && counts.error === 0)
      ? "every measured expectation met"
      : "an expectation was NOT met (catalogue: harness/catalogue/catalogue.json)",
  );
  return `${out.join("\n")}\n`;
}

/**
 * The matrix as JUnit: a suite per scenario, a case per target. A cell that differs from its
 * expectation fails, a run that broke is an error, an unmeasured cell is skipped (reported, not failed).
 */
export function matrixJunit(result: MatrixResult): string {
  const suites = result.scenarios.map((scenario) => ({
    name: scenario,
    timestamp: result.startedAt,
    cases: result.cells
      .filter((c) => c.scenario === scenario)
      .map((c): JunitCase => {
        const got = labelText(c);
        const earlier = c.earlier.map((e) => `\nearlier run ${e.runId ?? "—"}: ${labelText(e)}: ${e.reason}`);
        const out = `${got}; expected ${c.expected}${c.expectedFrom ? ` (${c.expectedFrom})` : ""}; ${c.summary || "no summary"}; redis ${c.version ?? "?"}; ${c.reason}${earlier.join("")}${c.command ? `\nrerun: ${c.command}` : ""}`;
        const base = { classname: `redis-repro.${scenario}`, name: c.target, seconds: c.seconds, out };
        switch (c.status) {
          case "differs":
            return {
              ...base,
              result: "failure",
              type: "expectation",
              message: `expected ${c.expected}, got ${got}`,
              detail: c.reason,
            };
          case "error":
            return { ...base, result: "error", type: "run", message: c.reason };
          case "unmeasured":
            return {
              ...base,
              result: "skipped",
              message: `unmeasured: nothing recorded to compare with; this run gave ${got}`,
            };
        }
        return { ...base, result: "passed" };
      }),
  }));
  return renderJunit({ name: "redis-repro matrix", seconds: result.wallMs / 1000, suites });
}
