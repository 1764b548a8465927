import { describe, expect, it } from "vitest";
import type { Checker } from "../../harness/core/checker.js";
import type { History } from "../../harness/core/history.js";
import type { Node } from "../../harness/core/node.js";
import type { Probe } from "../../harness/core/probe.js";
import {
  CheckerInput,
  CheckerSpec,
  checkerFrom,
  fdLeakChecker,
  isChecker,
  leaksChecker,
} from "../../harness/parts/checkers/index.js";
import { ProbeSpec, probeFrom } from "../../harness/parts/probes/index.js";
import { infoNumber } from "../../harness/parts/probes/info.js";
import { contextFor, fdSample, historyFrom, recordedBefore, recordedResult } from "../helpers/runs.js";

describe("checkerFrom", () => {
  it("each data form gives the checker of its kind", () => {
    const specs = [
      { checker: "fd-leak" },
      { checker: "aof-dir" },
      { checker: "growth", series: "dir.files" },
      { checker: "leaks" },
      { checker: "assert", series: "info.x", at: "end", condition: { equals: 1 }, bug: "if-false" },
      { checker: "within", ms: 1000, happens: { succeeds: "connect" } },
      { checker: "all", of: [{ checker: "fd-leak" }, { checker: "leaks" }] },
      { checker: "any", of: [{ checker: "aof-dir" }] },
    ] as const;
    expect(specs.map((s) => checkerFrom(s).name)).toEqual([
      "fd-leak",
      "aof-dir",
      "growth",
      "leaks",
      "assert",
      "within",
      "all",
      "any",
    ]);
  });

  it("the aof-dir checker, on the recorded 7.0.15 history as it stood at its decision, gives the recorded label", () => {
    const result = recordedResult("aof-dir-7.0.15.json", "7.0.15");
    const seen = (result.decision.evidence as { attempts: number }).attempts;
    const at = recordedBefore(result.history, (result.history.attempts[seen - 1]?.t ?? 0) + 1);
    const decided = checkerFrom({ checker: "aof-dir", probe: "aofdir" }).decide(at, contextFor(at));
    expect(decided?.checker).toBe(result.checker);
    expect(decided).toMatchObject({ outcome: result.decision.outcome, label: result.decision.label });
    // A probe of another name has no series in this history: nothing to judge, so nothing decided.
    expect(checkerFrom({ checker: "aof-dir", probe: "other" }).decide(at, contextFor(at))).toBeUndefined();
  });

  it("the fd-leak checker, on the recorded seed history, gives the recorded label and reason", () => {
    const result = recordedResult("seed-3.2.8-vs-fix.json", "3.2.8");
    const decided = checkerFrom({ checker: "fd-leak", tolerance: 3, fdsPerAttempt: 6 }).decide(
      result.history,
      contextFor(result.history),
    );
    expect(decided).toMatchObject({ checker: "fd-leak", outcome: "bug", label: result.decision.label });
    expect(decided?.reason).toBe(result.decision.reason);
  });

  it("a script's own checker object is used as it is, also inside all and any", () => {
    const own: Checker = { name: "mine", decide: () => undefined };
    expect(checkerFrom(own)).toBe(own);
    const composed = checkerFrom({
      checker: "any",
      of: [own, { checker: "all", of: [own, { checker: "fd-leak" }] }],
    });
    expect(composed.name).toBe("any");
    const h = historyFrom({});
    // Its part gave nothing while running: nothing yet.
    expect(composed.decide(h, contextFor(h))).toBeUndefined();
  });
});

describe("the data forms' schemas", () => {
  it("CheckerSpec: nested all/any parse with each part's defaults filled in", () => {
    const parsed = CheckerSpec.parse({
      checker: "all",
      of: [{ checker: "any", of: [{ checker: "fd-leak" }, { checker: "leaks" }] }, { checker: "aof-dir" }],
    });
    expect(parsed).toEqual({
      checker: "all",
      of: [
        {
          checker: "any",
          of: [
            { checker: "fd-leak", tolerance: 3, fdsPerAttempt: 6 },
            { checker: "leaks", minAttempts: 10, minSamples: 5 },
          ],
        },
        { checker: "aof-dir", probe: "aofdir", holdMs: 5_000 },
      ],
    });
  });

  it("the old specs keep their fields; predict is fd-leak's own and no other's", () => {
    expect(CheckerSpec.parse({ checker: "fd-leak", predict: { tolerance: 0.15 } })).toMatchObject({
      predict: { tolerance: 0.15 },
    });
    expect(
      CheckerSpec.safeParse({ checker: "growth", series: "a.b", predict: { tolerance: 0.15 } }).success,
    ).toBe(false);
    expect(CheckerSpec.safeParse({ checker: "leaks", predict: { tolerance: 0.15 } }).success).toBe(false);
  });

  it("refuses an unknown kind, an empty composition, a label that is an outcome's word, a pattern that does not compile", () => {
    expect(CheckerSpec.safeParse({ checker: "nope" }).success).toBe(false);
    expect(CheckerSpec.safeParse({ checker: "all", of: [] }).success).toBe(false);
    const assert = {
      checker: "assert",
      series: "info.x",
      at: "end",
      condition: { equals: 1 },
      bug: "if-false",
    };
    expect(CheckerSpec.safeParse({ ...assert, labels: { bug: "bug" } }).success).toBe(false);
    expect(CheckerSpec.safeParse({ ...assert, labels: { bug: "status-stuck" } }).success).toBe(true);
    expect(CheckerSpec.safeParse({ ...assert, condition: { matches: "(" } }).success).toBe(false);
    expect(CheckerSpec.safeParse({ ...assert, bug: "yes" }).success).toBe(false);
  });

  it("a checker object is not data: CheckerInput takes it at any depth, CheckerSpec does not", () => {
    const own: Checker = { name: "mine", decide: () => undefined };
    const nested = { checker: "any", of: [own, { checker: "all", of: [{ checker: "fd-leak" }, own] }] };
    expect(CheckerSpec.safeParse(nested).success).toBe(false);
    const parsed = CheckerInput.parse(nested) as unknown as { of: [Checker, { of: [unknown, Checker] }] };
    expect(parsed.of[0]).toBe(own);
    expect(parsed.of[1].of[1]).toBe(own);
    expect(CheckerInput.safeParse({ name: "half", decide: "not a function" }).success).toBe(false);
    expect(isChecker(own)).toBe(true);
    expect(isChecker({ checker: "fd-leak" })).toBe(false);
  });
});

/** A history of the main node at one moment: its highest fd, a pipes-error line or not, attempts, the last probe. */
function tableAt(
  maxFd: number,
  options: { pipesError?: boolean; attempts?: number; probedAt?: number } = {},
): History {
  return historyFrom({
    fds: [fdSample(0, { maxFd })],
    lines: options.pipesError
      ? [
          {
            t: 0,
            line: "1:M 26 Nov 14:00:00.000 # Error opening /setting AOF rewrite IPC pipes: Numerical result out of range",
          },
        ]
      : [],
    connect: options.probedAt === undefined ? [] : [{ t: options.probedAt, ok: true }],
    attempts: Array.from({ length: options.attempts ?? 0 }, (_, i) => ({ t: i, line: null })),
    maxclients: 64,
    nofile: 1024,
  });
}

function connectOf(checker: Checker): Probe {
  const probe = checker.probes?.find((p) => p.name === "connect");
  if (!probe?.due) throw new Error(`${checker.name} asks for no timed fresh-client probe`);
  return probe;
}

describe("the fd checkers' fresh-client timing (what probeNow was)", () => {
  const due = (probe: Probe, history: History, now: number, attemptsNeeded = 30) =>
    probe.due?.(history, { now, attemptsNeeded }) ?? true;

  describe("fd-leak (ceiling 192, 6 fds per attempt)", () => {
    const probe = connectOf(fdLeakChecker());

    it("far from the ceiling, probes when its interval (1 s) has passed", () => {
      expect(due(probe, tableAt(20, { probedAt: 0 }), 1_000)).toBe(true);
      expect(due(probe, tableAt(20, { probedAt: 0 }), 999)).toBe(false);
      expect(due(probe, tableAt(20), 0)).toBe(true);
    });

    it("near the ceiling (3 attempts' worth), holds its probe until an attempt failed for want of a slot, then probes every tick", () => {
      expect(due(probe, tableAt(192 - 18, { probedAt: 0 }), 5_000)).toBe(false);
      expect(due(probe, tableAt(192 - 19, { probedAt: 0 }), 5_000)).toBe(true);
      expect(due(probe, tableAt(190, { pipesError: true, probedAt: 0 }), 1)).toBe(true);
    });

    it("once the attempt budget is reached, probes at once (every tick), unless near the ceiling", () => {
      expect(due(probe, tableAt(20, { attempts: 30, probedAt: 0 }), 1)).toBe(true);
      expect(due(probe, tableAt(20, { attempts: 29, probedAt: 0 }), 1)).toBe(false);
      expect(due(probe, tableAt(180, { attempts: 30, probedAt: 0 }), 1)).toBe(false);
    });

    it("a larger leak per attempt holds back further from the ceiling", () => {
      const wide = connectOf(fdLeakChecker({ fdsPerAttempt: 20 }));
      expect(due(wide, tableAt(192 - 60, { probedAt: 0 }), 5_000)).toBe(false);
      expect(due(wide, tableAt(192 - 61, { probedAt: 0 }), 5_000)).toBe(true);
    });
  });

  describe("leaks (64 fds of margin; full is also the highest fd at the table's end)", () => {
    const probe = connectOf(leaksChecker());

    it("holds back within 64 fds of the ceiling, probes every tick once the highest fd reached it", () => {
      expect(due(probe, tableAt(192 - 64, { probedAt: 0 }), 5_000)).toBe(false);
      expect(due(probe, tableAt(192 - 65, { probedAt: 0 }), 5_000)).toBe(true);
      expect(due(probe, tableAt(191, { probedAt: 0 }), 1)).toBe(true);
      expect(due(probe, tableAt(150, { pipesError: true, probedAt: 0 }), 1)).toBe(true);
    });
  });

  it("both read maxclients and hz once, and the fds", () => {
    for (const checker of [fdLeakChecker(), leaksChecker()]) {
      const config = checker.probes?.find((p) => p.name === "config");
      expect(config?.once).toBe(true);
      expect(checker.probes?.find((p) => p.name === "fds")?.node).toBe("main");
    }
  });
});

describe("probes from their data form, on a fake node", () => {
  const listing = [
    { name: "appendonly.aof.1.base.rdb", size: 89 },
    { name: "appendonly.aof.1.incr.aof", size: 100 },
    { name: "appendonly.aof.2.incr.aof", size: 0 },
    { name: "appendonly.aof.manifest", size: 88 },
  ];
  const node = (dir: typeof listing | undefined) =>
    ({
      fds: async () => [
        { fd: 0, target: "/dev/null" },
        { fd: 3, target: "anon_inode:[eventpoll]" },
        { fd: 4, target: "pipe:[1]" },
        { fd: 5, target: "pipe:[2]" },
        { fd: 6, target: "socket:[3]" },
        { fd: 8, target: "/data/appendonly.aof" },
      ],
      listDir: async () => dir,
      info: async () => ({
        used_memory: "1024",
        aof_last_bgrewrite_status: "err",
        mem_fragmentation_ratio: "1.5",
      }),
    }) as unknown as Node;
  const readIn = (dir: typeof listing | undefined, data: unknown) =>
    probeFrom(ProbeSpec.parse(data)).read?.(node(dir), () => 5);
  const read = (data: unknown) => readIn(listing, data);

  it("dir: the matching files, their bytes and the empty ones", async () => {
    expect(probeFrom(ProbeSpec.parse({ probe: "dir", name: "incr", path: "/data/appendonlydir" })).name).toBe(
      "incr",
    );
    expect(await read({ probe: "dir", name: "incr", path: "/data/appendonlydir", pattern: "incr" })).toEqual({
      files: 2,
      bytes: 100,
      emptyFiles: 1,
    });
  });

  it("aof-dir: the multi-part AOF's parts", async () => {
    expect(probeFrom(ProbeSpec.parse({ probe: "aof-dir" })).name).toBe("aofdir");
    expect(await read({ probe: "aof-dir" })).toEqual({
      files: 4,
      base: 1,
      incr: 2,
      emptyIncr: 1,
      manifestBytes: 88,
      totalBytes: 277,
    });
  });

  it("a directory that does not exist yet reads as nothing", async () => {
    expect(await readIn(undefined, { probe: "dir", path: "/data/x" })).toBeUndefined();
  });

  it("info: the named fields that are numbers (ok/err statuses as 1/0 with the word kept); others left out", async () => {
    expect(
      await read({
        probe: "info",
        fields: [
          "used_memory",
          "aof_last_bgrewrite_status",
          "mem_fragmentation_ratio",
          "redis_mode",
          "absent",
        ],
      }),
    ).toEqual({
      used_memory: { v: 1024 },
      aof_last_bgrewrite_status: { v: 0, text: "err" },
      mem_fragmentation_ratio: { v: 1.5 },
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

  it("fds: counts by kind, of another node by name", async () => {
    const probe = probeFrom(ProbeSpec.parse({ probe: "fds", name: "replica", node: "replica" }));
    expect(probe).toMatchObject({ name: "replica", node: "replica" });
    expect(await read({ probe: "fds" })).toEqual({
      total: 6,
      maxFd: 8,
      pipe: 2,
      socket: 1,
      file: 2,
      eventpoll: 1,
      other: 0,
    });
  });
});
