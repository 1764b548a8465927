import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  bisectCandidates,
  bisectSide,
  bisectStep,
  bisectTable,
  describeOutcome,
  endsNote,
  remaining,
  remainingText,
  type Tested,
} from "../../harness/campaigns/bisect.js";
import { MatrixResult } from "../../harness/campaigns/matrix.js";
import { catalogueVersions } from "../../harness/catalogue/catalogue.js";
import { UserError } from "../../harness/core/errors.js";
import { projectRoot } from "../../harness/core/paths.js";

/**
 * Recorded tables: `redis-repro matrix --json` over every cached release on this project's 2-core
 * machine, 4 containers at once. Run 1 has the noise real runs have: 3.2.4 gave `growing` and 3.2.10
 * `inconclusive` (unknown: a transient fd spike), which the search must step over.
 */
function table(file: string): Record<string, Tested> {
  const run = MatrixResult.parse(
    JSON.parse(readFileSync(join(projectRoot, "test", "fixtures", "matrix", file), "utf8")),
  );
  return Object.fromEntries(
    run.cells.flatMap((c) =>
      c.outcome && c.label ? [[c.target, { outcome: c.outcome, label: c.label }]] : [],
    ),
  );
}
const bug = (label = "exhaustion"): Tested => ({ outcome: "bug", label });
const fine: Tested = { outcome: "no-bug", label: "stable" };
const unknown: Tested = { outcome: "unknown", label: "inconclusive" };
const noisy = table("seed-all-releases-1.json");
const clean = table("seed-all-releases-2.json");
const versions = catalogueVersions();

function bisect(good: string, bad: string, results: Record<string, Tested>) {
  const { candidates, ...ends } = bisectCandidates(good, bad, versions);
  return { candidates, ...bisectTable(candidates, ends, results) };
}

describe("the recorded tables", () => {
  it("are what the search is tested on: 3.2.8 leaks, 3.2.9 does not, and run 1 carries noise", () => {
    expect(noisy["3.2.8"]).toEqual(bug());
    expect(noisy["3.2.9"]).toEqual(fine);
    expect(noisy["3.2.4"]).toEqual(bug("growing"));
    expect(noisy["3.2.10"]).toEqual(unknown);
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
      from: bug(),
      to: fine,
      direction: "fix",
    });
    expect(describeOutcome(outcome, { good: "3.2.9", bad: "3.2.8" })).toBe(
      "3.2.9 is the first release without the bug: it gives no-bug (stable), 3.2.8 gives bug (exhaustion); the fix landed in 3.2.9",
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

  it("skips unknown outcomes as git bisect skip does; growing is a bug like exhaustion", () => {
    // 3.2.7..3.2.13: the first midpoint is 3.2.10, which gave unknown (inconclusive) in run 1.
    const past = bisect("3.2.13", "3.2.7", noisy);
    expect(past.ran.slice(0, 3)).toEqual(["3.2.7", "3.2.13", "3.2.10"]);
    expect(past.outcome).toMatchObject({ kind: "found", first: "3.2.9", last: "3.2.8" });
    // 3.2.0..3.2.9: the first midpoint is 3.2.4, which gave growing: a bug, bad like 3.2.0's exhaustion.
    const growing = bisect("3.2.9", "3.2.0", noisy);
    expect(growing.ran).toContain("3.2.4");
    expect(growing.outcome).toMatchObject({ kind: "found", first: "3.2.9", last: "3.2.8" });
  });

  it("the other direction names a regression: --good 2.8.24 --bad 3.0.7", () => {
    const { outcome } = bisect("2.8.24", "3.0.7", clean);
    expect(outcome).toMatchObject({ kind: "found", first: "3.0.7", last: "2.8.24", direction: "regression" });
    expect(describeOutcome(outcome, { good: "2.8.24", bad: "3.0.7" })).toBe(
      "3.0.7 is the first release with the bug: it gives bug (exhaustion), 2.8.24 gives no-bug (stable); the regression landed in 3.0.7",
    );
  });

  it("ends that agree have nothing to bisect", () => {
    const { outcome, ran } = bisect("4.0.14", "3.2.9", clean);
    expect(outcome).toEqual({ kind: "no-flip", outcome: "no-bug", labels: ["stable"] });
    expect(ran).toEqual(["3.2.9", "4.0.14"]);
    expect(describeOutcome(outcome, { good: "4.0.14", bad: "3.2.9" })).toBe(
      "--good 4.0.14 and --bad 3.2.9 both give no-bug (stable): nothing to bisect",
    );
  });

  it("over patches: --bad 3.2.8 --good 3.2.8+fix-aof-pipe-leak confirms the patch flips it", () => {
    const { candidates, outcome } = bisect("3.2.8+fix-aof-pipe-leak", "3.2.8", {
      "3.2.8": bug(),
      "3.2.8+fix-aof-pipe-leak": fine,
    });
    expect(candidates).toEqual(["3.2.8", "3.2.8+fix-aof-pipe-leak"]);
    expect(outcome).toMatchObject({ kind: "found", first: "3.2.8+fix-aof-pipe-leak", direction: "fix" });
    expect(describeOutcome(outcome, { good: "3.2.8+fix-aof-pipe-leak", bad: "3.2.8" })).toBe(
      "3.2.8+fix-aof-pipe-leak gives no-bug (stable) where 3.2.8 gives bug (exhaustion): the fix is the patch fix-aof-pipe-leak",
    );
  });
});

describe("bisectStep on synthetic tables", () => {
  const c = ["a", "b", "c", "d", "e"];
  const ends = { good: "e", bad: "a" };

  it("asks for both ends first, then the middle", () => {
    expect(bisectStep({ candidates: c, ...ends, results: {} })).toEqual({ kind: "run", targets: ["a", "e"] });
    expect(bisectStep({ candidates: c, ...ends, results: { a: bug() } })).toEqual({
      kind: "run",
      targets: ["e"],
    });
    expect(bisectStep({ candidates: c, ...ends, results: { a: bug(), e: fine } })).toEqual({
      kind: "run",
      targets: ["c"],
    });
  });

  it("is ambiguous when only skipped targets lie between the last old and the first new outcome", () => {
    const { outcome } = bisectTable(c, ends, { a: bug(), b: bug(), c: unknown, d: fine, e: fine });
    expect(outcome).toEqual({ kind: "ambiguous", last: "b", first: "d", skipped: ["c"] });
  });

  it("labels do not matter to the search: a growing end bisects against exhaustion in between", () => {
    const { outcome } = bisectTable(c, ends, { a: bug("growing"), b: bug(), c: bug(), d: fine, e: fine });
    expect(outcome).toEqual({
      kind: "found",
      last: "c",
      first: "d",
      from: bug(),
      to: fine,
      direction: "fix",
    });
    expect(bisectSide("bug")).toBe("bad");
    expect(bisectSide("no-bug")).toBe("good");
    expect(bisectSide("unknown")).toBe("skip");
  });

  it("reports an outcome that flips back instead of a wrong answer", () => {
    const step = bisectStep({ candidates: c, ...ends, results: { a: bug(), b: fine, d: bug(), e: fine } });
    expect(step).toEqual({ kind: "non-monotonic", first: "b", laterOld: "d" });
  });

  it("an end that gives unknown stops the search: there is nothing to compare against", () => {
    const { outcome, ran } = bisectTable(c, ends, { a: bug(), e: unknown });
    expect(ran).toEqual(["a", "e"]);
    expect(outcome).toEqual({ kind: "undecided-end", end: "good", target: "e", label: "inconclusive" });
    expect(describeOutcome(outcome, ends)).toBe(
      "--good e gives unknown (inconclusive): an end must give bug or no-bug to bisect from; run it again (`redis-repro run`) or pick another end",
    );
  });

  it("goes by outcome when the ends are swapped, and says so in one line", () => {
    // --good names the end with the bug: the flip is found all the same.
    const swapped = { good: "a", bad: "e" };
    const table = { a: bug(), b: bug(), c: fine, d: fine, e: fine };
    expect(bisectTable(c, swapped, table).outcome).toEqual({
      kind: "found",
      last: "b",
      first: "c",
      from: bug(),
      to: fine,
      direction: "fix",
    });
    expect(endsNote(swapped, table)).toBe(
      "note: --good a gives bug (exhaustion) and --bad e gives no-bug (stable), the other way round from their names; bisecting by outcome (no-bug is good, bug is bad)",
    );
    expect(endsNote({ good: "a", bad: "b" }, table)).toBe(
      "note: --good a gives bug (exhaustion): a good end is one without the bug",
    );
    expect(endsNote({ good: "d", bad: "e" }, table)).toBe(
      "note: --bad e gives no-bug (stable): a bad end is one with the bug",
    );
    expect(endsNote(ends, table)).toBeUndefined();
    expect(endsNote(ends, {})).toBeUndefined();
  });
});

describe("what is still to search", () => {
  const c = Array.from({ length: 17 }, (_, i) => `t${i}`);
  const ends = { good: "t16", bad: "t0" };

  it("before and after the ends: the whole list, 15 untested between, about 4 more runs", () => {
    expect(remaining({ candidates: c, ...ends, results: {} })).toEqual({
      last: "t0",
      first: "t16",
      untested: 15,
      steps: 4,
    });
    expect(remaining({ candidates: c, ...ends, results: { t0: bug(), t16: fine } })).toMatchObject({
      untested: 15,
      steps: 4,
    });
  });

  it("narrows to the window the flip is in, counting only untested targets inside it", () => {
    const results = { t0: bug(), t16: fine, t8: bug(), t12: fine, t10: unknown };
    // t8 .. t12: t9 and t11 untested (t10 skipped): 2 targets, 2 runs at most.
    expect(remaining({ candidates: c, ...ends, results })).toEqual({
      last: "t8",
      first: "t12",
      untested: 2,
      steps: 2,
    });
    expect(remainingText({ candidates: c, ...ends, results })).toBe(
      "        still to search: t8 .. t12, 2 untested target(s) between: about 2 more step(s)",
    );
    // Found: nothing left, and nothing printed.
    const done = { ...results, t9: bug() };
    expect(remaining({ candidates: c, ...ends, results: done })).toEqual({
      last: "t9",
      first: "t12",
      untested: 1,
      steps: 1,
    });
    const all = { ...done, t10: bug(), t11: fine };
    expect(remaining({ candidates: c, ...ends, results: all })).toEqual({
      last: "t10",
      first: "t11",
      untested: 0,
      steps: 0,
    });
    expect(remainingText({ candidates: c, ...ends, results: all })).toBeUndefined();
  });

  it("over commits names the window's ends by short id, and counts commits", () => {
    const commits = new Map(
      c.map((t, i) => [t, { id: `${String(i).padStart(2, "0")}${"ab".repeat(19)}`, subject: t }]),
    );
    expect(remainingText({ candidates: c, ...ends, results: { t0: bug(), t16: fine } }, commits)).toBe(
      "        still to search: 00abababa .. 16abababa, 15 untested commit(s) between: about 4 more step(s)",
    );
  });

  it("on the recorded table over 24 releases the estimate holds: runs after the ends ≤ the first estimate", () => {
    const { candidates, ...e } = bisectCandidates("8.0-m01", "3.0.7", versions);
    const first = remaining({ candidates, ...e, results: {} });
    expect(first).toMatchObject({ last: "3.0.7", first: "8.0-m01", untested: 22, steps: 5 });
    const { ran } = bisectTable(candidates, e, clean);
    expect(ran.length - 2).toBeLessThanOrEqual(first.steps);
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
