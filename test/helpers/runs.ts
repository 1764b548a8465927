import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import type { CheckContext, Ended } from "../../harness/core/checker.js";
import { type Attempt, type Event, type History, LIMIT, type Point } from "../../harness/core/history.js";
import { type ConnectResult, connectResults } from "../../harness/parts/probes/connect.js";
import { FD_FIELDS, type FdSample, fdSamples } from "../../harness/parts/probes/fds.js";
import { parseLogLine } from "../../harness/parts/probes/log.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { RunResult, type TargetResult } from "../../harness/run/result.js";

/**
 * Recorded runs in test/fixtures/runs/ (plain or gzipped JSON, validated against the RunResult
 * schema), their histories cut or edited as a test needs, and synthetic histories in the same shape
 * a run records (fds.* series, connect.ok, config.maxclients, the nofile limit, log events, attempts).
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
  return structuredClone(result);
}

/** The last time anything in a history was recorded. */
export function endOf(history: History): number {
  const times = [
    ...Object.values(history.series).flatMap((points) => points.map((p) => p.t)),
    ...history.events.map((e) => e.t),
    ...history.attempts.map((a) => a.t),
  ];
  return Math.max(0, ...times);
}

/**
 * The context a run gives its checker: now just after the history's last record (or as given), the
 * scenarios' budget of 30 attempts, and how the run ended if it did.
 */
export function contextFor(
  history: History,
  change: { now?: number; attemptsNeeded?: number; ended?: Ended } = {},
): CheckContext {
  return {
    now: change.now ?? endOf(history) + 1,
    attemptsNeeded: change.attemptsNeeded ?? 30,
    ...(change.ended ? { ended: change.ended } : {}),
  };
}

export const timeLimit: Ended = { reason: "time-limit", detail: "time limit 60 s" };
export const oomKilled: Ended = { reason: "container-exited", detail: "exit code 137 (OOM killed)" };

/** Everything recorded strictly before `ms`, as the checker would have seen it then (limits and config stay: t 0). */
export function recordedBefore(history: History, ms: number): History {
  const before = <T extends { t: number }>(xs: T[]) => xs.filter((x) => x.t < ms);
  return {
    series: Object.fromEntries(Object.entries(history.series).map(([k, v]) => [k, before(v)])),
    events: before(history.events),
    attempts: before(history.attempts),
    logs: history.logs,
  };
}

/**
 * The attempts the default scenario counts (each failed fork), for log events a test made up or
 * edited: their lines go through the run's history recorder, so the tests never restate what it counts.
 */
export function attemptsOf(events: Event[]): Attempt[] {
  const recorder = new HistoryRecorder({ event: "fork-failed", node: "main" });
  for (const e of [...events].sort((a, b) => a.t - b.t)) if (e.line) recorder.logLine(e.node, e.line, e.t);
  return recorder.history.attempts;
}

/** The fds series of a history made from samples (every field read at the sample's time). */
function fdSeries(samples: FdSample[]): Record<string, Point[]> {
  return Object.fromEntries(FD_FIELDS.map((f) => [`fds.${f}`, samples.map((s) => ({ t: s.t, v: s[f] }))]));
}

function connectSeries(results: ConnectResult[]): Point[] {
  return results.map((r) => (r.ok ? { t: r.t, v: 1 } : { t: r.t, v: 0, text: r.error ?? "refused" }));
}

/** A history with some of its parts replaced: fd samples, fresh-client results, log events (and with them the attempts), series. */
export function edited(
  history: History,
  change: {
    fds?: FdSample[];
    connect?: ConnectResult[];
    events?: Event[];
    attempts?: Attempt[];
    series?: Record<string, Point[]>;
  },
): History {
  const series = { ...history.series };
  if (change.fds) Object.assign(series, fdSeries(change.fds));
  if (change.connect) series["connect.ok"] = connectSeries(change.connect);
  if (change.series) Object.assign(series, change.series);
  const events = change.events ?? history.events;
  return {
    ...history,
    series,
    events,
    attempts: change.attempts ?? (change.events ? attemptsOf(events) : history.attempts),
  };
}

export { connectResults, fdSamples };

/** A log line of the main node at t, as the run records it: an event if the parser knows it. */
function logEvent(t: number, line: string, node = "main"): Event | undefined {
  return parseLogLine(line, t, node);
}

/**
 * A synthetic history of the main node: fd samples, log lines (parsed as a run parses them, failed
 * forks counted as attempts unless `attempts` is given), fresh-client results, other series, and
 * what a run records at t 0 (config.maxclients, the nofile limit).
 */
export function historyFrom(parts: {
  fds?: FdSample[];
  lines?: { t: number; line: string; node?: string }[];
  connect?: ConnectResult[];
  series?: Record<string, Point[]>;
  events?: Event[];
  attempts?: Attempt[];
  maxclients?: number;
  nofile?: number;
}): History {
  const lines = [...(parts.lines ?? [])].sort((a, b) => a.t - b.t);
  const parsed = lines.flatMap((l) => logEvent(l.t, l.line, l.node) ?? []);
  const limits: Event[] =
    parts.nofile === undefined
      ? []
      : [{ t: 0, node: "main", kind: LIMIT, name: "nofile", value: parts.nofile }];
  const events = [...limits, ...parsed, ...(parts.events ?? [])].sort((a, b) => a.t - b.t);
  const series: Record<string, Point[]> = {
    ...(parts.maxclients === undefined ? {} : { "config.maxclients": [{ t: 0, v: parts.maxclients }] }),
    ...(parts.fds ? fdSeries(parts.fds) : {}),
    ...(parts.connect ? { "connect.ok": connectSeries(parts.connect) } : {}),
    ...(parts.series ?? {}),
  };
  const logs: Record<string, string[]> = {};
  for (const l of lines) {
    const node = l.node ?? "main";
    logs[node] = [...(logs[node] ?? []), l.line];
  }
  return { series, events, attempts: parts.attempts ?? attemptsOf(events), logs };
}

/** A sample with the kinds given and the rest as an idle 3.2 server has them (total and maxFd follow). */
export function fdSample(
  t: number,
  kinds: Partial<Omit<FdSample, "t" | "total" | "maxFd">> & { maxFd?: number } = {},
): FdSample {
  const pipe = kinds.pipe ?? 2;
  const socket = kinds.socket ?? 3;
  const file = kinds.file ?? 1;
  const eventpoll = kinds.eventpoll ?? 1;
  const other = kinds.other ?? 0;
  const total = pipe + socket + file + eventpoll + other;
  return { t, pipe, socket, file, eventpoll, other, total, maxFd: kinds.maxFd ?? total + 2 };
}

/** A failed fork's line as 3.2 logs it (the clock in the prefix is the run's ms, for the leaks checker). */
export function forkFailedLine(t: number): string {
  const d = new Date(Date.UTC(2026, 10, 26, 14, 0, 0) + t);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `1:M 26 Nov ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)} # Can't rewrite append only file in background: fork: Cannot allocate memory`;
}
