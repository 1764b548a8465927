import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CheckContext } from "../../harness/core/checker.js";
import { UserError } from "../../harness/core/errors.js";
import {
  type Attempt,
  type Event,
  FAULT_HEAL,
  FAULT_START,
  type History,
  type Point,
} from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import { checkerFrom, decideWithin } from "../../harness/parts/checkers/index.js";
import {
  decideRecovery,
  RECOVERY_LABELS,
  REWRITE_DONE,
  RecoveryEvidence,
  RecoverySpec,
  type RecoverySpecInput,
  recoveryChecker,
  recoveryProbes,
  SAVE_DONE,
} from "../../harness/parts/checkers/recovery.js";
import { WithinSpec, withinLogProbeName } from "../../harness/parts/checkers/within.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { parseScenario } from "../../harness/scenario/index.js";
import { contextFor, oomKilled, recordedBefore, timeLimit } from "../helpers/runs.js";

const FORK = "libfiu:fork:ENOMEM";
const start = (t: number, name = FORK, node = "main"): Event => ({
  t,
  node,
  kind: FAULT_START,
  name,
  line: "fiu-ctrl enable",
});
const heal = (t: number, value?: number, name = FORK, node = "main"): Event => ({
  t,
  node,
  kind: FAULT_HEAL,
  name,
  line: "fiu-ctrl disable",
  ...(value === undefined ? {} : { value }),
});

/**
 * The seed as an episode, made up: fds 8 until the fault starts at 1 s, a failed fork every 100 ms
 * from 1.2 s (each leaking `leak` fds) until the heal at 3 s, then fds read every 200 ms at
 * `after(t)`; fresh clients (clients.ok) and the rewrite's line after the heal as given.
 */
function episode(
  options: {
    leak?: number;
    after?: (t: number, high: number) => number;
    clients?: Point[];
    rewriteAt?: number[];
    healAt?: number | null;
    until?: number;
  } = {},
): History {
  const leak = options.leak ?? 6;
  const healAt = options.healAt === undefined ? 3_000 : options.healAt;
  const until = options.until ?? 20_000;
  const attempts: Attempt[] = [];
  for (let t = 1_200; t < (healAt ?? until); t += 100) attempts.push({ t, line: `fork failed ${t}` });
  const fds: Point[] = [];
  for (let t = 100; t <= until; t += 200) {
    const failed = attempts.filter((a) => a.t <= t).length;
    const high = 8 + leak * failed;
    fds.push({ t, v: healAt !== null && t >= healAt ? (options.after?.(t, high) ?? high) : high });
  }
  const rewrite = withinLogProbeName("main", REWRITE_DONE);
  const series: Record<string, Point[]> = {
    "fds.total": fds,
    [`${rewrite}.count`]: [
      { t: 50, v: 0 },
      ...(options.rewriteAt ?? []).map((t, i) => ({ t, v: i + 1, text: `* ${REWRITE_DONE}` })),
    ],
  };
  if (options.clients) series["clients.ok"] = options.clients;
  const events = [start(1_000), ...(healAt === null ? [] : [heal(healAt, 0)])];
  return { series, events, attempts, logs: {} };
}

const SEED: RecoverySpecInput = {
  checker: "recovery",
  ms: 5_000,
  requires: [
    { require: "baseline", series: "fds.total", tolerance: 2 },
    { require: "clients" },
    { require: "rewrite" },
  ],
};

function decide(spec: RecoverySpecInput, history: History, context: Partial<CheckContext> = {}) {
  const decision = recoveryChecker(spec).decide(history, { ...contextFor(history), ...context });
  if (decision) {
    expect(() => Decision.parse(decision)).not.toThrow();
    expect(() => RecoveryEvidence.parse(decision.evidence)).not.toThrow();
  }
  return decision;
}

const served = (from: number, to = 20_000): Point[] => {
  const points: Point[] = [];
  for (let t = from; t <= to; t += 500) points.push({ t, v: 1 });
  return points;
};

describe("recovery: every requirement holds within ms of the last heal", () => {
  it("fds back to the baseline, a fresh client, the next rewrite: recovered, each with how long it took", () => {
    const h = episode({ after: () => 9, clients: served(3_200), rewriteAt: [3_300] });
    const d = decide(SEED, h);
    expect(d).toMatchObject({ checker: "recovery", outcome: "no-bug", label: RECOVERY_LABELS.noBug });
    expect(d?.reason).toBe(
      "every requirement held within 5.0 s of the fault's last heal (at 3.0 s): fds.total back to its baseline after 0.1 s; fresh clients served on main after 0.2 s; an AOF rewrite succeeds on main after 0.3 s",
    );
    expect(d?.facts).toEqual([
      { name: "after", value: "the fault's last heal at 3.0 s" },
      { name: "fds.total back to its baseline", value: "held after 0.1 s: 9 (≤ 10)" },
      { name: "fresh clients served on main", value: "held after 0.2 s: PONG" },
      { name: "an AOF rewrite succeeds on main", value: `held after 0.3 s: * ${REWRITE_DONE}` },
    ]);
    expect(d?.summary).toBe("recovered: fds.total +0.1 s, clients +0.2 s, rewrite +0.3 s");
    // The chart: the baseline series, its limit dashed, the heal and the deadline marked.
    expect(d?.plot).toMatchObject({
      series: "fds.total",
      ceiling: 10,
      ceilingLabel: "baseline + tolerance",
      marks: [
        { t: 3_000, label: "the fault's last heal" },
        { t: 8_000, label: "deadline" },
      ],
    });
  });

  it("the seed on 3.2.8: leaked fds that stay are not recovered once the window has passed, the rest held", () => {
    const h = recordedBefore(episode({ clients: served(3_200), rewriteAt: [3_300] }), 8_000);
    expect(decide(SEED, h, { now: 7_999 })).toBeUndefined();
    const d = decide(SEED, h, { now: 8_000 });
    expect(d).toMatchObject({ outcome: "bug", label: RECOVERY_LABELS.bug });
    // 18 failed forks before the heal, 6 fds each: 116 where 8 + 2 was the limit.
    expect(d?.reason).toBe(
      "not within 5.0 s of the fault's last heal (at 3.0 s): fds.total back to its baseline (last 116 at 7.9 s (back at ≤ 10))",
    );
    expect(d?.summary).toBe("not recovered: fds.total");
    const evidence = RecoveryEvidence.parse(d?.evidence);
    expect(evidence.requirements.map((r) => [r.require, r.held !== null, r.limit])).toEqual([
      ["baseline", false, 10],
      ["clients", true, null],
      ["rewrite", true, null],
    ]);
  });

  it("the seed on 3.2.8 with a full table: fds, clients and the rewrite all not recovered", () => {
    const refused = (from: number): Point[] =>
      served(from).map((p) => ({ ...p, v: 0, text: "Connection is closed." }));
    const d = decide(SEED, episode({ leak: 12, clients: refused(3_200) }));
    expect(d?.label).toBe("not-recovered");
    expect(d?.facts.slice(1).map((f) => f.value)).toEqual([
      "not within 5.0 s: last 224 at 19.9 s (back at ≤ 10)",
      "not within 5.0 s: last 0 (Connection is closed.) at 19.7 s",
      "not within 5.0 s: no such line",
    ]);
  });

  it("what came only after the window does not count: it is named as late", () => {
    const d = decide(SEED, episode({ after: () => 8, clients: served(3_200), rewriteAt: [9_000] }));
    expect(d?.outcome).toBe("bug");
    expect(d?.reason).toContain(`an AOF rewrite succeeds on main (only after 6.0 s: * ${REWRITE_DONE})`);
  });

  it("a reading or line from before the heal does not count", () => {
    // The rewrite line at 2.5 s (during the fault) and none after: not recovered.
    const d = decide(SEED, episode({ after: () => 8, clients: served(3_200), rewriteAt: [2_500] }));
    expect(d?.reason).toContain("an AOF rewrite succeeds on main (no such line)");
  });

  it("waits while the fault lasts, and says the fault never healed once the run is over", () => {
    const h = episode({ healAt: null, until: 10_000 });
    expect(decide(SEED, h)).toBeUndefined();
    const d = decide(SEED, h, { ended: timeLimit });
    expect(d).toMatchObject({ outcome: "unknown", label: "inconclusive" });
    expect(d?.reason).toBe(
      "the fault never healed before the run ended (time limit 60 s): libfiu:fork:ENOMEM on main since 1.0 s still on; heal it sooner (the episode's heal) or raise budgets.timeLimitSeconds",
    );
    expect(d?.facts[0]).toEqual({ name: "after", value: "the fault's last heal: not reached" });
  });

  it("a run that ends inside the window is unknown, saying what had not held yet", () => {
    const h = episode({ clients: served(3_200), until: 5_000 });
    const d = decide(SEED, h, { ended: timeLimit, now: 5_001 });
    expect(d?.outcome).toBe("unknown");
    expect(d?.reason).toMatch(
      /^the run ended \(time limit 60 s\) 2\.0 s after the fault's last heal, before the 5\.0 s window closed: not yet fds\.total back to its baseline/,
    );
  });

  it("decides recovered as soon as everything held, before the window closes", () => {
    const h = recordedBefore(episode({ after: () => 8, clients: served(3_200), rewriteAt: [3_300] }), 3_600);
    expect(decide(SEED, h, { now: 3_600 })?.label).toBe("recovered");
  });

  it("a server that died is unknown, unless it had recovered before", () => {
    const h = episode({ clients: served(3_200), rewriteAt: [3_300] });
    expect(decide(SEED, h, { ended: oomKilled })).toMatchObject({
      outcome: "unknown",
      reason: "container died: exit code 137 (OOM killed)",
    });
    const ok = episode({ after: () => 8, clients: served(3_200), rewriteAt: [3_300] });
    expect(decide(SEED, ok, { ended: oomKilled })?.label).toBe("recovered");
  });
});

describe("recovery: which heal", () => {
  /** Two windows of one episode: heals at 2 s (one still to come) and at 6 s (its last). */
  function twoWindows(fdsAt: (t: number) => number, withValues = true): History {
    const fds: Point[] = [];
    for (let t = 100; t <= 15_000; t += 200) fds.push({ t, v: fdsAt(t) });
    return {
      series: { "fds.total": fds },
      events: [
        start(1_000),
        heal(2_000, withValues ? 1 : undefined),
        start(4_000),
        heal(6_000, withValues ? 0 : undefined),
      ],
      attempts: [{ t: 1_100, line: null }],
      logs: {},
    };
  }
  const spec: RecoverySpecInput = {
    checker: "recovery",
    ms: 1_000,
    requires: [{ require: "baseline", series: "fds.total" }],
  };

  it("judges from the episode's last heal: a window still to come is not the end of the fault", () => {
    // Back to 8 after the first heal, up during the second window, 8 again 400 ms after the last heal.
    const fds = (t: number) => (t < 1_000 ? 8 : t < 2_000 ? 30 : t < 4_000 ? 8 : t < 6_400 ? 30 : 8);
    const h = twoWindows(fds);
    // Between the windows: the heal at 2 s has one still to come; the checker waits.
    expect(decide(spec, recordedBefore(h, 3_900), { now: 3_900 })).toBeUndefined();
    // The second window open: still waiting.
    expect(decide(spec, recordedBefore(h, 5_000), { now: 5_000 })).toBeUndefined();
    const d = decide(spec, h);
    expect(d?.evidence).toMatchObject({ healedAt: 6_000 });
    expect(d?.facts[1]?.value).toBe("held after 0.5 s: 8 (≤ 10)");
  });

  it("a heal recorded without the count (an older history) counts as its episode's last, once no window is open", () => {
    const h = twoWindows(() => 8, false);
    expect(decide(spec, recordedBefore(h, 2_500), { now: 2_500 })?.evidence).toMatchObject({
      healedAt: 2_000,
    });
    expect(decide(spec, recordedBefore(h, 5_000), { now: 5_000 })).toBeUndefined();
    expect(decide(spec, h)?.evidence).toMatchObject({ healedAt: 6_000 });
  });

  it("after: a fault's name and node; another fault's heal is not the one", () => {
    const h: History = {
      series: {
        "fds.total": [
          { t: 100, v: 8 },
          { t: 2_100, v: 8 },
          { t: 6_100, v: 8 },
        ],
      },
      events: [
        start(500, "network-cut", "replica"),
        heal(2_000, 0, "network-cut", "replica"),
        start(1_000),
        heal(6_000, 0),
      ],
      attempts: [],
      logs: {},
    };
    const named = (after: RecoverySpecInput["after"]) =>
      decide({ ...spec, after }, h, { ended: timeLimit })?.evidence as RecoveryEvidence | undefined;
    expect(named({ name: "network-cut" })?.healedAt).toBe(2_000);
    expect(named({ node: "main" })?.healedAt).toBe(6_000);
    expect(named({})?.healedAt).toBe(6_000);
    expect(named({ name: "pids-limit" })?.healedAt).toBeNull();
  });

  it("within and assert can take the last heal too (which: last), and the first by default", () => {
    const h = twoWindows(() => 8);
    const within = (which?: "first" | "last") =>
      decideWithin(
        h,
        contextFor(h),
        // Parsed as a scenario's would be: which left out takes its default.
        WithinSpec.parse({
          checker: "within",
          from: { fault: "heal", ...(which ? { which } : {}), afterMs: 0 },
          ms: 1_000,
          happens: { series: "fds.total", condition: { atMost: 8 } },
          must: "happen",
        }),
      )?.evidence.from;
    expect(within()).toBe(2_000);
    expect(within("first")).toBe(2_000);
    expect(within("last")).toBe(6_000);
  });
});

describe("recovery: each requirement's evidence", () => {
  const h = (series: Record<string, Point[]>, attempts: Attempt[] = []): History => ({
    series,
    events: [start(1_000, "network-cut", "replica"), heal(3_000, 0, "network-cut", "replica")],
    attempts,
    logs: {},
  });

  it("sync: the replica's master_link_status up (its own info probe on the node)", () => {
    const link: Point[] = [
      { t: 3_100, v: 0, text: "down" },
      { t: 3_300, v: 0, text: "down" },
      { t: 4_150, v: 1, text: "up" },
    ];
    const d = decide(
      { checker: "recovery", ms: 5_000, requires: [{ require: "sync", node: "replica" }] },
      h({ "sync-replica.master_link_status": link }),
    );
    expect(d?.facts[1]).toEqual({
      name: "replica in sync with its master",
      value: "held after 1.1 s: 1 (up)",
    });
    const never = decide(
      { checker: "recovery", ms: 1_000, requires: [{ require: "sync", node: "replica" }] },
      h({ "sync-replica.master_link_status": link.slice(0, 2) }),
      { now: 4_000 },
    );
    expect(never?.facts[1]?.value).toBe("not within 1.0 s: last 0 (down) at 3.3 s");
  });

  it("writes: its own SET probe, or a named command step's replies", () => {
    const refusedThenOk: Point[] = [
      { t: 3_100, v: 0, text: "MISCONF Errors writing to the AOF file" },
      { t: 3_600, v: 1, text: "OK" },
    ];
    const own = decide(
      { checker: "recovery", ms: 2_000, requires: [{ require: "writes" }] },
      h({ "writes.ok": refusedThenOk }),
    );
    expect(own?.facts[1]).toEqual({ name: "writes accepted on main", value: "held after 0.6 s: 1 (OK)" });
    const step = decide(
      { checker: "recovery", ms: 2_000, requires: [{ require: "writes", replies: "sets" }] },
      h({ "sets.ok": refusedThenOk }),
    );
    expect(step?.facts[1]?.name).toBe("writes accepted (sets.ok)");
    expect(step?.label).toBe("recovered");
  });

  it("save, log and series: a BGSAVE's line, any line, any condition", () => {
    const save = withinLogProbeName("main", SAVE_DONE);
    const d = decide(
      {
        checker: "recovery",
        ms: 2_000,
        requires: [
          { require: "save" },
          { require: "series", series: "info.rdb_last_bgsave_status", condition: { equals: "ok" } },
        ],
      },
      h({
        [`${save}.count`]: [
          { t: 0, v: 0 },
          { t: 4_000, v: 1, text: SAVE_DONE },
        ],
        "info.rdb_last_bgsave_status": [
          { t: 2_000, v: 0, text: "err" },
          { t: 4_100, v: 1, text: "ok" },
        ],
      }),
    );
    expect(d?.facts.slice(1)).toEqual([
      { name: "a BGSAVE succeeds on main", value: `held after 1.0 s: ${SAVE_DONE}` },
      { name: "info.rdb_last_bgsave_status equals 'ok'", value: "held after 1.1 s: 1 (ok)" },
    ]);
  });

  it("baseline: before the first start; for a fault on from the run's start, before the first attempt; or given", () => {
    const spec: RecoverySpecInput = {
      checker: "recovery",
      ms: 2_000,
      requires: [{ require: "baseline", series: "dir.files", tolerance: 0 }],
    };
    const files: Point[] = [
      { t: 500, v: 3 },
      { t: 2_000, v: 9 },
      { t: 3_500, v: 3 },
    ];
    expect(decide(spec, h({ "dir.files": files }))?.facts[1]?.value).toBe("held after 0.5 s: 3 (≤ 3)");
    // The fault at 0 (before any reading): the reading before the first attempt.
    const early: History = {
      series: {
        "dir.files": [
          { t: 300, v: 4 },
          { t: 900, v: 9 },
          { t: 3_500, v: 4 },
        ],
      },
      events: [start(0), heal(3_000, 0)],
      attempts: [{ t: 600, line: null }],
      logs: {},
    };
    expect(decide(spec, early)?.facts[1]?.value).toBe("held after 0.5 s: 4 (≤ 4)");
    // Nothing read before either: no baseline, unknown, and how to give one.
    const none = { ...early, series: { "dir.files": [{ t: 3_500, v: 4 }] } };
    const d = decide(spec, none);
    expect(d).toMatchObject({ outcome: "unknown" });
    expect(d?.reason).toBe(
      "no reading of dir.files before the fault started or before the first attempt, so its baseline is unknown: give it (baseline: N) or read the series earlier",
    );
    const given = decide(
      { ...spec, requires: [{ require: "baseline", series: "dir.files", baseline: 4, tolerance: 0 }] },
      none,
    );
    expect(given?.label).toBe("recovered");
  });

  it("baseline ifRead: a series not read before the fault holds (3.2 has no appendonlydir, 7.x not before AOF is on); one read is judged as any", () => {
    const spec: RecoverySpecInput = {
      checker: "recovery",
      ms: 2_000,
      requires: [{ require: "baseline", series: "aofdir.files", tolerance: 1, ifRead: true }],
    };
    const never: History = { series: {}, events: [start(0), heal(3_000, 0)], attempts: [], logs: {} };
    expect(decide(spec, never)).toMatchObject({ outcome: "no-bug", label: "recovered" });
    expect(decide(spec, never)?.facts[1]?.value).toBe("held after 0.0 s: not read before the fault (ifRead)");
    // Read only after the fault (CONFIG SET appendonly yes made the directory): no baseline, holds.
    const late: History = { ...never, series: { "aofdir.files": [{ t: 3_500, v: 3 }] } };
    expect(decide(spec, late)).toMatchObject({ outcome: "no-bug" });
    // Without ifRead the same history is unknown: no baseline.
    const strict = { ...spec, requires: [{ require: "baseline" as const, series: "aofdir.files" }] };
    expect(decide(strict, never)).toMatchObject({ outcome: "unknown" });
    // Read: 7.0's incr files piled up during the fault and stayed, so not recovered.
    const stayed: History = {
      ...never,
      attempts: [{ t: 500, line: null }],
      series: {
        "aofdir.files": [
          { t: 300, v: 3 },
          { t: 2_000, v: 20 },
          { t: 3_500, v: 20 },
          { t: 5_500, v: 20 },
        ],
      },
    };
    expect(decide(spec, stayed)).toMatchObject({ outcome: "bug", label: "not-recovered" });
    // Not healed yet: never read is not held either (nothing is judged before the heal).
    const open: History = { ...never, events: [start(0)] };
    expect(decide(spec, open)).toBeUndefined();
  });
});

describe("recovery: the probes it asks for", () => {
  const spec = RecoverySpec.parse({
    checker: "recovery",
    ms: 5_000,
    requires: [
      { require: "baseline", series: "fds.total" },
      { require: "baseline", series: "fds.pipe" },
      { require: "clients" },
      { require: "sync", node: "replica" },
      { require: "writes" },
      { require: "writes", replies: "sets" },
      { require: "rewrite" },
      { require: "save", node: "replica" },
    ],
  });
  const probes = recoveryProbes(spec);

  it("fds for an fds baseline (once), its own clients, sync and writes, a log probe per line", () => {
    expect(probes.map((p) => `${p.node}:${p.name}`)).toEqual([
      "main:fds",
      "main:clients",
      "replica:sync-replica",
      "main:writes",
      `main:${withinLogProbeName("main", REWRITE_DONE)}`,
      `replica:${withinLogProbeName("replica", SAVE_DONE)}`,
    ]);
  });

  it("its own clients, sync and writes read only once the last heal has come; fds from the start", () => {
    const due = (name: string, history: History, now: number) =>
      probes.find((p) => p.name === name)?.due?.(history, { now, attemptsNeeded: 30 }) ?? true;
    const during: History = { series: {}, events: [start(1_000)], attempts: [], logs: {} };
    const after: History = { ...during, events: [start(1_000), heal(3_000, 0)] };
    const between: History = { ...during, events: [start(1_000), heal(3_000, 1)] };
    for (const name of ["clients", "sync-replica", "writes"]) {
      expect(due(name, during, 2_000), name).toBe(false);
      expect(due(name, between, 3_500), name).toBe(false);
      expect(due(name, after, 3_500), name).toBe(true);
    }
    expect(due("fds", during, 2_000)).toBe(true);
  });

  it("reads what its own probes do not make; a log probe counts its lines as the run records them", () => {
    const checker = recoveryChecker({
      checker: "recovery",
      ms: 1_000,
      requires: [
        { require: "baseline", series: "dir.files" },
        { require: "baseline", series: "fds.total" },
        { require: "rewrite" },
      ],
    });
    expect(checker.reads).toEqual(["dir.files"]);
    const recorder = new HistoryRecorder({ event: "fork-failed", node: "main" }, checker.probes ?? []);
    recorder.logLine("main", `1:M 04 Dec 20:55:36.206 * ${REWRITE_DONE}`, 4_000);
    expect(recorder.history.series[`${withinLogProbeName("main", REWRITE_DONE)}.count`]).toEqual([
      { t: 4_000, v: 1, text: `1:M 04 Dec 20:55:36.206 * ${REWRITE_DONE}` },
    ]);
  });
});

describe("recovery as data, and a scenario's schedule", () => {
  const scenario = (change: Record<string, unknown>) => ({
    name: "episode",
    description: "d",
    redis: {},
    limits: { memory: "64m", pids: 64, nofile: 1024 },
    fault: "none",
    faults: [
      {
        fault: { fault: "libfiu", call: "fork", errno: "ENOMEM" },
        node: "main",
        start: "start",
        heal: { afterMs: 5_000 },
      },
    ],
    workload: [{ step: "grow-aof" }],
    checker: { checker: "recovery", ms: 5_000, requires: [{ require: "clients" }] },
    budgets: { timeLimitSeconds: 30 },
    targets: ["3.2.8"],
    ...change,
  });

  it("is a checker kind of the data form, with its labels", () => {
    const checker = checkerFrom({
      checker: "recovery",
      name: "back",
      ms: 1_000,
      requires: [{ require: "clients" }],
      labels: { bug: "stuck", noBug: "back" },
    });
    expect(checker.name).toBe("back");
    expect(parseScenario(scenario({}), "s.json").checker.name).toBe("recovery");
  });

  it("refuses a spec without requirements or with an unknown one, naming the field", () => {
    expect(() =>
      parseScenario(scenario({ checker: { checker: "recovery", ms: 1_000, requires: [] } }), "s.json"),
    ).toThrow(/^invalid scenario s\.json: checker\.requires: .*; fix that field$/);
    expect(() =>
      parseScenario(
        scenario({ checker: { checker: "recovery", ms: 1_000, requires: [{ require: "magic" }] } }),
        "s.json",
      ),
    ).toThrow(/^invalid scenario s\.json: checker\.requires\.0\.require: /);
  });

  const refused = (change: Record<string, unknown>) => {
    try {
      parseScenario(scenario(change), "s.json");
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
      return (error as Error).message;
    }
    throw new Error("accepted");
  };

  it("a fault that never heals: one line naming the episode and how to give it a heal", () => {
    expect(refused({ faults: [], fault: { fault: "libfiu", call: "fork", errno: "ENOMEM" } })).toBe(
      'invalid scenario s.json: checker recovery judges recovery after the last heal, but the libfiu:fork:ENOMEM episode on main never heals (a whole-run fault): give it a heal ({"afterMs": N}, {"mark": NAME} or {"attempts": N}) in faults, or name another fault in checker.after',
    );
  });

  it("no fault to recover from, or after naming a fault the scenario has not", () => {
    expect(refused({ faults: [] })).toBe(
      "invalid scenario s.json: checker recovery judges recovery after the heal of a fault, but no episode of the scenario is a fault (the scenario has none): name one in checker.after, or add the episode to faults",
    );
    expect(
      refused({
        checker: {
          checker: "recovery",
          after: { name: "pids-limit" },
          ms: 1_000,
          requires: [{ require: "clients" }],
        },
      }),
    ).toBe(
      "invalid scenario s.json: checker recovery judges recovery after the heal of pids-limit, but no episode of the scenario is that fault (faults: libfiu:fork:ENOMEM on main): name one in checker.after, or add the episode to faults",
    );
  });

  it("a window that ends after the time limit, inside all/any too", () => {
    const late = { checker: "recovery", ms: 25_000, requires: [{ require: "clients" }] };
    const message =
      "invalid scenario s.json: checker recovery waits 25 s after the libfiu:fork:ENOMEM episode's last heal (5.0 s after the workload loaded at the earliest), which ends at or after the run's time limit of 30 s: raise budgets.timeLimitSeconds to at least 35, or shorten checker.ms";
    expect(refused({ checker: late })).toBe(message);
    expect(refused({ checker: { checker: "any", of: [{ checker: "leaks" }, late] } })).toBe(message);
  });
});

describe("recovery: properties", () => {
  /** A made-up episode: a baseline, a fault window, readings after the heal drawn at random. */
  const arb = fc.record({
    base: fc.integer({ min: 1, max: 50 }),
    healAt: fc.integer({ min: 1_500, max: 6_000 }),
    ms: fc.integer({ min: 200, max: 5_000 }),
    after: fc.array(
      fc.record({ dt: fc.integer({ min: 0, max: 10_000 }), v: fc.integer({ min: 0, max: 300 }) }),
      {
        maxLength: 30,
      },
    ),
    clients: fc.array(fc.record({ dt: fc.integer({ min: 0, max: 10_000 }), ok: fc.boolean() }), {
      maxLength: 10,
    }),
  });
  const historyOf = (a: {
    base: number;
    healAt: number;
    ms: number;
    after: { dt: number; v: number }[];
    clients: { dt: number; ok: boolean }[];
  }): History => ({
    series: {
      "fds.total": [
        { t: 100, v: a.base },
        ...a.after.map((p) => ({ t: a.healAt + p.dt, v: p.v })).sort((x, y) => x.t - y.t),
      ],
      "clients.ok": a.clients
        .map((c) => (c.ok ? { t: a.healAt + c.dt, v: 1 } : { t: a.healAt + c.dt, v: 0, text: "refused" }))
        .sort((x, y) => x.t - y.t),
    },
    events: [start(1_000), heal(a.healAt, 0)],
    attempts: [],
    logs: {},
  });
  const specOf = (ms: number): RecoverySpecInput => ({
    checker: "recovery",
    ms,
    requires: [{ require: "baseline", series: "fds.total", tolerance: 2 }, { require: "clients" }],
  });

  it("a decision, once made, stays: later readings never change it", () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: 17_000 }), (a, cut) => {
        const h = historyOf(a);
        const early = decideRecovery(recordedBefore(h, cut), { now: cut, attemptsNeeded: 30 }, specOf(a.ms));
        if (!early) return;
        const later = decideRecovery(h, { now: 20_000, attemptsNeeded: 30, ended: timeLimit }, specOf(a.ms));
        expect(later?.outcome).toBe(early.outcome);
      }),
      { numRuns: 300 },
    );
  });

  it("recovered exactly when each requirement has a reading inside the window that meets it", () => {
    fc.assert(
      fc.property(arb, (a) => {
        const h = historyOf(a);
        const d = decideRecovery(h, { now: 20_000, attemptsNeeded: 30, ended: timeLimit }, specOf(a.ms));
        const inWindow = (dt: number) => dt <= a.ms;
        const fdsBack = a.after.some((p) => inWindow(p.dt) && p.v <= a.base + 2);
        const clientIn = a.clients.some((c) => inWindow(c.dt) && c.ok);
        expect(d?.label).toBe(fdsBack && clientIn ? "recovered" : "not-recovered");
      }),
      { numRuns: 300 },
    );
  });

  it("raising readings after the heal never turns not-recovered into recovered", () => {
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: 100 }), (a, raise) => {
        const context = { now: 20_000, attemptsNeeded: 30, ended: timeLimit };
        const before = decideRecovery(historyOf(a), context, specOf(a.ms));
        const raised = { ...a, after: a.after.map((p) => ({ ...p, v: p.v + raise })) };
        const after = decideRecovery(historyOf(raised), context, specOf(a.ms));
        if (before?.label === "not-recovered") expect(after?.label).toBe("not-recovered");
      }),
      { numRuns: 200 },
    );
  });
});
