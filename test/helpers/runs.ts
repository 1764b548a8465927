import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { type Attempt, HistoryRecorder, type Point, seriesOf } from "../../harness/core/history.js";
import type { AofDirInput } from "../../harness/parts/checkers/aof-dir.js";
import { type FdLeakInput, fdEvidence } from "../../harness/parts/checkers/fd-leak.js";
import type { LogEvent } from "../../harness/parts/probes/log.js";
import { RunResult, type TargetResult } from "../../harness/run/result.js";

/**
 * Recorded runs in test/fixtures/runs/ (plain or gzipped JSON), validated against the RunResult schema,
 * and the checkers' input rebuilt from one target's result with the scenarios' checker settings.
 */
export function runFixturePath(file: string): string {
  return fileURLToPath(new URL(`../fixtures/runs/${file}`, import.meta.url));
}

const runs = new Map<string, RunResult>();

export function recordedRun(file: string): RunResult {
  const cached = runs.get(file);
  if (cached) return cached;
  const raw = readFileSync(runFixturePath(file));
  const text = file.endsWith(".gz") ? gunzipSync(raw).toString("utf8") : raw.toString("utf8");
  const run = RunResult.parse(JSON.parse(text));
  runs.set(file, run);
  return run;
}

export function recordedResult(file: string, target: string): TargetResult {
  const result = recordedRun(file).results.find((r) => r.target === target);
  if (!result) throw new Error(`${file} has no result for ${target}`);
  return result;
}

/**
 * The attempts the default scenario counts (each failed fork), for events a test made up: the log
 * lines go through the history recorder, as a run's do, so the tests never restate what it counts.
 */
export function attemptsOf(events: LogEvent[]): Attempt[] {
  const recorder = new HistoryRecorder({ event: "fork-failed" });
  for (const e of events) recorder.logLine(e.line, e.t);
  return recorder.history.attempts;
}

/** The fd checker's input as the run built it: first sample as baseline, the recorded ceiling, budget 30. */
export function checkerInput(result: TargetResult, change: Partial<FdLeakInput> = {}): FdLeakInput {
  return {
    samples: result.samples,
    events: result.events,
    attempts: result.attempts,
    probes: result.probes,
    baseline: result.samples[0],
    ceiling: result.decision.evidence.ceiling,
    attemptsNeeded: 30,
    tolerance: 3,
    fdsPerAttempt: 6,
    ...change,
  };
}

/** The AOF-directory checker's input: the fd input plus the aof-dir probe's series. */
export function aofDirInput(result: TargetResult, change: Partial<AofDirInput> = {}): AofDirInput {
  const history = { ...result };
  return {
    ...checkerInput(result),
    files: seriesOf(history, "aofdir.files"),
    manifestBytes: seriesOf(history, "aofdir.manifestBytes"),
    probe: "aofdir",
    ...change,
  };
}

/** Everything recorded strictly before `ms`, as the checker would have seen it then. */
export function recordedBefore(
  result: TargetResult,
  ms: number,
): Pick<FdLeakInput, "samples" | "events" | "attempts" | "probes"> &
  Pick<AofDirInput, "files" | "manifestBytes"> {
  const before = (points: Point[]) => points.filter((p) => p.t < ms);
  return {
    samples: result.samples.filter((s) => s.t < ms),
    events: result.events.filter((e) => e.t < ms),
    attempts: result.attempts.filter((a) => a.t < ms),
    probes: result.probes.filter((p) => p.t < ms),
    files: before(seriesOf(result, "aofdir.files")),
    manifestBytes: before(seriesOf(result, "aofdir.manifestBytes")),
  };
}

/** The evidence of a run that saw nothing yet (192-fd ceiling, budget 30): synthetic decisions carry it. */
export function emptyEvidence() {
  return fdEvidence({
    samples: [],
    events: [],
    attempts: [],
    probes: [],
    ceiling: 192,
    attemptsNeeded: 30,
    tolerance: 3,
    fdsPerAttempt: 6,
  });
}
