import { type MatrixCell, type MatrixResult, statusMark } from "../harness/campaigns/matrix.js";

/** One cell of two matrices that did not give the same outcome, with what each run said and why. */
export interface CellDifference {
  scenario: string;
  target: string;
  first: Pick<MatrixCell, "outcome" | "label" | "status" | "reason" | "runId"> | null;
  second: Pick<MatrixCell, "outcome" | "label" | "status" | "reason" | "runId"> | null;
}

const key = (c: MatrixCell) => `${c.scenario}\u0000${c.target}`;
const brief = ({ outcome, label, status, reason, runId }: MatrixCell) => ({
  outcome,
  label,
  status,
  reason,
  runId,
});

/**
 * Cells whose label or status differs between two matrices, and cells present in one only. A cell
 * that differs from the catalogue the same way in both is not a difference between the runs (it is
 * the catalogue's), so `notAsExpected` lists those separately.
 */
export function compareMatrices(
  a: MatrixResult,
  b: MatrixResult,
): { differing: CellDifference[]; notAsExpected: MatrixCell[]; cells: number } {
  const second = new Map(b.cells.map((c) => [key(c), c]));
  const differing: CellDifference[] = [];
  const seen = new Set<string>();
  for (const c of a.cells) {
    seen.add(key(c));
    const d = second.get(key(c));
    if (!d || d.label !== c.label || d.status !== c.status)
      differing.push({
        scenario: c.scenario,
        target: c.target,
        first: brief(c),
        second: d ? brief(d) : null,
      });
  }
  for (const d of b.cells)
    if (!seen.has(key(d)))
      differing.push({ scenario: d.scenario, target: d.target, first: null, second: brief(d) });
  const notAsExpected = [...a.cells, ...b.cells].filter(
    (c) => c.status === "differs" || c.status === "error",
  );
  return { differing, notAsExpected, cells: seen.size };
}

export function renderComparison(a: MatrixResult, b: MatrixResult): string {
  const { differing, notAsExpected, cells } = compareMatrices(a, b);
  const side = (s: CellDifference["first"]) =>
    s ? `${s.label ?? "error"} [${s.status}] (${s.reason}; run ${s.runId ?? "—"})` : "absent";
  const lines = [
    `${cells} cell(s) compared: ${differing.length} differ between the two matrices`,
    ...differing.map(
      (d) => `  DIFFERS ${d.target} × ${d.scenario}: first ${side(d.first)}; second ${side(d.second)}`,
    ),
    `${notAsExpected.length} cell result(s) not as the catalogue expects (either matrix)`,
    ...notAsExpected.map(
      (c) => `  ${c.target} × ${c.scenario}: ${c.label ?? "error"} ${statusMark(c)} (${c.reason})`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}
