import { type Attempt, attemptsUntil, type History, type Point, seriesOf } from "../../core/history.js";
import type { Verdict } from "../../scenario/schema.js";
import type { ConnectProbe } from "../probes/connect.js";
import { logLineMs } from "../probes/log.js";
import type { Decision, Evidence, SeriesGrowth } from "./fd-leak.js";
import { seriesGrowth } from "./growth.js";

/**
 * Pure: which of several series leak per attempt, with no expectation of what should happen. What a
 * sweep asks of every fork path: fds by kind, files in the data and AOF directories, used_memory.
 *
 * A series leaks when, over at least `minAttempts` attempts and `minSamples` samples, both its
 * least-squares growth per attempt (seriesGrowth) and its net growth per attempt after the first
 * attempts (from the first point that had seen max(2, 10 %) of them to the end) are at or above its
 * threshold. The second
 * tells a leak (linear in the attempts) from a one-time step at the first attempt: a replica's first
 * SYNC creates the 1 MB replication backlog, and over 30 attempts that step alone reads as 30 KB per
 * attempt. Not the later half: a leak that ran the process out of fds (7.0's diskless sync at
 * nofile) is flat there, and that is the leak's end, not its absence.
 */
export interface LeakSeries {
  series: string;
  /** Growth per attempt at or above which the series counts as leaking. */
  perAttempt: number;
}

/**
 * Thresholds, and why:
 * - fds: 0.5 per attempt. A leak is a whole number of fds per attempt (≥ 1); the transient bumps of
 *   1–3 fds (a client's socket, a file closed in the background) come and go, and over ≥ 10 attempts
 *   measured on clean cells their slope stays under 0.1 (bench/sweep.ts prints the noise).
 * - files: 0.5 per attempt, for the same reason (a rewrite's temp file exists for an instant).
 * - used_memory: 4 KiB per attempt. Clean cells measured at most 1 KiB per attempt (clients' query
 *   and reply buffers, the INFO call itself); the sweep's replication paths raise it to 64 KiB (a
 *   replica client's buffers per attempt, see sweep.ts).
 */
export const DEFAULT_LEAK_SERIES: LeakSeries[] = [
  { series: "fds.pipe", perAttempt: 0.5 },
  { series: "fds.socket", perAttempt: 0.5 },
  { series: "fds.file", perAttempt: 0.5 },
  { series: "fds.other", perAttempt: 0.5 },
  { series: "fds.total", perAttempt: 0.5 },
  { series: "dir.files", perAttempt: 0.5 },
  { series: "aofdir.files", perAttempt: 0.5 },
  { series: "info.used_memory", perAttempt: 4096 },
];

export interface LeaksInput {
  history: History;
  series: LeakSeries[];
  minAttempts: number;
  minSamples: number;
  /** Attempts a `stable` verdict needs. */
  attemptsNeeded: number;
  /** The event loop's size: a table at it is full (attempts stop there: pipe() fails, no fork). */
  ceiling: number;
  /** The fd evidence, carried into the decision. */
  evidence: Evidence;
  ended?: { reason: string; detail: string };
}

const round = (n: number) => Math.round(n * 100) / 100;

/** One series judged: its growth, how many samples came after the first attempt, and the late slope. */
export function judgeSeries(
  spec: LeakSeries,
  points: Point[],
  attempts: Attempt[],
  minAttempts: number,
  minSamples: number,
): { growth: SeriesGrowth; samples: number; late: number | null } {
  const growth = seriesGrowth(spec.series, points, attempts);
  const first = attempts[0];
  const after = first ? points.filter((p) => p.t >= first.t) : [];
  // Net growth from the first point past the first attempts to the end, per attempt between them:
  // a difference over a long span, which an exec's uneven latency moves far less than it moves a
  // least-squares line through a handful of points.
  const skip = Math.max(2, Math.ceil(growth.attempts / 10));
  const from = after.find((p) => attemptsUntil(attempts, p.t).length >= skip);
  const span = from ? growth.attempts - attemptsUntil(attempts, from.t).length : 0;
  const late =
    from && span > 0 && growth.after !== null ? round((growth.after - from.v) / span) : growth.perAttempt;
  const judged = growth.attempts >= minAttempts && after.length >= minSamples;
  const leaking =
    judged &&
    growth.perAttempt !== null &&
    growth.perAttempt >= spec.perAttempt &&
    late !== null &&
    late >= spec.perAttempt;
  return { growth: { ...growth, leaking }, samples: after.length, late };
}

const FD_KINDS = ["fds.pipe", "fds.socket", "fds.file", "fds.other"];

const DAY_MS = 86_400_000;

/**
 * Attempts on the server's clock: each at its log line's own time, shifted onto the run's clock by
 * the smallest delivery delay seen. A busy machine delivers log lines late and unevenly (up to 240 ms
 * at 35 attempts/s), which bends the slope against the fd samples (a 1-fd leak read 0.85; 1.00 with
 * this). Attempts without a timestamped line (replies, series) stay as they are.
 */
export function onServerClock(attempts: Attempt[]): Attempt[] {
  const times = attempts.map((a) => logLineMs(a.line));
  const first = times[0];
  if (first === null || first === undefined || times.some((t) => t === null)) return attempts;
  // Unwrapped across midnight: a run is minutes long, so a jump back of more than half a day is one.
  const unwrapped = times.map((t) => {
    const v = t ?? first;
    return v - first < -DAY_MS / 2 ? v + DAY_MS : v;
  });
  const offset = Math.min(...attempts.map((a, i) => a.t - (unwrapped[i] ?? 0)));
  return attempts.map((a, i) => ({ ...a, t: (unwrapped[i] ?? 0) + offset }));
}

/** What leaks, in a few words: "6 fd/attempt (pipe)", "1 file/attempt (aofdir)", or "clean". */
export function leakText(growth: SeriesGrowth[]): string {
  const leaking = growth.filter((g) => g.leaking && g.perAttempt !== null);
  // fds.total is the sum of the kinds: named only when no single kind crosses its threshold.
  const kinds = leaking.filter((g) => FD_KINDS.includes(g.series));
  const shown = leaking.filter((g) => g.series !== "fds.total" || kinds.length === 0);
  if (shown.length === 0) return "clean";
  // Slopes carry the sampler's lag (6.1 for a leak of 6): whole numbers of fds or files read as such.
  const count = (n: number) =>
    String(Math.abs(n - Math.round(n)) <= 0.15 ? Math.round(n) : Math.round(n * 10) / 10);
  return shown
    .map((g) => {
      const n = g.perAttempt ?? 0;
      const [probe, field] = [
        g.series.slice(0, g.series.indexOf(".")),
        g.series.slice(g.series.indexOf(".") + 1),
      ];
      if (probe === "fds") return `${count(n)} fd/attempt (${field})`;
      if (field === "files") return `${count(n)} file/attempt (${probe})`;
      if (field === "used_memory") return `${(n / 1024).toFixed(1)} KiB/attempt (used_memory)`;
      return `${Math.round(n * 10) / 10}/attempt (${g.series})`;
    })
    .join(", ");
}

export function decideLeaks(input: LeaksInput): Decision | undefined {
  const { history } = input;
  const attempts = history.attempts;
  const timed = onServerClock(attempts);
  const judged = input.series
    .map((spec) => ({ spec, points: seriesOf(history, spec.series) }))
    .filter((s) => s.points.length > 0)
    .map((s) => judgeSeries(s.spec, s.points, timed, input.minAttempts, input.minSamples));
  const growth = judged.map((j) => j.growth);
  const leaking = growth.filter((g) => g.leaking);
  const decided = (verdict: Verdict, reason: string): Decision => ({
    verdict,
    reason,
    evidence: { ...input.evidence, growth },
  });
  if (input.ended?.reason === "container-exited")
    return decided("inconclusive", `container died: ${input.ended.detail}`);

  const first = attempts[0];
  const probes: ConnectProbe[] = first ? history.probes.filter((p) => p.t >= first.t) : [];
  const refused = probes.find((p) => !p.ok);
  const what = leakText(growth);
  const n = attempts.length;
  const fdsJudged = judged.find((j) => j.growth.series === "fds.total");
  const enoughSamples = (fdsJudged?.samples ?? 0) >= input.minSamples;
  // Clean means every series was read across the budget: a sampler that fell silent (a probe that
  // stopped answering while attempts went on) must not turn an unseen leak into "stable".
  const unseen = growth.filter((g) => g.attempts < input.attemptsNeeded).map((g) => g.series);

  if (leaking.length && refused)
    return decided(
      "exhaustion",
      `${what} over ${n} attempts, and a fresh client was refused (${refused.error ?? "refused"})`,
    );
  // Full: an attempt failed for want of an fd, or the highest fd reached the table's end. Attempts
  // stop there (the fork is never tried), so waiting for the budget would wait for the time limit.
  const full =
    history.events.some((e) => e.kind === "pipes-error") ||
    history.samples.some((s) => s.maxFd >= input.ceiling - 1);
  const probedAt = (k: number) => {
    const at = attempts[k - 1]?.t;
    return at !== undefined && probes.some((p) => p.t >= at);
  };
  // An fd leak runs on until the table is full, so whether fresh clients are then refused is seen,
  // not left to when the budget happened to be reached: once full, growing needs 3 probes over a
  // second that all got in (a hole the trigger frees, as CONFIG SET appendonly's closed AOF does).
  const fdsLeak = leaking.some((g) => g.series.startsWith("fds."));
  const fullAt = Math.min(
    history.events.find((e) => e.kind === "pipes-error")?.t ?? Number.POSITIVE_INFINITY,
    history.samples.find((s) => s.maxFd >= input.ceiling - 1)?.t ?? Number.POSITIVE_INFINITY,
  );
  const whenFull = probes.filter((p) => p.t >= fullAt);
  const span = (whenFull.at(-1)?.t ?? 0) - (whenFull[0]?.t ?? 0);
  if (fdsLeak && full && whenFull.length >= 3 && span >= 1_000)
    return decided(
      "growing",
      `${what} over ${n} attempts up to a full fd table (ceiling ${input.ceiling}), and fresh clients still connect (${whenFull.length} probes over ${(span / 1000).toFixed(1)} s with the table full)`,
    );
  if (leaking.length && !fdsLeak && n >= input.attemptsNeeded && probedAt(input.minAttempts))
    return decided(
      "growing",
      `${what} over ${n} attempts; fresh clients still connect (${probes.length} probes)`,
    );
  if (
    !leaking.length &&
    n >= input.attemptsNeeded &&
    enoughSamples &&
    unseen.length === 0 &&
    probedAt(input.attemptsNeeded)
  ) {
    if (refused)
      return decided(
        "inconclusive",
        `nothing grew over ${n} attempts, but a fresh client was refused (${refused.error ?? "refused"})`,
      );
    return decided(
      "stable",
      `no series grew past its threshold over ${n} attempts (${growth.map((g) => `${g.series} ${g.perAttempt ?? "—"}`).join(", ")}) and fresh clients connected`,
    );
  }

  if (!input.ended) return undefined;
  if (leaking.length)
    return decided(refused ? "exhaustion" : "growing", `${what} over ${n} attempts (${input.ended.detail})`);
  if (n === 0) return decided("inconclusive", `no attempt seen before the run ended (${input.ended.detail})`);
  if (n < input.attemptsNeeded)
    return decided(
      "inconclusive",
      `too few attempts: ${n} of ${input.attemptsNeeded}, nothing grew past its threshold so far (${input.ended.detail})`,
    );
  if (!enoughSamples)
    return decided(
      "inconclusive",
      `too few samples: ${fdsJudged?.samples ?? 0} of ${input.minSamples} after the first attempt (${input.ended.detail})`,
    );
  if (unseen.length)
    return decided(
      "inconclusive",
      `${unseen.join(", ")} stopped being read before ${input.attemptsNeeded} attempts (${input.ended.detail})`,
    );
  return decided("inconclusive", `${n} attempts, no fresh-client probe after them (${input.ended.detail})`);
}
