import { describe, expect, it } from "vitest";
import type { Checker } from "../../harness/core/checker.js";
import { type Decision, Decision as DecisionSchema, type Outcome } from "../../harness/core/outcome.js";
import type { Probe } from "../../harness/core/probe.js";
import {
  allOf,
  anyOf,
  ComposedEvidence,
  composeOutcome,
  unionProbes,
} from "../../harness/parts/checkers/compose.js";
import { checkerFrom, fdLeakChecker, leaksChecker } from "../../harness/parts/checkers/index.js";
import { contextFor, historyFrom, recordedResult, timeLimit } from "../helpers/runs.js";

/** A part that answers `outcome` (with its own label) once the run's clock has reached `from`. */
function part(
  name: string,
  outcome: Outcome,
  label: string,
  from = 0,
  extra: Partial<Decision> = {},
): Checker {
  return {
    name,
    decide: (_history, context) =>
      context.now >= from
        ? {
            checker: name,
            outcome,
            label,
            reason: `${name} says ${label}`,
            summary: `${name} figures`,
            facts: [{ name: "seen", value: label }],
            evidence: { mine: name },
            ...extra,
          }
        : undefined,
  };
}
const h = historyFrom({});
const at = (now: number) => contextFor(h, { now });

describe("composeOutcome: Kleene's or (any) and and (all) on 'is the bug there?'", () => {
  const B = "bug" as const;
  const N = "no-bug" as const;
  const U = "unknown" as const;
  it.each([
    [[B, B], B, B],
    [[B, N], B, N],
    [[B, U], B, U],
    [[N, N], N, N],
    [[N, U], U, N],
    [[U, U], U, U],
    [[N, B], B, N],
    [[U, B], B, U],
    [[U, N], U, N],
    [[B], B, B],
    [[N], N, N],
    [[U], U, U],
  ] as const)("%j: any %s, all %s", (outcomes, any, all) => {
    expect(composeOutcome("any", outcomes)).toBe(any);
    expect(composeOutcome("all", outcomes)).toBe(all);
  });
});

describe("a composition decides once every part has", () => {
  it("nothing while a part has not decided; then the rule over all of them", () => {
    const any = anyOf([part("early", "bug", "growing", 0), part("late", "no-bug", "held", 1_000)]);
    expect(any.decide(h, at(999))).toBeUndefined();
    const d = any.decide(h, at(1_000));
    expect(d).toMatchObject({ checker: "any", outcome: "bug", label: "growing" });
    expect(() => DecisionSchema.parse(d)).not.toThrow();
    expect(d?.parts?.map((p) => p.checker)).toEqual(["early", "late"]);
  });

  it("once the run has ended, a part that still gives nothing counts as unknown", () => {
    const all = allOf([part("a", "bug", "growing"), part("never", "bug", "x", Number.POSITIVE_INFINITY)]);
    const d = all.decide(h, contextFor(h, { now: 5, ended: timeLimit }));
    expect(d?.outcome).toBe("unknown");
    expect(d?.parts?.[1]).toMatchObject({ checker: "never", outcome: "unknown", label: "inconclusive" });
    expect(d?.parts?.[1]?.reason).toBe("never gave no decision for the ended run (time limit 60 s)");
  });
});

describe("what a composition says", () => {
  const decided = (checker: Checker) => {
    const d = checker.decide(h, at(0));
    if (!d) throw new Error("expected a decision");
    return d;
  };

  it("label: the settling parts' labels, each once, joined by +; reason: the rule's words and their reasons", () => {
    const d = decided(
      anyOf([
        part("fd-leak", "bug", "exhaustion"),
        part("assert", "no-bug", "held"),
        part("within", "bug", "timeout"),
      ]),
    );
    expect(d.label).toBe("exhaustion+timeout");
    expect(d.reason).toBe(
      "a part found its bug (2 of 3): fd-leak: fd-leak says exhaustion; within: within says timeout",
    );
    expect(ComposedEvidence.parse(d.evidence)).toEqual({
      rule: "any",
      parts: [
        { checker: "fd-leak", outcome: "bug", label: "exhaustion" },
        { checker: "assert", outcome: "no-bug", label: "held" },
        { checker: "within", outcome: "bug", label: "timeout" },
      ],
      settledBy: [0, 2],
    });
    const none = decided(
      allOf([part("a", "no-bug", "stable"), part("b", "no-bug", "stable"), part("c", "bug", "growing")]),
    );
    expect(none).toMatchObject({ outcome: "no-bug", label: "stable" });
    expect(none.reason).toBe("a part found no bug: a: a says stable; b: b says stable");
  });

  it("own labels per outcome", () => {
    const labels = { bug: "both-symptoms", noBug: "fine", unknown: "unclear" };
    expect(decided(allOf([part("a", "bug", "x"), part("b", "bug", "y")], labels)).label).toBe(
      "both-symptoms",
    );
    expect(decided(allOf([part("a", "bug", "x"), part("b", "no-bug", "y")], labels)).label).toBe("fine");
    expect(decided(allOf([part("a", "bug", "x"), part("b", "unknown", "y")], labels)).label).toBe("unclear");
  });

  it("facts and summary: every part's, prefixed by its name; a name two parts share gets its position", () => {
    const d = decided(
      allOf([
        part("assert", "bug", "violated"),
        part("assert", "bug", "violated"),
        part("leaks", "bug", "growing"),
      ]),
    );
    expect(d.facts).toEqual([
      { name: "all", value: "assert#1 violated (bug), assert#2 violated (bug), leaks growing (bug)" },
      { name: "assert#1: seen", value: "violated" },
      { name: "assert#2: seen", value: "violated" },
      { name: "leaks: seen", value: "growing" },
    ]);
    expect(d.summary).toBe(
      "assert#1 violated (assert figures); assert#2 violated (assert figures); leaks growing (leaks figures)",
    );
  });

  it("keeps each part's whole decision, evidence included", () => {
    const d = decided(anyOf([part("a", "bug", "x"), part("b", "no-bug", "y")]));
    expect(d.parts?.map((p) => p.evidence)).toEqual([{ mine: "a" }, { mine: "b" }]);
  });

  it("plot: the first settling part's, else the first part's that has one", () => {
    const plot = (series: string) => ({
      plot: { series, title: series, axis: "x", ceiling: null, marks: [] },
    });
    const d = decided(
      anyOf([part("a", "no-bug", "x", 0, plot("a.x")), part("b", "bug", "y", 0, plot("b.y"))]),
    );
    expect(d.plot?.series).toBe("b.y");
    const e = decided(anyOf([part("a", "no-bug", "x", 0, plot("a.x")), part("b", "bug", "y")]));
    expect(e.plot?.series).toBe("a.x");
  });

  it("nested through the data form, with a script's own object inside", () => {
    const own = part("mine", "bug", "stuck");
    const checker = checkerFrom({
      checker: "all",
      of: [own, { checker: "any", of: [own, part("other", "no-bug", "ok")] }],
    });
    const d = decided(checker);
    expect(d).toMatchObject({ checker: "all", outcome: "bug", label: "stuck" });
    expect(d.parts?.[1]).toMatchObject({ checker: "any", outcome: "bug", label: "stuck" });
  });
});

describe("probes: every part's, one per node and name", () => {
  const probe = (name: string, due?: (now: number) => boolean, node = "main"): Probe => ({
    name,
    node,
    ...(due ? { due: (_h, c) => due(c.now) } : {}),
  });

  it("keeps distinct probes, merges same-named ones on a node", () => {
    const fds = probe("fds");
    const merged = unionProbes([
      [fds, probe("connect")],
      [probe("fds"), probe("fds", undefined, "replica")],
    ]);
    expect(merged.map((p) => `${p.node}/${p.name}`)).toEqual(["main/fds", "main/connect", "replica/fds"]);
    expect(merged[0]).toBe(fds);
  });

  it("a probe two parts ask for reads when both say it is due", () => {
    const [merged] = unionProbes([
      [probe("connect", (now) => now >= 100)],
      [probe("connect", (now) => now % 2 === 0)],
    ]);
    const due = (now: number) => merged?.due?.(h, { now, attemptsNeeded: 30 });
    expect([due(50), due(101), due(102)]).toEqual([false, false, true]);
  });

  it("fd-leak and leaks together ask for one fds, one config and one fresh-client probe", () => {
    const both = anyOf([fdLeakChecker(), leaksChecker()]);
    expect(both.probes?.map((p) => p.name)).toEqual(["fds", "config", "connect"]);
  });
});

describe("compositions on recorded runs", () => {
  it("seed 3.2.8: any(fd-leak, leaks) is a bug, both parts having found it; all of them too", () => {
    const history = recordedResult("seed-3.2.8-vs-fix.json", "3.2.8").history;
    const parts = [{ checker: "fd-leak" }, { checker: "leaks" }] as const;
    const any = checkerFrom({ checker: "any", of: parts }).decide(history, contextFor(history));
    expect(any).toMatchObject({ outcome: "bug", label: "exhaustion" });
    expect(any?.parts?.map((p) => p.label)).toEqual(["exhaustion", "exhaustion"]);
    expect(checkerFrom({ checker: "all", of: parts }).decide(history, contextFor(history))?.outcome).toBe(
      "bug",
    );
  });

  it("the fixed build: no bug either way", () => {
    const history = recordedResult("seed-3.2.8-vs-fix.json", "3.2.8+fix-aof-pipe-leak").history;
    const parts = [{ checker: "fd-leak" }, { checker: "leaks" }] as const;
    for (const rule of ["any", "all"] as const)
      expect(checkerFrom({ checker: rule, of: parts }).decide(history, contextFor(history))).toMatchObject({
        outcome: "no-bug",
        label: "stable",
      });
  });
});
