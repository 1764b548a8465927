import { describe, expect, it } from "vitest";
import { LogEvent, parseLogLine } from "../../harness/parts/probes/log.js";
import { seedSeries } from "../helpers/seed-data.js";

const FORK_FAILED = "Can't rewrite append only file in background: fork: Cannot allocate memory";
const PIPES_ERROR = "Error opening /setting AOF rewrite IPC pipes: Numerical result out of range";
const REGISTER_ERROR =
  "Error registering fd event for the new client: Numerical result out of range (fd=194)";

describe("parseLogLine on the recorded seed run", () => {
  const results = seedSeries();

  it.each(results.map((r) => [r.target, r] as const))(
    "%s: re-parsing the recorded log gives the recorded events",
    (_, result) => {
      expect(result.log.length).toBeGreaterThan(50);
      const parsed = result.log.flatMap((line) => {
        const event = parseLogLine(line, 0);
        return event ? [event] : [];
      });
      const strip = ({ t: _t, ...rest }: LogEvent) => rest;
      expect(parsed.map(strip)).toEqual(result.events.map(strip));
      for (const event of parsed) expect(() => LogEvent.parse(event)).not.toThrow();
    },
  );

  it("the ASCII-art banner and ordinary notices are not events", () => {
    const [first] = results;
    const banner = first?.log.filter((l) => l.includes("Redis 3.2.8 (00000000/0) 64 bit")) ?? [];
    expect(banner).toHaveLength(1);
    expect(parseLogLine(banner[0] ?? "", 0)).toBeUndefined();
    expect(
      parseLogLine("1:M 26 Nov 14:02:40.911 * DB loaded from append only file: 0.000 seconds", 0),
    ).toBeUndefined();
    expect(parseLogLine("", 0)).toBeUndefined();
  });

  it("recognises the three seed lines as recorded", () => {
    const lines = results.flatMap((r) => r.log);
    const fork = lines.find((l) => l.endsWith(FORK_FAILED));
    const pipes = lines.find((l) => l.endsWith(PIPES_ERROR));
    const register = lines.find((l) => l.endsWith(REGISTER_ERROR));
    expect(parseLogLine(fork ?? "", 7)).toEqual({
      t: 7,
      kind: "fork-failed",
      line: fork,
      what: "aof-rewrite",
      errno: "Cannot allocate memory",
    });
    expect(parseLogLine(pipes ?? "", 8)).toEqual({
      t: 8,
      kind: "pipes-error",
      line: pipes,
      errno: "Numerical result out of range",
    });
    expect(parseLogLine(register ?? "", 9)).toEqual({
      t: 9,
      kind: "register-error",
      line: register,
      errno: "Numerical result out of range",
    });
  });

  it("reads the version from 3.2.8's start line", () => {
    const started = results[0]?.log.find((l) => l.includes("Server started"));
    expect(started).toMatch(/^1:M \d+ [A-Z][a-z]{2} [\d:.]+ # Server started, Redis version 3\.2\.8$/);
    expect(parseLogLine(started ?? "", 0)).toMatchObject({ kind: "started", version: "3.2.8" });
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
