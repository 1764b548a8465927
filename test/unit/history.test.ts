import { describe, expect, it } from "vitest";
import {
  attemptsUntil,
  emptyHistory,
  HistoryRecorder,
  seriesNames,
  seriesOf,
} from "../../harness/core/history.js";
import type { FdSample } from "../../harness/parts/probes/fds.js";

/** Log lines as 3.2 and 7.0 print them (the prefix differs, the message is what counts). */
const forkFailed =
  "1:M 26 Nov 14:10:01.001 # Can't rewrite append only file in background: fork: Cannot allocate memory";
const bgsaveFailed = "1:M 27 Nov 2026 16:58:11.237 # Can't save in background: fork: Cannot allocate memory";
const pipesError =
  "1:M 26 Nov 14:10:02.002 # Error opening /setting AOF rewrite IPC pipes: Numerical result out of range";
const ready = "1:M 26 Nov 14:10:00.000 * The server is now ready to accept connections on port 6379";
const other = "1:M 26 Nov 14:10:00.500 * DB loaded from disk: 0.000 seconds";

const fds = (t: number, pipe: number, total = pipe + 6): FdSample => ({
  t,
  total,
  maxFd: total - 1,
  pipe,
  socket: 3,
  file: 2,
  eventpoll: 1,
  other: 0,
});

describe("HistoryRecorder: attempts by event", () => {
  it("keeps every line, parses events, and counts each fork-failed line as one attempt", () => {
    const r = new HistoryRecorder({ event: "fork-failed" });
    r.logLine(ready, 10);
    r.logLine(forkFailed, 100);
    r.logLine(other, 150);
    r.logLine(pipesError, 200);
    r.logLine(bgsaveFailed, 300);
    expect(r.history.log).toEqual([ready, forkFailed, other, pipesError, bgsaveFailed]);
    expect(r.history.events.map((e) => [e.kind, e.t])).toEqual([
      ["ready", 10],
      ["fork-failed", 100],
      ["pipes-error", 200],
      ["fork-failed", 300],
    ]);
    // A failed BGSAVE fork is a failed fork too.
    expect(r.history.attempts).toEqual([
      { t: 100, line: forkFailed },
      { t: 300, line: bgsaveFailed },
    ]);
  });

  it("counts another event kind when the scenario names it, and only that", () => {
    const r = new HistoryRecorder({ event: "pipes-error" });
    r.logLine(forkFailed, 100);
    r.logLine(pipesError, 200);
    expect(r.history.attempts).toEqual([{ t: 200, line: pipesError }]);
  });
});

describe("HistoryRecorder: attempts by pattern", () => {
  it("counts lines matching the pattern, parsed as events or not", () => {
    const r = new HistoryRecorder({ pattern: "DB loaded|IPC pipes" });
    r.logLine(forkFailed, 100);
    r.logLine(other, 150);
    r.logLine(pipesError, 200);
    r.logLine(ready, 250);
    expect(r.history.attempts).toEqual([
      { t: 150, line: other },
      { t: 200, line: pipesError },
    ]);
    // Events are parsed whatever counts as an attempt.
    expect(r.history.events.map((e) => e.kind)).toEqual(["fork-failed", "pipes-error", "ready"]);
  });
});

describe("HistoryRecorder: attempts by series increase", () => {
  it("each unit a probe series rises is one attempt at that reading's time; falls and the first reading are none", () => {
    const r = new HistoryRecorder({ series: "info.aof_failures" });
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
    expect(r.history.series["info.used_memory"]?.map((p) => p.v)).toEqual([1000, 900, 2000, 2000, 2000]);
  });

  it("an fds series counts from the main node's fd samples", () => {
    const r = new HistoryRecorder({ series: "fds.pipe" });
    r.fds(fds(0, 2));
    r.fds(fds(100, 8));
    r.fds(fds(200, 8));
    r.fds(fds(300, 2));
    r.fds(fds(400, 4));
    expect(attemptsUntil(r.history.attempts, 100)).toHaveLength(6);
    expect(r.history.attempts).toHaveLength(8);
    expect(r.history.attempts.at(-1)).toEqual({ t: 400, line: null });
  });

  it("log lines count nothing when attempts are a series", () => {
    const r = new HistoryRecorder({ series: "fds.pipe" });
    r.logLine(forkFailed, 100);
    expect(r.history.attempts).toEqual([]);
    expect(r.history.events).toHaveLength(1);
  });
});

describe("HistoryRecorder: log probes", () => {
  it("count the lines matching each pattern so far, as NAME.count", () => {
    const r = new HistoryRecorder({ event: "fork-failed" }, [
      { name: "forks", pattern: "fork: " },
      { name: "pipes", pattern: "IPC pipes" },
    ]);
    r.logLine(forkFailed, 100);
    r.logLine(pipesError, 200);
    r.logLine(forkFailed, 300);
    r.logLine(other, 400);
    expect(r.history.series["forks.count"]).toEqual([
      { t: 0, v: 0 },
      { t: 100, v: 1 },
      { t: 300, v: 2 },
    ]);
    expect(r.history.series["pipes.count"]).toEqual([
      { t: 0, v: 0 },
      { t: 200, v: 1 },
    ]);
  });

  it("a log probe's count can be what counts as an attempt", () => {
    const r = new HistoryRecorder({ series: "errors.count" }, [{ name: "errors", pattern: "IPC pipes" }]);
    r.logLine(pipesError, 100);
    r.logLine(pipesError, 200);
    r.logLine(pipesError, 300);
    // The count starts at 0, so every matching line, the first too, is an attempt.
    expect(r.history.attempts).toEqual([
      { t: 100, line: null },
      { t: 200, line: null },
      { t: 300, line: null },
    ]);
  });
});

describe("seriesOf and seriesNames", () => {
  it("fds.FIELD reads the fd samples; other names the probes' series; unknown names are empty", () => {
    const r = new HistoryRecorder({ event: "fork-failed" });
    r.fds(fds(0, 2, 8));
    r.fds(fds(100, 8, 14));
    r.reading("aofdir", 50, { files: 4, manifestBytes: 88 });
    r.connect({ t: 60, ok: true });
    const h = r.history;
    expect(seriesOf(h, "fds.total")).toEqual([
      { t: 0, v: 8 },
      { t: 100, v: 14 },
    ]);
    expect(seriesOf(h, "fds.pipe").map((p) => p.v)).toEqual([2, 8]);
    expect(seriesOf(h, "fds.maxFd").map((p) => p.v)).toEqual([7, 13]);
    expect(seriesOf(h, "aofdir.files")).toEqual([{ t: 50, v: 4 }]);
    expect(seriesOf(h, "aofdir.nothing")).toEqual([]);
    expect(seriesOf(h, "fds.nothing")).toEqual([]);
    expect(seriesOf(h, "nodot")).toEqual([]);
    expect(h.probes).toEqual([{ t: 60, ok: true }]);
    expect(seriesNames(h)).toEqual([
      "fds.total",
      "fds.maxFd",
      "fds.pipe",
      "fds.socket",
      "fds.file",
      "fds.eventpoll",
      "fds.other",
      "aofdir.files",
      "aofdir.manifestBytes",
    ]);
    expect(seriesNames(emptyHistory())).toEqual([]);
  });

  it("attemptsUntil is inclusive of its time and keeps everything without one", () => {
    const attempts = [10, 20, 30].map((t) => ({ t, line: null }));
    expect(attemptsUntil(attempts, 19)).toHaveLength(1);
    expect(attemptsUntil(attempts, 20)).toHaveLength(2);
    expect(attemptsUntil(attempts)).toHaveLength(3);
  });
});
