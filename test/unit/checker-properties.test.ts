import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import type { CheckContext, Checker, Ended } from "../../harness/core/checker.js";
import {
  type Attempt,
  type Event,
  FAULT_HEAL,
  FAULT_START,
  type History,
  MARK,
  type Point,
} from "../../harness/core/history.js";
import { Decision, type Outcome } from "../../harness/core/outcome.js";
import { AssertEvidence } from "../../harness/parts/checkers/assert.js";
import { ComposedEvidence } from "../../harness/parts/checkers/compose.js";
import { FdLeakEvidence } from "../../harness/parts/checkers/fd-leak.js";
import { GrowthEvidence, judgeGrowth } from "../../harness/parts/checkers/growth.js";
import {
  AofDirEvidence,
  allOf,
  anyOf,
  type CheckerInput,
  checkerFrom,
  decideLeaks,
  LeaksEvidence,
  leakText,
} from "../../harness/parts/checkers/index.js";
import { WithinEvidence } from "../../harness/parts/checkers/within.js";
import {
  attemptsOf,
  connectResults,
  contextFor,
  edited,
  endOf,
  fdSample,
  fdSamples,
  historyFrom,
  recordedBefore,
  recordedResult,
} from "../helpers/runs.js";

/**
 * The checkers through their one interface (history and context in, decision out), as properties
 * over inputs nobody wrote by hand (fast-check): recorded runs cut at random times as the run loop saw
 * them, the state at a decision held longer, synthetic histories of every kind, and the laws each
 * checker's measure keeps (growth, leaks, assert, within, all/any).
 */

const endedArb: fc.Arbitrary<Ended> = fc.record({
  reason: fc.constantFrom("time-limit", "container-exited", "error") as fc.Arbitrary<Ended["reason"]>,
  detail: fc.string({ maxLength: 20 }),
});
/** A time to cut a history at: anywhere, with its very end (where the run decided) drawn often. */
const cutArb = (end: number) => fc.oneof(fc.integer({ min: 0, max: end }), fc.constant(end));

const recorded: { file: string; target: string; spec: CheckerInput }[] = [
  { file: "seed-3.2.8-vs-fix.json", target: "3.2.8", spec: { checker: "fd-leak" } },
  { file: "seed-3.2.8-vs-fix.json", target: "3.2.8+fix-aof-pipe-leak", spec: { checker: "fd-leak" } },
  { file: "config-set-appendonly-3.2.8-vs-fix.json", target: "3.2.8", spec: { checker: "fd-leak" } },
  {
    file: "config-set-appendonly-3.2.8-vs-fix.json",
    target: "3.2.8+fix-aof-pipe-leak",
    spec: { checker: "fd-leak" },
  },
  { file: "aof-dir-7.0.15.json", target: "7.0.15", spec: { checker: "aof-dir" } },
  { file: "aof-dir-7.0.15-vs-count-failed-aof-fork.json", target: "7.0.15", spec: { checker: "aof-dir" } },
  {
    file: "aof-dir-7.0.15-vs-count-failed-aof-fork.json",
    target: "7.0.15+count-failed-aof-fork",
    spec: { checker: "aof-dir" },
  },
];

describe("checkers on recorded histories", () => {
  it.each(recorded)(
    "$file $target: the first decision is the recorded label, and it holds from then on",
    ({ file, target, spec }) => {
      const result = recordedResult(file, target);
      const checker = checkerFrom(spec);
      const end = endOf(result.history) + 1;
      const at = (ms: number) => {
        const cut = recordedBefore(result.history, ms);
        return checker.decide(cut, contextFor(cut, { now: ms }));
      };
      let decided = 0;
      fc.assert(
        fc.property(cutArb(end), cutArb(end), (x, y) => {
          const [early, late] = x <= y ? [x, y] : [y, x];
          const first = at(early);
          if (!first) return;
          decided++;
          expect(first.label).toBe(result.decision.label);
          expect(at(late)?.label).toBe(first.label);
        }),
        { numRuns: 150 },
      );
      // The cuts reached decided histories too, not only the undecided start.
      expect(decided).toBeGreaterThan(0);
    },
  );

  /**
   * The state at the decision, held: later fd readings equal to the last one, later fresh clients
   * with the last one's answer, and more of the log events seen since the first failed fork (counted
   * as the run counts them), at later times. Arbitrary later data is not a fair test: a later refused
   * client rightly turns "stable" into "inconclusive", and fds falling back from the ceiling would undo
   * an exhaustion that a leaking server never undoes. For the aof-dir checker more failed forks without
   * new files lower the per-attempt growth it measures, so this holds for the fd checker's histories.
   */
  it.each(recorded.filter((r) => "checker" in r.spec && r.spec.checker === "fd-leak"))(
    "$file $target: the state at the decision, held longer, does not change it",
    ({ file, target, spec }) => {
      const result = recordedResult(file, target);
      const history = result.history;
      const checker = checkerFrom(spec);
      const end = endOf(history) + 1;
      const label = checker.decide(history, contextFor(history))?.label;
      expect(label).toBe(result.decision.label);
      const since = history.attempts[0]?.t ?? 0;
      const moreOf = <T extends { t: number }>(xs: T[]) =>
        fc
          .array(fc.record({ pick: fc.nat(), dt: fc.nat({ max: 30_000 }) }), {
            maxLength: xs.length ? 20 : 0,
          })
          .map((picks) =>
            picks
              .map(({ pick, dt }) => ({ ...(xs[pick % xs.length] as T), t: end + dt }))
              .sort((a, b) => a.t - b.t),
          );
      fc.assert(
        fc.property(
          moreOf(fdSamples(history).slice(-1)),
          moreOf(history.events.filter((e) => e.t >= since && e.kind !== "limit")),
          moreOf(connectResults(history).slice(-1)),
          (samples, events, probes) => {
            const held = edited(history, {
              fds: [...fdSamples(history), ...samples],
              connect: [...connectResults(history), ...probes],
              events: [...history.events, ...events],
              attempts: [...history.attempts, ...attemptsOf(events)],
            });
            expect(checker.decide(held, contextFor(held))?.label).toBe(label);
          },
        ),
        { numRuns: 200 },
      );
    },
  );

  it.each(recorded)(
    "$file $target: any cut, once ended, gets a decision that fits the schemas",
    ({ file, target, spec }) => {
      const result = recordedResult(file, target);
      const checker = checkerFrom(spec);
      fc.assert(
        fc.property(cutArb(endOf(result.history) + 1), endedArb, (ms, ended) => {
          const cut = recordedBefore(result.history, ms);
          const decision = checker.decide(cut, contextFor(cut, { now: ms, ended }));
          expect(decision).toBeDefined();
          expect(Decision.safeParse(decision).success).toBe(true);
        }),
        { numRuns: 150 },
      );
    },
  );
});

const logLines = [
  "1:M 26 Nov 13:01:25.706 # Can't rewrite append only file in background: fork: Cannot allocate memory",
  "1:M 26 Nov 13:01:25.706 # Error opening /setting AOF rewrite IPC pipes: Numerical result out of range",
  "1:M 26 Nov 13:01:25.706 # Error registering fd event for the new client: Numerical result out of range (fd=1088)",
  "1:M 26 Nov 13:01:25.706 * Starting automatic rewriting of AOF on 100% growth",
  "1:M 26 Nov 13:01:25.706 * Creating AOF incr file appendonly.aof.3.incr.aof on background rewrite",
  "1:M 26 Nov 13:01:25.706 # Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes",
  "1:M 26 Nov 13:01:25.706 * Background append only file rewriting started by pid 42",
];

const T = fc.nat({ max: 60_000 });
const syntheticArb = fc.record({
  lines: fc.array(fc.record({ t: T, line: fc.constantFrom(...logLines) }), { maxLength: 60 }),
  samples: fc.array(
    fc.record({
      t: T,
      pipe: fc.nat({ max: 2000 }),
      socket: fc.nat({ max: 100 }),
      file: fc.nat({ max: 20 }),
      maxFd: fc.nat({ max: 2100 }),
    }),
    { maxLength: 60 },
  ),
  files: fc.array(fc.record({ t: T, v: fc.nat({ max: 100 }) }), { maxLength: 30 }),
  status: fc.array(fc.record({ t: T, ok: fc.boolean() }), { maxLength: 30 }),
  probes: fc.array(fc.record({ t: T, ok: fc.boolean() }), { maxLength: 20 }),
  marks: fc.array(fc.record({ t: T, name: fc.constantFrom("flood", "free") }), { maxLength: 3 }),
  faults: fc.array(fc.record({ t: T, kind: fc.constantFrom(FAULT_START, FAULT_HEAL) }), { maxLength: 3 }),
  maxclients: fc.option(fc.integer({ min: 16, max: 2000 }), { nil: undefined }),
  nofile: fc.option(fc.integer({ min: 64, max: 2048 }), { nil: undefined }),
  attemptsNeeded: fc.integer({ min: 1, max: 40 }),
  now: T,
  ended: fc.option(endedArb, { nil: undefined }),
});
type Synthetic = typeof syntheticArb extends fc.Arbitrary<infer S> ? S : never;

const byTime = <X extends { t: number }>(xs: X[]) => [...xs].sort((a, b) => a.t - b.t);

/** A history made the way a run makes one, in time order, and the context at `now` (at least its end). */
function synthetic(s: Synthetic): { history: History; context: CheckContext } {
  const events: Event[] = [
    ...s.marks.map((m) => ({ t: m.t, node: "main", kind: MARK, name: m.name })),
    ...s.faults.map((f) => ({ t: f.t, node: "main", kind: f.kind, name: "seccomp-enomem" })),
  ];
  const history = historyFrom({
    lines: byTime(s.lines),
    fds: byTime(s.samples).map((x) =>
      fdSample(x.t, { pipe: x.pipe, socket: x.socket, file: x.file, maxFd: x.maxFd }),
    ),
    connect: byTime(s.probes).map((p) =>
      p.ok ? { t: p.t, ok: true } : { t: p.t, ok: false, error: "Connection is closed." },
    ),
    series: {
      "aofdir.files": byTime(s.files),
      "aofdir.manifestBytes": byTime(s.files).map((p) => ({ t: p.t, v: 88 + 44 * p.v })),
      "info.aof_last_bgrewrite_status": byTime(s.status).map((p) => ({
        t: p.t,
        v: p.ok ? 1 : 0,
        text: p.ok ? "ok" : "err",
      })),
    },
    events,
    ...(s.maxclients !== undefined ? { maxclients: s.maxclients } : {}),
    ...(s.nofile !== undefined ? { nofile: s.nofile } : {}),
  });
  const now = Math.max(s.now, endOf(history));
  return {
    history,
    context: { now, attemptsNeeded: s.attemptsNeeded, ...(s.ended ? { ended: s.ended } : {}) },
  };
}

const assertSpec = {
  checker: "assert",
  series: "info.aof_last_bgrewrite_status",
  at: { attempts: 3 },
  condition: { equals: "err" },
  bug: "if-false",
} as const;
const withinSpec = {
  checker: "within",
  from: { fault: "start" },
  ms: 2_000,
  happens: { succeeds: "connect" },
} as const;

const evidenceSchemas: Record<string, z.ZodType> = {
  "fd-leak": FdLeakEvidence,
  "aof-dir": AofDirEvidence,
  growth: GrowthEvidence,
  leaks: LeaksEvidence,
  assert: AssertEvidence,
  within: WithinEvidence,
  all: ComposedEvidence,
  any: ComposedEvidence,
};

const builtins: [string, Checker][] = [
  ["fd-leak", checkerFrom({ checker: "fd-leak" })],
  ["fd-leak predicting", checkerFrom({ checker: "fd-leak", predict: { tolerance: 0.15 } })],
  ["aof-dir", checkerFrom({ checker: "aof-dir" })],
  ["growth", checkerFrom({ checker: "growth", series: "aofdir.files" })],
  ["leaks", checkerFrom({ checker: "leaks" })],
  ["assert after attempts", checkerFrom(assertSpec)],
  ["assert at the end", checkerFrom({ ...assertSpec, at: "end" })],
  ["assert after a mark", checkerFrom({ ...assertSpec, at: { mark: "flood", afterMs: 500 } })],
  ["within", checkerFrom(withinSpec)],
  ["within, must not happen", checkerFrom({ ...withinSpec, must: "not-happen" })],
  ["any", checkerFrom({ checker: "any", of: [{ checker: "fd-leak" }, assertSpec, withinSpec] })],
  [
    "all",
    checkerFrom({
      checker: "all",
      of: [{ checker: "aof-dir" }, { checker: "any", of: [{ checker: "leaks" }, assertSpec] }],
    }),
  ],
];

describe("checkers on synthetic histories", () => {
  it.each(builtins)(
    "%s: never throws, never mutates its input, same answer twice, an ended history is decided, schemas hold",
    (_, checker) => {
      fc.assert(
        fc.property(syntheticArb, (s) => {
          const { history, context } = synthetic(s);
          const copy = structuredClone({ history, context });
          const first = checker.decide(history, context);
          expect({ history, context }).toEqual(copy);
          expect(checker.decide(history, context)).toEqual(first);
          if (context.ended) expect(first).toBeDefined();
          if (!first) return;
          expect(Decision.safeParse(first).success).toBe(true);
          expect(evidenceSchemas[first.checker]?.safeParse(first.evidence).success).toBe(true);
          for (const p of first.parts ?? [])
            expect(evidenceSchemas[p.checker]?.safeParse(p.evidence).success).toBe(true);
          // A resource checker's label says its outcome.
          const outcomeOf: Record<string, Outcome> = {
            exhaustion: "bug",
            growing: "bug",
            stable: "no-bug",
            inconclusive: "unknown",
          };
          if (["fd-leak", "aof-dir", "growth", "leaks"].includes(first.checker))
            expect(first.outcome).toBe(outcomeOf[first.label]);
        }),
        { numRuns: 150 },
      );
    },
  );
});

/** Attempts every 100 ms from t = 100; a series read every 100 ms from t = 50. */
const attemptsAt = (n: number): Attempt[] =>
  Array.from({ length: n }, (_, i) => ({ t: 100 * (i + 1), line: null }));
const sampled = (untilMs: number, value: (k: number) => number): Point[] => {
  const points: Point[] = [];
  for (let t = 50; t <= untilMs; t += 100) points.push({ t, v: value(Math.floor(t / 100)) });
  return points;
};

describe("growth: laws of its measure", () => {
  const growthArb = fc.record({
    attempts: fc.integer({ min: 10, max: 60 }),
    perAttempt: fc.constantFrom(0, 0.25, 0.5, 1, 2, 3),
    start: fc.integer({ min: 0, max: 1_000 }),
    threshold: fc.constantFrom(0.3, 0.8, 1.5, 2.5),
  });
  const judge = (points: Point[], attempts: Attempt[], threshold: number, tolerance = 1) =>
    judgeGrowth({
      series: "s.x",
      points,
      attempts,
      perAttempt: threshold,
      tolerance,
      minAttempts: 10,
      attemptsNeeded: 30,
    });

  it("a series that grows by k per attempt is growing exactly when k reaches the threshold", () => {
    fc.assert(
      fc.property(growthArb, ({ attempts, perAttempt, start, threshold }) => {
        const points = sampled(100 * attempts + 150, (k) => start + perAttempt * Math.min(k, attempts));
        const { judged, growth } = judge(points, attemptsAt(attempts), threshold);
        expect(growth.perAttempt).toBeCloseTo(perAttempt, 5);
        expect(judged?.label === "growing").toBe(perAttempt >= threshold);
      }),
    );
  });

  it("the label does not change when the series is shifted by a constant, or everything by a time", () => {
    fc.assert(
      fc.property(
        growthArb,
        fc.integer({ min: -500, max: 500 }),
        fc.nat({ max: 100_000 }),
        (g, offset, dt) => {
          const points = sampled(
            100 * g.attempts + 150,
            (k) => g.start + g.perAttempt * Math.min(k, g.attempts),
          );
          const attempts = attemptsAt(g.attempts);
          const base = judge(points, attempts, g.threshold).judged?.label;
          expect(
            judge(
              points.map((p) => ({ ...p, v: p.v + offset })),
              attempts,
              g.threshold,
            ).judged?.label,
          ).toBe(base);
          const later = judge(
            points.map((p) => ({ ...p, t: p.t + dt })),
            attempts.map((a) => ({ ...a, t: a.t + dt })),
            g.threshold,
          );
          expect(later.judged?.label).toBe(base);
        },
      ),
    );
  });

  it("growing at a threshold is growing at any lower one; stable at a tolerance is stable at any larger one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -3, max: 6 }), { minLength: 20, maxLength: 80 }),
        fc.integer({ min: 10, max: 60 }),
        fc.double({ min: 0.1, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 3, noNaN: true }),
        (steps, n, threshold, tolerance) => {
          const points = steps.map((_, i) => ({
            t: 50 + 100 * i,
            v: 100 + steps.slice(0, i + 1).reduce((a, b) => a + b, 0),
          }));
          const attempts = attemptsAt(n);
          const at = judge(points, attempts, threshold, tolerance).judged?.label;
          if (at === "growing")
            expect(judge(points, attempts, threshold / 2, tolerance).judged?.label).toBe("growing");
          if (at === "stable")
            expect(judge(points, attempts, threshold, tolerance + 1).judged?.label).toBe("stable");
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("leaks: laws of its measure", () => {
  /** fds read every 100 ms from t = 50, one attempt every 100 ms from t = 100 (with a timestamped line). */
  function leakHistory(
    n: number,
    leak: { kind: "pipe" | "socket" | "file"; perAttempt: number } | null,
    noise: number[],
  ) {
    const fds = [];
    for (let t = 50, i = 0; t <= 100 * n + 350; t += 100, i++) {
      const k = Math.min(n, Math.floor(t / 100));
      const grown = leak ? leak.perAttempt * k : 0;
      const bump = noise.includes(i) ? 2 : 0;
      fds.push(
        fdSample(t, {
          pipe: 2 + (leak?.kind === "pipe" ? grown : 0),
          socket: 3 + bump + (leak?.kind === "socket" ? grown : 0),
          file: 1 + (leak?.kind === "file" ? grown : 0),
        }),
      );
    }
    const connect = [];
    for (let t = 0; t <= 100 * n + 350; t += 500) connect.push({ t, ok: true });
    return historyFrom({ fds, connect, attempts: attemptsAt(n), maxclients: 10_000, nofile: 100_000 });
  }
  const leakArb = fc.record({
    n: fc.integer({ min: 30, max: 60 }),
    kind: fc.constantFrom("pipe", "socket", "file") as fc.Arbitrary<"pipe" | "socket" | "file">,
    perAttempt: fc.integer({ min: 1, max: 6 }),
    noise: fc.uniqueArray(fc.nat({ max: 60 }), { maxLength: 3 }),
  });

  it("a whole number of fds per attempt of one kind is found and named as such; growing (bug) once ended", () => {
    fc.assert(
      fc.property(leakArb, ({ n, kind, perAttempt, noise }) => {
        const h = leakHistory(n, { kind, perAttempt }, noise);
        const d = decideLeaks(h, contextFor(h, { ended: { reason: "time-limit", detail: "t" } }));
        expect(d?.outcome).toBe("bug");
        expect(d?.evidence.leaks).toBe(`${perAttempt} fd/attempt (${kind})`);
      }),
      { numRuns: 60 },
    );
  });

  it("no leak, a few transient bumps of 2 fds: nothing leaks, stable (no bug)", () => {
    fc.assert(
      fc.property(leakArb, ({ n, noise }) => {
        const h = leakHistory(n, null, noise);
        const d = decideLeaks(h, contextFor(h));
        expect(d?.evidence.growth.every((g) => !g.leaking)).toBe(true);
        expect(leakText(d?.evidence.growth ?? [])).toBe("clean");
        expect(d).toMatchObject({ outcome: "no-bug", label: "stable" });
      }),
      { numRuns: 60 },
    );
  });

  it("a series leaking at a threshold leaks at any lower one", () => {
    fc.assert(
      fc.property(
        leakArb,
        fc.double({ min: 0.1, max: 8, noNaN: true }),
        ({ n, kind, perAttempt, noise }, threshold) => {
          const h = leakHistory(n, { kind, perAttempt }, noise);
          const at = (p: number) =>
            decideLeaks(h, contextFor(h, { ended: { reason: "time-limit", detail: "t" } }), {
              series: [{ series: `fds.${kind}`, perAttempt: p }],
            })?.evidence.growth[0]?.leaking;
          if (at(threshold)) expect(at(threshold / 2)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });
});

const pointsArb = fc
  .array(fc.record({ t: fc.nat({ max: 10_000 }), v: fc.integer({ min: 0, max: 5 }) }), {
    minLength: 0,
    maxLength: 30,
  })
  .map((ps) => byTime(ps).map((p) => ({ ...p, text: `w${p.v}` })));
const momentArb = fc.oneof(
  fc.constant("end" as const),
  fc.constant("start" as const),
  fc.record({ attempts: fc.integer({ min: 1, max: 12 }), afterMs: fc.nat({ max: 2_000 }) }),
  fc.record({ mark: fc.constant("flood"), afterMs: fc.nat({ max: 2_000 }) }),
);
const conditionArb = fc.oneof(
  fc.record({ equals: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ atMost: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ atLeast: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ matches: fc.constantFrom("w[0-2]", "^w5$", "3") }),
);
const assertCase = fc.record({
  points: pointsArb,
  attempts: fc
    .array(fc.nat({ max: 10_000 }), { maxLength: 15 })
    .map((ts) => byTime(ts.map((t) => ({ t, line: null })))),
  mark: fc.option(fc.nat({ max: 10_000 }), { nil: undefined }),
  at: momentArb,
  condition: conditionArb,
  bug: fc.constantFrom("if-true", "if-false") as fc.Arbitrary<"if-true" | "if-false">,
  ended: fc.option(endedArb, { nil: undefined }),
});
type AssertCase = typeof assertCase extends fc.Arbitrary<infer A> ? A : never;
const assertHistory = (c: AssertCase) =>
  historyFrom({
    series: { "s.x": c.points },
    attempts: c.attempts,
    events: c.mark === undefined ? [] : [{ t: c.mark, node: "main", kind: MARK, name: "flood" }],
  });
const assertOf = (c: AssertCase, change: Partial<{ condition: unknown; bug: "if-true" | "if-false" }> = {}) =>
  checkerFrom({
    checker: "assert",
    series: "s.x",
    at: c.at,
    condition: c.condition,
    bug: c.bug,
    ...change,
  } as CheckerInput);

describe("assert: laws", () => {
  it("stating the other side as the bug swaps bug and no-bug, and leaves unknown and undecided alone", () => {
    fc.assert(
      fc.property(assertCase, (c) => {
        const h = assertHistory(c);
        const context = contextFor(h, c.ended ? { ended: c.ended } : {});
        const a = assertOf(c).decide(h, context);
        const b = assertOf(c, { bug: c.bug === "if-true" ? "if-false" : "if-true" }).decide(h, context);
        const swap: Record<Outcome, Outcome> = { bug: "no-bug", "no-bug": "bug", unknown: "unknown" };
        expect(b?.outcome).toBe(a ? swap[a.outcome] : undefined);
      }),
      { numRuns: 500 },
    );
  });

  it("equals x and not x come out opposite on the same reading", () => {
    fc.assert(
      fc.property(assertCase, fc.integer({ min: 0, max: 5 }), (c, x) => {
        const h = assertHistory(c);
        const context = contextFor(h, c.ended ? { ended: c.ended } : {});
        const eq = assertOf(c, { condition: { equals: x } }).decide(h, context);
        const not = assertOf(c, { condition: { not: x } }).decide(h, context);
        if (eq?.outcome === "unknown" || !eq) expect(not?.outcome).toBe(eq?.outcome);
        else expect(not?.outcome).not.toBe(eq.outcome);
      }),
      { numRuns: 500 },
    );
  });

  it("a later reading never changes a decided outcome", () => {
    fc.assert(
      fc.property(assertCase, pointsArb, (c, later) => {
        const h = assertHistory(c);
        const end = endOf(h) + 1;
        const context = contextFor(h, { now: end, ...(c.ended ? { ended: c.ended } : {}) });
        const first = assertOf(c).decide(h, context);
        if (!first || first.outcome === "unknown") return;
        const more = edited(h, {
          series: { "s.x": [...c.points, ...later.map((p) => ({ ...p, t: p.t + end }))] },
        });
        // At "end" the last reading decides, and a later one is a new last reading: the law is for moments.
        if (c.at === "end") return;
        expect(assertOf(c).decide(more, contextFor(more, { now: endOf(more) + 1 }))?.outcome).toBe(
          first.outcome,
        );
      }),
      { numRuns: 500 },
    );
  });
});

const withinCase = fc.record({
  points: pointsArb,
  from: fc.oneof(
    fc.constant("start" as const),
    fc.record({ mark: fc.constant("flood"), afterMs: fc.nat({ max: 1_000 }) }),
  ),
  mark: fc.option(fc.nat({ max: 10_000 }), { nil: undefined }),
  ms: fc.integer({ min: 1, max: 5_000 }),
  at: fc.integer({ min: 0, max: 5 }),
  now: fc.nat({ max: 20_000 }),
  ended: fc.option(endedArb, { nil: undefined }),
});
type WithinCase = typeof withinCase extends fc.Arbitrary<infer W> ? W : never;
const withinHistory = (c: WithinCase) =>
  historyFrom({
    series: { "s.x": c.points },
    events: c.mark === undefined ? [] : [{ t: c.mark, node: "main", kind: MARK, name: "flood" }],
  });
const withinOf = (c: WithinCase, ms = c.ms) =>
  checkerFrom({
    checker: "within",
    from: c.from,
    ms,
    happens: { series: "s.x", condition: { atLeast: c.at } },
  });

describe("within: laws", () => {
  it("a decided outcome stays as time goes on and later readings come in", () => {
    fc.assert(
      fc.property(withinCase, pointsArb, fc.nat({ max: 10_000 }), (c, later, wait) => {
        const h = withinHistory(c);
        const now = Math.max(c.now, endOf(h));
        const first = withinOf(c).decide(h, { now, attemptsNeeded: 30 });
        if (!first || first.outcome === "unknown") return;
        const more = edited(h, {
          series: { "s.x": [...c.points, ...later.map((p) => ({ ...p, t: p.t + now + 1 }))] },
        });
        const again = withinOf(c).decide(more, {
          now: Math.max(now + wait, endOf(more)),
          attemptsNeeded: 30,
        });
        expect(again?.outcome).toBe(first.outcome);
        // What happened stays the first time it happened (a timeout may learn that it came late).
        if (first.outcome === "no-bug") expect(again?.evidence).toEqual(first.evidence);
      }),
      { numRuns: 500 },
    );
  });

  it("what happened within T happened within any longer T; a timeout at T is one at any shorter T", () => {
    fc.assert(
      fc.property(withinCase, fc.integer({ min: 1, max: 5_000 }), (c, extra) => {
        const h = withinHistory(c);
        const context = {
          now: Math.max(c.now, endOf(h)),
          attemptsNeeded: 30,
          ...(c.ended ? { ended: c.ended } : {}),
        };
        const d = withinOf(c).decide(h, context);
        if (d?.label === "happened")
          expect(withinOf(c, c.ms + extra).decide(h, context)?.label).toBe("happened");
        if (d?.label === "timeout" && c.ms > 1)
          expect(withinOf(c, Math.max(1, c.ms - extra)).decide(h, context)?.label).toBe("timeout");
      }),
      { numRuns: 500 },
    );
  });
});

/** A part that answers a fixed outcome (or nothing while running: undefined). */
const fixed = (name: string, outcome: Outcome | undefined): Checker => ({
  name,
  decide: () =>
    outcome && {
      checker: name,
      outcome,
      label: `${name}-${outcome}`,
      reason: name,
      summary: "",
      facts: [],
      evidence: null,
    },
});
const outcomeArb = fc.constantFrom<Outcome>("bug", "no-bug", "unknown");
const partsArb = fc.array(outcomeArb, { minLength: 1, maxLength: 6 });
const rank: Record<Outcome, number> = { "no-bug": 0, unknown: 1, bug: 2 };
const byRank: Outcome[] = ["no-bug", "unknown", "bug"];
/** The oracle, written apart from the code: any is the highest part on no-bug < unknown < bug, all the lowest. */
const oracle = (rule: "all" | "any", outcomes: Outcome[]): Outcome => {
  const ranks = outcomes.map((o) => rank[o]);
  return byRank[rule === "any" ? Math.max(...ranks) : Math.min(...ranks)] as Outcome;
};
const decideAll = (rule: "all" | "any", outcomes: Outcome[]) =>
  (rule === "all" ? allOf : anyOf)(outcomes.map((o, i) => fixed(`p${i}`, o))).decide(
    historyFrom({}),
    contextFor(historyFrom({})),
  )?.outcome;

describe("all / any: laws against the parts' outcomes", () => {
  const rules = fc.constantFrom("all", "any") as fc.Arbitrary<"all" | "any">;

  it("the composition's outcome is the rule over the parts' (one part: its own)", () => {
    fc.assert(
      fc.property(rules, partsArb, (rule, outcomes) => {
        const got = decideAll(rule, outcomes);
        expect(got).toBe(oracle(rule, outcomes));
        if (outcomes.length === 1) expect(got).toBe(outcomes[0]);
        if (rule === "any") expect(got === "bug").toBe(outcomes.includes("bug"));
        if (rule === "all") expect(got === "bug").toBe(outcomes.every((o) => o === "bug"));
      }),
    );
  });

  it("the order of the parts does not matter; nesting does not; a part twice counts once", () => {
    fc.assert(
      fc.property(rules, partsArb, partsArb, fc.nat(), (rule, a, b, seed) => {
        const shuffled = [...a].sort((x, y) => ((x.length * 31 + seed) % 7) - ((y.length * 31 + seed) % 7));
        expect(decideAll(rule, shuffled)).toBe(decideAll(rule, a));
        const nested = (rule === "all" ? allOf : anyOf)([
          (rule === "all" ? allOf : anyOf)(a.map((o, i) => fixed(`a${i}`, o))),
          (rule === "all" ? allOf : anyOf)(b.map((o, i) => fixed(`b${i}`, o))),
        ]).decide(historyFrom({}), contextFor(historyFrom({})));
        expect(nested?.outcome).toBe(decideAll(rule, [...a, ...b]));
        expect(decideAll(rule, [...a, ...a])).toBe(decideAll(rule, a));
      }),
    );
  });

  it("any and all are duals: swapping bug and no-bug in every part swaps them in the result", () => {
    const swap: Record<Outcome, Outcome> = { bug: "no-bug", "no-bug": "bug", unknown: "unknown" };
    fc.assert(
      fc.property(partsArb, (outcomes) => {
        expect(
          decideAll(
            "all",
            outcomes.map((o) => swap[o]),
          ),
        ).toBe(swap[decideAll("any", outcomes) as Outcome]);
      }),
    );
  });

  it("monotone: a part moving toward bug never moves the composition away from it", () => {
    fc.assert(
      fc.property(rules, partsArb, fc.nat(), outcomeArb, (rule, outcomes, which, to) => {
        const i = which % outcomes.length;
        if (rank[to] < rank[outcomes[i] as Outcome]) return;
        const raised = outcomes.map((o, k) => (k === i ? to : o));
        expect(rank[decideAll(rule, raised) as Outcome]).toBeGreaterThanOrEqual(
          rank[decideAll(rule, outcomes) as Outcome],
        );
      }),
    );
  });

  it("undecided while any part is, decided (every part counted) once the run has ended", () => {
    fc.assert(
      fc.property(
        rules,
        fc.array(fc.option(outcomeArb, { nil: undefined }), { minLength: 1, maxLength: 5 }),
        (rule, outcomes) => {
          const checker = (rule === "all" ? allOf : anyOf)(outcomes.map((o, i) => fixed(`p${i}`, o)));
          const h = historyFrom({});
          const running = checker.decide(h, contextFor(h));
          expect(running === undefined).toBe(outcomes.includes(undefined));
          const ended = checker.decide(h, contextFor(h, { ended: { reason: "time-limit", detail: "t" } }));
          expect(ended?.outcome).toBe(
            oracle(
              rule,
              outcomes.map((o) => o ?? "unknown"),
            ),
          );
          expect(ended?.parts).toHaveLength(outcomes.length);
        },
      ),
    );
  });
});
