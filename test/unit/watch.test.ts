import { describe, expect, it } from "vitest";
import { type History, HistoryRecorder } from "../../harness/core/history.js";
import type { CheckContext, Checker, Decision, Ended } from "../../harness/parts/checkers/index.js";
import { type Clock, type WatchOptions, watch } from "../../harness/run/watch.js";
import { emptyEvidence } from "../helpers/runs.js";

/** A clock that only moves when the loop sleeps; `during` runs what "happens" while it sleeps. */
function fakeClock(during: (from: number, to: number) => void = () => undefined) {
  let now = 0;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      during(now, now + ms);
      now += ms;
    },
  };
  return { clock, sleeps };
}

const evidence = emptyEvidence();
const decision = (verdict: Decision["verdict"], reason: string): Decision => ({ verdict, reason, evidence });

/** A sampler that records one reading per tick (value = tick number) and what the loop asked of it. */
function parts(
  checker: Checker,
  options: { endAt?: number; attemptsPerTick?: number; clock?: ReturnType<typeof fakeClock> } = {},
) {
  const { clock } = options.clock ?? fakeClock();
  const recorder = new HistoryRecorder({ series: "probe.n" });
  const calls = { samples: 0, connects: [] as number[], contexts: [] as CheckContext[] };
  return {
    calls,
    history: recorder.history,
    clock,
    parts: {
      clock,
      history: recorder.history,
      checker: {
        ...checker,
        decide: (h: History, c: CheckContext) => {
          calls.contexts.push(c);
          return checker.decide(h, c);
        },
      },
      context: () => ({ ceiling: 192, attemptsNeeded: 5 }),
      sample: async (): Promise<Ended | undefined> => {
        calls.samples++;
        if (options.endAt !== undefined && calls.samples >= options.endAt)
          return { reason: "container-exited", detail: "exited with code 137" };
        recorder.reading("probe", clock.now(), { n: calls.samples * (options.attemptsPerTick ?? 0) });
        return undefined;
      },
      connect: async () => {
        calls.connects.push(clock.now());
        recorder.connect({ t: clock.now(), ok: true });
      },
    },
  };
}

const opts = (change: Partial<WatchOptions> = {}): WatchOptions => ({
  deadlineMs: 1_000,
  timeLimitText: "time limit 1 s",
  sampleIntervalMs: 200,
  probeIntervalMs: 1_000,
  ...change,
});

describe("watch with a fake clock and fake samplers", () => {
  it("decides as soon as the checker does, on the tick it can", async () => {
    const checker: Checker = {
      name: "third",
      decide: (h) => (h.series["probe.n"]?.length === 3 ? decision("stable", "three readings") : undefined),
    };
    const w = parts(checker);
    const result = await watch(w.parts, opts());
    expect(result.reason).toBe("three readings");
    expect(w.calls.samples).toBe(3);
    expect(w.clock.now()).toBe(400);
    expect(w.calls.contexts.every((c) => c.ended === undefined)).toBe(true);
  });

  it("the time limit ends an undecided run: the checker is asked once more, with ended", async () => {
    const checker: Checker = {
      name: "never",
      decide: (_h, c) =>
        c.ended ? decision("inconclusive", `ended: ${c.ended.reason}, ${c.ended.detail}`) : undefined,
    };
    const w = parts(checker);
    const result = await watch(w.parts, opts());
    expect(result).toMatchObject({ verdict: "inconclusive", reason: "ended: time-limit, time limit 1 s" });
    // Ticks at 0, 200, … 1000: the deadline is checked after the tick's reading.
    expect(w.calls.samples).toBe(6);
    expect(w.clock.now()).toBe(1_000);
  });

  it("a container that exits: the checker decides with ended container-exited, nothing probed after", async () => {
    const checker: Checker = {
      name: "never",
      decide: (_h, c) =>
        c.ended ? decision("inconclusive", `${c.ended.reason}: ${c.ended.detail}`) : undefined,
    };
    const w = parts(checker, { endAt: 3 });
    const result = await watch(w.parts, opts({ deadlineMs: 60_000 }));
    expect(result.reason).toBe("container-exited: exited with code 137");
    expect(w.calls.samples).toBe(3);
    expect(w.clock.now()).toBe(400);
    expect(w.calls.connects).toEqual([0]);
  });

  it("a checker that gives nothing for an ended run is an error, not a hang", async () => {
    const w = parts({ name: "mute", decide: () => undefined });
    await expect(watch(w.parts, opts())).rejects.toThrow("checker mute gave no decision for an ended run");
    const dead = parts({ name: "mute", decide: () => undefined }, { endAt: 2 });
    await expect(watch(dead.parts, opts())).rejects.toThrow("checker mute gave no decision for an ended run");
  });

  it("settleMs waits for evidence on its way, then the checker decides again on what arrived", async () => {
    const arrived: string[] = [];
    // The line arrives during the settle wait (300 ms), not during a sample interval.
    const clock = fakeClock((from, to) => {
      if (to - from === 300) arrived.push("late log line");
    });
    const checker: Checker = {
      name: "settling",
      decide: (h) =>
        (h.series["probe.n"]?.length ?? 0) < 2
          ? undefined
          : decision("exhaustion", arrived.length ? `with ${arrived.at(-1)}` : "without it"),
    };
    const w = parts(checker, { clock });
    const asked: string[] = [];
    const result = await watch(
      w.parts,
      opts({
        settleMs: (d) => {
          asked.push(d.reason);
          return 300;
        },
      }),
    );
    expect(asked).toEqual(["without it"]);
    expect(result.reason).toBe("with late log line");
    // One sample interval, then the settle time.
    expect(clock.sleeps).toEqual([200, 300]);
  });

  it("settleMs of 0 does not wait", async () => {
    const checker: Checker = { name: "now", decide: () => decision("stable", "at once") };
    const w = parts(checker);
    expect((await watch(w.parts, opts({ settleMs: () => 0 }))).reason).toBe("at once");
    expect(w.clock.now()).toBe(0);
  });

  it("probes a fresh client when due (every probe interval) without probeNow", async () => {
    const checker: Checker = {
      name: "never",
      decide: (_h, c) => (c.ended ? decision("inconclusive", "x") : undefined),
    };
    const w = parts(checker);
    await watch(w.parts, opts({ deadlineMs: 2_000, probeIntervalMs: 1_000 }));
    expect(w.calls.connects).toEqual([0, 1_000, 2_000]);
  });

  it("probeNow gates the probe: it is told whether one is due, and its answer stands", async () => {
    const seen: boolean[] = [];
    const never: Checker = {
      name: "never",
      decide: (_h, c) => (c.ended ? decision("inconclusive", "x") : undefined),
      probeNow: (_h, _c, due) => {
        seen.push(due);
        return false;
      },
    };
    const w = parts(never);
    await watch(w.parts, opts({ deadlineMs: 2_000 }));
    expect(w.calls.connects).toEqual([]);
    // Never probed, so always due.
    expect(seen.every((d) => d)).toBe(true);
    const always = parts({ ...never, probeNow: () => true });
    await watch(always.parts, opts({ deadlineMs: 600 }));
    expect(always.calls.connects).toEqual([0, 200, 400, 600]);
  });

  it("once the attempt budget is reached a probe is due on every tick", async () => {
    const due: [number, boolean][] = [];
    const checker: Checker = {
      name: "budget",
      decide: (_h, c) => (c.ended ? decision("inconclusive", "x") : undefined),
      probeNow: (h, _c, isDue) => {
        due.push([h.attempts.length, isDue]);
        return isDue;
      },
    };
    // Two attempts a tick (the probe series rises by 2): the budget of 5 is reached on the third tick.
    const w = parts(checker, { attemptsPerTick: 2 });
    await watch(w.parts, opts({ deadlineMs: 1_000, probeIntervalMs: 10_000 }));
    expect(due.map(([n]) => n)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(due.map(([, d]) => d)).toEqual([true, false, false, true, true, true]);
    expect(w.calls.connects).toEqual([0, 600, 800, 1_000]);
  });
});
