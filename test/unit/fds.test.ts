import { describe, expect, it } from "vitest";
import { FdSample, parseFdListing } from "../../harness/parts/probes/fds.js";
import { seedSeries } from "../helpers/seed-data.js";

/** `ls -l /proc/1/fd` of a Redis 3.2.8 with AOF on, one client, and one leaked rewrite attempt. */
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

describe("parseFdListing", () => {
  it("counts each kind, the total and the highest fd", () => {
    expect(parseFdListing(listing, 1234)).toEqual({
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
    const sample = parseFdListing(listing, 0);
    expect(sample.pipe + sample.socket + sample.file + sample.eventpoll + sample.other).toBe(sample.total);
    expect(() => FdSample.parse(sample)).not.toThrow();
  });

  it("reproduces the recorded seed baseline: 8 fds, maxFd 7, 2 pipes", () => {
    // The shape of a fresh 3.2.8 from the recorded run: stdout/stderr pipes, epoll, 3 sockets, 2 files.
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
    const recorded = seedSeries()[0]?.samples[0];
    expect(recorded).toBeDefined();
    const { t: _t, ...counts } = recorded ?? ({} as FdSample);
    const { t: _u, ...parsed } = parseFdListing(fresh, 0);
    expect(parsed).toEqual(counts);
  });

  it("an empty or unreadable listing is an empty sample with maxFd -1", () => {
    expect(parseFdListing("", 5)).toEqual({
      t: 5,
      total: 0,
      maxFd: -1,
      pipe: 0,
      socket: 0,
      file: 0,
      eventpoll: 0,
      other: 0,
    });
    expect(
      parseFdListing("total 0\nls: cannot open directory '/proc/1/fd': Permission denied\n", 5).total,
    ).toBe(0);
  });

  it("takes maxFd numerically, not from the last line", () => {
    const text = [
      "lrwx------ 1 redis redis 64 Nov 26 14:00 193 -> pipe:[1]",
      "lrwx------ 1 redis redis 64 Nov 26 14:00 20 -> pipe:[2]",
      "lrwx------ 1 redis redis 64 Nov 26 14:00 3 -> anon_inode:[eventpoll]",
    ].join("\n");
    expect(parseFdListing(text, 0).maxFd).toBe(193);
  });
});
