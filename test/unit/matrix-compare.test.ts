import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareMatrices, renderComparison } from "../../bench/matrix-compare.js";
import { MatrixResult } from "../../harness/campaigns/matrix.js";

const load = (n: number) =>
  MatrixResult.parse(
    JSON.parse(
      readFileSync(new URL(`../fixtures/matrix/seed-all-releases-${n}.json`, import.meta.url), "utf8"),
    ),
  );

describe("matrix twice-compare", () => {
  it("two recorded matrices (before the probe fix): the four flaky cells, each with both reasons", () => {
    const { differing, cells } = compareMatrices(load(1), load(2));
    expect(cells).toBe(load(1).cells.length);
    expect(differing.map((d) => [d.target, d.first?.label, d.second?.label])).toEqual([
      ["3.2.0", "exhaustion", "growing"],
      ["3.2.1", "exhaustion", "growing"],
      ["3.2.4", "growing", "exhaustion"],
      ["3.2.10", "inconclusive", "stable"],
    ]);
    expect(renderComparison(load(1), load(2))).toMatch(/^25 cell\(s\) compared: 4 differ/);
  });

  it("a matrix compared with itself: no cell differs", () => {
    expect(compareMatrices(load(1), load(1)).differing).toEqual([]);
    expect(renderComparison(load(2), load(2))).toMatch(/^25 cell\(s\) compared: 0 differ/);
  });

  it("a cell whose label changed is listed with both runs' labels and reasons", () => {
    const a = load(1);
    const b = structuredClone(load(1));
    const cell = b.cells[3];
    if (!cell) throw new Error("fixture too small");
    cell.label = cell.label === "stable" ? "inconclusive" : "stable";
    cell.reason = "changed for the test";
    const { differing } = compareMatrices(a, b);
    expect(differing).toHaveLength(1);
    expect(differing[0]).toMatchObject({ target: cell.target, second: { reason: "changed for the test" } });
    expect(renderComparison(a, b)).toContain(`DIFFERS ${cell.target} × ${cell.scenario}`);
  });

  it("a cell present in one matrix only is a difference", () => {
    const a = load(1);
    const b = structuredClone(load(1));
    const dropped = b.cells.pop();
    const { differing } = compareMatrices(a, b);
    expect(differing.map((d) => [d.target, d.second])).toEqual([[dropped?.target, null]]);
  });
});
