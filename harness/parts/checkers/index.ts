import { type History, seriesOf } from "../../core/history.js";
import type { CheckerSpec } from "../../scenario/schema.js";
import type { FdSample } from "../probes/fds.js";
import { decideAofDir } from "./aof-dir.js";
import { type Decision, decideFdLeak, type FdLeakInput, fdEvidence } from "./fd-leak.js";
import { decideGrowth } from "./growth.js";
import { DEFAULT_LEAK_SERIES, decideLeaks } from "./leaks.js";

/** Why a run ended before the checker decided; the checker then says inconclusive, with this. */
export interface Ended {
  reason: "time-limit" | "container-exited" | "error";
  detail: string;
}

/** What a checker knows besides the history: facts of the server and the scenario's budget. */
export interface CheckContext {
  /** The main node's fds before the workload. */
  baseline?: FdSample;
  /** The event loop's size (maxclients + 128), or nofile if lower. */
  ceiling: number;
  /** Attempts a `stable` verdict needs. */
  attemptsNeeded: number;
  ended?: Ended;
}

/**
 * A checker is pure: history and context in, a decision (verdict, reason, evidence) out, or undefined
 * while it cannot decide yet. The watch loop calls it after every tick; a script may pass its own.
 */
export interface Checker {
  readonly name: string;
  decide(history: History, context: CheckContext): Decision | undefined;
  /**
   * Whether a fresh-client probe may run now (`due`: the probe interval has passed). A checker that
   * needs probes at a particular moment says so; by default a probe runs whenever it is due.
   */
  probeNow?(history: History, context: CheckContext, due: boolean): boolean;
}

export function fdInput(
  history: History,
  context: CheckContext,
  fdsPerAttempt = 6,
  tolerance = 3,
): FdLeakInput {
  return {
    samples: history.samples,
    events: history.events,
    attempts: history.attempts,
    probes: history.probes,
    ...(context.baseline ? { baseline: context.baseline } : {}),
    ceiling: context.ceiling,
    attemptsNeeded: context.attemptsNeeded,
    tolerance,
    fdsPerAttempt,
    ...(context.ended ? { ended: context.ended } : {}),
  };
}

export function fdLeakChecker(fdsPerAttempt = 6, tolerance = 3): Checker {
  return {
    name: "fd-leak",
    decide: (history, context) => decideFdLeak(fdInput(history, context, fdsPerAttempt, tolerance)),
    // A probe's own connection, open while serverCron's last leaking tick runs, leaves a hole below
    // the ceiling once it closes, and later clients get in through it. So near the ceiling the probe
    // waits until an attempt has failed for want of a slot (the table is full), then probes at once.
    probeNow: (history, context, due) => {
      const sample = history.samples.at(-1);
      const near = sample !== undefined && sample.maxFd >= context.ceiling - 3 * fdsPerAttempt;
      const full = history.events.some((e) => e.kind === "pipes-error");
      return full || (due && !near);
    },
  };
}

export function aofDirChecker(probe = "aofdir"): Checker {
  return {
    name: "aof-dir",
    decide: (history, context) =>
      decideAofDir({
        ...fdInput(history, context),
        files: seriesOf(history, `${probe}.files`),
        manifestBytes: seriesOf(history, `${probe}.manifestBytes`),
        probe,
      }),
  };
}

export function growthChecker(spec: Extract<CheckerSpec, { checker: "growth" }>): Checker {
  return {
    name: "growth",
    decide: (history, context) =>
      decideGrowth({
        series: spec.series,
        points: seriesOf(history, spec.series),
        attempts: history.attempts,
        perAttempt: spec.perAttempt,
        tolerance: spec.tolerance,
        minAttempts: spec.minAttempts,
        attemptsNeeded: context.attemptsNeeded,
        ...(context.ended ? { ended: context.ended } : {}),
        evidence: fdEvidence(fdInput(history, context)),
      }),
  };
}

export function leaksChecker(spec: Extract<CheckerSpec, { checker: "leaks" }>): Checker {
  return {
    name: "leaks",
    decide: (history, context) =>
      decideLeaks({
        history,
        series: spec.series ?? DEFAULT_LEAK_SERIES,
        minAttempts: spec.minAttempts,
        minSamples: spec.minSamples,
        attemptsNeeded: context.attemptsNeeded,
        ceiling: context.ceiling,
        evidence: fdEvidence(fdInput(history, context)),
        ...(context.ended ? { ended: context.ended } : {}),
      }),
    // As the fd-leak checker: near the table's end no probe (its closed socket would leave a hole;
    // 64 fds of margin, as BGREWRITEAOF every 50 ms leaks 120 fds a second between samples),
    // then once it is full (an attempt failed for want of a slot, or the highest fd reached it) a
    // probe every tick. Full is also the highest fd at the end: a leak of fds the event loop never
    // registers (7.0's diskless sync pipe) passes the loop's size without any pipes-error.
    probeNow: (history, context, due) => {
      const sample = history.samples.at(-1);
      const near = sample !== undefined && sample.maxFd >= context.ceiling - 64;
      const full =
        history.events.some((e) => e.kind === "pipes-error") ||
        (sample !== undefined && sample.maxFd >= context.ceiling - 1);
      return full || (due && !near);
    },
  };
}

/** The checker a scenario names (data), or the one a script passes (a function of the same shape). */
export function checkerFor(spec: CheckerSpec | Checker): Checker {
  if ("decide" in spec) return spec;
  switch (spec.checker) {
    case "fd-leak":
      return fdLeakChecker(spec.fdsPerAttempt, spec.tolerance);
    case "aof-dir":
      return aofDirChecker(spec.probe);
    case "growth":
      return growthChecker(spec);
    case "leaks":
      return leaksChecker(spec);
  }
}

export type { Decision, Evidence, SeriesGrowth } from "./fd-leak.js";
