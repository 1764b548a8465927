import { describe, expect, it } from "vitest";
import type { CheckContext } from "../../harness/core/checker.js";
import type { History, Point } from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import { checkerFrom } from "../../harness/parts/checkers/index.js";
import {
  decideLeaks,
  LeaksEvidence,
  type LeaksSpecInput,
  leakText,
  onServerClock,
} from "../../harness/parts/checkers/leaks.js";
import type { FdSample } from "../../harness/parts/probes/fds.js";
import { logLineMs } from "../../harness/parts/probes/log.js";
import { contextFor, fdSample, historyFrom, recordedBefore, recordedResult } from "../helpers/runs.js";

/**
 * Synthetic histories: an attempt every 100 ms from t = 100, fds sampled every 100 ms from t = 50
 * (so each sample has seen floor(t / 100) attempts), a fresh-client probe every 500 ms, maxclients
 * 64 under nofile 1024 (a 192-fd table).
 */
function synthetic(opts: {
  attempts: number;
  untilMs: number;
  fds?: (k: number, t: number) => Partial<FdSample>;
  series?: Record<string, (k: number) => number>;
  refusedFrom?: number;
}): History {
  const attempts = Array.from({ length: opts.attempts }, (_, i) => ({
    t: 100 * (i + 1),
    line: `attempt ${i + 1}`,
  }));
  const fds: FdSample[] = [];
  const series: Record<string, Point[]> = {};
  for (let t = 50; t <= opts.untilMs; t += 100) {
    const k = Math.min(opts.attempts, Math.floor(t / 100));
    const extra = opts.fds?.(k, t) ?? {};
    const pipe = extra.pipe ?? 2;
    const socket = extra.socket ?? 3;
    fds.push(
      fdSample(t, { pipe, socket, file: 1, eventpoll: 1, other: 0, maxFd: extra.maxFd ?? pipe + socket + 1 }),
    );
    for (const [name, f] of Object.entries(opts.series ?? {}))
      series[name] = [...(series[name] ?? []), { t, v: f(k) }];
  }
  const connect = [];
  for (let t = 0; t <= opts.untilMs; t += 500) {
    const refused = opts.refusedFrom !== undefined && t >= opts.refusedFrom;
    connect.push(refused ? { t, ok: false, error: "Connection is closed." } : { t, ok: true });
  }
  return historyFrom({ fds, series, connect, attempts, maxclients: 64, nofile: 1024 });
}

const spec: LeaksSpecInput = { checker: "leaks", minAttempts: 10, minSamples: 5 };
const timeLimit = { reason: "time-limit", detail: "time limit 20 s" } as const;
function decide(history: History, context: Partial<CheckContext> = {}, change: Partial<LeaksSpecInput> = {}) {
  const decision = decideLeaks(history, { ...contextFor(history), ...context }, { ...spec, ...change });
  if (decision) {
    expect(() => Decision.parse(decision)).not.toThrow();
    expect(() => LeaksEvidence.parse(decision.evidence)).not.toThrow();
  }
  return decision;
}

describe("decideLeaks on synthetic histories", () => {
  it("6 pipe fds per attempt with a refused fresh client: exhaustion, named by kind", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      fds: (k) => ({ pipe: 2 + 6 * k }),
      refusedFrom: 3_000,
    });
    const d = decide(h);
    expect(d?.label).toBe("exhaustion");
    const pipe = d?.evidence.growth.find((g) => g.series === "fds.pipe");
    expect(pipe?.perAttempt).toBeCloseTo(6, 1);
    expect(pipe?.leaking).toBe(true);
    expect(d?.evidence.growth.find((g) => g.series === "fds.socket")?.leaking).toBe(false);
    // The total leaks too, but the kind says more: it is the one named.
    expect(leakText(d?.evidence.growth ?? [])).toBe("6 fd/attempt (pipe)");
  });

  it("an fd leak waits for a full table before it says growing (no verdict from where the budget fell)", () => {
    const h = synthetic({ attempts: 30, untilMs: 3_200, fds: (k) => ({ pipe: 2 + 2 * k }) });
    expect(decide(h)).toBeUndefined();
    expect(decide(h, { ended: timeLimit })?.label).toBe("growing");
  });

  it("a full table whose fresh clients still get in for a second: growing", () => {
    const h = synthetic({ attempts: 30, untilMs: 5_000, fds: (k) => ({ pipe: 2 + 6 * k }) });
    h.events.push({
      t: 3_000,
      node: "main",
      kind: "pipes-error",
      line: "Error opening /setting AOF rewrite IPC pipes: Numerical result out of range",
    });
    const d = decide(h);
    expect(d?.label).toBe("growing");
    expect(d?.reason).toMatch(/full fd table/);
  });

  it("until the heal: judges the fault's window, decides at the heal, and fds given back after it do not hide the leak", () => {
    // 2 pipe fds per attempt for 20 attempts (t ≤ 2 000), the fault healed at 2 200, then given back.
    const h = synthetic({
      attempts: 20,
      untilMs: 4_000,
      fds: (k, t) => ({ pipe: t > 2_500 ? 2 : 2 + 2 * k }),
    });
    h.events.push({ t: 2_200, node: "main", kind: "fault-heal", name: "libfiu", line: "healed", value: 0 });
    // The whole run: the fds came back, so over the run the pipes read as no steady leak.
    const whole = decide(h, { ended: timeLimit });
    expect(whole?.evidence.growth.find((g) => g.series === "fds.pipe")?.leaking).toBe(false);
    // The window: a leak, decided at the heal without waiting for the run's end.
    const window = decide(h, {}, { until: "heal" });
    expect(window?.label).toBe("growing");
    expect(window?.reason).toMatch(/the fault healed at 2\.2 s/);
    expect(window?.evidence.attempts).toBe(20);
    expect(leakText(window?.evidence.growth ?? [])).toBe("2 fd/attempt (pipe)");
    // No heal yet: the window is still open, and an fd leak waits as before.
    const open = synthetic({ attempts: 20, untilMs: 2_100, fds: (k) => ({ pipe: 2 + 2 * k }) });
    expect(decide(open, {}, { until: "heal" })).toBeUndefined();
    // A server that died after the heal died outside the window: the window's decision stands.
    const died = { reason: "container-exited", detail: "exited 139", cause: "crashed" } as const;
    expect(decide(h, { ended: died }, { until: "heal" })?.label).toBe("growing");
    expect(decide(h, { ended: died })?.label).toBe("inconclusive");
  });

  it("one file per attempt in the AOF directory: growing at the budget, '1 file/attempt (aofdir)'", () => {
    const h = synthetic({ attempts: 30, untilMs: 3_200, series: { "aofdir.files": (k) => 2 + k } });
    const d = decide(h);
    expect(d?.label).toBe("growing");
    expect(leakText(d?.evidence.growth ?? [])).toBe("1 file/attempt (aofdir)");
  });

  it("a one-time step at the first attempt (the replication backlog, 1 MB) is not a leak: stable", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      series: { "info.used_memory": (k) => 900_000 + (k >= 1 ? 1_048_576 : 0) + (k % 3) * 200 },
    });
    const d = decide(h);
    const memory = d?.evidence.growth.find((g) => g.series === "info.used_memory");
    // Over all attempts the step still shows as a slope above the threshold; the later half does not.
    expect(memory?.perAttempt ?? 0).toBeGreaterThan(4096);
    expect(memory?.leaking).toBe(false);
    expect(d?.label).toBe("stable");
    expect(leakText(d?.evidence.growth ?? [])).toBe("clean");
  });

  it("a leak that runs the process out of fds and stays flat there is still a leak", () => {
    // 7.0.15's diskless sync: one pipe fd per attempt until nofile, then no more attempts at all.
    const pipe = (k: number) => Math.min(2 + 70 * k, 1015);
    const h = synthetic({
      attempts: 30,
      untilMs: 8_000,
      fds: (k) => ({ pipe: pipe(k), maxFd: Math.min(pipe(k) + 5, 1023) }),
    });
    const d = decide(h, { ended: timeLimit });
    expect(d?.evidence.growth.find((g) => g.series === "fds.pipe")?.leaking).toBe(true);
    expect(d?.label).toBe("growing");
  });

  it("transient bumps of 1–3 fds (a client socket now and then) stay under 0.5 per attempt: stable", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      fds: (_k, t) => ({ socket: 3 + (t % 700 === 50 ? 3 : t % 400 === 50 ? 1 : 0) }),
    });
    const d = decide(h);
    expect(d?.label).toBe("stable");
    for (const g of d?.evidence.growth ?? []) expect(Math.abs(g.perAttempt ?? 0)).toBeLessThan(0.5);
  });

  it("memory that grows by 8 KiB per attempt is named in KiB", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      series: { "info.used_memory": (k) => 900_000 + 8192 * k },
    });
    const d = decide(h);
    expect(d?.label).toBe("growing");
    expect(leakText(d?.evidence.growth ?? [])).toBe("8.0 KiB/attempt (used_memory)");
  });

  it("says why it could not decide: no attempt, too few, refused with nothing growing, container gone", () => {
    const none = synthetic({ attempts: 0, untilMs: 3_000 });
    expect(decide(none)).toBeUndefined();
    expect(decide(none, { ended: timeLimit })?.reason).toMatch(/no attempt seen/);
    const few = synthetic({ attempts: 4, untilMs: 3_000 });
    const fewDecision = decide(few, { ended: timeLimit });
    expect(fewDecision?.label).toBe("inconclusive");
    expect(fewDecision?.reason).toMatch(/too few attempts: 4 of 30/);
    const refused = synthetic({ attempts: 30, untilMs: 3_200, refusedFrom: 3_000 });
    expect(decide(refused)?.label).toBe("inconclusive");
    const died = decide(refused, { ended: { reason: "container-exited", detail: "OOM-killed" } });
    expect(died?.reason).toBe("container died: OOM-killed");
  });

  it("is reached through checkerFrom with the schema's defaults, and asks for the fd probes", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      fds: (k) => ({ pipe: 2 + 6 * k }),
      refusedFrom: 3_000,
    });
    const checker = checkerFrom({ checker: "leaks" });
    expect(checker.name).toBe("leaks");
    expect(checker.probes?.map((p) => p.name)).toEqual(["fds", "config", "connect"]);
    expect(checker.decide(h, contextFor(h))?.label).toBe("exhaustion");
  });
});

describe("attempts on the server's clock", () => {
  it("reads a log line's own time in 3.x and 5.0+ prefixes, and shifts by the smallest delay", () => {
    expect(logLineMs("1:M 27 Nov 17:29:44.719 # Can't save in background")).toBe(62_984_719);
    expect(logLineMs("1:M 27 Nov 2026 17:29:44.719 # Can't save")).toBe(62_984_719);
    expect(logLineMs(null)).toBeNull();
    const line = (ms: string) => `1:M 27 Nov 2026 23:59:59.${ms} # Can't save in background: fork: x`;
    // Delivered 5, 250 and 5 ms late (the second held up by a busy machine).
    const attempts = [
      { t: 1_005, line: line("000") },
      { t: 1_350, line: line("100") },
      { t: 1_205, line: line("200") },
    ];
    expect(onServerClock(attempts).map((a) => a.t)).toEqual([1_005, 1_105, 1_205]);
    // Across midnight, and untouched when any attempt has no timestamp.
    const wrap = [
      { t: 10, line: line("990") },
      { t: 30, line: "1:M 28 Nov 2026 00:00:00.010 # Can't save" },
    ];
    expect(onServerClock(wrap).map((a) => a.t)).toEqual([10, 30]);
    const replies = [{ t: 7, line: "ERR Fork() failed" }];
    expect(onServerClock(replies)).toBe(replies);
  });

  it("takes a flood of attempts (3.2 logging a failed accept 100 000 times in 20 s, seen in a sweep)", () => {
    const n = 300_000;
    const flood = Array.from({ length: n }, (_, i) => ({
      t: 1_000 + i + (i === n - 1 ? 0 : 7),
      line: `1:M 27 Nov 10:00:00.000 # Accepting client connection: accept: Software caused connection abort`,
    }));
    // Every line at the same server time: all go to the earliest delivery, the first one's.
    const shifted = onServerClock(flood);
    expect(shifted).toHaveLength(n);
    expect(new Set(shifted.map((a) => a.t))).toEqual(new Set([1_007]));
  });
});

describe("decideLeaks on recorded runs", () => {
  const decide = (file: string, target: string) => {
    const r = recordedResult(file, target);
    return decideLeaks(
      r.history,
      contextFor(r.history, { ended: { reason: "time-limit", detail: "recorded run ended" } }),
      spec,
    );
  };

  it("the seed's 3.2.8 leaks 6 pipe fds per failed fork, the fixed build nothing", () => {
    const leak = decide("seed-3.2.8-vs-fix.json", "3.2.8");
    expect(leak?.label).toBe("exhaustion");
    expect(leakText(leak?.evidence.growth ?? [])).toBe("6 fd/attempt (pipe)");
    const fixed = decide("seed-3.2.8-vs-fix.json", "3.2.8+fix-aof-pipe-leak");
    expect(fixed?.label).toBe("stable");
    expect(leakText(fixed?.evidence.growth ?? [])).toBe("clean");
  });

  it("CONFIG SET appendonly yes on 3.2.8 leaks 6 pipe fds but leaves fresh clients a hole: growing", () => {
    const d = decide("config-set-appendonly-3.2.8-vs-fix.json", "3.2.8");
    expect(d?.label).toBe("growing");
    expect(leakText(d?.evidence.growth ?? [])).toBe("6 fd/attempt (pipe)");
  });

  it("7.0.15's diskless sync (recorded by the sweep's finding, pids-limit) leaks about one pipe fd per failed fork", () => {
    const d = decide("repl-diskless-7.0.15.json.gz", "7.0.15");
    const pipe = d?.evidence.growth.find((g) => g.series === "fds.pipe");
    expect(d?.label).toBe("growing");
    expect(pipe?.leaking).toBe(true);
    // On the log's arrival times it read 0.85; on the server's clock one fd per failed fork.
    expect(pipe?.perAttempt).toBe(1);
    const others = d?.evidence.growth.filter(
      (g) => g.leaking && !["fds.pipe", "fds.total"].includes(g.series),
    );
    expect(others?.map((g) => g.series)).toEqual([]);
  });

  it("7.0.15 adds a file to its AOF directory per failed rewrite and no fd", () => {
    const d = decide("aof-dir-7.0.15.json", "7.0.15");
    expect(d?.label).toBe("growing");
    expect(leakText(d?.evidence.growth ?? [])).toBe("1 file/attempt (aofdir)");
    expect(d?.evidence.growth.find((g) => g.series === "fds.total")?.leaking).toBe(false);
  });

  it("7.0.15's diskless sync with its scenario's settings, replayed tick by tick: the first decision is the recorded one", () => {
    const r = recordedResult("repl-diskless-7.0.15.json.gz", "7.0.15");
    const own = {
      series: [
        { series: "fds.pipe", perAttempt: 0.5 },
        { series: "fds.total", perAttempt: 0.5 },
      ],
      minAttempts: 5,
    };
    // The run asked its checker after every tick's readings: the fds, then the fresh client.
    const ticks = ["fds.total", "connect.ok"]
      .flatMap((n) => (r.history.series[n] ?? []).map((p) => p.t))
      .sort((a, b) => a - b);
    const first = ticks
      .map((t) => recordedBefore(r.history, t + 1))
      .map((h) => decideLeaks(h, contextFor(h, { attemptsNeeded: 6 }), own))
      .find((d) => d !== undefined);
    expect(first).toMatchObject({ outcome: "bug", label: r.decision.label });
    // Recorded before attempts were put on the server's clock: the leak then read 0.9 fd per attempt, now 1.
    expect(r.decision.reason.startsWith("0.9 fd/attempt (pipe) over 328 attempts")).toBe(true);
    expect(first?.reason).toBe(r.decision.reason.replace(/^0\.9 fd/, "1 fd"));
    expect(first?.evidence.clientsWhenFull?.probes).toBeGreaterThanOrEqual(3);
  });
});
