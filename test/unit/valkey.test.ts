import { describe, expect, it } from "vitest";
import { crashText } from "../../harness/engine/failure.js";
import { parseLogLine } from "../../harness/parts/probes/log.js";
import { serverFromHeader, versionFromHeader } from "../../harness/targets/git.js";
import { checkPatches, loadPatches, parseAppliesTo } from "../../harness/targets/patches.js";
import { serverProgram, serverTitle } from "../../harness/targets/server.js";
import { userError } from "../helpers/errors.js";

/** Lines of valkey-server 9.1.2 (deb:valkey/9.1.2) under aof-dir-growth-enomem, 2026-12-04. */
const valkeyLog = [
  "1:M 04 Dec 2026 18:43:02.874 * oO0OoO0OoO0Oo Valkey is starting oO0OoO0OoO0Oo",
  "1:M 04 Dec 2026 18:43:02.874 * Valkey version=9.1.2, bits=64, commit=00000000, modified=0, pid=1, just started",
  "1:M 04 Dec 2026 18:43:03.012 * Ready to accept connections tcp",
  "1:M 04 Dec 2026 18:41:26.620 * Starting automatic rewriting of AOF on 100% growth",
  "1:M 04 Dec 2026 18:41:26.621 * Creating AOF incr file appendonly.aof.2.incr.aof on background rewrite",
  "1:M 04 Dec 2026 18:41:26.721 # Can't rewrite append only file in background: fork: Cannot allocate memory",
];

describe("Valkey's log, parsed by the same rules as Redis's", () => {
  it("its start line names the server and its own version", () => {
    expect(parseLogLine(valkeyLog[1] ?? "", 5)).toEqual({
      t: 5,
      node: "main",
      kind: "started",
      line: valkeyLog[1],
      version: "9.1.2",
      server: "valkey",
    });
    expect(parseLogLine(valkeyLog[0] ?? "", 0)).toBeUndefined();
  });

  it("the ready, auto-rewrite, incr-file and fork-failed lines are Redis's", () => {
    expect(valkeyLog.slice(2).map((l) => parseLogLine(l, 0)?.kind)).toEqual([
      "ready",
      "auto-rewrite",
      "incr-file",
      "fork-failed",
    ]);
    expect(parseLogLine(valkeyLog[5] ?? "", 0)).toMatchObject({
      what: "aof-rewrite",
      errno: "Cannot allocate memory",
    });
  });

  it("a Redis start line carries no server field (as every run recorded before Valkey)", () => {
    const line =
      "1:C 26 Nov 2026 13:01:25.706 # Redis version=8.0.6, bits=64, commit=00000000, modified=0, pid=1, just started";
    expect(parseLogLine(line, 0)).not.toHaveProperty("server");
  });
});

describe("src/version.h", () => {
  const valkey =
    '#define SERVER_NAME "valkey"\n#define VALKEY_VERSION "9.1.2"\n#define REDIS_VERSION "7.2.4"\n';
  it("Valkey's own version wins over its Redis compatibility version", () => {
    expect(versionFromHeader(valkey)).toBe("9.1.2");
    expect(serverFromHeader(valkey)).toBe("valkey");
  });
  it("Redis's header is Redis", () => {
    expect(versionFromHeader('#define REDIS_VERSION "8.0.6"\n')).toBe("8.0.6");
    expect(serverFromHeader('#define REDIS_VERSION "8.0.6"\n')).toBe("redis");
  });
});

describe("patches name their server", () => {
  it("reads the server word of Applies to, and none means redis", () => {
    expect(parseAppliesTo("Applies to: valkey 8.0.0 .. 9.1.2\n")).toEqual({
      server: "valkey",
      from: "8.0.0",
      to: "9.1.2",
    });
    expect(parseAppliesTo("Applies to: 3.2.0 .. 3.2.8\n")).toEqual({ from: "3.2.0", to: "3.2.8" });
  });

  it("the project's two count-failed-aof-fork patches: one per server, each refused on the other", async () => {
    const [redis, valkey] = await loadPatches(["count-failed-aof-fork", "count-failed-aof-fork-valkey"]);
    expect(redis?.appliesTo).toEqual({ server: "redis", from: "7.0.0", to: "8.6.3" });
    expect(valkey?.appliesTo).toEqual({ server: "valkey", from: "8.0.0", to: "9.1.2" });
    if (!redis || !valkey) throw new Error("both patches expected");
    // The lines each patch changes, as they read in Redis 8.0.6 and Valkey 9.1.2.
    const redisAof = [
      "        /* Parent */",
      "        if (childpid == -1) {",
      "            server.aof_lastbgrewrite_status = C_ERR;",
      "            serverLog(LL_WARNING,",
      '                "Can\'t rewrite append only file in background: fork: %s",',
      "                strerror(errno));",
      "            return C_ERR;",
      "        }",
      "",
    ].join("\n");
    const valkeyAof = [
      "        /* Parent */",
      "        if (childpid == -1) {",
      "            server.aof_lastbgrewrite_status = C_ERR;",
      '            serverLog(LL_WARNING, "Can\'t rewrite append only file in background: fork: %s", strerror(errno));',
      "            return C_ERR;",
      "        }",
      "",
    ].join("\n");
    const files = (text: string) => new Map([["src/aof.c", Buffer.from(text)]]);
    expect(() => checkPatches("8.0.6", [redis], files(redisAof), "redis 8.0.6", "redis")).not.toThrow();
    expect(() => checkPatches("9.1.2", [valkey], files(valkeyAof), "valkey 9.1.2", "valkey")).not.toThrow();
    // Redis's hunk does not match Valkey's reformatted call, and the header says why before that matters.
    expect(
      userError(() => checkPatches("9.1.2", [redis], files(redisAof), "valkey 9.1.2", "valkey")).message,
    ).toBe(
      "patch count-failed-aof-fork is written for redis 7.0.0..8.6.3, not valkey 9.1.2: pick one written for valkey (docker/patches/ names a fix NAME for Redis and NAME-valkey for Valkey where the two differ)",
    );
    expect(
      userError(() => checkPatches("8.0.6", [valkey], files(valkeyAof), "redis 8.0.6", "redis")).message,
    ).toMatch(
      /^patch count-failed-aof-fork-valkey is written for valkey 8\.0\.0\.\.9\.1\.2, not redis 8\.0\.6/,
    );
    expect(
      userError(() => checkPatches("8.6.4", [redis], files(redisAof), "redis 8.6.4", "redis")).message,
    ).toMatch(/written for redis 7\.0\.0\.\.8\.6\.3, not 8\.6\.4/);
  });
});

describe("server names", () => {
  it("program and title", () => {
    expect(serverProgram("valkey")).toBe("valkey-server");
    expect(serverProgram(undefined)).toBe("redis-server");
    expect(serverTitle("valkey", "9.1.2")).toBe("valkey 9.1.2");
    expect(serverTitle(null, null)).toBe("redis ?");
  });
});

describe("a crash report in the log", () => {
  /** Valkey 9.1.2's master in repl-diskless-pipe-leak-enomem, on its second sync attempt (2026-12-04). */
  const crash = [
    "1:M 04 Dec 2026 19:46:38.527 # Can't save in background: fork: Cannot allocate memory",
    "1:M 04 Dec 2026 19:46:39.354 * Starting BGSAVE for SYNC with target: replicas sockets using: normal sync",
    "=== VALKEY BUG REPORT START: Cut & paste starting from here ===",
    "1:M 04 Dec 2026 19:46:39.398 # === ASSERTION FAILED ===",
    "1:M 04 Dec 2026 19:46:39.398 # ==> rdb.c:3776 'server.rdb_pipe_read == -1 && server.rdb_child_exit_pipe == -1' is not true",
  ];

  it("names the failed assertion, else the signal, and nothing for a log without a report", () => {
    expect(crashText(crash)).toBe(
      "assertion failed: rdb.c:3776 'server.rdb_pipe_read == -1 && server.rdb_child_exit_pipe == -1' is not true",
    );
    expect(
      crashText([
        "=== REDIS BUG REPORT START: Cut & paste starting from here ===",
        "1:M # Redis 7.0.15 crashed by signal: 11, si_code: 1",
      ]),
    ).toBe("crashed by signal 11");
    expect(crashText(crash.slice(0, 2))).toBeUndefined();
  });
});
