import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DirEntry } from "../../harness/core/node.js";
import { aofDirProbe } from "../../harness/parts/probes/aof-dir.js";
import { CommandProbeSpec, commandProbe } from "../../harness/parts/probes/command.js";
import { configProbe } from "../../harness/parts/probes/config.js";
import { connectProbe, connectResults, freshClient } from "../../harness/parts/probes/connect.js";
import { dirProbe, listDirFromHost } from "../../harness/parts/probes/dir.js";
import { ProbeSpec, probeFrom } from "../../harness/parts/probes/index.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { fakeNode } from "../helpers/fake-node.js";

/** 7.0.15's appendonlydir after three failed rewrites: one base, four incr files (three empty). */
const appendonlydir: DirEntry[] = [
  { name: "appendonly.aof.1.base.rdb", size: 88 },
  { name: "appendonly.aof.1.incr.aof", size: 98_313 },
  { name: "appendonly.aof.2.incr.aof", size: 0 },
  { name: "appendonly.aof.3.incr.aof", size: 0 },
  { name: "appendonly.aof.4.incr.aof", size: 0 },
  { name: "appendonly.aof.manifest", size: 176 },
];

const now = () => 0;

describe("the probes' data forms", () => {
  it("fill in each probe's default name and the main node", () => {
    const parsed = [
      { probe: "fds" },
      { probe: "dir", path: "/data" },
      { probe: "aof-dir" },
      { probe: "info", fields: ["role"] },
      { probe: "connect" },
      { probe: "config", parameters: ["maxclients"] },
    ].map((p) => ProbeSpec.parse(p));
    expect(parsed.map((p) => [p.probe, p.name, p.node])).toEqual([
      ["fds", "fds", "main"],
      ["dir", "dir", "main"],
      ["aof-dir", "aofdir", "main"],
      ["info", "info", "main"],
      ["connect", "connect", "main"],
      ["config", "config", "main"],
    ]);
    expect(ProbeSpec.parse({ probe: "aof-dir" })).toMatchObject({ path: "/data/appendonlydir" });
    expect(ProbeSpec.parse({ probe: "connect" })).toMatchObject({ everyMs: 1_000 });
  });

  it("make the probe objects they name, on the node they name; config reads once, the others every tick", () => {
    const specs = [
      { probe: "fds", node: "replica" },
      { probe: "dir", name: "tmp", path: "/data", pattern: "^temp-" },
      { probe: "aof-dir" },
      { probe: "info", fields: ["role"] },
      { probe: "connect" },
      { probe: "config", parameters: ["hz"] },
      { probe: "command", name: "ping", args: ["PING"] },
    ];
    const probes = specs.map((s) => probeFrom(ProbeSpec.parse(s)));
    expect(probes.map((p) => [p.name, p.node, p.once ?? false])).toEqual([
      ["fds", "replica", false],
      ["tmp", "main", false],
      ["aofdir", "main", false],
      ["info", "main", false],
      ["connect", "main", false],
      ["config", "main", true],
      ["ping", "main", false],
    ]);
    expect(probes.every((p) => typeof p.read === "function")).toBe(true);
  });

  it("refuse a relative path, a bad name, an empty parameter list", () => {
    expect(ProbeSpec.safeParse({ probe: "dir", path: "data" }).success).toBe(false);
    expect(ProbeSpec.safeParse({ probe: "fds", name: "1fds" }).success).toBe(false);
    expect(ProbeSpec.safeParse({ probe: "config", parameters: [] }).success).toBe(false);
    expect(ProbeSpec.safeParse({ probe: "fds", extra: 1 }).success).toBe(false);
  });
});

describe("the directory probes", () => {
  it("dir reads the files whose names match: how many, their bytes, the empty ones", async () => {
    const seen: string[] = [];
    const node = fakeNode({
      listDir: async (path) => {
        seen.push(path);
        return appendonlydir;
      },
    });
    const probe = dirProbe({ name: "incr", path: "/data/appendonlydir", pattern: "\\.incr\\.aof$" });
    expect(await probe.read?.(node, now)).toEqual({ files: 4, bytes: 98_313, emptyFiles: 3 });
    expect(seen).toEqual(["/data/appendonlydir"]);
    expect(await dirProbe({ path: "/data" }).read?.(node, now)).toEqual({
      files: 6,
      bytes: 98_577,
      emptyFiles: 3,
    });
  });

  it("aof-dir reads 7.x's multi-part AOF directory", async () => {
    const node = fakeNode({ listDir: async () => appendonlydir });
    expect(await aofDirProbe().read?.(node, now)).toEqual({
      files: 6,
      base: 1,
      incr: 4,
      emptyIncr: 3,
      manifestBytes: 176,
      totalBytes: 98_577,
    });
  });

  it("a directory that does not exist (yet) reads nothing", async () => {
    const node = fakeNode({ listDir: async () => undefined });
    expect(await dirProbe({ path: "/data/appendonlydir" }).read?.(node, now)).toBeUndefined();
    expect(await aofDirProbe().read?.(node, now)).toBeUndefined();
  });

  describe("listDirFromHost", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "redis-repro-dir-"));
      await writeFile(join(dir, "appendonly.aof.1.incr.aof"), "x".repeat(10));
      await writeFile(join(dir, "appendonly.aof.2.incr.aof"), "");
      await mkdir(join(dir, "sub"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("lists the regular files under a process's root (here: this process's, whose root is /)", async () => {
      const entries = await listDirFromHost(process.pid, dir);
      expect(entries?.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
        { name: "appendonly.aof.1.incr.aof", size: 10 },
        { name: "appendonly.aof.2.incr.aof", size: 0 },
      ]);
      expect(await listDirFromHost(process.pid, join(dir, "missing"))).toBeUndefined();
    });
  });
});

describe("the config probe", () => {
  it("reads each parameter through the kept connection, numbers only", async () => {
    const asked: string[] = [];
    const connection = {
      config: async (_get: string, name: string) => {
        asked.push(name);
        return (
          (
            { maxclients: ["maxclients", "64"], hz: ["hz", "10"], dir: ["dir", "/data"] } as Record<
              string,
              string[]
            >
          )[name] ?? []
        );
      },
    } as unknown as Redis;
    const node = fakeNode({ connection: async () => connection });
    const probe = configProbe({ parameters: ["maxclients", "hz", "dir", "no-such-parameter"] });
    expect(await probe.read?.(node, now)).toEqual({ maxclients: 64, hz: 10 });
    expect(asked).toEqual(["maxclients", "hz", "dir", "no-such-parameter"]);
  });
});

describe("the connect probe", () => {
  let closedPort: number;
  beforeAll(async () => {
    // A port nothing listens on: a server's, closed again.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closedPort = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("is due when its interval has passed since its last reading", () => {
    const probe = connectProbe({ everyMs: 1_000 });
    const r = new HistoryRecorder({ event: "fork-failed", node: "main" });
    const at = (now: number) => probe.due?.(r.history, { now, attemptsNeeded: 30 });
    expect(at(0)).toBe(true);
    r.reading("connect", 0, { ok: { v: 1 } });
    expect(at(999)).toBe(false);
    expect(at(1_000)).toBe(true);
  });

  it("a checker's own timing decides, told whether the interval has passed", () => {
    const told: boolean[] = [];
    const probe = connectProbe({
      due: (_h, context) => {
        told.push(context.interval);
        return context.now >= 5_000;
      },
    });
    const r = new HistoryRecorder({ event: "fork-failed", node: "main" });
    r.reading("connect", 4_500, { ok: { v: 1 } });
    expect(probe.due?.(r.history, { now: 4_900, attemptsNeeded: 30 })).toBe(false);
    expect(probe.due?.(r.history, { now: 5_000, attemptsNeeded: 30 })).toBe(true);
    expect(told).toEqual([false, false]);
  });

  it("a connection that fails is a 0 with the client's error as its text, at once (no retry)", async () => {
    const node = fakeNode({ port: closedPort });
    // ioredis, retrying nothing, says "Connection is closed." for a refusal as for a full event loop.
    expect(await connectProbe().read?.(node, now)).toEqual({ ok: { v: 0, text: "Connection is closed." } });
    expect(await freshClient("127.0.0.1", closedPort)).toEqual({ ok: false, error: "Connection is closed." });
  });

  it("connectResults reads the probe's series back as results", () => {
    const r = new HistoryRecorder({ event: "fork-failed", node: "main" });
    r.reading("connect", 100, { ok: { v: 1 } });
    r.reading("connect", 200, { ok: { v: 0, text: "Connection is closed." } });
    expect(connectResults(r.history)).toEqual([
      { t: 100, ok: true },
      { t: 200, ok: false, error: "Connection is closed." },
    ]);
    expect(connectResults(r.history, "other")).toEqual([]);
  });
});

describe("the command probe", () => {
  /** A fresh client as node.client() gives one: answers as told, and says whether it was closed. */
  function clientNode(answer: () => Promise<unknown>) {
    const calls: string[][] = [];
    let disconnected = 0;
    const node = fakeNode({
      client: () =>
        ({
          connect: async () => undefined,
          call: async (...args: string[]) => {
            calls.push(args);
            return answer();
          },
          disconnect: () => {
            disconnected++;
          },
        }) as unknown as Redis,
    });
    return { node, calls, disconnected: () => disconnected };
  }

  it("its data form needs a name (the series says what it asks) and a command", () => {
    expect(CommandProbeSpec.parse({ probe: "command", name: "dbsize", args: ["DBSIZE"] })).toEqual({
      probe: "command",
      name: "dbsize",
      args: ["DBSIZE"],
      node: "main",
    });
    expect(ProbeSpec.safeParse({ probe: "command", args: ["DBSIZE"] }).success).toBe(false);
    expect(ProbeSpec.safeParse({ probe: "command", name: "x", args: [] }).success).toBe(false);
  });

  it("a reply is ok 1 with its text, a number also as the value; the fresh client is closed", async () => {
    const numeric = clientNode(async () => 600);
    const reading = await commandProbe({ name: "dbsize", args: ["DBSIZE"] }).read?.(numeric.node, now);
    expect(reading).toEqual({ ok: { v: 1, text: "600" }, value: 600, ms: expect.any(Number) });
    expect(numeric.calls).toEqual([["DBSIZE"]]);
    expect(numeric.disconnected()).toBe(1);
    const listed = clientNode(async () => ["lua-time-limit", "5000"]);
    const config = commandProbe({ name: "limit", args: ["CONFIG", "GET", "lua-time-limit"] });
    expect(await config.read?.(listed.node, now)).toEqual({
      ok: { v: 1, text: '["lua-time-limit","5000"]' },
      ms: expect.any(Number),
    });
    expect(listed.calls).toEqual([["CONFIG", "GET", "lua-time-limit"]]);
  });

  it("an error reply or no answer is ok 0 with the error's text, and the client is closed all the same", async () => {
    const busy = clientNode(async () => {
      throw new Error("BUSY Redis is busy running a script.");
    });
    expect(await commandProbe({ name: "ping", args: ["PING"] }).read?.(busy.node, now)).toEqual({
      ok: { v: 0, text: "BUSY Redis is busy running a script." },
      ms: expect.any(Number),
    });
    expect(busy.disconnected()).toBe(1);
  });

  it("every tick by default; with everyMs, when that long has passed since its last reading", () => {
    const r = new HistoryRecorder({ event: "fork-failed", node: "main" });
    expect(commandProbe({ name: "ping", args: ["PING"] }).due).toBeUndefined();
    const slow = commandProbe({ name: "ping", args: ["PING"], everyMs: 500 });
    expect(slow.due?.(r.history, { now: 0, attemptsNeeded: 1 })).toBe(true);
    r.reading("ping", 100, { ok: { v: 1, text: "PONG" } });
    expect(slow.due?.(r.history, { now: 599, attemptsNeeded: 1 })).toBe(false);
    expect(slow.due?.(r.history, { now: 600, attemptsNeeded: 1 })).toBe(true);
  });
});
