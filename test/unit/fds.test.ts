import { closeSync, openSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { seriesOf } from "../../harness/core/history.js";
import {
  classifyFds,
  FD_FIELDS,
  FdSample,
  fdSamples,
  fdsFromHost,
  fdsProbe,
  hostProcReadable,
  parseFdListing,
} from "../../harness/parts/probes/fds.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { fakeNode } from "../helpers/fake-node.js";
import { recordedResult } from "../helpers/runs.js";

/** `ls -l /proc/1/fd` of a Redis 3.2.8 with AOF on, one client, and leaked rewrite pipes. */
const listing = `total 0
lr-x------ 1 redis redis 64 Nov 26 14:00 0 -> /dev/null
l-wx------ 1 redis redis 64 Nov 26 14:00 1 -> pipe:[100231]
l-wx------ 1 redis redis 64 Nov 26 14:00 2 -> pipe:[100232]
lrwx------ 1 redis redis 64 Nov 26 14:00 3 -> anon_inode:[eventpoll]
lrwx------ 1 redis redis 64 Nov 26 14:00 4 -> socket:[100300]
lrwx------ 1 redis redis 64 Nov 26 14:00 5 -> socket:[100301]
l-wx------ 1 redis redis 64 Nov 26 14:00 6 -> /data/appendonly.aof
lrwx------ 1 redis redis 64 Nov 26 14:00 7 -> socket:[1]
lr-x------ 1 redis redis 64 Nov 26 14:00 8 -> pipe:[12345]
l-wx------ 1 redis redis 64 Nov 26 14:00 9 -> pipe:[12345]
lr-x------ 1 redis redis 64 Nov 26 14:00 10 -> pipe:[12346]
l-wx------ 1 redis redis 64 Nov 26 14:00 11 -> pipe:[12346]
lr-x------ 1 redis redis 64 Nov 26 14:00 12 -> pipe:[12347]
l-wx------ 1 redis redis 64 Nov 26 14:00 13 -> pipe:[12347]
lrwx------ 1 redis redis 64 Nov 26 14:00 15 -> anon_inode:[eventfd]
l-wx------ 1 redis redis 64 Nov 26 14:00 187 -> /data/temp-rewriteaof-bg-12.aof (deleted)
`;

describe("parseFdListing and classifyFds", () => {
  it("reads each fd's number and target, skipping the total line", () => {
    const entries = parseFdListing(listing);
    expect(entries).toHaveLength(16);
    expect(entries[0]).toEqual({ fd: 0, target: "/dev/null" });
    expect(entries.at(-1)).toEqual({ fd: 187, target: "/data/temp-rewriteaof-bg-12.aof (deleted)" });
  });

  it("counts each kind, the total and the highest fd, at the time given", () => {
    expect(classifyFds(parseFdListing(listing), 1234)).toEqual({
      t: 1234,
      total: 16,
      maxFd: 187,
      pipe: 8,
      socket: 3,
      file: 3,
      eventpoll: 1,
      other: 1,
    });
  });

  it("kinds add up to the total and the result is a valid FdSample", () => {
    const sample = classifyFds(parseFdListing(listing), 0);
    expect(sample.pipe + sample.socket + sample.file + sample.eventpoll + sample.other).toBe(sample.total);
    expect(() => FdSample.parse(sample)).not.toThrow();
  });

  it("an empty or unreadable listing is an empty sample with maxFd -1", () => {
    expect(parseFdListing("")).toEqual([]);
    expect(parseFdListing("total 0\nls: cannot open directory '/proc/1/fd': Permission denied\n")).toEqual(
      [],
    );
    expect(classifyFds([], 5)).toEqual({
      t: 5,
      total: 0,
      maxFd: -1,
      pipe: 0,
      socket: 0,
      file: 0,
      eventpoll: 0,
      other: 0,
    });
  });

  it("takes maxFd numerically, not from the last line", () => {
    const text = [
      "lrwx------ 1 redis redis 64 Nov 26 14:00 193 -> pipe:[1]",
      "lrwx------ 1 redis redis 64 Nov 26 14:00 20 -> pipe:[2]",
      "lrwx------ 1 redis redis 64 Nov 26 14:00 3 -> anon_inode:[eventpoll]",
    ].join("\n");
    expect(classifyFds(parseFdListing(text), 0).maxFd).toBe(193);
  });

  it("a fresh 3.2.8 as listed gives the recorded run's first reading: 8 fds, maxFd 7, 2 pipes", () => {
    // stdout/stderr pipes, epoll, 3 sockets, the AOF and /dev/null.
    const fresh = [
      "lr-x------ 1 redis redis 64 Nov 26 14:02 0 -> /dev/null",
      "l-wx------ 1 redis redis 64 Nov 26 14:02 1 -> pipe:[7001]",
      "l-wx------ 1 redis redis 64 Nov 26 14:02 2 -> pipe:[7002]",
      "lrwx------ 1 redis redis 64 Nov 26 14:02 3 -> anon_inode:[eventpoll]",
      "lrwx------ 1 redis redis 64 Nov 26 14:02 4 -> socket:[7003]",
      "lrwx------ 1 redis redis 64 Nov 26 14:02 5 -> socket:[7004]",
      "l-wx------ 1 redis redis 64 Nov 26 14:02 6 -> /data/appendonly.aof",
      "lrwx------ 1 redis redis 64 Nov 26 14:02 7 -> socket:[7005]",
    ].join("\n");
    const [recorded] = fdSamples(recordedResult("seed-3.2.8-vs-fix.json", "3.2.8").history);
    expect(recorded).toBeDefined();
    const { t, ...counts } = recorded ?? ({} as FdSample);
    expect(classifyFds(parseFdListing(fresh), t)).toEqual({ t, ...counts });
    expect(counts).toMatchObject({ total: 8, maxFd: 7, pipe: 2 });
  });
});

describe("the fds probe", () => {
  it("reads the node's fds into one reading of every field, stamped by the run", async () => {
    const probe = fdsProbe();
    expect([probe.name, probe.node, probe.once]).toEqual(["fds", "main", undefined]);
    const node = fakeNode({ fds: async () => parseFdListing(listing) });
    const reading = await probe.read?.(node, () => 99);
    // The time is the recorder's to set (when the reading returns), not a field.
    expect(reading).toEqual({ total: 16, maxFd: 187, pipe: 8, socket: 3, file: 3, eventpoll: 1, other: 1 });
    expect(Object.keys(reading ?? {}).sort()).toEqual([...FD_FIELDS].sort());
  });

  it("reads nothing when the node cannot list its fds now", async () => {
    const node = fakeNode({ fds: async () => undefined });
    expect(await fdsProbe({ name: "replicaFds", node: "replica" }).read?.(node, () => 0)).toBeUndefined();
  });

  it("fdSamples zips the fields read together back into samples, by the probe's name", () => {
    const r = new HistoryRecorder({ event: "fork-failed", node: "main" });
    const reading = (pipe: number) => ({
      total: pipe + 6,
      maxFd: pipe + 5,
      pipe,
      socket: 3,
      file: 2,
      eventpoll: 1,
      other: 0,
    });
    r.reading("fds", 100, reading(2));
    r.reading("fds", 200, reading(8));
    r.reading("replicaFds", 150, reading(4));
    expect(fdSamples(r.history)).toEqual([
      { t: 100, ...reading(2) },
      { t: 200, ...reading(8) },
    ]);
    expect(fdSamples(r.history, "replicaFds")).toEqual([{ t: 150, ...reading(4) }]);
    expect(fdSamples(r.history, "none")).toEqual([]);
  });

  it("the recorded run's samples come back whole: every field has as many readings as the total", () => {
    const { history } = recordedResult("seed-3.2.8-vs-fix.json", "3.2.8");
    const samples = fdSamples(history);
    expect(samples).toHaveLength(seriesOf(history, "fds.total").length);
    for (const field of FD_FIELDS) expect(seriesOf(history, `fds.${field}`)).toHaveLength(samples.length);
    expect(samples.every((s) => s.pipe + s.socket + s.file + s.eventpoll + s.other === s.total)).toBe(true);
  });
});

describe("reading fds from the host's /proc", () => {
  it("lists this process's own fds, a file it opened among them", async () => {
    const file = fileURLToPath(import.meta.url);
    const fd = openSync(file, "r");
    try {
      const entries = await fdsFromHost(process.pid);
      expect(entries).toBeDefined();
      expect(entries?.find((e) => e.fd === fd)?.target).toBe(file);
      expect(await hostProcReadable(process.pid)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it("says nothing for a process that does not exist", async () => {
    // Above the kernel's largest pid (4194304).
    expect(await fdsFromHost(4_194_305)).toBeUndefined();
    expect(await hostProcReadable(4_194_305)).toBe(false);
  });
});
