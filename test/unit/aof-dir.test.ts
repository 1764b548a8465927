import { describe, expect, it } from "vitest";
import { type AofDirInput, decideAofDir } from "../../harness/checkers/aof-dir.js";
import { Decision, failedForks } from "../../harness/checkers/fd-leak.js";
import { type AofDirSample, parseAofDirListing } from "../../harness/probes/aof-dir.js";
import type { LogEvent } from "../../harness/probes/log.js";
import { checkerInput, recordedBefore, recordedResult } from "../helpers/runs.js";

const result = recordedResult("aof-dir-7.0.15.json", "7.0.15");
const timeLimit = { reason: "time-limit", detail: "time limit 60 s" } as const;

function decided(input: AofDirInput): Decision {
  const decision = decideAofDir(input);
  if (!decision) throw new Error("expected a decision, got undefined");
  expect(() => Decision.parse(decision)).not.toThrow();
  return decision;
}

/** What `ls -ln` prints for a 7.0 AOF directory after a few failed rewrites (sizes right-aligned). */
const listing = `total 164
-rw-r--r-- 1 999 999     89 Nov 26 14:10 appendonly.aof.1.base.rdb
-rw-r--r-- 1 999 999 158913 Nov 26 14:10 appendonly.aof.1.incr.aof
-rw-r--r-- 1 999 999      0 Nov 26 14:10 appendonly.aof.10.incr.aof
-rw-r--r-- 1 999 999      0 Nov 26 14:10 appendonly.aof.9.incr.aof
-rw-r--r-- 1 999 999    486 Nov 26 14:10 appendonly.aof.manifest
`;

describe("parseAofDirListing", () => {
  it("counts base, incr and empty incr files, the manifest's bytes and the total", () => {
    expect(parseAofDirListing(listing, 1234)).toEqual({
      t: 1234,
      files: 5,
      base: 1,
      incr: 3,
      emptyIncr: 2,
      manifestBytes: 486,
      totalBytes: 89 + 158913 + 0 + 0 + 486,
    });
  });

  it("ignores the total line, blank lines, directories and symlinks", () => {
    const noisy = [
      "total 164",
      "",
      "drwxr-xr-x 2 999 999   4096 Nov 26 14:10 old",
      "lrwxrwxrwx 1 999 999     24 Nov 26 14:10 latest -> appendonly.aof.1.incr.aof",
      listing,
      "",
    ].join("\n");
    expect(parseAofDirListing(noisy, 0)).toEqual(parseAofDirListing(listing, 0));
  });

  it("a single line with single spaces, as the header says", () => {
    expect(
      parseAofDirListing("-rw-r--r-- 1 999 999 158913 Nov 26 14:10 appendonly.aof.1.incr.aof", 5),
    ).toMatchObject({ files: 1, incr: 1, emptyIncr: 0, base: 0, totalBytes: 158913 });
  });

  it("an AOF base (no RDB preamble), a dated older file and a rewrite's temp file", () => {
    const text = [
      "-rw-r--r-- 1 999 999 2048 Nov 26  2025 appendonly.aof.3.base.aof",
      "-rw-r--r-- 1 999 999  100 Nov 26 14:10 temp-rewriteaof-bg-42.aof",
      "-rw-r--r-- 1 999 999   88 Nov 26 14:10 appendonly.aof.manifest",
    ].join("\n");
    expect(parseAofDirListing(text, 0)).toEqual({
      t: 0,
      files: 3,
      base: 1,
      incr: 0,
      emptyIncr: 0,
      manifestBytes: 88,
      totalBytes: 2236,
    });
  });

  it("an empty listing (empty directory, or only the total line) is all zeros", () => {
    const zero = { t: 7, files: 0, base: 0, incr: 0, emptyIncr: 0, manifestBytes: 0, totalBytes: 0 };
    expect(parseAofDirListing("", 7)).toEqual(zero);
    expect(parseAofDirListing("total 0\n", 7)).toEqual(zero);
  });

  it("the recorded samples are consistent: base + incr + manifest files, empty incr ≤ incr", () => {
    expect(result.aofSamples.length).toBeGreaterThan(3);
    for (const s of result.aofSamples) {
      expect(s.files).toBe(s.base + s.incr + 1);
      expect(s.emptyIncr).toBeLessThanOrEqual(s.incr);
      expect(s.manifestBytes).toBeGreaterThan(0);
    }
  });
});

describe("decideAofDir on the recorded 7.0.15 run", () => {
  it("is growing: at least 0.8 new files per failed fork", () => {
    const decision = decided(checkerInput(result));
    expect(decision.verdict).toBe("growing");
    expect(decision.aof?.incrPerAttempt ?? 0).toBeGreaterThanOrEqual(0.8);
    expect(decision.aof).toMatchObject({ filesBefore: 4, filesAfter: 14 });
    expect(decision.reason).toContain("the AOF directory gained 10 files");
    // fd evidence is kept too: 7.0.15 leaks no fds.
    expect(decision.evidence.fdsPerAttempt).toBe(0);
  });

  it("replayed on what the run had seen at its last directory sample: the recorded decision", () => {
    const last = result.aofSamples.at(-1)?.t ?? 0;
    expect(decided(checkerInput(result, recordedBefore(result, last + 1)))).toEqual(result.decision);
  });

  it("stays growing once the run has ended by the time limit", () => {
    expect(decided(checkerInput(result, { ended: timeLimit })).verdict).toBe("growing");
  });

  it("undecided while running after only a few failed forks", () => {
    const fourth = failedForks(result.events)[3]?.t ?? 0;
    const cut = recordedBefore(result, fourth + 1);
    expect(failedForks(cut.events)).toHaveLength(4);
    expect(decideAofDir(checkerInput(result, cut))).toBeUndefined();
    const ended = decided(checkerInput(result, { ...cut, ended: timeLimit }));
    expect(ended.verdict).toBe("inconclusive");
    expect(ended.reason).toBe("4 failed forks, the AOF directory went from 4 to 6 files (time limit 60 s)");
  });

  it("container exited: inconclusive, container died", () => {
    const decision = decided(
      checkerInput(result, { ended: { reason: "container-exited", detail: "exit code 137 (OOM killed)" } }),
    );
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toBe("container died: exit code 137 (OOM killed)");
  });

  it("no directory sample: undecided while running, inconclusive once ended", () => {
    expect(decideAofDir(checkerInput(result, { aofSamples: [] }))).toBeUndefined();
    const decision = decided(checkerInput(result, { aofSamples: [], ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toContain("the AOF directory could not be read");
    expect(decision.aof).toMatchObject({ filesBefore: null, filesAfter: null, incrPerAttempt: null });
  });

  it("directory samples but no failed fork: inconclusive, no fork failure seen", () => {
    const events = result.events.filter((e) => e.kind !== "fork-failed");
    expect(decideAofDir(checkerInput(result, { events }))).toBeUndefined();
    const decision = decided(checkerInput(result, { events, ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toBe("no fork failure seen before the run ended (time limit 60 s)");
  });
});

/**
 * A directory that keeps its file count (a build that removes the incr file when fork fails), derived
 * from the recorded run: its failed forks repeated to past the budget, its first sample held flat.
 */
function flatRun(rounds: number, files: (i: number) => number = () => 0) {
  const recorded = failedForks(result.events);
  const first = recorded[0]?.t ?? 0;
  const span = (recorded.at(-1)?.t ?? 0) - first + 100;
  const events: LogEvent[] = [];
  for (let r = 0; r < rounds; r++) for (const e of recorded) events.push({ ...e, t: e.t + r * span });
  const start = result.aofSamples[0];
  if (!start) throw new Error("no directory sample");
  const end = (events.at(-1)?.t ?? 0) + 50;
  const aofSamples: AofDirSample[] = [];
  for (let t = start.t, i = 0; t <= end; t += 200, i++)
    aofSamples.push({ ...start, t, files: start.files + files(i) });
  return { events, aofSamples };
}

describe("decideAofDir on a flat directory derived from the recorded run", () => {
  it("the derived run has at least 30 failed forks, sampled past the last one", () => {
    const { events, aofSamples } = flatRun(2);
    const attempts = failedForks(events).length;
    expect(attempts).toBeGreaterThanOrEqual(30);
    expect(failedForks(events, aofSamples.at(-1)?.t).length).toBe(attempts);
  });

  it("same file count over ≥ 30 failed forks: stable", () => {
    const decision = decided(checkerInput(result, flatRun(2)));
    expect(decision.verdict).toBe("stable");
    expect(decision.reason).toMatch(/^the AOF directory kept 4 files over \d+ failed forks$/);
    expect(decision.aof).toMatchObject({ filesBefore: 4, filesAfter: 4, incrPerAttempt: 0 });
  });

  it("one extra file (a rewrite's temp file) is still stable; two is not", () => {
    const one = flatRun(2, (i) => (i > 3 ? 1 : 0));
    expect(decided(checkerInput(result, one)).verdict).toBe("stable");
    const two = flatRun(2, (i) => (i > 3 ? 2 : 0));
    expect(decideAofDir(checkerInput(result, two))).toBeUndefined();
    expect(decided(checkerInput(result, { ...two, ended: timeLimit })).verdict).toBe("inconclusive");
  });

  it("fewer failed forks than the budget: undecided while running, inconclusive once ended", () => {
    const { events, aofSamples } = flatRun(2);
    const cut = failedForks(events)[28]?.t ?? 0;
    const input = {
      events: events.filter((e) => e.t <= cut),
      aofSamples: aofSamples.filter((s) => s.t <= cut + 50),
    };
    expect(failedForks(input.events)).toHaveLength(29);
    expect(decideAofDir(checkerInput(result, input))).toBeUndefined();
    expect(decided(checkerInput(result, { ...input, ended: timeLimit })).verdict).toBe("inconclusive");
  });

  it("stable needs a directory sample after the budget's last failed fork, not only before it", () => {
    const { events, aofSamples } = flatRun(2);
    const tenth = failedForks(events)[9]?.t ?? 0;
    const early = aofSamples.filter((s) => s.t <= tenth);
    expect(failedForks(events).length).toBeGreaterThanOrEqual(30);
    // The directory was last read after 10 failed forks: it says nothing of the 20 after them.
    expect(decideAofDir(checkerInput(result, { events, aofSamples: early }))).toBeUndefined();
  });
});
