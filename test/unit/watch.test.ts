import { describe, expect, it } from "vitest";
import type { CheckContext, Checker, Ended } from "../../harness/core/checker.js";
import { runClock } from "../../harness/core/clock.js";
import { UserError } from "../../harness/core/errors.js";
import type { History } from "../../harness/core/history.js";
import type { Decision } from "../../harness/core/outcome.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { type WatchOptions, watch } from "../../harness/run/watch.js";
import { fakeClock } from "../helpers/fake-clock.js";

const decision = (label: string, reason: string): Decision => ({
  checker: "test",
  outcome: label === "inconclusive" ? "unknown" : "no-bug",
  label,
  reason,
  summary: "",
  facts: [],
  evidence: null,
});

/** Asks only once the run has ended, saying how. */
const onlyWhenEnded: Checker = {
  name: "never",
  decide: (_h, c) => (c.ended ? decision("inconclusive", `${c.ended.reason}: ${c.ended.detail}`) : undefined),
};

/**
 * The loop's parts on a fake clock: a sampler that writes one reading a tick (n = tick number) into
 * the history, and takes `sampleMs` of clock time; it reports the node gone on tick `endAt`.
 */
function setup(checker: Checker, options: { endAt?: number; sampleMs?: number; ended?: Ended } = {}) {
  const time = fakeClock();
  const recorder = new HistoryRecorder({ event: "fork-failed", node: "main" });
  const calls = { samples: 0, contexts: [] as CheckContext[], sampledAt: [] as number[] };
  const gone: Ended = options.ended ?? { reason: "container-exited", detail: "exit code 137", cause: "oom" };
  return {
    calls,
    time,
    history: recorder.history,
    parts: {
      clock: time.clock,
      history: recorder.history,
      attemptsNeeded: 5,
      checker: {
        name: checker.name,
        decide: (h: History, c: CheckContext) => {
          calls.contexts.push(c);
          return checker.decide(h, c);
        },
      },
      sample: async (): Promise<Ended | undefined> => {
        calls.samples++;
        calls.sampledAt.push(time.clock.now());
        time.advance(options.sampleMs ?? 0);
        if (options.endAt !== undefined && calls.samples >= options.endAt) return gone;
        recorder.reading("probe", time.clock.now(), { n: calls.samples });
        return undefined;
      },
    },
  };
}

const opts = (change: Partial<WatchOptions> = {}): WatchOptions => ({
  deadlineMs: 1_000,
  timeLimitText: "time limit 1 s",
  sampleIntervalMs: 200,
  ...change,
});

describe("watch on a fake clock", () => {
  it("decides on the tick the checker can, on what the sampler wrote; no ending is returned", async () => {
    const third: Checker = {
      name: "third",
      decide: (h) => (h.series["probe.n"]?.length === 3 ? decision("stable", "three readings") : undefined),
    };
    const w = setup(third);
    const result = await watch(w.parts, opts());
    expect(result.decision.reason).toBe("three readings");
    expect(result.ended).toBeUndefined();
    expect(w.calls.samples).toBe(3);
    expect(w.time.clock.now()).toBe(400);
    // Asked after every tick, with the clock's time then and the scenario's budget; never ended.
    expect(w.calls.contexts.map((c) => c.now)).toEqual([0, 200, 400]);
    expect(w.calls.contexts.every((c) => c.attemptsNeeded === 5 && c.ended === undefined)).toBe(true);
  });

  it("ends an undecided run at the deadline: the checker is asked once more, with the time limit", async () => {
    const w = setup(onlyWhenEnded);
    const result = await watch(w.parts, opts());
    expect(result.decision.reason).toBe("time-limit: time limit 1 s");
    expect(result.ended).toEqual({ reason: "time-limit", detail: "time limit 1 s" });
    // Ticks at 0, 200, … 1000: the deadline is checked after the tick's reading and decision.
    expect(w.calls.sampledAt).toEqual([0, 200, 400, 600, 800, 1_000]);
    expect(w.calls.contexts.at(-1)?.ended).toEqual(result.ended);
    expect(w.calls.contexts.slice(0, -1).every((c) => c.ended === undefined)).toBe(true);
  });

  it("a decision on the deadline's own tick stands: no time limit is reported", async () => {
    const atDeadline: Checker = {
      name: "late",
      decide: (_h, c) => (c.now >= 1_000 && !c.ended ? decision("stable", "just in time") : undefined),
    };
    const w = setup(atDeadline);
    const result = await watch(w.parts, opts());
    expect(result.decision.reason).toBe("just in time");
    expect(result.ended).toBeUndefined();
  });

  it("stops when a node is gone: the checker decides with that ending, nothing is sampled after", async () => {
    const w = setup(onlyWhenEnded, { endAt: 3 });
    const result = await watch(w.parts, opts({ deadlineMs: 60_000 }));
    expect(result.ended).toEqual({ reason: "container-exited", detail: "exit code 137", cause: "oom" });
    expect(result.decision.reason).toBe("container-exited: exit code 137");
    expect(w.calls.samples).toBe(3);
    expect(w.time.clock.now()).toBe(400);
    // The tick that found the node gone asks only the last question, with the ending.
    expect(w.calls.contexts).toHaveLength(3);
    expect(w.calls.contexts.at(-1)?.ended?.cause).toBe("oom");
  });

  it("a checker that gives nothing for an ended run is an error naming it, not a hang", async () => {
    const mute: Checker = { name: "mute", decide: () => undefined };
    await expect(watch(setup(mute).parts, opts())).rejects.toThrow(
      "checker mute gave no decision for an ended run (time limit 1 s)",
    );
    await expect(watch(setup(mute, { endAt: 2 }).parts, opts())).rejects.toThrow(
      "checker mute gave no decision for an ended run (exit code 137)",
    );
  });

  it("keeps the tick: a slow sample shortens the sleep, one slower than the tick skips it", async () => {
    const quick = setup(onlyWhenEnded, { sampleMs: 50 });
    await watch(quick.parts, opts({ deadlineMs: 600 }));
    expect(quick.time.sleeps).toEqual([150, 150, 150]);
    expect(quick.calls.sampledAt).toEqual([0, 200, 400, 600]);
    const slow = setup(onlyWhenEnded, { sampleMs: 300 });
    const result = await watch(slow.parts, opts({ deadlineMs: 600 }));
    // The second sample starts as the first ends, and ends on the deadline.
    expect(slow.time.sleeps).toEqual([0]);
    expect(slow.calls.sampledAt).toEqual([0, 300]);
    expect(result.ended?.reason).toBe("time-limit");
  });

  it("a checker that throws ends the watch with its error (a user's checker: their UserError)", async () => {
    const broken: Checker = {
      name: "broken",
      decide: () => {
        throw new UserError('checker "broken" of my-bug.ts threw: boom; fix the checker');
      },
    };
    const w = setup(broken);
    await expect(watch(w.parts, opts())).rejects.toBeInstanceOf(UserError);
    expect(w.calls.samples).toBe(1);
  });
});

describe("runClock", () => {
  it("a sleep whose signal aborts ends early, without an error", async () => {
    const clock = runClock();
    await expect(clock.sleep(60_000, AbortSignal.abort())).resolves.toBeUndefined();
    const stop = new AbortController();
    const sleeping = clock.sleep(60_000, stop.signal);
    stop.abort();
    await expect(sleeping).resolves.toBeUndefined();
    expect(clock.now()).toBeGreaterThanOrEqual(0);
  });
});
