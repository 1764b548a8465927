import { describe, expect, it } from "vitest";
import type { CheckContext } from "../../harness/core/checker.js";
import { attemptsUntil, type Event, type History, type Point, seriesOf } from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import {
  type AofDirEvidence,
  AofDirEvidence as AofDirEvidenceSchema,
  aofDirChecker,
  decideAofDir,
} from "../../harness/parts/checkers/aof-dir.js";
import { summariseAofDir } from "../../harness/parts/probes/aof-dir.js";
import { onlyVanished, parseDirListing, summariseDir } from "../../harness/parts/probes/dir.js";
import { contextFor, edited, oomKilled, recordedBefore, recordedResult, timeLimit } from "../helpers/runs.js";

const result = recordedResult("aof-dir-7.0.15.json", "7.0.15");
const history = result.history;
const files = seriesOf(history, "aofdir.files");

function decided(
  h: History,
  context: CheckContext = contextFor(h),
  spec: Parameters<typeof decideAofDir>[2] = {},
): Decision & { evidence: AofDirEvidence } {
  const decision = decideAofDir(h, context, spec);
  if (!decision) throw new Error("expected a decision, got undefined");
  expect(() => Decision.parse(decision)).not.toThrow();
  expect(() => AofDirEvidenceSchema.parse(decision.evidence)).not.toThrow();
  return decision;
}
const undecided = (h: History, context: CheckContext = contextFor(h)) => decideAofDir(h, context);
/** The attempts the recorded decision had counted (the fixture keeps the old evidence as it was recorded). */
const recordedAttempts = (r: { decision: { evidence: unknown } }) =>
  (r.decision.evidence as { attempts: number }).attempts;

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

  it("the temp manifest written before the rename is a file but not manifest bytes", () => {
    const text = [
      "-rw-r--r-- 1 999 999  88 Nov 27 17:10 appendonly.aof.manifest",
      "-rw-r--r-- 1 999 999 132 Nov 27 17:10 temp-appendonly.aof.manifest",
    ].join("\n");
    expect(aofDir(text)).toMatchObject({ files: 2, manifestBytes: 88, totalBytes: 220 });
  });

  it("an empty listing is all zeros", () => {
    const zero = { files: 0, base: 0, incr: 0, emptyIncr: 0, manifestBytes: 0, totalBytes: 0 };
    expect(aofDir("")).toEqual(zero);
    expect(aofDir("total 0\n")).toEqual(zero);
  });

  it("the recorded series are consistent: base + incr + manifest files, empty incr ≤ incr", () => {
    const field = (name: string) => seriesOf(history, `aofdir.${name}`);
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

describe("the aof-dir checker on the recorded 7.0.15 run", () => {
  it("is growing (bug): at least 0.8 new files per failed fork", () => {
    const decision = decided(history);
    expect(decision).toMatchObject({ checker: "aof-dir", outcome: "bug", label: "growing" });
    const { files: judged, manifest } = decision.evidence;
    expect(judged).toMatchObject({ series: "aofdir.files", before: files[0]?.v });
    expect(judged.perAttempt ?? 0).toBeGreaterThanOrEqual(0.8);
    expect(judged.attempts).toBeGreaterThanOrEqual(10);
    expect((judged.after ?? 0) - (judged.before ?? 0)).toBeGreaterThanOrEqual(0.8 * judged.attempts - 1);
    // The manifest's bytes are reported beside: a line per incr file.
    expect(manifest.series).toBe("aofdir.manifestBytes");
    expect(manifest.perAttempt ?? 0).toBeGreaterThan(0);
    expect(decision.reason).toContain(`${judged.before} → ${judged.after}`);
    // Its evidence is its own: no fd in it.
    expect(Object.keys(decision.evidence).some((k) => /fd/i.test(k))).toBe(false);
    expect(decision.plot).toMatchObject({ series: "aofdir.files", axis: "files" });
  });

  it("replayed on what the run had seen when it decided: the recorded label and reason", () => {
    // The history goes on after the decision (log lines keep coming until the container stops):
    // the run decided once it had seen the attempts its evidence counts.
    const seen = recordedAttempts(result);
    expect(history.attempts.length).toBeGreaterThan(seen);
    const decidedAt = history.attempts[seen - 1]?.t ?? 0;
    const replayed = decided(recordedBefore(history, decidedAt + 1));
    expect(replayed.label).toBe(result.decision.label);
    // Recorded before the limiter was reported: the reason then ended where this one goes on.
    expect(replayed.reason.startsWith(result.decision.reason)).toBe(true);
    expect(replayed.reason).toContain("no limiter line in the log");
    expect(replayed.evidence.limiter.line).toBeNull();
  });

  it("stays growing once the run has ended by the time limit", () => {
    expect(decided(history, contextFor(history, { ended: timeLimit })).label).toBe("growing");
  });

  it("undecided while running after only a few failed forks", () => {
    const fourth = history.attempts[3]?.t ?? 0;
    const cut = recordedBefore(history, fourth + 1);
    expect(cut.attempts).toHaveLength(4);
    expect(undecided(cut)).toBeUndefined();
    const ended = decided(cut, contextFor(cut, { ended: timeLimit }));
    expect(ended).toMatchObject({ outcome: "unknown", label: "inconclusive" });
    expect(ended.reason).toMatch(
      new RegExp(
        `^4 attempts, the AOF directory's file count went from ${files[0]?.v} to \\d+ \\(time limit 60 s\\)$`,
      ),
    );
  });

  it("container exited: inconclusive, container died", () => {
    const decision = decided(history, contextFor(history, { ended: oomKilled }));
    expect(decision.label).toBe("inconclusive");
    expect(decision.reason).toBe("container died: exit code 137 (OOM killed)");
  });

  it("no directory sample: undecided while running, inconclusive once ended", () => {
    const none = edited(history, { series: { "aofdir.files": [], "aofdir.manifestBytes": [] } });
    expect(undecided(none)).toBeUndefined();
    const decision = decided(none, contextFor(none, { ended: timeLimit }));
    expect(decision.label).toBe("inconclusive");
    expect(decision.reason).toContain("the AOF directory's file count could not be read");
    expect(decision.evidence.files).toMatchObject({ before: null, after: null, perAttempt: null });
  });

  it("a probe of another name has no series in this history: nothing to judge while running", () => {
    expect(decideAofDir(history, contextFor(history), { probe: "other" })).toBeUndefined();
    expect(
      aofDirChecker({ probe: "other" }).decide(history, contextFor(history, { ended: timeLimit }))?.reason,
    ).toBe("the AOF directory's file count could not be read (no sample of other.files)");
  });

  it("directory samples but no failed fork: inconclusive, no attempt seen", () => {
    const none = edited(history, { events: history.events.filter((e) => e.kind !== "fork-failed") });
    expect(undecided(none)).toBeUndefined();
    const decision = decided(none, contextFor(none, { ended: timeLimit }));
    expect(decision.label).toBe("inconclusive");
    expect(decision.reason).toBe("no attempt seen before the run ended (time limit 60 s)");
  });
});

/**
 * A directory that keeps its file count (a build that removes the incr file when fork fails), derived
 * from the recorded run: its failed forks repeated to past the budget, its first sample held flat.
 */
function flatRun(rounds: number, extra: (i: number) => number = () => 0): History {
  const recorded = history.events.filter((e) => e.kind === "fork-failed");
  const first = recorded[0]?.t ?? 0;
  const span = (recorded.at(-1)?.t ?? 0) - first + 100;
  const events: Event[] = history.events.filter((e) => e.kind !== "fork-failed");
  for (let r = 0; r < rounds; r++) for (const e of recorded) events.push({ ...e, t: e.t + r * span });
  events.sort((a, b) => a.t - b.t);
  const start = files[0];
  const manifest = seriesOf(history, "aofdir.manifestBytes")[0];
  if (!start || !manifest) throw new Error("no directory sample");
  const end = (events.at(-1)?.t ?? 0) + 50;
  const flat: Point[] = [];
  const manifestBytes: Point[] = [];
  for (let t = start.t, i = 0; t <= end; t += 200, i++) {
    flat.push({ t, v: start.v + extra(i) });
    manifestBytes.push({ t, v: manifest.v });
  }
  return edited(history, { events, series: { "aofdir.files": flat, "aofdir.manifestBytes": manifestBytes } });
}

describe("the aof-dir checker on a flat directory derived from the recorded run", () => {
  it("the derived run has at least 30 failed forks, sampled past the last one", () => {
    const run = flatRun(2);
    expect(run.attempts.length).toBeGreaterThanOrEqual(30);
    expect(attemptsUntil(run.attempts, seriesOf(run, "aofdir.files").at(-1)?.t).length).toBe(
      run.attempts.length,
    );
  });

  it("same file count over ≥ 30 failed forks: stable (no bug)", () => {
    const decision = decided(flatRun(2));
    expect(decision).toMatchObject({ outcome: "no-bug", label: "stable" });
    expect(decision.reason).toMatch(
      new RegExp(`^the AOF directory's file count stayed within 1 of ${files[0]?.v} over \\d+ attempts$`),
    );
    expect(decision.evidence.files).toMatchObject({ before: files[0]?.v, after: files[0]?.v, perAttempt: 0 });
  });

  it("one extra file (a rewrite's temp file) is still stable; two is not", () => {
    expect(decided(flatRun(2, (i) => (i > 3 ? 1 : 0))).label).toBe("stable");
    const two = flatRun(2, (i) => (i > 3 ? 2 : 0));
    expect(undecided(two)).toBeUndefined();
    expect(decided(two, contextFor(two, { ended: timeLimit })).label).toBe("inconclusive");
  });

  it("fewer failed forks than the budget: undecided while running, inconclusive once ended", () => {
    const run = flatRun(2);
    const cut = run.attempts[28]?.t ?? 0;
    const early = recordedBefore(run, cut + 1);
    const h = edited(early, {
      series: {
        "aofdir.files": seriesOf(run, "aofdir.files").filter((s) => s.t <= cut + 50),
        "aofdir.manifestBytes": seriesOf(run, "aofdir.manifestBytes").filter((s) => s.t <= cut + 50),
      },
    });
    expect(h.attempts).toHaveLength(29);
    expect(undecided(h)).toBeUndefined();
    expect(decided(h, contextFor(h, { ended: timeLimit })).label).toBe("inconclusive");
  });

  it("stable needs a directory sample after the budget's last failed fork, not only before it", () => {
    const run = flatRun(2);
    const tenth = run.attempts[9]?.t ?? 0;
    const early = edited(run, {
      series: {
        "aofdir.files": seriesOf(run, "aofdir.files").filter((s) => s.t <= tenth),
        "aofdir.manifestBytes": seriesOf(run, "aofdir.manifestBytes").filter((s) => s.t <= tenth),
      },
    });
    expect(run.attempts.length).toBeGreaterThanOrEqual(30);
    // The directory was last read after 10 failed forks: it says nothing of the 20 after them.
    expect(undecided(early)).toBeUndefined();
  });
});

describe("onlyVanished: an ls that lost a file between listing and stat still listed the directory", () => {
  const dir = "/data/appendonlydir";
  it("the temp manifest renamed away: the listing stands", () => {
    const err =
      "ls: cannot access '/data/appendonlydir/temp-appendonly.aof.manifest': No such file or directory\n";
    expect(onlyVanished(err, dir)).toBe(true);
    expect(onlyVanished(err, `${dir}/`)).toBe(true);
  });

  it("the directory itself missing, another error, or no error text: not a listing", () => {
    expect(onlyVanished("ls: cannot access '/data/appendonlydir': No such file or directory", dir)).toBe(
      false,
    );
    expect(onlyVanished("ls: cannot open directory '/data/appendonlydir': Permission denied", dir)).toBe(
      false,
    );
    expect(
      onlyVanished(
        "ls: cannot access '/data/appendonlydir/a': No such file or directory\nls: cannot access '/data/appendonlydir/b': Permission denied",
        dir,
      ),
    ).toBe(false);
    expect(onlyVanished("", dir)).toBe(false);
  });
});

/**
 * Recorded side by side: 7.0.15 (the limiter never engages) and 7.0.15+count-failed-aof-fork (it
 * engages after 3 failed forks). Each starts with a directory sample taken before the workload.
 */
const PAIR = "aof-dir-7.0.15-vs-count-failed-aof-fork.json";
const plainResult = recordedResult(PAIR, "7.0.15");
const patchedResult = recordedResult(PAIR, "7.0.15+count-failed-aof-fork");
const plain = plainResult.history;
const patched = patchedResult.history;
const limitedAt = patched.events.find((e) => e.kind === "rewrite-limited")?.t ?? 0;
const patchedFiles = seriesOf(patched, "aofdir.files");

describe("the aof-dir checker on 7.0.15 vs 7.0.15+count-failed-aof-fork", () => {
  it("both replay to their recorded labels and reasons on what the run had seen at its last directory sample", () => {
    for (const r of [plainResult, patchedResult]) {
      const last = seriesOf(r.history, "aofdir.files").at(-1)?.t ?? 0;
      const replayed = decided(recordedBefore(r.history, last + 1));
      const recorded = r.decision.evidence as { growth: unknown[]; limiter: unknown };
      expect(replayed.label).toBe(r.decision.label);
      expect(replayed.outcome).toBe(r.decision.outcome);
      expect(replayed.reason).toBe(r.decision.reason);
      expect([replayed.evidence.files, replayed.evidence.manifest]).toEqual(recorded.growth);
      expect(replayed.evidence.limiter).toEqual(recorded.limiter);
    }
  });

  it("7.0.15 grows: one file and about 44 manifest bytes per failed fork, no limiter line", () => {
    const d = decided(plain);
    expect(d.label).toBe("growing");
    expect(d.evidence.files.perAttempt ?? 0).toBeGreaterThanOrEqual(0.8);
    expect(d.evidence.manifest.perAttempt).toBeGreaterThan(40);
    expect(d.evidence.manifest.perAttempt).toBeLessThan(50);
    expect(d.evidence.limiter).toEqual({
      line: null,
      atMs: null,
      attemptsAtLimit: null,
      filesAtLimit: null,
      heldMs: null,
    });
    expect(d.reason).toContain("no limiter line in the log");
    const fact = (name: string) => d.facts.find((f) => f.name === name)?.value;
    expect(fact("rewrite limiter")).toBe("not engaged");
    expect(fact("fork error")).toBe("Cannot allocate memory");
    expect(fact("manifest bytes")).toMatch(/^\d+ → \d+$/);
    // The INFO probe read the consecutive failures: the unpatched build never counts a failed fork.
    expect(fact("consecutive failures (INFO)")).toBe("0 → 0");
  });

  it("the patched build is stable (no bug): the limiter engaged after 3 failed forks and the directory held", () => {
    const d = decided(patched);
    expect(d).toMatchObject({ outcome: "no-bug", label: "stable" });
    expect(d.evidence.attempts).toBe(3);
    expect(d.evidence.limiter).toMatchObject({ attemptsAtLimit: 3, filesAtLimit: patchedFiles.at(-1)?.v });
    expect(d.evidence.limiter.line).toContain("triggered the limit, will retry in 1 minutes");
    expect(d.evidence.limiter.heldMs).toBeGreaterThanOrEqual(5_000);
    expect(d.reason).toMatch(
      new RegExp(
        `^growth stopped: the rewrite limiter engaged after 3 attempts \\(files ${patchedFiles[0]?.v} → `,
      ),
    );
    // The INFO probe's series: the limiter counted 3 consecutive failures, and the facts say so.
    expect(d.evidence.consecutiveFailures).toMatchObject({
      series: "info.aof_rewrites_consecutive_failures",
      last: 3,
    });
    expect(d.facts.find((f) => f.name === "consecutive failures (INFO)")?.value).toMatch(/→ 3$/);
    expect(d.facts.find((f) => f.name === "rewrite limiter")?.value).toMatch(
      /^engaged after 3 attempts at \d+ files, held \d+\.\d s$/,
    );
  });

  it("before the hold is over: undecided while running, inconclusive once ended; a shorter hold decides", () => {
    const cut = recordedBefore(patched, limitedAt + 2_000);
    expect(undecided(cut)).toBeUndefined();
    const ended = decided(cut, contextFor(cut, { ended: timeLimit }));
    expect(ended.label).toBe("inconclusive");
    expect(ended.reason).toContain("the limiter engaged after 3 attempts but the directory was not seen");
    expect(decided(cut, contextFor(cut), { holdMs: 1_000 }).label).toBe("stable");
  });

  it("a failed fork after the limiter's line, or two more files, is no hold", () => {
    const fork = patched.events.find((e) => e.kind === "fork-failed");
    if (!fork) throw new Error("no failed fork recorded");
    const events = [...patched.events, { ...fork, t: limitedAt + 3_000 }].sort((a, b) => a.t - b.t);
    expect(undecided(edited(patched, { events }))).toBeUndefined();
    const bump = (n: number) => ({
      "aofdir.files": patchedFiles.map((p) => (p.t > limitedAt + 3_000 ? { ...p, v: p.v + n } : p)),
    });
    expect(undecided(edited(patched, { series: bump(2) }))).toBeUndefined();
    // One more file (a rewrite's temp file) still holds.
    expect(decided(edited(patched, { series: bump(1) })).label).toBe("stable");
  });

  it("the limiter's line alone is not enough: growing wins when files kept coming per failed fork", () => {
    const limiter = patched.events.find((e) => e.kind === "rewrite-limited");
    if (!limiter) throw new Error("no limiter line recorded");
    const events = [...plain.events, { ...limiter, t: 500 }].sort((a, b) => a.t - b.t);
    const d = decided(edited(plain, { events }));
    expect(d.label).toBe("growing");
    expect(d.reason).toContain("the limiter's line appeared");
  });
});

describe("the aof-dir checker with no fault (the control)", () => {
  // The patched run's directory, with its failures and limiter line taken out and a rewrite that forked.
  const noFault = (withRewrite: boolean): History => {
    const started = patched.events.find((e) => e.kind === "auto-rewrite");
    if (!started) throw new Error("no auto-rewrite recorded");
    const events: Event[] = patched.events.filter(
      (e) => e.kind !== "fork-failed" && e.kind !== "rewrite-limited",
    );
    if (withRewrite)
      events.push({
        ...started,
        kind: "rewrite-started",
        line: "Background append only file rewriting started by pid 9",
      });
    events.sort((a, b) => a.t - b.t);
    return edited(patched, { events, series: { "aofdir.files": patchedFiles.map((p) => ({ ...p, v: 3 })) } });
  };

  it("a rewrite forked and the directory held its files: stable", () => {
    const d = decided(noFault(true));
    expect(d.label).toBe("stable");
    expect(d.reason).toMatch(/^no attempt; 1 rewrite\(s\) started and the directory held 3 files/);
    expect(d.evidence.attempts).toBe(0);
    expect(d.evidence.limiter.line).toBeNull();
    expect(d.facts.find((f) => f.name === "rewrite limiter")?.value).toMatch(
      /^not engaged; held \d+\.\d s after the last of 1 rewrite\(s\)$/,
    );
  });

  it("no rewrite at all: undecided, then inconclusive", () => {
    const h = noFault(false);
    expect(undecided(h)).toBeUndefined();
    expect(decided(h, contextFor(h, { ended: timeLimit })).reason).toContain("no attempt seen");
  });

  it("the rewrite's own temp and incr files for a moment: the hold counts from when they were gone", () => {
    const h = noFault(true);
    const points = seriesOf(h, "aofdir.files");
    const spikeAt = points[2]?.t ?? 0;
    const spiked = points.map((p, i) => (i === 2 ? { ...p, v: 5 } : p));
    const d = decided(edited(h, { series: { "aofdir.files": spiked } }));
    expect(d.label).toBe("stable");
    expect(d.evidence.limiter.heldMs).toBe((points.at(-1)?.t ?? 0) - spikeAt);
    // Cut 4 s after the spike: not yet held for 5 s.
    const cut = spiked.filter((p) => p.t <= spikeAt + 4_000);
    expect(undecided(edited(h, { series: { "aofdir.files": cut } }))).toBeUndefined();
  });

  it("a directory that grew after the rewrite is no hold", () => {
    const h = noFault(true);
    const grown = seriesOf(h, "aofdir.files").map((p, i) => ({ ...p, v: 3 + i }));
    expect(undecided(edited(h, { series: { "aofdir.files": grown } }))).toBeUndefined();
  });
});
