import { describe, expect, it } from "vitest";
import { type AofDirInput, decideAofDir } from "../../harness/checkers/aof-dir.js";
import { Decision } from "../../harness/checkers/fd-leak.js";
import { attemptsUntil, type Point, seriesOf } from "../../harness/history.js";
import { summariseAofDir } from "../../harness/probes/aof-dir.js";
import { parseDirListing, summariseDir } from "../../harness/probes/dir.js";
import type { LogEvent } from "../../harness/probes/log.js";
import { aofDirInput, attemptsOf, recordedBefore, recordedResult } from "../helpers/runs.js";

const result = recordedResult("aof-dir-7.0.15.json", "7.0.15");
const files = seriesOf(result, "aofdir.files");
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

const aofDir = (text: string) => summariseAofDir(parseDirListing(text));

describe("parseDirListing", () => {
  it("gives each regular file's name and size", () => {
    expect(parseDirListing(listing)).toEqual([
      { name: "appendonly.aof.1.base.rdb", size: 89 },
      { name: "appendonly.aof.1.incr.aof", size: 158913 },
      { name: "appendonly.aof.10.incr.aof", size: 0 },
      { name: "appendonly.aof.9.incr.aof", size: 0 },
      { name: "appendonly.aof.manifest", size: 486 },
    ]);
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
    expect(parseDirListing(noisy)).toEqual(parseDirListing(listing));
  });

  it("a single line with single spaces, and a dated older file", () => {
    expect(parseDirListing("-rw-r--r-- 1 999 999 158913 Nov 26 14:10 appendonly.aof.1.incr.aof")).toEqual([
      { name: "appendonly.aof.1.incr.aof", size: 158913 },
    ]);
    expect(parseDirListing("-rw-r--r-- 1 999 999 2048 Nov 26  2025 appendonly.aof.3.base.aof")).toEqual([
      { name: "appendonly.aof.3.base.aof", size: 2048 },
    ]);
  });

  it("an empty listing (empty directory, or only the total line) has no file", () => {
    expect(parseDirListing("")).toEqual([]);
    expect(parseDirListing("total 0\n")).toEqual([]);
  });
});

describe("summariseDir", () => {
  it("counts the files whose names match, their bytes and the empty ones", () => {
    const entries = parseDirListing(listing);
    expect(summariseDir(entries)).toEqual({ files: 5, bytes: 89 + 158913 + 486, emptyFiles: 2 });
    expect(summariseDir(entries, /\.incr\.aof$/)).toEqual({ files: 3, bytes: 158913, emptyFiles: 2 });
    expect(summariseDir(entries, /^temp-/)).toEqual({ files: 0, bytes: 0, emptyFiles: 0 });
  });
});

describe("summariseAofDir", () => {
  it("counts base, incr and empty incr files, the manifest's bytes and the total", () => {
    expect(aofDir(listing)).toEqual({
      files: 5,
      base: 1,
      incr: 3,
      emptyIncr: 2,
      manifestBytes: 486,
      totalBytes: 89 + 158913 + 0 + 0 + 486,
    });
  });

  it("an AOF base (no RDB preamble), a dated older file and a rewrite's temp file", () => {
    const text = [
      "-rw-r--r-- 1 999 999 2048 Nov 26  2025 appendonly.aof.3.base.aof",
      "-rw-r--r-- 1 999 999  100 Nov 26 14:10 temp-rewriteaof-bg-42.aof",
      "-rw-r--r-- 1 999 999   88 Nov 26 14:10 appendonly.aof.manifest",
    ].join("\n");
    expect(aofDir(text)).toEqual({
      files: 3,
      base: 1,
      incr: 0,
      emptyIncr: 0,
      manifestBytes: 88,
      totalBytes: 2236,
    });
  });

  it("an empty listing is all zeros", () => {
    const zero = { files: 0, base: 0, incr: 0, emptyIncr: 0, manifestBytes: 0, totalBytes: 0 };
    expect(aofDir("")).toEqual(zero);
    expect(aofDir("total 0\n")).toEqual(zero);
  });

  it("the recorded series are consistent: base + incr + manifest files, empty incr ≤ incr", () => {
    const field = (name: string) => seriesOf(result, `aofdir.${name}`);
    expect(files.length).toBeGreaterThan(3);
    files.forEach((point, i) => {
      const at = (name: string) => {
        const p = field(name)[i];
        expect(p?.t).toBe(point.t);
        return p?.v ?? Number.NaN;
      };
      expect(point.v).toBe(at("base") + at("incr") + 1);
      expect(at("emptyIncr")).toBeLessThanOrEqual(at("incr"));
      expect(at("manifestBytes")).toBeGreaterThan(0);
    });
  });
});

describe("decideAofDir on the recorded 7.0.15 run", () => {
  it("is growing: at least 0.8 new files per failed fork", () => {
    const decision = decided(aofDirInput(result));
    expect(decision.verdict).toBe("growing");
    const [judged, manifest] = decision.evidence.growth;
    expect(judged).toMatchObject({ series: "aofdir.files", before: files[0]?.v });
    expect(judged?.perAttempt ?? 0).toBeGreaterThanOrEqual(0.8);
    expect(judged?.attempts ?? 0).toBeGreaterThanOrEqual(10);
    expect((judged?.after ?? 0) - (judged?.before ?? 0)).toBeGreaterThanOrEqual(
      0.8 * (judged?.attempts ?? 0) - 1,
    );
    // The manifest's bytes are reported beside: a line per incr file.
    expect(manifest?.series).toBe("aofdir.manifestBytes");
    expect(manifest?.perAttempt ?? 0).toBeGreaterThan(0);
    expect(decision.reason).toContain(`${judged?.before} → ${judged?.after}`);
    // fd evidence is kept too: 7.0.15 leaks no fds.
    expect(decision.evidence.fdsPerAttempt).toBe(0);
  });

  it("replayed on what the run had seen when it decided: the recorded decision", () => {
    // The history goes on after the decision (log lines keep coming until the container stops):
    // the run decided once it had seen the attempts its evidence counts.
    const seen = result.decision.evidence.attempts;
    expect(result.attempts.length).toBeGreaterThan(seen);
    const decidedAt = result.attempts[seen - 1]?.t ?? 0;
    expect(decided(aofDirInput(result, recordedBefore(result, decidedAt + 1)))).toEqual(result.decision);
  });

  it("stays growing once the run has ended by the time limit", () => {
    expect(decided(aofDirInput(result, { ended: timeLimit })).verdict).toBe("growing");
  });

  it("undecided while running after only a few failed forks", () => {
    const fourth = result.attempts[3]?.t ?? 0;
    const cut = recordedBefore(result, fourth + 1);
    expect(cut.attempts).toHaveLength(4);
    expect(decideAofDir(aofDirInput(result, cut))).toBeUndefined();
    const ended = decided(aofDirInput(result, { ...cut, ended: timeLimit }));
    expect(ended.verdict).toBe("inconclusive");
    expect(ended.reason).toMatch(
      new RegExp(
        `^4 attempts, the AOF directory's file count went from ${files[0]?.v} to \\d+ \\(time limit 60 s\\)$`,
      ),
    );
  });

  it("container exited: inconclusive, container died", () => {
    const decision = decided(
      aofDirInput(result, { ended: { reason: "container-exited", detail: "exit code 137 (OOM killed)" } }),
    );
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toBe("container died: exit code 137 (OOM killed)");
  });

  it("no directory sample: undecided while running, inconclusive once ended", () => {
    const none = { files: [], manifestBytes: [] };
    expect(decideAofDir(aofDirInput(result, none))).toBeUndefined();
    const decision = decided(aofDirInput(result, { ...none, ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toContain("the AOF directory's file count could not be read");
    expect(decision.evidence.growth[0]).toMatchObject({ before: null, after: null, perAttempt: null });
  });

  it("directory samples but no failed fork: inconclusive, no attempt seen", () => {
    const events = result.events.filter((e) => e.kind !== "fork-failed");
    const attempts = attemptsOf(events);
    expect(decideAofDir(aofDirInput(result, { events, attempts }))).toBeUndefined();
    const decision = decided(aofDirInput(result, { events, attempts, ended: timeLimit }));
    expect(decision.verdict).toBe("inconclusive");
    expect(decision.reason).toBe("no attempt seen before the run ended (time limit 60 s)");
  });
});

/**
 * A directory that keeps its file count (a build that removes the incr file when fork fails), derived
 * from the recorded run: its failed forks repeated to past the budget, its first sample held flat.
 */
function flatRun(rounds: number, extra: (i: number) => number = () => 0) {
  const recorded = result.events.filter((e) => e.kind === "fork-failed");
  const first = recorded[0]?.t ?? 0;
  const span = (recorded.at(-1)?.t ?? 0) - first + 100;
  const events: LogEvent[] = [];
  for (let r = 0; r < rounds; r++) for (const e of recorded) events.push({ ...e, t: e.t + r * span });
  const start = files[0];
  const manifest = seriesOf(result, "aofdir.manifestBytes")[0];
  if (!start || !manifest) throw new Error("no directory sample");
  const end = (events.at(-1)?.t ?? 0) + 50;
  const flat: Point[] = [];
  const manifestBytes: Point[] = [];
  for (let t = start.t, i = 0; t <= end; t += 200, i++) {
    flat.push({ t, v: start.v + extra(i) });
    manifestBytes.push({ t, v: manifest.v });
  }
  return { events, attempts: attemptsOf(events), files: flat, manifestBytes };
}

describe("decideAofDir on a flat directory derived from the recorded run", () => {
  it("the derived run has at least 30 failed forks, sampled past the last one", () => {
    const { attempts, files: flat } = flatRun(2);
    expect(attempts.length).toBeGreaterThanOrEqual(30);
    expect(attemptsUntil(attempts, flat.at(-1)?.t).length).toBe(attempts.length);
  });

  it("same file count over ≥ 30 failed forks: stable", () => {
    const decision = decided(aofDirInput(result, flatRun(2)));
    expect(decision.verdict).toBe("stable");
    expect(decision.reason).toMatch(
      new RegExp(`^the AOF directory's file count stayed within 1 of ${files[0]?.v} over \\d+ attempts$`),
    );
    expect(decision.evidence.growth[0]).toMatchObject({
      before: files[0]?.v,
      after: files[0]?.v,
      perAttempt: 0,
    });
  });

  it("one extra file (a rewrite's temp file) is still stable; two is not", () => {
    const one = flatRun(2, (i) => (i > 3 ? 1 : 0));
    expect(decided(aofDirInput(result, one)).verdict).toBe("stable");
    const two = flatRun(2, (i) => (i > 3 ? 2 : 0));
    expect(decideAofDir(aofDirInput(result, two))).toBeUndefined();
    expect(decided(aofDirInput(result, { ...two, ended: timeLimit })).verdict).toBe("inconclusive");
  });

  it("fewer failed forks than the budget: undecided while running, inconclusive once ended", () => {
    const run = flatRun(2);
    const cut = run.attempts[28]?.t ?? 0;
    const input = {
      events: run.events.filter((e) => e.t <= cut),
      attempts: run.attempts.filter((a) => a.t <= cut),
      files: run.files.filter((s) => s.t <= cut + 50),
      manifestBytes: run.manifestBytes.filter((s) => s.t <= cut + 50),
    };
    expect(input.attempts).toHaveLength(29);
    expect(decideAofDir(aofDirInput(result, input))).toBeUndefined();
    expect(decided(aofDirInput(result, { ...input, ended: timeLimit })).verdict).toBe("inconclusive");
  });

  it("stable needs a directory sample after the budget's last failed fork, not only before it", () => {
    const run = flatRun(2);
    const tenth = run.attempts[9]?.t ?? 0;
    const early = {
      files: run.files.filter((s) => s.t <= tenth),
      manifestBytes: run.manifestBytes.filter((s) => s.t <= tenth),
    };
    expect(run.attempts.length).toBeGreaterThanOrEqual(30);
    // The directory was last read after 10 failed forks: it says nothing of the 20 after them.
    expect(decideAofDir(aofDirInput(result, { ...run, ...early }))).toBeUndefined();
  });
});
