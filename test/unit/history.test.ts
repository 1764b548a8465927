import { describe, expect, it } from "vitest";
import {
  attemptsUntil,
  emptyHistory,
  eventsOf,
  FAULT_HEAL,
  FAULT_START,
  faultWindows,
  History,
  LIMIT,
  limitOf,
  logOf,
  MARK,
  seriesNames,
  seriesOf,
  valueAt,
} from "../../harness/core/history.js";
import type { Probe } from "../../harness/core/probe.js";
import { logProbe } from "../../harness/parts/probes/log.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { AttemptSpec } from "../../harness/scenario/schema.js";
import { recordedResult } from "../helpers/runs.js";

/** Log lines as 3.2 and 7.0 print them (the prefix differs, the message is what counts). */
const forkFailed =
  "1:M 26 Nov 14:10:01.001 # Can't rewrite append only file in background: fork: Cannot allocate memory";
const bgsaveFailed = "1:M 27 Nov 2026 16:58:11.237 # Can't save in background: fork: Cannot allocate memory";
const pipesError =
  "1:M 26 Nov 14:10:02.002 # Error opening /setting AOF rewrite IPC pipes: Numerical result out of range";
const ready = "1:M 26 Nov 14:10:00.000 * The server is now ready to accept connections on port 6379";
const other = "1:M 26 Nov 14:10:00.500 * DB loaded from disk: 0.000 seconds";
const replicaReady = "1:S 27 Nov 2026 17:56:36.337 * Ready to accept connections";
const replicaForkFailed =
  "1:S 27 Nov 2026 17:56:40.001 # Can't save in background: fork: Resource temporarily unavailable";

/** A recorder for an attempt as a scenario writes it (the data form fills in the node). */
const recorder = (attempt: unknown, probes: Probe[] = []) =>
  new HistoryRecorder(AttemptSpec.parse(attempt), probes);

describe("HistoryRecorder: every node's log", () => {
  it("keeps each node's lines under its name, and its events carry the node", () => {
    const r = recorder({ event: "fork-failed" });
    r.logLine("main", ready, 10);
    r.logLine("replica", replicaReady, 12);
    r.logLine("main", other, 20);
    r.logLine("replica", replicaForkFailed, 30);
    expect(r.history.logs).toEqual({ main: [ready, other], replica: [replicaReady, replicaForkFailed] });
    expect(r.history.events.map((e) => [e.node, e.kind, e.t])).toEqual([
      ["main", "ready", 10],
      ["replica", "ready", 12],
      ["replica", "fork-failed", 30],
    ]);
    expect(logOf(r.history)).toEqual([ready, other]);
    expect(logOf(r.history, "replica")).toEqual([replicaReady, replicaForkFailed]);
    expect(logOf(r.history, "nobody")).toEqual([]);
  });

  it("a replayed recorded log gives the events and attempts the real run recorded", () => {
    // 3.2.8 under seccomp-enomem: 31 failed forks (the fixture's own count), their pipes and register errors.
    const recorded = recordedResult("seed-3.2.8-vs-fix.json", "3.2.8").history;
    const r = recorder({ event: "fork-failed" });
    for (const line of recorded.logs.main ?? []) r.logLine("main", line, 0);
    const kinds = (events: History["events"]) => events.filter((e) => e.kind !== LIMIT).map((e) => e.kind);
    expect(kinds(r.history.events)).toEqual(kinds(recorded.events));
    expect(r.history.attempts.map((a) => a.line)).toEqual(recorded.attempts.map((a) => a.line));
    expect(r.history.attempts).toHaveLength(31);
  });
});

describe("HistoryRecorder: attempts by event", () => {
  it("counts each fork-failed line of the main node as one attempt, a failed BGSAVE fork too", () => {
    const r = recorder({ event: "fork-failed" });
    r.logLine("main", ready, 10);
    r.logLine("main", forkFailed, 100);
    r.logLine("main", other, 150);
    r.logLine("main", pipesError, 200);
    r.logLine("main", bgsaveFailed, 300);
    expect(r.history.attempts).toEqual([
      { t: 100, line: forkFailed },
      { t: 300, line: bgsaveFailed },
    ]);
  });

  it("counts another event kind when the scenario names it, and only that", () => {
    const r = recorder({ event: "pipes-error" });
    r.logLine("main", forkFailed, 100);
    r.logLine("main", pipesError, 200);
    expect(r.history.attempts).toEqual([{ t: 200, line: pipesError }]);
  });

  it("counts the named node's events only: a replica's failed forks are not the main node's", () => {
    const onMain = recorder({ event: "fork-failed" });
    const onReplica = recorder({ event: "fork-failed", node: "replica" });
    for (const r of [onMain, onReplica]) {
      r.logLine("main", forkFailed, 100);
      r.logLine("replica", replicaForkFailed, 200);
    }
    expect(onMain.history.attempts).toEqual([{ t: 100, line: forkFailed }]);
    expect(onReplica.history.attempts).toEqual([{ t: 200, line: replicaForkFailed }]);
  });
});

describe("HistoryRecorder: attempts by pattern and by reply", () => {
  it("counts lines matching the pattern, parsed as events or not, on the named node", () => {
    const r = recorder({ pattern: "DB loaded|IPC pipes" });
    r.logLine("main", forkFailed, 100);
    r.logLine("main", other, 150);
    r.logLine("replica", other, 160);
    r.logLine("main", pipesError, 200);
    r.logLine("main", ready, 250);
    expect(r.history.attempts).toEqual([
      { t: 150, line: other },
      { t: 200, line: pipesError },
    ]);
    // Events are parsed whatever counts as an attempt.
    expect(r.history.events.map((e) => e.kind)).toEqual(["fork-failed", "pipes-error", "ready"]);
    const replica = recorder({ pattern: "DB loaded", node: "replica" });
    replica.logLine("main", other, 150);
    replica.logLine("replica", other, 160);
    expect(replica.history.attempts).toEqual([{ t: 160, line: other }]);
  });

  it("counts replies matching the pattern on the named node, with the reply as the line", () => {
    const r = recorder({ reply: "^ERR .*fork" });
    r.reply("main", "OK", 10);
    r.reply("main", "ERR Background save failed: fork: Cannot allocate memory", 20);
    r.reply("replica", "ERR Background save failed: fork: Cannot allocate memory", 30);
    // A log line that would match is not a reply.
    r.logLine("main", "ERR fork", 40);
    expect(r.history.attempts).toEqual([
      { t: 20, line: "ERR Background save failed: fork: Cannot allocate memory" },
    ]);
  });

  it("a reply with a series name is also a point of NAME.ok: 1, or 0 for an error, its text kept", () => {
    const r = recorder({ event: "fork-failed" });
    r.reply("main", "OK", 10, { ok: true, series: "write" });
    r.reply("main", "MISCONF Errors writing to the AOF file", 20, { ok: false, series: "write" });
    // Without a series name a reply is no point of any series.
    r.reply("main", "OK", 30, { ok: true });
    r.reply("main", "OK", 40);
    expect(r.history.series).toStrictEqual({
      "write.ok": [
        { t: 10, v: 1, text: "OK" },
        { t: 20, v: 0, text: "MISCONF Errors writing to the AOF file" },
      ],
    });
  });

  it("replies count nothing when attempts are log events", () => {
    const r = recorder({ event: "fork-failed" });
    r.reply("main", "Can't rewrite append only file in background: fork: Cannot allocate memory", 10);
    expect(r.history.attempts).toEqual([]);
  });
});

describe("HistoryRecorder: attempts by series increase", () => {
  it("each unit a series rises is one attempt at that reading's time; falls and the first reading are none", () => {
    const r = recorder({ series: "info.aof_failures" });
    r.reading("info", 100, { aof_failures: 3, used_memory: 1000 });
    expect(r.history.attempts).toEqual([]);
    r.reading("info", 200, { aof_failures: 5, used_memory: 900 });
    r.reading("info", 300, { aof_failures: 5, used_memory: 2000 });
    r.reading("info", 400, { aof_failures: 1, used_memory: 2000 });
    r.reading("info", 500, { aof_failures: 2, used_memory: 2000 });
    expect(r.history.attempts).toEqual([
      { t: 200, line: null },
      { t: 200, line: null },
      { t: 500, line: null },
    ]);
    // Another series of the same probe rising counts for nothing.
    expect(seriesOf(r.history, "info.used_memory").map((p) => p.v)).toEqual([1000, 900, 2000, 2000, 2000]);
  });

  it("fds.pipe rising by 6 per failed fork is 6 attempts per reading", () => {
    const r = recorder({ series: "fds.pipe" });
    for (const [t, pipe] of [
      [0, 2],
      [100, 8],
      [200, 8],
      [300, 2],
      [400, 4],
    ] as const)
      r.reading("fds", t, { total: pipe + 6, pipe });
    expect(attemptsUntil(r.history.attempts, 100)).toHaveLength(6);
    expect(r.history.attempts).toHaveLength(8);
    expect(r.history.attempts.at(-1)).toEqual({ t: 400, line: null });
  });

  it("log lines and replies count nothing when attempts are a series", () => {
    const r = recorder({ series: "fds.pipe" });
    r.logLine("main", forkFailed, 100);
    r.reply("main", "ERR", 110);
    expect(r.history.attempts).toEqual([]);
    expect(r.history.events).toHaveLength(1);
  });
});

describe("HistoryRecorder: log probes read their own node's lines", () => {
  // Real lines of a two-node run (7.0.15, replica of main under a pids limit): the replica logs each
  // aborted sync, the master each failed BGSAVE for it; 4 of each in these lines.
  const recorded = recordedResult("repl-diskless-7.0.15.json.gz", "7.0.15").history;
  const mainLines = (recorded.logs.main ?? []).slice(0, 30);
  const replicaLines = (recorded.logs.replica ?? []).slice(0, 40);

  it("a log probe on a node other than main counts that node's lines (it used to stay empty)", () => {
    // Before #18 only main's log reached the log probes, and a probe on "replica" was dropped: its
    // series stayed empty, silently. This fails on that behaviour.
    const aborted = logProbe({ name: "aborted", pattern: "MASTER aborted replication", node: "replica" });
    const r = recorder({ event: "fork-failed" }, [aborted]);
    for (const [i, line] of replicaLines.entries()) r.logLine("replica", line, 1_000 + i);
    for (const [i, line] of mainLines.entries()) r.logLine("main", line, 2_000 + i);
    const counts = seriesOf(r.history, "aborted.count");
    expect(counts.map((p) => p.v)).toEqual([1, 2, 3, 4]);
    // Each point carries the line it counted, and the times are the replica's lines'.
    expect(counts.every((p) => p.text?.includes("MASTER aborted replication"))).toBe(true);
    expect(counts.every((p) => p.t >= 1_000 && p.t < 2_000)).toBe(true);
  });

  it("a main log probe ignores the replica's lines, whatever they say", () => {
    const failed = logProbe({ name: "failed", pattern: "BGSAVE for replication failed|aborted replication" });
    const r = recorder({ event: "fork-failed" }, [failed]);
    for (const line of replicaLines) r.logLine("replica", line, 1);
    expect(seriesOf(r.history, "failed.count")).toEqual([]);
    for (const line of mainLines) r.logLine("main", line, 2);
    expect(seriesOf(r.history, "failed.count").map((p) => p.v)).toEqual([1, 2, 3, 4]);
  });

  it("one probe serves several targets at once: each history counts its own lines", () => {
    // A scenario's parts are shared by its targets' runs; a probe keeps its count in the history.
    const forks = logProbe({ name: "forks", pattern: "fork: " });
    const a = recorder({ event: "fork-failed" }, [forks]);
    const b = recorder({ event: "fork-failed" }, [forks]);
    a.logLine("main", forkFailed, 100);
    b.logLine("main", forkFailed, 110);
    a.logLine("main", bgsaveFailed, 200);
    b.logLine("main", other, 210);
    expect(seriesOf(a.history, "forks.count").map((p) => p.v)).toEqual([1, 2]);
    expect(seriesOf(b.history, "forks.count").map((p) => p.v)).toEqual([1]);
  });

  it("after the run's first reading of 0, every matching line is an attempt when the count is", async () => {
    const errors = logProbe({ name: "errors", pattern: "IPC pipes" });
    const r = recorder({ series: "errors.count" }, [errors]);
    // The run reads every probe once before the workload: the log probe's reading is its 0.
    const zero = await errors.read?.(undefined as never, () => 0);
    r.reading("errors", 0, zero ?? {});
    r.logLine("main", pipesError, 100);
    r.logLine("main", other, 150);
    r.logLine("main", pipesError, 200);
    expect(seriesOf(r.history, "errors.count")).toEqual([
      { t: 0, v: 0 },
      { t: 100, v: 1, text: pipesError },
      { t: 200, v: 2, text: pipesError },
    ]);
    expect(r.history.attempts).toEqual([
      { t: 100, line: null },
      { t: 200, line: null },
    ]);
  });
});

describe("HistoryRecorder: readings and events", () => {
  it("a reading's fields become NAME.FIELD series; a value with a text keeps it, a number has none", () => {
    const r = recorder({ event: "fork-failed" });
    r.reading("info", 10, {
      aof_last_bgrewrite_status: { v: 0, text: "err" },
      aof_rewrites_consecutive_failures: 3,
    });
    r.reading("connect", 20, { ok: { v: 0, text: "Connection is closed." } });
    r.reading("connect", 30, { ok: { v: 1 } });
    expect(r.history.series).toStrictEqual({
      "info.aof_last_bgrewrite_status": [{ t: 10, v: 0, text: "err" }],
      "info.aof_rewrites_consecutive_failures": [{ t: 10, v: 3 }],
      "connect.ok": [
        { t: 20, v: 0, text: "Connection is closed." },
        { t: 30, v: 1 },
      ],
    });
  });

  it("events default to the main node, keep their name and value, and refuse one without a kind", () => {
    const r = recorder({ event: "fork-failed" });
    r.event({ t: 0, kind: LIMIT, name: "nofile", value: 1024 });
    r.logLine("main", forkFailed, 50);
    r.event({ t: 100, kind: MARK, name: "phase", value: "disk full" });
    r.event({ t: 120, node: "replica", kind: FAULT_START, name: "pids-limit", line: "pids limit set to 5" });
    expect(r.history.events.map((e) => [e.t, e.node, e.kind, e.name ?? null])).toEqual([
      [0, "main", LIMIT, "nofile"],
      [50, "main", "fork-failed", null],
      [100, "main", MARK, "phase"],
      [120, "replica", FAULT_START, "pids-limit"],
    ]);
    expect(eventsOf(r.history, MARK)[0]?.value).toBe("disk full");
    expect(() => r.event({ t: 1 } as never)).toThrow();
    expect(r.history.events).toHaveLength(4);
  });

  it("what a recorder holds is a History: it survives JSON as the result file keeps it", () => {
    const r = recorder({ event: "fork-failed" });
    r.logLine("main", forkFailed, 5);
    r.reading("info", 10, { status: { v: 1, text: "ok" }, n: 2 });
    r.event({ t: 12, kind: MARK, name: "m", value: null });
    expect(History.parse(JSON.parse(JSON.stringify(r.history)))).toEqual(r.history);
  });
});

describe("core/history helpers", () => {
  const history = (() => {
    const r = recorder({ event: "fork-failed" });
    r.reading("aofdir", 50, { files: 4, manifestBytes: 88 });
    r.reading("aofdir", 150, { files: 6, manifestBytes: 88 });
    r.reading("fds", 60, { total: 8 });
    return r.history;
  })();

  it("seriesOf gives a series by name, empty when never read; seriesNames in order of first reading", () => {
    expect(seriesOf(history, "aofdir.files")).toEqual([
      { t: 50, v: 4 },
      { t: 150, v: 6 },
    ]);
    expect(seriesOf(history, "aofdir.nothing")).toEqual([]);
    expect(seriesOf(history, "nodot")).toEqual([]);
    expect(seriesNames(history)).toEqual(["aofdir.files", "aofdir.manifestBytes", "fds.total"]);
    expect(seriesNames(emptyHistory())).toEqual([]);
  });

  it("valueAt is the last point at or before t, undefined before the first", () => {
    const points = [
      { t: 10, v: 1 },
      { t: 20, v: 2 },
      { t: 20, v: 3 },
      { t: 40, v: 4 },
    ];
    expect(valueAt(points, 9)).toBeUndefined();
    expect(valueAt(points, 10)).toEqual({ t: 10, v: 1 });
    expect(valueAt(points, 19)).toEqual({ t: 10, v: 1 });
    // Two readings at the same time: the later one stands.
    expect(valueAt(points, 20)).toEqual({ t: 20, v: 3 });
    expect(valueAt(points, 1_000)).toEqual({ t: 40, v: 4 });
    expect(valueAt([], 5)).toBeUndefined();
  });

  it("attemptsUntil is inclusive of its time and keeps everything without one", () => {
    const attempts = [10, 20, 30].map((t) => ({ t, line: null }));
    expect(attemptsUntil(attempts, 19)).toHaveLength(1);
    expect(attemptsUntil(attempts, 20)).toHaveLength(2);
    expect(attemptsUntil(attempts)).toHaveLength(3);
  });

  it("eventsOf filters by kind, then node and name when given", () => {
    const r = recorder({ event: "fork-failed" });
    r.event({ t: 1, kind: MARK, name: "a" });
    r.event({ t: 2, kind: MARK, name: "b", node: "replica" });
    r.event({ t: 3, kind: MARK, name: "a", node: "replica" });
    r.event({ t: 4, kind: LIMIT, name: "a" });
    const ts = (events: { t: number }[]) => events.map((e) => e.t);
    expect(ts(eventsOf(r.history, MARK))).toEqual([1, 2, 3]);
    expect(ts(eventsOf(r.history, MARK, { node: "replica" }))).toEqual([2, 3]);
    expect(ts(eventsOf(r.history, MARK, { name: "a" }))).toEqual([1, 3]);
    expect(ts(eventsOf(r.history, MARK, { node: "main", name: "a" }))).toEqual([1]);
    expect(eventsOf(r.history, "nothing")).toEqual([]);
  });

  it("limitOf is a node's last recorded number for a limit, main's unless named", () => {
    const r = recorder({ event: "fork-failed" });
    r.event({ t: 0, kind: LIMIT, name: "nofile", value: 1024 });
    r.event({ t: 0, kind: LIMIT, name: "pids", value: 64 });
    r.event({ t: 0, node: "replica", kind: LIMIT, name: "nofile", value: 4096 });
    r.event({ t: 0, kind: LIMIT, name: "memory", value: "64m" });
    // A mark named like a limit is no limit.
    r.event({ t: 5, kind: MARK, name: "pids", value: 3 });
    expect(limitOf(r.history, "nofile")).toBe(1024);
    expect(limitOf(r.history, "nofile", "replica")).toBe(4096);
    expect(limitOf(r.history, "pids")).toBe(64);
    expect(limitOf(r.history, "pids", "replica")).toBeUndefined();
    // Not a number: not a limit the checkers can compute with.
    expect(limitOf(r.history, "memory")).toBeUndefined();
    expect(limitOf(emptyHistory(), "nofile")).toBeUndefined();
  });

  it("faultWindows pairs each start with its heal, per node and fault, open while it lasts", () => {
    const r = recorder({ event: "fork-failed" });
    r.event({ t: 10, kind: FAULT_START, name: "pids-limit" });
    r.event({ t: 15, node: "replica", kind: FAULT_START, name: "pids-limit" });
    // A heal of another node's fault, or of a fault that never started, closes nothing here.
    r.event({ t: 20, node: "replica", kind: FAULT_HEAL, name: "pids-limit" });
    r.event({ t: 25, kind: FAULT_HEAL, name: "link-cut" });
    r.event({ t: 30, kind: FAULT_HEAL, name: "pids-limit" });
    r.event({ t: 40, kind: FAULT_START, name: "pids-limit" });
    r.event({ t: 45, kind: FAULT_START, name: "seccomp-enomem" });
    expect(faultWindows(r.history)).toEqual([
      { name: "pids-limit", node: "main", start: 10, heal: 30 },
      { name: "pids-limit", node: "replica", start: 15, heal: 20 },
      { name: "pids-limit", node: "main", start: 40, heal: null },
      { name: "seccomp-enomem", node: "main", start: 45, heal: null },
    ]);
    expect(faultWindows(r.history, "replica")).toEqual([
      { name: "pids-limit", node: "replica", start: 15, heal: 20 },
    ]);
    expect(faultWindows(emptyHistory())).toEqual([]);
  });
});
