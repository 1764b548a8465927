import { z } from "zod";
import {
  type Event,
  EventValue,
  eventsOf,
  FAULT_HEAL,
  FAULT_START,
  type History,
  MARK,
  type Point,
} from "../../core/history.js";
import { Pattern, seconds } from "./common.js";

/**
 * Moments and conditions, the words assert and within are made of.
 *
 * A moment is a time on the run's clock, found in the history: the run's start (0), the Nth attempt,
 * the first mark of a name (and value, if given), or the first or last start or heal of a fault (of
 * a name, on a node, if given), each optionally `afterMs` later; or the end of the run (assert only).
 * A moment that has not happened yet has no time.
 *
 * The last heal is the one after which its episode has no window to come: the run records on each
 * heal how many windows of its episode are still to come (the event's value), so a repeated
 * episode's last heal is known when it happens, not only once the run is over. A heal recorded
 * without that count (an older history, a script's own event) counts as its episode's last; of
 * several episodes that match, the latest such heal so far is the moment. The last start is the
 * latest start so far.
 */
const AfterMs = z.number().min(0).default(0);

export const AttemptsMoment = z.object({ attempts: z.number().int().positive(), afterMs: AfterMs }).strict();
export const MarkMoment = z
  .object({ mark: z.string().min(1), value: EventValue.optional(), afterMs: AfterMs })
  .strict();
export const FaultMoment = z
  .object({
    fault: z.enum(["start", "heal"]),
    /** The fault's name (default: any fault). */
    name: z.string().min(1).optional(),
    /** The node it acted on (default: any node). */
    node: z.string().min(1).optional(),
    /** The first such event (default), or the last: for a heal, its episode's last window's. */
    which: z.enum(["first", "last"]).default("first"),
    afterMs: AfterMs,
  })
  .strict();
export type FaultMoment = z.infer<typeof FaultMoment>;

/** A moment something must follow (within's `from`): start, an attempt, a mark, a fault event. */
export const FromMoment = z.union([z.literal("start"), AttemptsMoment, MarkMoment, FaultMoment]);
export type FromMoment = z.infer<typeof FromMoment>;

/** A moment to read a series at (assert's `at`): any of those, or the end of the run. */
export const Moment = z.union([z.literal("end"), FromMoment]);
export type Moment = z.infer<typeof Moment>;
export type MomentInput = z.input<typeof Moment>;

/** The moment's time in the history: undefined until it has happened (and always for "end"). */
export function momentTime(history: History, moment: Moment): number | undefined {
  if (moment === "start") return 0;
  if (moment === "end") return undefined;
  if ("attempts" in moment) {
    const t = history.attempts[moment.attempts - 1]?.t;
    return t === undefined ? undefined : t + moment.afterMs;
  }
  if ("mark" in moment) {
    const mark = eventsOf(history, MARK, { name: moment.mark }).find(
      (e) => moment.value === undefined || e.value === moment.value,
    );
    return mark === undefined ? undefined : mark.t + moment.afterMs;
  }
  const event = faultEvent(history, moment);
  return event === undefined ? undefined : event.t + moment.afterMs;
}

/** The fault event a moment names (see above): undefined until it has happened. */
export function faultEvent(history: History, moment: FaultMoment): Event | undefined {
  const kind = moment.fault === "start" ? FAULT_START : FAULT_HEAL;
  const events = eventsOf(history, kind, {
    ...(moment.node !== undefined ? { node: moment.node } : {}),
    ...(moment.name !== undefined ? { name: moment.name } : {}),
  });
  if (moment.which !== "last") return events[0];
  if (moment.fault === "start") return events.at(-1);
  // A heal with windows still to come (its value, set by the run) is not its episode's last.
  return events.findLast((e) => typeof e.value !== "number" || e.value === 0);
}

const ordinal = (n: number) => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th");
  return `${n}${suffix}`;
};

/** The moment in words: "the 30th attempt", "2.0 s after mark \"disk full\"", "the end of the run". */
export function momentText(moment: Moment): string {
  if (moment === "start") return "the run's start";
  if (moment === "end") return "the end of the run";
  let base: string;
  if ("attempts" in moment) base = `the ${ordinal(moment.attempts)} attempt`;
  else if ("mark" in moment)
    base = `mark "${moment.mark}"${moment.value === undefined ? "" : ` = ${JSON.stringify(moment.value)}`}`;
  else
    base = `the ${moment.name ?? "fault"}'s ${moment.which === "last" ? "last " : ""}${moment.fault}${moment.node === undefined ? "" : ` on ${moment.node}`}`;
  return moment.afterMs > 0 ? `${seconds(moment.afterMs)} after ${base}` : base;
}

/** Words to compare with: a point's text where it has one (ok, err, a refused client's error), else its number. */
const Word = z.union([z.number(), z.string()]);

/**
 * A condition on one reading: equals / not (a number against the value, a string against the text,
 * or the number written out where the point has no text), atMost / atLeast (the value), matches (a
 * regular expression on the text, or the number written out).
 */
export const Condition = z.union([
  z.object({ equals: Word }).strict(),
  z.object({ not: Word }).strict(),
  z.object({ atMost: z.number() }).strict(),
  z.object({ atLeast: z.number() }).strict(),
  z.object({ matches: Pattern }).strict(),
]);
export type Condition = z.infer<typeof Condition>;

function same(point: Point, word: number | string): boolean {
  return typeof word === "number" ? point.v === word : (point.text ?? String(point.v)) === word;
}

export function holds(condition: Condition, point: Point): boolean {
  if ("equals" in condition) return same(point, condition.equals);
  if ("not" in condition) return !same(point, condition.not);
  if ("atMost" in condition) return point.v <= condition.atMost;
  if ("atLeast" in condition) return point.v >= condition.atLeast;
  return new RegExp(condition.matches).test(point.text ?? String(point.v));
}

export function conditionText(condition: Condition): string {
  if ("equals" in condition) return `equals ${wordText(condition.equals)}`;
  if ("not" in condition) return `is not ${wordText(condition.not)}`;
  if ("atMost" in condition) return `is at most ${condition.atMost}`;
  if ("atLeast" in condition) return `is at least ${condition.atLeast}`;
  return `matches /${condition.matches}/`;
}

/** A word of a condition: numbers as they are, words in single quotes. */
const wordText = (word: number | string) => (typeof word === "number" ? String(word) : `'${word}'`);

/** A reading in words: "0 (err)", "3". */
export function pointText(point: Point): string {
  return point.text === undefined ? String(point.v) : `${point.v} (${point.text})`;
}
