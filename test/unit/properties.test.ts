import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isUserError } from "../../harness/core/errors.js";
import { type History, HistoryRecorder } from "../../harness/core/history.js";
import { scenariosDir } from "../../harness/core/paths.js";
import { Decision } from "../../harness/parts/checkers/fd-leak.js";
import {
  aofDirChecker,
  type CheckContext,
  type Checker,
  type Ended,
  fdLeakChecker,
} from "../../harness/parts/checkers/index.js";
import { LogEvent, parseLogLine } from "../../harness/parts/probes/log.js";
import type { TargetResult } from "../../harness/run/result.js";
import { loadScenario, parseScenario } from "../../harness/scenario/index.js";
import { compareVersions, formatTarget, parseTarget, type TargetSpec } from "../../harness/targets/spec.js";
import { attemptsOf, recordedResult } from "../helpers/runs.js";

/**
 * Properties over inputs nobody wrote by hand (fast-check): what users feed the harness gives a
 * result or one line naming the problem, never a stack; pure parts keep their laws on any input.
 * Generic on purpose: scenario files are edited at random, not built from the schema's fields.
 */

/** Calls `f`; a UserError must be one line; any other throw fails the property. */
function resultOrUserError<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (error) {
    if (!isUserError(error)) throw error;
    expect(error.message).not.toMatch(/\n/);
    expect(error.message.length).toBeGreaterThan(0);
    return undefined;
  }
}

async function realScenarios(): Promise<unknown[]> {
  const files = (await readdir(scenariosDir)).filter((f) => f.endsWith(".json"));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(scenariosDir, f), "utf8"))));
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value inside a JSON document. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(value.flatMap((v, i) => paths(v, [...prefix, i])));
  if (value && typeof value === "object")
    return here.concat(Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k])));
  return here;
}

type Edit = { kind: "delete" | "set" | "add"; pick: number; value: Json; key: string };

/** One edit of a document at the path chosen by `pick`: delete it, replace it, or add a key beside it. */
function applyEdit(doc: Json, edit: Edit): Json {
  const all = paths(doc).filter((p) => p.length > 0);
  const path = all[edit.pick % Math.max(1, all.length)];
  if (!path) return edit.value;
  const copy = structuredClone(doc);
  let parent: Json = copy;
  for (const step of path.slice(0, -1)) parent = (parent as Record<string, Json>)[step as string] ?? null;
  const last = path.at(-1) as string | number;
  if (parent === null || typeof parent !== "object") return copy;
  const target = parent as Record<string | number, Json>;
  if (edit.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete target[last];
  } else if (edit.kind === "set") target[last] = edit.value;
  else if (!Array.isArray(parent)) target[edit.key] = edit.value;
  return copy;
}

const editArb: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom("delete", "set", "add"),
  pick: fc.nat(),
  value: fc.jsonValue() as fc.Arbitrary<Json>,
  key: fc.string({ maxLength: 12 }),
});

describe("scenario loader", () => {
  it("random JSON: a scenario or a one-line UserError", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (data) => {
        resultOrUserError(() => parseScenario(data, "fuzz.json"));
      }),
      { numRuns: 500 },
    );
  });

  it("random edits of the real scenario files: a valid scenario or a one-line UserError", async () => {
    const scenarios = (await realScenarios()) as Json[];
    expect(scenarios.length).toBeGreaterThan(0);
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: scenarios.length - 1 }),
        fc.array(editArb, { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          const edited = edits.reduce(applyEdit, scenarios[which] as Json);
          const scenario = resultOrUserError(() => parseScenario(edited, "edited.json"));
          if (scenario) {
            accepted++;
            // What the loader accepts is a whole scenario: parsing its own output gives it back.
            expect(parseScenario(JSON.parse(JSON.stringify(scenario)), "again.json")).toEqual(scenario);
          } else refused++;
        },
      ),
      { numRuns: 1000 },
    );
    // Both sides were exercised: edits that keep a scenario valid and edits that break it.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it("random file contents (not JSON, truncated JSON, edited JSON): loadScenario never throws anything else", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-fuzz-"));
    const real = await readFile(join(scenariosDir, "aof-auto-rewrite-enomem.json"), "utf8");
    const texts = fc.oneof(
      fc.string(),
      fc.nat({ max: real.length }).map((n) => real.slice(0, n)),
      fc
        .tuple(fc.nat({ max: real.length }), fc.string({ maxLength: 5 }))
        .map(([n, s]) => real.slice(0, n) + s + real.slice(n + 1)),
    );
    let i = 0;
    await fc.assert(
      fc.asyncProperty(texts, async (text) => {
        const file = join(dir, `s${i++}.json`);
        await writeFile(file, text);
        try {
          await loadScenario(file);
        } catch (error) {
          if (!isUserError(error)) throw error;
          expect(error.message).not.toMatch(/\n/);
        }
      }),
      { numRuns: 200 },
    );
  });
});

const versionArb = fc
  .tuple(
    fc.nat({ max: 12 }),
    fc.nat({ max: 12 }),
    fc.option(fc.nat({ max: 40 }), { nil: undefined }),
    fc.option(fc.tuple(fc.constantFrom("rc", "m"), fc.nat({ max: 9 })), { nil: undefined }),
  )
  .map(
    ([a, b, c, pre]) =>
      `${a}.${b}${c === undefined ? "" : `.${c}`}${pre ? `-${pre[0]}${pre[0] === "m" ? `0${pre[1]}` : pre[1]}` : ""}`,
  );

describe("target parsing", () => {
  it("any string: a target or a one-line UserError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        resultOrUserError(() => parseTarget(text));
      }),
      { numRuns: 2000 },
    );
  });

  it("strings made of target characters: the same", () => {
    const chars = fc.constantFrom(..."0123456789.+-:/@abcfimrxegs ".split(""));
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 30 }).map((a) => a.join("")),
        (text) => {
          resultOrUserError(() => parseTarget(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("formatTarget and parseTarget round-trip every valid release target", () => {
    const patch = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/);
    const spec = fc
      .tuple(versionArb, fc.uniqueArray(patch, { maxLength: 3 }))
      .map(([version, patches]): TargetSpec => ({ kind: "release", version, patches }));
    fc.assert(
      fc.property(spec, (s) => {
        expect(parseTarget(formatTarget(s))).toEqual(s);
      }),
    );
  });
});

describe("compareVersions is a total order", () => {
  const sign = (n: number) => Math.sign(n) || 0;
  it("reflexive and antisymmetric", () => {
    fc.assert(
      fc.property(versionArb, versionArb, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(sign(compareVersions(a, b))).toBe(-sign(compareVersions(b, a)));
      }),
      { numRuns: 1000 },
    );
  });

  it("transitive, and sorting is stable whatever the input order", () => {
    fc.assert(
      fc.property(fc.array(versionArb, { minLength: 3, maxLength: 12 }), (versions) => {
        const sorted = [...versions].sort(compareVersions);
        for (let i = 0; i + 1 < sorted.length; i++)
          for (let j = i + 1; j < sorted.length; j++)
            expect(compareVersions(sorted[i] as string, sorted[j] as string)).toBeLessThanOrEqual(0);
        const again = [...versions].reverse().sort(compareVersions);
        expect(again.map((v) => sorted.findIndex((s) => compareVersions(s, v) === 0))).toEqual(
          sorted.map((v) => sorted.findIndex((s) => compareVersions(s, v) === 0)),
        );
      }),
      { numRuns: 500 },
    );
  });

  it("a pre-release comes before its release, and a missing patch number is .0", () => {
    fc.assert(
      fc.property(fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.nat({ max: 9 }), (a, b, n) => {
        expect(compareVersions(`${a}.${b}.0-rc${n}`, `${a}.${b}.0`)).toBeLessThan(0);
        expect(compareVersions(`${a}.${b}`, `${a}.${b}.0`)).toBe(0);
      }),
    );
  });
});

describe("log parser", () => {
  const fragments = [
    "Can't rewrite append only file in background: fork: ",
    "Can't save in background: fork: ",
    "Error opening /setting AOF rewrite IPC pipes: ",
    "Error registering fd event for the new client: ",
    "Server started, Redis version ",
    "Redis version=",
    "ready to accept connections",
    "Background append only file rewriting started by pid ",
  ];
  const line = fc.oneof(
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc
      .tuple(fc.string({ maxLength: 30 }), fc.constantFrom(...fragments), fc.string({ maxLength: 30 }))
      .map(([a, f, b]) => a + f + b),
  );

  it("random lines never throw; an event keeps the line and time and fits the schema", () => {
    fc.assert(
      fc.property(line, fc.nat(), (text, t) => {
        const event = parseLogLine(text, t);
        if (event === undefined) return;
        expect(event.line).toBe(text);
        expect(event.t).toBe(t);
        expect(LogEvent.safeParse(event).success).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

/**
 * The checkers through their one interface (history and context in, decision out), on real recorded
 * runs cut at random times as the run loop saw them, and on synthetic histories. The loop stops at
 * the first decision, so once a history is decided, holding that state longer must not turn it into
 * another verdict, and an ended history always gets one.
 */
const recorded: { file: string; target: string }[] = [
  { file: "seed-3.2.8-vs-fix.json", target: "3.2.8" },
  { file: "seed-3.2.8-vs-fix.json", target: "3.2.8+fix-aof-pipe-leak" },
  { file: "config-set-appendonly-3.2.8-vs-fix.json", target: "3.2.8" },
  { file: "config-set-appendonly-3.2.8-vs-fix.json", target: "3.2.8+fix-aof-pipe-leak" },
  { file: "aof-dir-7.0.15.json", target: "7.0.15" },
];

const checkers: Record<string, Checker> = { "fd-leak": fdLeakChecker(), "aof-dir": aofDirChecker() };

function checkerOf(result: TargetResult): Checker {
  const checker = checkers[result.checker];
  if (!checker) throw new Error(`no checker ${result.checker} in this test`);
  return checker;
}

/** The history part of a recorded result. */
function historyOf(result: TargetResult): History {
  const { samples, series, events, attempts, probes, log } = result;
  return { samples, series, events, attempts, probes, log };
}

/** What the run loop had seen strictly before `ms`: every timed record of the history, cut. */
function cutHistory(h: History, ms: number): History {
  const before = <T extends { t: number }>(xs: T[]) => xs.filter((x) => x.t < ms);
  return {
    ...h,
    samples: before(h.samples),
    series: Object.fromEntries(Object.entries(h.series).map(([k, v]) => [k, before(v)])),
    events: before(h.events),
    attempts: before(h.attempts),
    probes: before(h.probes),
  };
}

function lastTime(h: History): number {
  const times = [
    ...h.samples.map((s) => s.t),
    ...h.events.map((e) => e.t),
    ...h.probes.map((p) => p.t),
    ...Object.values(h.series).flatMap((v) => v.map((p) => p.t)),
  ];
  return Math.max(0, ...times);
}

/** The context the run gave its checker: first sample as baseline, the recorded ceiling, budget 30. */
function contextOf(result: TargetResult, ended?: Ended): CheckContext {
  return {
    ...(result.samples[0] ? { baseline: result.samples[0] } : {}),
    ceiling: result.decision.evidence.ceiling,
    attemptsNeeded: 30,
    ...(ended ? { ended } : {}),
  };
}

/** A time to cut a history at: anywhere, with its very end (where the run decided) drawn often. */
const cut = (end: number) => fc.oneof(fc.integer({ min: 0, max: end }), fc.constant(end));
const endedArb: fc.Arbitrary<Ended> = fc.record({
  reason: fc.constantFrom("time-limit", "container-exited", "error") as fc.Arbitrary<Ended["reason"]>,
  detail: fc.string({ maxLength: 20 }),
});

describe("checkers on recorded histories", () => {
  it.each(recorded)(
    "$file $target: the first decision is the recorded verdict, and it holds from then on",
    ({ file, target }) => {
      const result = recordedResult(file, target);
      const history = historyOf(result);
      const checker = checkerOf(result);
      const end = lastTime(history) + 1;
      const at = (ms: number) => checker.decide(cutHistory(history, ms), contextOf(result));
      let decided = 0;
      fc.assert(
        fc.property(cut(end), cut(end), (x, y) => {
          const [early, late] = x <= y ? [x, y] : [y, x];
          const first = at(early);
          if (!first) return;
          decided++;
          expect(first.verdict).toBe(result.decision.verdict);
          expect(at(late)?.verdict).toBe(first.verdict);
        }),
        { numRuns: 200 },
      );
      // The cuts reached decided histories too, not only the undecided start.
      expect(decided).toBeGreaterThan(0);
    },
  );

  /**
   * The state at the decision, held: later samples equal to the last one, later probes with the last
   * probe's outcome, and more of the log events seen since the first failed fork (counted as the run
   * counts them), at later times. Arbitrary later data is not a fair test: a later refused client
   * rightly turns "stable" into "inconclusive", and fds falling back from the ceiling would undo an
   * exhaustion that a leaking server never undoes. For the aof-dir checker more failed forks without
   * new files lower the per-attempt growth it measures (its last sample already counts forks that the
   * next files would answer), so this holds for the fd checker's histories.
   */
  it.each(recorded.filter((r) => r.file !== "aof-dir-7.0.15.json"))(
    "$file $target: the state at the decision, held longer, does not change it",
    ({ file, target }) => {
      const result = recordedResult(file, target);
      const history = historyOf(result);
      const checker = checkerOf(result);
      const end = lastTime(history) + 1;
      const verdict = checker.decide(history, contextOf(result))?.verdict;
      expect(verdict).toBe(result.decision.verdict);
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
          moreOf(history.samples.slice(-1)),
          moreOf(history.events.filter((e) => e.t >= since)),
          moreOf(history.probes.slice(-1)),
          (samples, events, probes) => {
            const held: History = {
              ...history,
              samples: [...history.samples, ...samples],
              events: [...history.events, ...events],
              attempts: [...history.attempts, ...attemptsOf(events)],
              probes: [...history.probes, ...probes],
            };
            expect(checker.decide(held, contextOf(result))?.verdict).toBe(verdict);
          },
        ),
        { numRuns: 300 },
      );
    },
  );

  it.each(recorded)(
    "$file $target: any cut, once ended, gets a verdict that fits the schema",
    ({ file, target }) => {
      const result = recordedResult(file, target);
      const history = historyOf(result);
      const checker = checkerOf(result);
      fc.assert(
        fc.property(cut(lastTime(history) + 1), endedArb, (ms, ended) => {
          const decision = checker.decide(cutHistory(history, ms), contextOf(result, ended));
          expect(decision).toBeDefined();
          expect(Decision.safeParse(decision).success).toBe(true);
        }),
        { numRuns: 200 },
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
];

const syntheticArb = fc.record({
  lines: fc.array(fc.record({ t: fc.nat({ max: 60_000 }), line: fc.constantFrom(...logLines) }), {
    maxLength: 60,
  }),
  samples: fc.array(
    fc
      .record({
        t: fc.nat({ max: 60_000 }),
        pipe: fc.nat({ max: 2000 }),
        socket: fc.nat({ max: 100 }),
        file: fc.nat({ max: 20 }),
        eventpoll: fc.nat({ max: 2 }),
        other: fc.nat({ max: 5 }),
        maxFd: fc.nat({ max: 2100 }),
      })
      .map((x) => ({ ...x, total: x.pipe + x.socket + x.file + x.eventpoll + x.other })),
    { maxLength: 60 },
  ),
  readings: fc.array(
    fc.record({
      t: fc.nat({ max: 60_000 }),
      files: fc.nat({ max: 100 }),
      manifestBytes: fc.nat({ max: 9_999 }),
    }),
    { maxLength: 30 },
  ),
  probes: fc.array(fc.record({ t: fc.nat({ max: 60_000 }), ok: fc.boolean() }), { maxLength: 20 }),
  ceiling: fc.integer({ min: 16, max: 2048 }),
  attemptsNeeded: fc.integer({ min: 1, max: 40 }),
  ended: fc.option(endedArb, { nil: undefined }),
});

/** A history made the way a run makes one: everything through the recorder, in time order. */
function synthetic(h: typeof syntheticArb extends fc.Arbitrary<infer H> ? H : never): {
  history: History;
  context: CheckContext;
} {
  const recorder = new HistoryRecorder({ event: "fork-failed" });
  const byTime = <T extends { t: number }>(xs: T[]) => [...xs].sort((a, b) => a.t - b.t);
  for (const l of byTime(h.lines)) recorder.logLine(l.line, l.t);
  for (const s of byTime(h.samples)) recorder.fds(s);
  for (const r of byTime(h.readings))
    recorder.reading("aofdir", r.t, { files: r.files, manifestBytes: r.manifestBytes });
  for (const p of byTime(h.probes)) recorder.connect(p);
  const baseline = recorder.history.samples[0];
  return {
    history: recorder.history,
    context: {
      ...(baseline ? { baseline } : {}),
      ceiling: h.ceiling,
      attemptsNeeded: h.attemptsNeeded,
      ...(h.ended ? { ended: h.ended } : {}),
    },
  };
}

describe("checkers on synthetic histories", () => {
  it.each(Object.entries(checkers))(
    "%s: never throws, never mutates its input, same answer twice, an ended history is decided",
    (_, checker) => {
      fc.assert(
        fc.property(syntheticArb, (h) => {
          const { history, context } = synthetic(h);
          const copy = structuredClone({ history, context });
          const first = checker.decide(history, context);
          expect({ history, context }).toEqual(copy);
          expect(checker.decide(history, context)).toEqual(first);
          if (context.ended) expect(first).toBeDefined();
          if (first) expect(Decision.safeParse(first).success).toBe(true);
        }),
        { numRuns: 500 },
      );
    },
  );
});
