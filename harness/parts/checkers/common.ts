import { z } from "zod";
import type { CheckContext, Ended } from "../../core/checker.js";
import type { Event, History } from "../../core/history.js";
import {
  type Decision,
  type Fact,
  isOutcome,
  type Outcome,
  Plot,
  type PlotInput,
} from "../../core/outcome.js";

/**
 * The resource checkers' labels (the verdicts they had before outcomes) and the outcome each means:
 * a resource that ran out or keeps growing is the bug, one that held is not, and inconclusive is the
 * run that could not tell.
 */
export const RESOURCE_LABELS = {
  exhaustion: "bug",
  growing: "bug",
  stable: "no-bug",
  inconclusive: "unknown",
} as const satisfies Record<string, Outcome>;
export type ResourceLabel = keyof typeof RESOURCE_LABELS;

/** The word every built-in uses for "the run could not tell": the reason says why. */
export const UNKNOWN_LABEL = "inconclusive";

export const round = (n: number) => Math.round(n * 100) / 100;
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A constructor's argument: the data form, its `checker` kind optional (the constructor knows it). */
export type SpecArg<T extends { checker: string }> = Omit<T, "checker"> & { checker?: T["checker"] };

/** What a checker adds to its outcome, label and reason. */
export interface Told<E> {
  summary: string;
  facts: Fact[];
  evidence: E;
  plot?: PlotInput;
}

/** A decision in the contract's shape (the plot with its defaults filled in). */
export function decision<E>(
  checker: string,
  outcome: Outcome,
  label: string,
  reason: string,
  told: Told<E>,
): Decision<E> {
  return {
    checker,
    outcome,
    label,
    reason,
    summary: told.summary,
    facts: told.facts,
    evidence: told.evidence,
    ...(told.plot ? { plot: Plot.parse(told.plot) } : {}),
  };
}

/** A resource checker's decision: the label says the outcome. */
export function resourceDecision<E>(
  checker: string,
  label: ResourceLabel,
  reason: string,
  told: Told<E>,
): Decision<E> {
  return decision(checker, RESOURCE_LABELS[label], label, reason, told);
}

/** The reason every resource checker gives when the server is gone: nothing it saw can be trusted to the end. */
export function diedText(ended: Ended): string {
  return `container died: ${ended.detail}`;
}

export function containerDied(context: Pick<CheckContext, "ended">): Ended | undefined {
  return context.ended?.reason === "container-exited" ? context.ended : undefined;
}

/** Log events of one node (the fd and AOF checkers watch the main node's). */
export function nodeEvents(history: History, node = "main"): Event[] {
  return history.events.filter((e) => e.node === node);
}

/** The last time anything was recorded: where a replayed or a synthetic history stands. */
export function lastRecorded(history: History): number {
  let last = 0;
  for (const points of Object.values(history.series)) last = Math.max(last, points.at(-1)?.t ?? 0);
  for (const e of history.events) last = Math.max(last, e.t);
  for (const a of history.attempts) last = Math.max(last, a.t);
  return last;
}

/**
 * A label a scenario names for a side of its own checker (what a catalogue or an expectation then
 * states). Not an outcome's word: an expectation "bug" must mean the outcome, whatever the labels.
 */
export const Label = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, "a label such as status-stuck or recovered (lower case, digits, -)")
  .refine((s) => !isOutcome(s), "bug, no-bug and unknown are outcomes; name the label otherwise");

/** The name a checker of the data form goes by in a composition's facts and a result (default: its kind). */
export const CheckerName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a name such as status-err or synced");

/** A regular expression as data: it must compile. */
export const Pattern = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, "a regular expression that compiles");
