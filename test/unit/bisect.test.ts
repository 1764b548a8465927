import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bisectCandidates, bisectSide, bisectStep, bisectTable } from "../../harness/campaigns/bisect.js";
import { MatrixResult } from "../../harness/campaigns/matrix.js";
import { catalogueVersions } from "../../harness/catalogue/catalogue.js";
import { describeOutcome } from "../../harness/cli/bisect.js";
import { UserError } from "../../harness/core/errors.js";
import { projectRoot } from "../../harness/core/paths.js";
import type { Verdict } from "../../harness/scenario/index.js";

/**
 * Recorded tables: `redis-repro matrix --json` over every cached release on this project's 2-core
 * machine, 4 containers at once. Run 1 has the noise real runs have: 3.2.4 gave `growing` and 3.2.10
 * `inconclusive` (a transient fd spike), which the search must step over.
 */
function table(file: string): Record<string, Verdict> {
  const run = MatrixResult.parse(
    JSON.parse(readFileSync(join(projectRoot, "test", "fixtures", "matrix", file), "utf8")),
  );
  return Object.fromEntries(run.cells.flatMap((c) => (c.verdict ? [[c.target, c.verdict]] : [])));
}
const noisy = table("seed-all-releases-1.json");
const clean = table("seed-all-releases-2.json");
const versions = catalogueVersions();

function bisect(good: string, bad: string, verdicts: Record<string, Verdict>) {
  const { candidates, ...ends } = bisectCandidates(good, bad, versions);
  return { candidates, ...bisectTable(candidates, ends, verdicts) };
}

describe("the recorded tables", () => {
  it("are what the search is tested on: 3.2.8 leaks, 3.2.9 does not, and run 1 carries noise", () => {
    expect(noisy["3.2.8"]).toBe("exhaustion");
    expect(noisy["3.2.9"]).toBe("stable");
    expect(noisy["3.2.4"]).toBe("growing");
    expect(noisy["3.2.10"]).toBe("inconclusive");
    expect(Object.keys(clean)).toHaveLength(versions.length);
  });
});

describe("bisect over the ordered release list (recorded table)", () => {
  it("--good 3.2.9 --bad 3.2.8: adjacent ends, two runs, the fix landed in 3.2.9", () => {
    const { candidates, outcome, ran } = bisect("3.2.9", "3.2.8", noisy);
    expect(candidates).toEqual(["3.2.8", "3.2.9"]);
    expect(ran).toEqual(["3.2.8", "3.2.9"]);
    expect(outcome).toEqual({
      kind: "found",
      last: "3.2.8",
      first: "3.2.9",
      from: "exhaustion",
      to: "stable",
      direction: "fix",
    });
    expect(describeOutcome(outcome, { good: "3.2.9", bad: "3.2.8" })).toBe(
      "3.2.9 is the first release that gives stable (3.2.8 gives exhaustion): the fix landed in 3.2.9",
    );
  });

  it("--good 8.0-m01 --bad 3.0.7 over 24 releases: finds 3.2.9 in log2 steps", () => {
    const { candidates, outcome, ran } = bisect("8.0-m01", "3.0.7", clean);
    expect(candidates).toHaveLength(24);
    expect(outcome).toMatchObject({ kind: "found", first: "3.2.9", last: "3.2.8", direction: "fix" });
    // Both ends, then at most ceil(log2(23)) = 5 midpoints.
    expect(ran.length).toBeLessThanOrEqual(2 + 5);
    expect(ran.slice(0, 2)).toEqual(["3.0.7", "8.0-m01"]);
  });

  it("skips inconclusive verdicts as git bisect skip does, and counts growing as not fixed", () => {
    // 3.2.7..3.2.13: the first midpoint is 3.2.10, which gave inconclusive in run 1.
    const past = bisect("3.2.13", "3.2.7", noisy);
    expect(past.ran.slice(0, 3)).toEqual(["3.2.7", "3.2.13", "3.2.10"]);
    expect(past.outcome).toMatchObject({ kind: "found", first: "3.2.9", last: "3.2.8" });
    // 3.2.0..3.2.9: the first midpoint is 3.2.4, which gave growing: bad, like 3.2.0's exhaustion.
    const growing = bisect("3.2.9", "3.2.0", noisy);
    expect(growing.ran).toContain("3.2.4");
    expect(growing.outcome).toMatchObject({ kind: "found", first: "3.2.9", last: "3.2.8" });
  });

  it("the other direction names a regression: --good 2.8.24 --bad 3.0.7", () => {
    const { outcome } = bisect("2.8.24", "3.0.7", clean);
    expect(outcome).toMatchObject({ kind: "found", first: "3.0.7", last: "2.8.24", direction: "regression" });
    expect(describeOutcome(outcome, { good: "2.8.24", bad: "3.0.7" })).toContain(
      "the regression landed in 3.0.7",
    );
  });

  it("ends that agree have nothing to bisect", () => {
    const { outcome, ran } = bisect("4.0.14", "3.2.9", clean);
    expect(outcome).toEqual({ kind: "no-flip", verdict: "stable" });
    expect(ran).toEqual(["3.2.9", "4.0.14"]);
  });

  it("over patches: --bad 3.2.8 --good 3.2.8+fix-aof-pipe-leak confirms the patch flips it", () => {
    const { candidates, outcome } = bisect("3.2.8+fix-aof-pipe-leak", "3.2.8", {
      "3.2.8": "exhaustion",
      "3.2.8+fix-aof-pipe-leak": "stable",
    });
    expect(candidates).toEqual(["3.2.8", "3.2.8+fix-aof-pipe-leak"]);
    expect(outcome).toMatchObject({ kind: "found", first: "3.2.8+fix-aof-pipe-leak", direction: "fix" });
    expect(describeOutcome(outcome, { good: "3.2.8+fix-aof-pipe-leak", bad: "3.2.8" })).toBe(
      "3.2.8+fix-aof-pipe-leak gives stable where 3.2.8 gives exhaustion: the fix is the patch fix-aof-pipe-leak",
    );
  });
});

describe("bisectStep on synthetic tables", () => {
  const c = ["a", "b", "c", "d", "e"];
  const ends = { good: "e", bad: "a" };

  it("asks for both ends first, then the middle", () => {
    expect(bisectStep({ candidates: c, ...ends, verdicts: {} })).toEqual({
      kind: "run",
      targets: ["a", "e"],
    });
    expect(bisectStep({ candidates: c, ...ends, verdicts: { a: "exhaustion" } })).toEqual({
      kind: "run",
      targets: ["e"],
    });
    expect(bisectStep({ candidates: c, ...ends, verdicts: { a: "exhaustion", e: "stable" } })).toEqual({
      kind: "run",
      targets: ["c"],
    });
  });

  it("is ambiguous when only skipped targets lie between the last old and the first new verdict", () => {
    const { outcome } = bisectTable(c, ends, {
      a: "exhaustion",
      b: "exhaustion",
      c: "inconclusive",
      d: "stable",
      e: "stable",
    });
    expect(outcome).toEqual({ kind: "ambiguous", last: "b", first: "d", skipped: ["c"] });
  });

  it("a leaky end that gave growing still bisects against exhaustion in between", () => {
    const { outcome } = bisectTable(c, ends, {
      a: "growing",
      b: "exhaustion",
      c: "exhaustion",
      d: "stable",
      e: "stable",
    });
    expect(outcome).toEqual({
      kind: "found",
      last: "c",
      first: "d",
      from: "exhaustion",
      to: "stable",
      direction: "fix",
    });
    expect(bisectSide("growing", "stable", "exhaustion")).toBe("bad");
    expect(bisectSide("inconclusive", "stable", "exhaustion")).toBe("skip");
    expect(bisectSide("inconclusive", "stable", "inconclusive")).toBe("bad");
  });

  it("reports a verdict that flips back instead of a wrong answer", () => {
    const step = bisectStep({
      candidates: c,
      ...ends,
      verdicts: { a: "exhaustion", b: "stable", d: "exhaustion", e: "stable" },
    });
    expect(step).toEqual({ kind: "non-monotonic", first: "b", laterOld: "d" });
  });
});

describe("bisectCandidates", () => {
  it.each([
    ["3.2.8", "3.2.8", /same target/],
    ["3.2.9+fix-aof-pipe-leak", "3.2.0", /both ends on one release/],
    ["image:redis:3.2.9", "3.2.8", /not images/],
    ["9.9.9", "3.2.8", /unknown release 9\.9\.9/],
  ])("--good %s --bad %s is a usage error", (good, bad, message) => {
    expect(() => bisectCandidates(good, bad, versions)).toThrow(UserError);
    expect(() => bisectCandidates(good, bad, versions)).toThrow(message);
  });
});
