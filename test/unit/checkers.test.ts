import { describe, expect, it } from "vitest";
import { emptyHistory, type History } from "../../harness/core/history.js";
import { type Checker, checkerFor, fdLeakChecker } from "../../harness/parts/checkers/index.js";
import type { StartedRedisReproContainer } from "../../harness/parts/container/redis-container.js";
import { infoNumber, samplerFor } from "../../harness/parts/probes/index.js";
import { ProbeSpec } from "../../harness/scenario/index.js";
import { seedResult } from "../helpers/fixture.js";
import { recordedResult } from "../helpers/runs.js";

/** What a recorded result's history was when the run had seen `attempts` attempts. */
function historyAt(history: History, attempts: number): History {
  const until = (history.attempts[attempts - 1]?.t ?? 0) + 1;
  const before = <T extends { t: number }>(xs: T[]) => xs.filter((x) => x.t < until);
  return {
    samples: before(history.samples),
    series: Object.fromEntries(Object.entries(history.series).map(([k, v]) => [k, before(v)])),
    events: before(history.events),
    attempts: before(history.attempts),
    probes: before(history.probes),
    log: history.log,
  };
}

describe("checkerFor", () => {
  it("the aof-dir checker, on the recorded 7.0.15 history as it stood, gives the recorded decision", () => {
    const result = recordedResult("aof-dir-7.0.15.json", "7.0.15");
    const checker = checkerFor({ checker: "aof-dir", probe: "aofdir" });
    expect(checker.name).toBe(result.checker);
    const context = {
      baseline: result.samples[0],
      ceiling: result.decision.evidence.ceiling,
      attemptsNeeded: 30,
    };
    // Recorded before the limiter evidence existed: the rest is as recorded, and the line is absent.
    const decided = checker.decide(historyAt(result, result.decision.evidence.attempts), context);
    const { limiter, ...evidence } = decided?.evidence ?? { limiter: undefined };
    expect(evidence).toEqual(result.decision.evidence);
    expect(decided?.verdict).toBe(result.decision.verdict);
    expect(decided?.reason.startsWith(result.decision.reason)).toBe(true);
    expect(limiter?.line).toBeNull();
    // The newer recording (7.0.15 vs count-failed-aof-fork) was made by this checker: all of it.
    const pair = "aof-dir-7.0.15-vs-count-failed-aof-fork.json";
    for (const target of ["7.0.15", "7.0.15+count-failed-aof-fork"]) {
      const r = recordedResult(pair, target);
      const files = r.series["aofdir.files"] ?? [];
      const last = files.at(-1)?.t ?? 0;
      const seen = (t: number) => t <= last;
      const history = {
        ...r,
        samples: r.samples.filter((x) => seen(x.t)),
        series: Object.fromEntries(Object.entries(r.series).map(([k, v]) => [k, v.filter((x) => seen(x.t))])),
        events: r.events.filter((x) => seen(x.t)),
        attempts: r.attempts.filter((x) => seen(x.t)),
        probes: r.probes.filter((x) => seen(x.t)),
      };
      const d = checker.decide(history, { ...context, baseline: r.samples[0] });
      expect(d?.verdict, target).toBe(r.decision.verdict);
      expect(d?.reason, target).toBe(r.decision.reason);
      expect(d?.evidence.limiter, target).toEqual(r.decision.evidence.limiter);
    }
    // A probe of another name has no series in this history: nothing to judge, so nothing decided.
    expect(checkerFor({ checker: "aof-dir", probe: "other" }).decide(result, context)).toBeUndefined();
  });

  it("the fd-leak checker, on the recorded seed history, gives the recorded decision", () => {
    const result = seedResult("3.2.8");
    const checker = checkerFor({ checker: "fd-leak", tolerance: 3, fdsPerAttempt: 6 });
    const context = {
      baseline: result.samples[0],
      ceiling: result.decision.evidence.ceiling,
      attemptsNeeded: 30,
    };
    expect(checker.decide(result, context)).toEqual(result.decision);
  });

  it("a script's own checker object is used as it is", () => {
    const own: Checker = { name: "mine", decide: () => undefined };
    expect(checkerFor(own)).toBe(own);
  });
});

describe("fdLeakChecker().probeNow", () => {
  const checker = fdLeakChecker(6, 3);
  const context = { ceiling: 192, attemptsNeeded: 30 };
  const at = (maxFd: number, pipesError = false): History => ({
    ...emptyHistory(),
    samples: [{ t: 0, total: maxFd + 1, maxFd, pipe: 0, socket: 0, file: 0, eventpoll: 1, other: 0 }],
    events: pipesError
      ? [{ t: 0, kind: "pipes-error", line: "Error opening /setting AOF rewrite IPC pipes: x" }]
      : [],
  });
  const probeNow = checker.probeNow;
  if (!probeNow) throw new Error("the fd-leak checker gates its probes");

  it("far from the ceiling, probes when due", () => {
    expect(probeNow(at(20), context, true)).toBe(true);
    expect(probeNow(at(20), context, false)).toBe(false);
  });

  it("near the ceiling, holds its probe until an attempt failed for want of a slot, then probes at once", () => {
    expect(probeNow(at(192 - 18), context, true)).toBe(false);
    expect(probeNow(at(192 - 19), context, true)).toBe(true);
    expect(probeNow(at(190, true), context, false)).toBe(true);
  });
});

describe("samplerFor on a fake node", () => {
  const listing = [
    { name: "appendonly.aof.1.base.rdb", size: 89 },
    { name: "appendonly.aof.1.incr.aof", size: 100 },
    { name: "appendonly.aof.2.incr.aof", size: 0 },
    { name: "appendonly.aof.manifest", size: 88 },
  ];
  const node = (dir: typeof listing | undefined) =>
    ({
      fds: async (t: number) => ({
        t,
        total: 9,
        maxFd: 8,
        pipe: 2,
        socket: 3,
        file: 2,
        eventpoll: 1,
        other: 1,
      }),
      listDir: async () => dir,
      info: async () => ({
        used_memory: "1024",
        aof_last_bgrewrite_status: "err",
        mem_fragmentation_ratio: "1.5",
      }),
    }) as unknown as StartedRedisReproContainer;
  const spec = (data: unknown) => ProbeSpec.parse(data);

  it("dir: the matching files, their bytes and the empty ones", async () => {
    const sampler = samplerFor(
      spec({ probe: "dir", name: "incr", path: "/data/appendonlydir", pattern: "incr" }),
      node(listing),
    );
    expect(sampler?.name).toBe("incr");
    expect(await sampler?.sample(0)).toEqual({ files: 2, bytes: 100, emptyFiles: 1 });
  });

  it("aof-dir: the multi-part AOF's parts", async () => {
    const sampler = samplerFor(spec({ probe: "aof-dir" }), node(listing));
    expect(sampler?.name).toBe("aofdir");
    expect(await sampler?.sample(0)).toEqual({
      files: 4,
      base: 1,
      incr: 2,
      emptyIncr: 1,
      manifestBytes: 88,
      totalBytes: 277,
    });
  });

  it("a directory that does not exist yet reads as nothing", async () => {
    expect(
      await samplerFor(spec({ probe: "dir", path: "/data/x" }), node(undefined))?.sample(0),
    ).toBeUndefined();
  });

  it("info: the named fields that are numbers (ok/err statuses as 1/0); others left out", async () => {
    const sampler = samplerFor(
      spec({
        probe: "info",
        fields: [
          "used_memory",
          "aof_last_bgrewrite_status",
          "mem_fragmentation_ratio",
          "redis_mode",
          "empty",
          "absent",
        ],
      }),
      node(listing),
    );
    expect(await sampler?.sample(0)).toEqual({
      used_memory: 1024,
      aof_last_bgrewrite_status: 0,
      mem_fragmentation_ratio: 1.5,
    });
  });

  it("infoNumber: numbers, ok/err, and nothing for text or absence", () => {
    expect(infoNumber("42")).toBe(42);
    expect(infoNumber("0.25")).toBe(0.25);
    expect(infoNumber("ok")).toBe(1);
    expect(infoNumber("err")).toBe(0);
    expect(infoNumber("standalone")).toBeUndefined();
    expect(infoNumber("")).toBeUndefined();
    expect(infoNumber(" ")).toBeUndefined();
    expect(infoNumber(undefined)).toBeUndefined();
  });

  it("fds: counts by kind of another node; log probes have no sampler (the recorder counts them)", async () => {
    expect(await samplerFor(spec({ probe: "fds", name: "replica" }), node(listing))?.sample(5)).toEqual({
      total: 9,
      maxFd: 8,
      pipe: 2,
      socket: 3,
      file: 2,
    });
    expect(samplerFor(spec({ probe: "log", name: "oom", pattern: "OOM" }), node(listing))).toBeUndefined();
  });
});
