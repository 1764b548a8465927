import { describe, expect, it } from "vitest";
import { Event, LIMIT } from "../../harness/core/history.js";
import { ProbeSpec, probeFrom } from "../../harness/parts/probes/index.js";
import { LogEventKind, LogProbeSpec, logProbe, parseLogLine } from "../../harness/parts/probes/log.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { recordedResult } from "../helpers/runs.js";

const FORK_FAILED = "Can't rewrite append only file in background: fork: Cannot allocate memory";
const PIPES_ERROR = "Error opening /setting AOF rewrite IPC pipes: Numerical result out of range";
const REGISTER_ERROR =
  "Error registering fd event for the new client: Numerical result out of range (fd=194)";

describe("parseLogLine on the recorded seed run", () => {
  const results = ["3.2.8", "3.2.8+fix-aof-pipe-leak"].map((target) =>
    recordedResult("seed-3.2.8-vs-fix.json", target),
  );

  it.each(results.map((r) => [r.target, r] as const))(
    "%s: re-parsing the recorded log gives the recorded events, each a valid event of main",
    (_, result) => {
      const log = result.history.logs.main ?? [];
      expect(log.length).toBeGreaterThan(50);
      const parsed = log.flatMap((line) => parseLogLine(line, 0) ?? []);
      const strip = ({ t: _t, ...rest }: Event) => rest;
      const recorded = result.history.events.filter((e) => e.kind !== LIMIT);
      expect(parsed.map(strip)).toEqual(recorded.map(strip));
      for (const event of parsed) {
        expect(Event.parse(event)).toEqual(event);
        expect(event.node).toBe("main");
        expect(LogEventKind.options).toContain(event.kind);
      }
    },
  );

  it("the ASCII-art banner and ordinary notices are not events", () => {
    const log = results[0]?.history.logs.main ?? [];
    const banner = log.filter((l) => l.includes("Redis 3.2.8 (00000000/0) 64 bit"));
    expect(banner).toHaveLength(1);
    expect(parseLogLine(banner[0] ?? "", 0)).toBeUndefined();
    expect(
      parseLogLine("1:M 26 Nov 14:02:40.911 * DB loaded from append only file: 0.000 seconds", 0),
    ).toBeUndefined();
    expect(parseLogLine("", 0)).toBeUndefined();
  });

  it("recognises the three seed lines as recorded, on the node named", () => {
    const lines = results.flatMap((r) => r.history.logs.main ?? []);
    const fork = lines.find((l) => l.endsWith(FORK_FAILED));
    const pipes = lines.find((l) => l.endsWith(PIPES_ERROR));
    const register = lines.find((l) => l.endsWith(REGISTER_ERROR));
    expect(parseLogLine(fork ?? "", 7)).toEqual({
      t: 7,
      node: "main",
      kind: "fork-failed",
      line: fork,
      what: "aof-rewrite",
      errno: "Cannot allocate memory",
    });
    expect(parseLogLine(pipes ?? "", 8, "replica")).toEqual({
      t: 8,
      node: "replica",
      kind: "pipes-error",
      line: pipes,
      errno: "Numerical result out of range",
    });
    expect(parseLogLine(register ?? "", 9)).toEqual({
      t: 9,
      node: "main",
      kind: "register-error",
      line: register,
      errno: "Numerical result out of range",
    });
  });

  it("reads the version from 3.2.8's start line", () => {
    const started = results[0]?.history.logs.main?.find((l) => l.includes("Server started"));
    expect(started).toMatch(/^1:M \d+ [A-Z][a-z]{2} [\d:.]+ # Server started, Redis version 3\.2\.8$/);
    expect(parseLogLine(started ?? "", 0)).toMatchObject({ kind: "started", version: "3.2.8" });
  });
});

describe("the log probe", () => {
  const line = (message: string) => `1:M 27 Nov 2026 13:01:25.706 # ${message}`;

  it("its data form names the probe, the pattern and the node (main unless said)", () => {
    expect(LogProbeSpec.parse({ probe: "log", name: "errs", pattern: "IPC" })).toEqual({
      probe: "log",
      name: "errs",
      pattern: "IPC",
      node: "main",
    });
    // A log probe has no default name: its series must say what it counts.
    expect(ProbeSpec.safeParse({ probe: "log", pattern: "IPC" }).success).toBe(false);
    const probe = probeFrom(ProbeSpec.parse({ probe: "log", name: "errs", pattern: "IPC", node: "replica" }));
    expect([probe.name, probe.node, probe.once]).toEqual(["errs", "replica", true]);
  });

  it("counts matching lines from the count so far in the history, each point with its line", () => {
    const probe = logProbe({ name: "forks", pattern: "fork: " });
    const r = new HistoryRecorder({ event: "fork-failed", node: "main" });
    expect(probe.onLog?.(line("Ready to accept connections"), r.history)).toBeUndefined();
    const first = probe.onLog?.(line(FORK_FAILED), r.history);
    expect(first).toEqual({ count: { v: 1, text: line(FORK_FAILED) } });
    // The count so far is the history's: a probe keeps none of its own.
    r.reading("forks", 10, { count: { v: 41 } });
    expect(probe.onLog?.(line(FORK_FAILED), r.history)).toEqual({
      count: { v: 42, text: line(FORK_FAILED) },
    });
  });

  it("the run's first reading is 0 only while no line has matched", async () => {
    const probe = logProbe({ name: "forks", pattern: "fork: " });
    const r = new HistoryRecorder({ event: "fork-failed", node: "main" }, [probe]);
    const context = { now: 0, attemptsNeeded: 30 };
    expect(probe.due?.(r.history, context)).toBe(true);
    expect(await probe.read?.(undefined as never, () => 0)).toEqual({ count: 0 });
    r.logLine("main", line(FORK_FAILED), 5);
    expect(probe.due?.(r.history, context)).toBe(false);
  });
});

describe("parseLogLine across release log formats (by message, not prefix)", () => {
  const prefixes = {
    "2.8": "[1] 26 Nov 13:01:04.401 # ",
    "3.0-4.0": "1:M 26 Nov 13:01:04.401 # ",
    "5.0+": "1:M 26 Nov 2026 13:01:25.706 # ",
    child: "12:C 26 Nov 2026 13:01:25.706 * ",
  };

  it.each(Object.entries(prefixes))("%s prefix: fork failures, pipes and register errors", (_, prefix) => {
    expect(parseLogLine(prefix + FORK_FAILED, 1)).toMatchObject({
      kind: "fork-failed",
      what: "aof-rewrite",
      errno: "Cannot allocate memory",
    });
    expect(
      parseLogLine(`${prefix}Can't save in background: fork: Resource temporarily unavailable`, 1),
    ).toMatchObject({
      kind: "fork-failed",
      what: "bgsave",
      errno: "Resource temporarily unavailable",
    });
    expect(parseLogLine(prefix + PIPES_ERROR, 1)).toMatchObject({
      kind: "pipes-error",
      errno: "Numerical result out of range",
    });
    expect(
      parseLogLine(
        `${prefix}Error registering fd event for the new client: Too many open files (fd=1023)`,
        1,
      ),
    ).toMatchObject({ kind: "register-error", errno: "Too many open files" });
  });

  it("2.8's start line", () => {
    expect(parseLogLine("[1] 26 Nov 13:01:04.401 # Server started, Redis version 2.8.24", 0)).toMatchObject({
      kind: "started",
      version: "2.8.24",
    });
  });

  it("4.0+'s start line", () => {
    expect(
      parseLogLine(
        "1:C 26 Nov 2026 13:01:25.706 # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=1, just started",
        3,
      ),
    ).toEqual({
      t: 3,
      node: "main",
      kind: "started",
      version: "7.0.15",
      line: "1:C 26 Nov 2026 13:01:25.706 # Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=1, just started",
    });
    expect(
      parseLogLine(
        "1:C 26 Nov 13:01:25.706 # Redis version=4.0.14, bits=64, commit=00000000, modified=0, pid=1, just started",
        0,
      )?.version,
    ).toBe("4.0.14");
  });

  it.each([
    ["[1] 26 Nov 13:01:04.401 * The server is now ready to accept connections on port 6379", "ready"],
    ["1:M 26 Nov 2026 13:01:25.706 * Ready to accept connections", "ready"],
    ["1:M 26 Nov 2026 13:01:25.706 * Ready to accept connections tcp", "ready"],
    ["1:M 26 Nov 2026 13:01:25.706 * Starting automatic rewriting of AOF on 100% growth", "auto-rewrite"],
    [
      "1:M 26 Nov 2026 13:01:25.706 * Background append only file rewriting started by pid 42",
      "rewrite-started",
    ],
    ["1:M 26 Nov 2026 13:01:25.706 * Background saving started by pid 43", "bgsave-started"],
    [
      "1:M 26 Nov 2026 13:01:25.706 # Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minute",
      "rewrite-limited",
    ],
    [
      "1:M 26 Nov 2026 13:01:25.706 * Creating AOF incr file appendonly.aof.2.incr.aof on background rewrite",
      "incr-file",
    ],
  ])("%s -> %s", (line, kind) => {
    expect(parseLogLine(line, 0)?.kind).toBe(kind);
  });
});
