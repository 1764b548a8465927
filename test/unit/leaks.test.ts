import { describe, expect, it } from "vitest";
import { emptyHistory, type History } from "../../harness/core/history.js";
import { fdEvidence } from "../../harness/parts/checkers/fd-leak.js";
import { checkerFor } from "../../harness/parts/checkers/index.js";
import {
  DEFAULT_LEAK_SERIES,
  decideLeaks,
  type LeaksInput,
  leakText,
  onServerClock,
} from "../../harness/parts/checkers/leaks.js";
import type { FdSample } from "../../harness/parts/probes/fds.js";
import { logLineMs } from "../../harness/parts/probes/log.js";
import { recordedResult } from "../helpers/runs.js";

/**
 * Synthetic histories: an attempt every 100 ms from t = 100, fds sampled every 100 ms from t = 50
 * (so each sample has seen floor(t / 100) attempts), a fresh-client probe every 500 ms.
 */
function synthetic(opts: {
  attempts: number;
  untilMs: number;
  fds?: (k: number, t: number) => Partial<FdSample>;
  series?: Record<string, (k: number) => number>;
  refusedFrom?: number;
}): History {
  const h = emptyHistory();
  for (let i = 1; i <= opts.attempts; i++) h.attempts.push({ t: 100 * i, line: `attempt ${i}` });
  for (let t = 50; t <= opts.untilMs; t += 100) {
    const k = Math.min(opts.attempts, Math.floor(t / 100));
    const extra = opts.fds?.(k, t) ?? {};
    const pipe = extra.pipe ?? 2;
    const socket = extra.socket ?? 3;
    h.samples.push({
      t,
      pipe,
      socket,
      file: 1,
      eventpoll: 1,
      other: 0,
      total: pipe + socket + 2,
      maxFd: pipe + socket + 1,
    });
    for (const [name, f] of Object.entries(opts.series ?? {})) {
      h.series[name] ??= [];
      h.series[name]?.push({ t, v: f(k) });
    }
  }
  for (let t = 0; t <= opts.untilMs; t += 500)
    h.probes.push({
      t,
      ok: opts.refusedFrom === undefined || t < opts.refusedFrom,
      ...(opts.refusedFrom !== undefined && t >= opts.refusedFrom ? { error: "Connection is closed." } : {}),
    });
  return h;
}

function input(history: History, change: Partial<LeaksInput> = {}): LeaksInput {
  return {
    history,
    series: DEFAULT_LEAK_SERIES,
    minAttempts: 10,
    minSamples: 5,
    attemptsNeeded: 30,
    ceiling: 192,
    evidence: fdEvidence({
      samples: history.samples,
      events: history.events,
      attempts: history.attempts,
      probes: history.probes,
      ceiling: 192,
      attemptsNeeded: 30,
      tolerance: 3,
      fdsPerAttempt: 6,
    }),
    ...change,
  };
}
const timeLimit = { reason: "time-limit", detail: "time limit 20 s" };

describe("decideLeaks on synthetic histories", () => {
  it("6 pipe fds per attempt with a refused fresh client: exhaustion, named by kind", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      fds: (k) => ({ pipe: 2 + 6 * k }),
      refusedFrom: 3_000,
    });
    const d = decideLeaks(input(h));
    expect(d?.verdict).toBe("exhaustion");
    const pipe = d?.evidence.growth.find((g) => g.series === "fds.pipe");
    expect(pipe?.perAttempt).toBeCloseTo(6, 1);
    expect(pipe?.leaking).toBe(true);
    expect(d?.evidence.growth.find((g) => g.series === "fds.socket")?.leaking).toBe(false);
    // The total leaks too, but the kind says more: it is the one named.
    expect(leakText(d?.evidence.growth ?? [])).toBe("6 fd/attempt (pipe)");
  });

  it("an fd leak waits for a full table before it says growing (no verdict from where the budget fell)", () => {
    const h = synthetic({ attempts: 30, untilMs: 3_200, fds: (k) => ({ pipe: 2 + 2 * k }) });
    expect(decideLeaks(input(h))).toBeUndefined();
    expect(decideLeaks(input(h, { ended: timeLimit }))?.verdict).toBe("growing");
  });

  it("a full table whose fresh clients still get in for a second: growing", () => {
    const h = synthetic({ attempts: 30, untilMs: 5_000, fds: (k) => ({ pipe: 2 + 6 * k }) });
    h.events.push({
      t: 3_000,
      kind: "pipes-error",
      line: "Error opening /setting AOF rewrite IPC pipes: Numerical result out of range",
    });
    const d = decideLeaks(input(h));
    expect(d?.verdict).toBe("growing");
    expect(d?.reason).toMatch(/full fd table/);
  });

  it("one file per attempt in the AOF directory: growing at the budget, '1 file/attempt (aofdir)'", () => {
    const h = synthetic({ attempts: 30, untilMs: 3_200, series: { "aofdir.files": (k) => 2 + k } });
    const d = decideLeaks(input(h));
    expect(d?.verdict).toBe("growing");
    expect(leakText(d?.evidence.growth ?? [])).toBe("1 file/attempt (aofdir)");
  });

  it("a one-time step at the first attempt (the replication backlog, 1 MB) is not a leak: stable", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      series: { "info.used_memory": (k) => 900_000 + (k >= 1 ? 1_048_576 : 0) + (k % 3) * 200 },
    });
    const d = decideLeaks(input(h));
    const memory = d?.evidence.growth.find((g) => g.series === "info.used_memory");
    // Over all attempts the step still shows as a slope above the threshold; the later half does not.
    expect(memory?.perAttempt ?? 0).toBeGreaterThan(4096);
    expect(memory?.leaking).toBe(false);
    expect(d?.verdict).toBe("stable");
    expect(leakText(d?.evidence.growth ?? [])).toBe("clean");
  });

  it("a leak that runs the process out of fds and stays flat there is still a leak", () => {
    // 7.0.15's diskless sync: one pipe fd per attempt until nofile, then no more attempts at all.
    const h = synthetic({ attempts: 30, untilMs: 8_000, fds: (k) => ({ pipe: Math.min(2 + 70 * k, 1015) }) });
    h.samples = h.samples.map((s) => ({ ...s, maxFd: Math.min(s.total, 1023) }));
    const d = decideLeaks(input(h, { ended: timeLimit }));
    expect(d?.evidence.growth.find((g) => g.series === "fds.pipe")?.leaking).toBe(true);
    expect(d?.verdict).toBe("growing");
  });

  it("transient bumps of 1–3 fds (a client socket now and then) stay under 0.5 per attempt: stable", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      fds: (_k, t) => ({ socket: 3 + (t % 700 === 50 ? 3 : t % 400 === 50 ? 1 : 0) }),
    });
    const d = decideLeaks(input(h));
    expect(d?.verdict).toBe("stable");
    for (const g of d?.evidence.growth ?? []) expect(Math.abs(g.perAttempt ?? 0)).toBeLessThan(0.5);
  });

  it("memory that grows by 8 KiB per attempt is named in KiB", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      series: { "info.used_memory": (k) => 900_000 + 8192 * k },
    });
    const d = decideLeaks(input(h));
    expect(d?.verdict).toBe("growing");
    expect(leakText(d?.evidence.growth ?? [])).toBe("8.0 KiB/attempt (used_memory)");
  });

  it("says why it could not decide: no attempt, too few, refused with nothing growing, container gone", () => {
    const none = synthetic({ attempts: 0, untilMs: 3_000 });
    expect(decideLeaks(input(none))).toBeUndefined();
    expect(decideLeaks(input(none, { ended: timeLimit }))?.reason).toMatch(/no attempt seen/);
    const few = synthetic({ attempts: 4, untilMs: 3_000 });
    const fewDecision = decideLeaks(input(few, { ended: timeLimit }));
    expect(fewDecision?.verdict).toBe("inconclusive");
    expect(fewDecision?.reason).toMatch(/too few attempts: 4 of 30/);
    const refused = synthetic({ attempts: 30, untilMs: 3_200, refusedFrom: 3_000 });
    expect(decideLeaks(input(refused))?.verdict).toBe("inconclusive");
    const died = decideLeaks(input(refused, { ended: { reason: "container-exited", detail: "OOM-killed" } }));
    expect(died?.reason).toBe("container died: OOM-killed");
  });

  it("is reached through checkerFor with the schema's defaults", () => {
    const h = synthetic({
      attempts: 30,
      untilMs: 3_200,
      fds: (k) => ({ pipe: 2 + 6 * k }),
      refusedFrom: 3_000,
    });
    const checker = checkerFor({ checker: "leaks", minAttempts: 10, minSamples: 5 });
    expect(checker.name).toBe("leaks");
    expect(checker.decide(h, { ceiling: 192, attemptsNeeded: 30 })?.verdict).toBe("exhaustion");
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
});

describe("decideLeaks on recorded runs", () => {
  const decide = (file: string, target: string) => {
    const r = recordedResult(file, target);
    return decideLeaks(
      input(r, {
        ceiling: r.decision.evidence.ceiling,
        ended: { reason: "time-limit", detail: "recorded run ended" },
      }),
    );
  };

  it("the seed's 3.2.8 leaks 6 pipe fds per failed fork, the fixed build nothing", () => {
    const leak = decide("seed-3.2.8-vs-fix.json", "3.2.8");
    expect(leak?.verdict).toBe("exhaustion");
    expect(leakText(leak?.evidence.growth ?? [])).toBe("6 fd/attempt (pipe)");
    const fixed = decide("seed-3.2.8-vs-fix.json", "3.2.8+fix-aof-pipe-leak");
    expect(fixed?.verdict).toBe("stable");
    expect(leakText(fixed?.evidence.growth ?? [])).toBe("clean");
  });

  it("CONFIG SET appendonly yes on 3.2.8 leaks 6 pipe fds but leaves fresh clients a hole: growing", () => {
    const d = decide("config-set-appendonly-3.2.8-vs-fix.json", "3.2.8");
    expect(d?.verdict).toBe("growing");
    expect(leakText(d?.evidence.growth ?? [])).toBe("6 fd/attempt (pipe)");
  });

  it("7.0.15's diskless sync (recorded by the sweep's finding, pids-limit) leaks about one pipe fd per failed fork", () => {
    const d = decide("repl-diskless-7.0.15.json.gz", "7.0.15");
    const pipe = d?.evidence.growth.find((g) => g.series === "fds.pipe");
    expect(d?.verdict).toBe("growing");
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
    expect(d?.verdict).toBe("growing");
    expect(leakText(d?.evidence.growth ?? [])).toBe("1 file/attempt (aofdir)");
    expect(d?.evidence.growth.find((g) => g.series === "fds.total")?.leaking).toBe(false);
  });
});
