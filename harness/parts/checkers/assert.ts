import { z } from "zod";
import type { CheckContext, Checker } from "../../core/checker.js";
import { type History, Point, seriesOf } from "../../core/history.js";
import type { Decision, Outcome } from "../../core/outcome.js";
import { CheckerName, decision, diedText, Label, type SpecArg, seconds, UNKNOWN_LABEL } from "./common.js";
import { Condition, conditionText, holds, Moment, momentText, momentTime, pointText } from "./moment.js";

/**
 * A condition on any series at a moment, with the side that is the bug stated: Jepsen's checkers
 * answer "valid?"; an assertion here answers "is the bug there?" and says which reading means yes.
 *
 * - The reading: at a moment other than the end, the first reading of the series at or after it (the
 *   checker decides as soon as that reading exists, and a later reading changes nothing); at "end",
 *   the last reading, once the run has ended.
 * - `bug: "if-false"`: the condition states what a good server shows (bug when it does not hold);
 *   `bug: "if-true"`: the condition states the symptom (bug when it holds).
 * - Labels: "violated" for the bug, "held" for no bug (own words in `labels`), "inconclusive" for
 *   unknown: the moment never came, no reading at or after it, or, at "end", the server died first.
 */
export const AssertSpec = z
  .object({
    checker: z.literal("assert"),
    /** How the result and a composition's facts name it (default "assert"). */
    name: CheckerName.optional(),
    /** A series PROBE.FIELD: info.aof_last_bgrewrite_status, connect.ok, tmp.files, oom.count… */
    series: z.string().regex(/^[^.]+\..+$/, "a series PROBE.FIELD, e.g. info.aof_last_bgrewrite_status"),
    at: Moment,
    condition: Condition,
    bug: z.enum(["if-true", "if-false"]),
    labels: z.object({ bug: Label.optional(), noBug: Label.optional() }).strict().optional(),
  })
  .strict();
export type AssertSpec = z.infer<typeof AssertSpec>;
export type AssertSpecInput = z.input<typeof AssertSpec>;

export const ASSERT_LABELS = { bug: "violated", noBug: "held" } as const;

export const AssertEvidence = z.object({
  series: z.string(),
  moment: z.string(),
  /** The moment's time (null: it never came; at "end", the last reading's time). */
  at: z.number().nullable(),
  condition: z.string(),
  bug: z.enum(["if-true", "if-false"]),
  /** The reading judged (null: none). */
  reading: Point.nullable(),
  /** Whether the condition held on it (null: nothing judged). */
  held: z.boolean().nullable(),
});
export type AssertEvidence = z.infer<typeof AssertEvidence>;

/** Pure: the assertion's decision on a history, or undefined until its moment and reading have come. */
export function decideAssert(
  history: History,
  context: CheckContext,
  spec: AssertSpec,
): Decision<AssertEvidence> | undefined {
  const name = spec.name ?? "assert";
  const points = seriesOf(history, spec.series);
  const when = momentText(spec.at);
  const cond = conditionText(spec.condition);
  const at =
    spec.at === "end"
      ? context.ended
        ? (points.at(-1)?.t ?? null)
        : undefined
      : momentTime(history, spec.at);
  const reading =
    at === undefined || at === null
      ? undefined
      : spec.at === "end"
        ? points.at(-1)
        : points.find((p) => p.t >= at);
  const evidence = (held: boolean | null, point?: Point): AssertEvidence => ({
    series: spec.series,
    moment: when,
    at: at ?? null,
    condition: cond,
    bug: spec.bug,
    reading: point ?? null,
    held,
  });
  const plot = (point?: Point) => ({
    series: spec.series,
    title: spec.series,
    axis: spec.series.slice(spec.series.indexOf(".") + 1),
    marks: [
      ...(at !== undefined && at !== null ? [{ t: at, label: when }] : []),
      ...(point ? [{ t: point.t, label: `${pointText(point)}` }] : []),
    ],
  });
  const unknown = (reason: string) =>
    decision(name, "unknown", UNKNOWN_LABEL, reason, {
      summary: `${spec.series} ${when}: not judged`,
      facts: [
        { name: "series", value: spec.series },
        {
          name: "moment",
          value: at === undefined || at === null ? `${when} (not reached)` : `${when} at ${seconds(at)}`,
        },
        {
          name: "condition",
          value: `${cond} (bug ${spec.bug === "if-true" ? "if it holds" : "if it does not"})`,
        },
      ],
      evidence: evidence(null),
      plot: plot(),
    });

  const ended = context.ended;
  if (reading && !(spec.at === "end" && ended?.reason === "container-exited")) {
    const held = holds(spec.condition, reading);
    const outcome: Outcome = held === (spec.bug === "if-true") ? "bug" : "no-bug";
    const label =
      outcome === "bug"
        ? (spec.labels?.bug ?? ASSERT_LABELS.bug)
        : (spec.labels?.noBug ?? ASSERT_LABELS.noBug);
    const which = spec.at === "end" ? "the last reading" : `the first reading at or after ${when}`;
    const verdict = held ? "holds" : "does not hold";
    return decision(
      name,
      outcome,
      label,
      `${spec.series} read ${pointText(reading)} at ${seconds(reading.t)} (${which}): ${cond} ${verdict}, which is ${outcome === "bug" ? "the bug" : "no bug"} (bug ${spec.bug === "if-true" ? "if it holds" : "if it does not"})`,
      {
        summary: `${spec.series} = ${pointText(reading)} ${spec.at === "end" ? "at the end" : `after ${when}`}: ${cond} ${verdict}`,
        facts: [
          { name: "series", value: spec.series },
          { name: "moment", value: at === undefined || at === null ? when : `${when} at ${seconds(at)}` },
          { name: "reading", value: `${pointText(reading)} at ${seconds(reading.t)}` },
          {
            name: "condition",
            value: `${cond}: ${verdict} (bug ${spec.bug === "if-true" ? "if it holds" : "if it does not"})`,
          },
        ],
        evidence: evidence(held, reading),
        plot: plot(reading),
      },
    );
  }
  if (!ended) return undefined;
  if (spec.at === "end" && ended.reason === "container-exited")
    return unknown(`${diedText(ended)}: the last reading of ${spec.series} is not the end state`);
  if (at === undefined) return unknown(`${when} never came before the run ended (${ended.detail})`);
  return unknown(
    at === null
      ? `no reading of ${spec.series} before the run ended (${ended.detail})`
      : `no reading of ${spec.series} at or after ${when} (${seconds(at)}) before the run ended (${ended.detail})`,
  );
}

/** The assert checker (see AssertSpec). */
export function assertChecker(specInput: SpecArg<AssertSpecInput>): Checker<AssertEvidence> {
  const spec = AssertSpec.parse({ ...specInput, checker: "assert" });
  return {
    name: spec.name ?? "assert",
    reads: [spec.series],
    decide: (history, context) => decideAssert(history, context, spec),
  };
}
