import { z } from "zod";
import type { CheckContext, Checker } from "../../core/checker.js";
import {
  type Attempt,
  attemptsUntil,
  eventsOf,
  FAULT_HEAL,
  type History,
  historyUntil,
  type Point,
  seriesOf,
} from "../../core/history.js";
import type { Decision, Fact } from "../../core/outcome.js";
import { connectResults } from "../probes/connect.js";
import { fdSamples } from "../probes/fds.js";
import { logLineMs } from "../probes/log.js";
import {
  containerDied,
  diedText,
  type ResourceLabel,
  resourceDecision,
  round,
  type SpecArg,
  seconds,
} from "./common.js";
import {
  ClientsWhenFull,
  ceilingOf,
  ceilingText,
  clientsWhenFull,
  fdCheckerProbes,
  holeText,
  pipesErrorAt,
} from "./fd-table.js";
import { SeriesGrowth, seriesGrowth } from "./growth.js";

/**
 * Which of several series leak per attempt, with no expectation of what should happen: what a sweep
 * asks of every fork path (fds by kind, files in the data and AOF directories, used_memory).
 *
 * A series leaks when, over at least `minAttempts` attempts and `minSamples` samples, both its
 * least-squares growth per attempt (seriesGrowth) and its net growth per attempt after the first
 * attempts (from the first point that had seen max(2, 10 %) of them to the end) are at or above its
 * threshold. The second tells a leak (linear in the attempts) from a one-time step at the first
 * attempt: a replica's first SYNC creates the 1 MB replication backlog, and over 30 attempts that
 * step alone reads as 30 KB per attempt. Not the later half: a leak that ran the process out of fds
 * (7.0's diskless sync at nofile) is flat there, and that is the leak's end, not its absence.
 *
 * Labels: exhaustion (bug) when something leaks and a fresh client was refused; growing (bug) when
 * something leaks and clients still get in (an fd leak only once the table is full, so that whether
 * clients are then refused is seen); stable (no bug) when nothing leaks over the attempt budget and
 * fresh clients connected; inconclusive (unknown) once ended otherwise, with the reason.
 */
export const LeakSeries = z.object({
  series: z.string(),
  /** Growth per attempt at or above which the series counts as leaking. */
  perAttempt: z.number().positive(),
});
export type LeakSeries = z.infer<typeof LeakSeries>;

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

export const LeaksSpec = z
  .object({
    checker: z.literal("leaks"),
    /** Series and the growth per attempt at or above which each counts as leaking (default: DEFAULT_LEAK_SERIES). */
    series: z.array(LeakSeries.strict()).min(1).optional(),
    /** Attempts a leak decision needs. */
    minAttempts: z.number().int().positive().default(10),
    /** Samples of a series taken after the first attempt before it is judged (the slope needs points). */
    minSamples: z.number().int().min(2).default(5),
    /**
     * "heal": judge the fault's window only, what was read up to the first heal; the heal ends it as
     * the run's end would. What the server does after the heal is the recovery checker's question
     * (a sweep with --heal composes the two), and leaked fds given back then must not hide the leak.
     */
    until: z.literal("heal").optional(),
  })
  .strict();
export type LeaksSpec = z.infer<typeof LeaksSpec>;
export type LeaksSpecInput = z.input<typeof LeaksSpec>;

export const LeaksEvidence = z.object({
  attempts: z.number(),
  /** Each series read, judged against its threshold (`leaking`). */
  growth: z.array(SeriesGrowth),
  /** leakText(growth): "6 fd/attempt (pipe)", "clean". */
  leaks: z.string(),
  ceiling: z.number().nullable(),
  maxclients: z.number().nullable(),
  nofile: z.number().nullable(),
  /** The first fresh client refused after the first attempt. */
  refused: z.object({ t: z.number(), error: z.string() }).nullable(),
  clientsWhenFull: ClientsWhenFull.nullable(),
  /** Fresh-client probes after the first attempt. */
  probes: z.number(),
});
export type LeaksEvidence = z.infer<typeof LeaksEvidence>;

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
  // A loop, not Math.min(...): a flood of failures (accept on 3.2: 100 000 lines in 20 s) passes the
  // engine's limit on arguments ("Maximum call stack size exceeded").
  const offset = attempts.reduce(
    (min, a, i) => Math.min(min, a.t - (unwrapped[i] ?? 0)),
    Number.POSITIVE_INFINITY,
  );
  return attempts.map((a, i) => ({ ...a, t: (unwrapped[i] ?? 0) + offset }));
}

/** The series leakText names, in its order (fds.total only when no single kind leaks). */
function shownLeaks(growth: SeriesGrowth[]): SeriesGrowth[] {
  const leaking = growth.filter((g) => g.leaking && g.perAttempt !== null);
  // fds.total is the sum of the kinds: named only when no single kind crosses its threshold.
  const kinds = leaking.filter((g) => FD_KINDS.includes(g.series));
  return leaking.filter((g) => g.series !== "fds.total" || kinds.length === 0);
}

/** What leaks, in a few words: "6 fd/attempt (pipe)", "1 file/attempt (aofdir)", or "clean". */
export function leakText(growth: SeriesGrowth[]): string {
  const shown = shownLeaks(growth);
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

/** Pure: the leaks decision on a history, or undefined while it cannot tell yet. */
export function decideLeaks(
  whole: History,
  context: CheckContext,
  specInput: SpecArg<LeaksSpecInput> = {},
): Decision<LeaksEvidence> | undefined {
  const spec = LeaksSpec.parse({ ...specInput, checker: "leaks" });
  const healedAt = spec.until === "heal" ? eventsOf(whole, FAULT_HEAL)[0]?.t : undefined;
  const history = healedAt === undefined ? whole : historyUntil(whole, healedAt);
  const series = spec.series ?? DEFAULT_LEAK_SERIES;
  const attempts = history.attempts;
  const timed = onServerClock(attempts);
  const judged = series
    .map((s) => ({ spec: s, points: seriesOf(history, s.series) }))
    .filter((s) => s.points.length > 0)
    .map((s) => judgeSeries(s.spec, s.points, timed, spec.minAttempts, spec.minSamples));
  const growth = judged.map((j) => j.growth);
  const leaking = growth.filter((g) => g.leaking);
  const limits = ceilingOf(history);
  const top = limits.ceiling ?? Number.POSITIVE_INFINITY;
  const first = attempts[0];
  const probes = first ? connectResults(history).filter((p) => p.t >= first.t) : [];
  const refused = probes.find((p) => !p.ok);
  const samples = fdSamples(history);
  const evidence: LeaksEvidence = {
    attempts: attempts.length,
    growth,
    leaks: leakText(growth),
    ...limits,
    refused: refused ? { t: refused.t, error: refused.error ?? "refused" } : null,
    clientsWhenFull: null,
    probes: probes.length,
  };
  const decided = (label: ResourceLabel, reason: string) => {
    const shown = shownLeaks(growth)[0]?.series;
    const plotted = shown ?? (samples.length ? "fds.total" : growth[0]?.series);
    return resourceDecision("leaks", label, reason, {
      summary: `${evidence.leaks} over ${attempts.length} attempts${refused ? ", client refused" : ""}`,
      facts: factsOf(evidence, series),
      evidence,
      ...(plotted
        ? {
            plot: {
              series: plotted,
              title: plotted,
              axis: plotted.slice(plotted.indexOf(".") + 1),
              ceiling: plotted.startsWith("fds.") ? limits.ceiling : null,
              marks: refused ? [{ t: refused.t, label: "client refused" }] : [],
            },
          }
        : {}),
    });
  };
  // A server that died after the heal died outside the window judged here (recovery says so).
  const died = healedAt === undefined ? containerDied(context) : undefined;
  if (died) return decided("inconclusive", diedText(died));

  const what = evidence.leaks;
  const n = attempts.length;
  const fdsJudged = judged.find((j) => j.growth.series === "fds.total");
  const enoughSamples = (fdsJudged?.samples ?? 0) >= spec.minSamples;
  // Clean means every series was read across the budget: a sampler that fell silent (a probe that
  // stopped answering while attempts went on) must not turn an unseen leak into "stable".
  const unseen = growth.filter((g) => g.attempts < context.attemptsNeeded).map((g) => g.series);

  if (leaking.length && refused)
    return decided(
      "exhaustion",
      `${what} over ${n} attempts, and a fresh client was refused (${refused.error ?? "refused"})`,
    );
  // Full: an attempt failed for want of an fd, or the highest fd reached the table's end. Attempts
  // stop there (the fork is never tried), so waiting for the budget would wait for the time limit.
  const fullAt = Math.min(
    pipesErrorAt(history) ?? Number.POSITIVE_INFINITY,
    samples.find((s) => s.maxFd >= top - 1)?.t ?? Number.POSITIVE_INFINITY,
  );
  const probedAt = (k: number) => {
    const at = attempts[k - 1]?.t;
    return at !== undefined && probes.some((p) => p.t >= at);
  };
  // An fd leak runs on until the table is full, so whether fresh clients are then refused is seen,
  // not left to when the budget happened to be reached: once full, growing needs the clients to get
  // in with the table full (the same rule as fd-leak's: 3 probes over a second, all answered).
  const fdsLeak = leaking.some((g) => g.series.startsWith("fds."));
  const hole = fdsLeak ? clientsWhenFull(probes, fullAt) : null;
  if (hole) {
    evidence.clientsWhenFull = hole;
    return decided(
      "growing",
      `${what} over ${n} attempts up to a full fd table (ceiling ${limits.ceiling ?? "unknown"}), and fresh clients still connect (${holeText(hole)})`,
    );
  }
  if (leaking.length && !fdsLeak && n >= context.attemptsNeeded && probedAt(spec.minAttempts))
    return decided(
      "growing",
      `${what} over ${n} attempts; fresh clients still connect (${probes.length} probes)`,
    );
  if (
    !leaking.length &&
    n >= context.attemptsNeeded &&
    enoughSamples &&
    unseen.length === 0 &&
    probedAt(context.attemptsNeeded)
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

  const ended =
    context.ended ??
    (healedAt === undefined ? undefined : { detail: `the fault healed at ${seconds(healedAt)}` });
  if (!ended) return undefined;
  if (leaking.length)
    return decided(refused ? "exhaustion" : "growing", `${what} over ${n} attempts (${ended.detail})`);
  if (n === 0) return decided("inconclusive", `no attempt seen before the run ended (${ended.detail})`);
  if (n < context.attemptsNeeded)
    return decided(
      "inconclusive",
      `too few attempts: ${n} of ${context.attemptsNeeded}, nothing grew past its threshold so far (${ended.detail})`,
    );
  if (!enoughSamples)
    return decided(
      "inconclusive",
      `too few samples: ${fdsJudged?.samples ?? 0} of ${spec.minSamples} after the first attempt (${ended.detail})`,
    );
  if (unseen.length)
    return decided(
      "inconclusive",
      `${unseen.join(", ")} stopped being read before ${context.attemptsNeeded} attempts (${ended.detail})`,
    );
  return decided("inconclusive", `${n} attempts, no fresh-client probe after them (${ended.detail})`);
}

function factsOf(e: LeaksEvidence, series: LeakSeries[]): Fact[] {
  const threshold = (name: string) => series.find((s) => s.series === name)?.perAttempt;
  return [
    { name: "attempts", value: String(e.attempts) },
    { name: "leaking", value: e.leaks },
    ...e.growth.map((g) => ({
      name: g.series,
      value: `${g.before ?? "—"} → ${g.after ?? "—"}, ${g.perAttempt ?? "—"}/attempt over ${g.attempts} (leaks at ≥ ${threshold(g.series)})${g.leaking ? ": leaking" : ""}`,
    })),
    {
      name: "fresh client",
      value: e.refused
        ? `refused at ${(e.refused.t / 1000).toFixed(1)} s: ${e.refused.error}`
        : e.clientsWhenFull
          ? `connected with the table full (${holeText(e.clientsWhenFull)})`
          : `connected (${e.probes} probes after the first attempt)`,
    },
    { name: "event loop ceiling", value: ceilingText(e) },
  ];
}

/** The leaks checker: its decision, and the fd probes it asks the run for. */
export function leaksChecker(specInput: SpecArg<LeaksSpecInput> = {}): Checker<LeaksEvidence> {
  const spec = LeaksSpec.parse({ ...specInput, checker: "leaks" });
  return {
    name: "leaks",
    // As fd-leak's, with 64 fds of margin (BGREWRITEAOF every 50 ms leaks 120 fds a second between
    // samples); full is also the highest fd at the table's end: a leak of fds the event loop never
    // registers (7.0's diskless sync pipe) passes the loop's size without any pipes-error.
    probes: fdCheckerProbes({
      margin: 64,
      full: (history, ceiling) =>
        pipesErrorAt(history) !== undefined ||
        (ceiling !== null &&
          (seriesOf(history, "fds.maxFd").at(-1)?.v ?? Number.NEGATIVE_INFINITY) >= ceiling - 1),
    }),
    decide: (history, context) => decideLeaks(history, context, spec),
  };
}
