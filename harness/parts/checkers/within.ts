import { createHash } from "node:crypto";
import { z } from "zod";
import type { CheckContext, Checker } from "../../core/checker.js";
import { eventsOf, type History, seriesOf } from "../../core/history.js";
import type { Decision } from "../../core/outcome.js";
import { logProbe } from "../probes/log.js";
import { NodeName } from "../probes/spec.js";
import {
  CheckerName,
  containerDied,
  decision,
  diedText,
  Label,
  Pattern,
  type SpecArg,
  seconds,
  UNKNOWN_LABEL,
} from "./common.js";
import { Condition, conditionText, FromMoment, holds, momentText, momentTime, pointText } from "./moment.js";

/**
 * Liveness: something must happen within `ms` of a moment, else it is the bug.
 *
 * What must happen (`happens`), the first time at or after the moment:
 * - `{series, condition}`: a reading of the series for which the condition holds (a reading taken at
 *   or after the moment: a status that already holds counts at its first reading);
 * - `{succeeds: PROBE}`: the same on PROBE.ok = 1 (a connect probe's fresh client got PONG);
 * - `{log: PATTERN, node}`: a line of the node's log matching PATTERN arrives (the checker asks the
 *   run for a log probe of its own for it, so the line has a time);
 * - `{event: KIND, node?, name?}`: an event of the history (a parsed log line such as ready or
 *   rewrite-started, a mark, a fault's heal).
 * Outcomes: no bug ("happened", with how long it took) once it happened by the deadline; bug
 * ("timeout") once the deadline has passed without it (or it came late); unknown ("inconclusive")
 * when the run ended before the moment came, or before the deadline, or because the server died.
 *
 * `must: "not-happen"` turns it into its mirror, a window that must stay quiet ("the server must not
 * exit within 10 s of the fault": `{event: "exited"}`): bug ("happened") as soon as it happens by the
 * deadline; no bug ("did-not-happen") once the deadline has passed without it; unknown as above.
 */
export const Happening = z.union([
  z
    .object({ series: z.string().regex(/^[^.]+\..+$/, "a series PROBE.FIELD"), condition: Condition })
    .strict(),
  z
    .object({ succeeds: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, "a probe's name, e.g. connect") })
    .strict(),
  z.object({ log: Pattern, node: NodeName }).strict(),
  z
    .object({
      event: z.string().min(1),
      node: z.string().min(1).optional(),
      name: z.string().min(1).optional(),
    })
    .strict(),
]);
export type Happening = z.infer<typeof Happening>;

export const WithinSpec = z
  .object({
    checker: z.literal("within"),
    /** How the result and a composition's facts name it (default "within"). */
    name: CheckerName.optional(),
    from: FromMoment.default("start"),
    ms: z.number().positive(),
    happens: Happening,
    /** "happen" (liveness, the default) or "not-happen" (the window must stay quiet). */
    must: z.enum(["happen", "not-happen"]).default("happen"),
    labels: z.object({ bug: Label.optional(), noBug: Label.optional() }).strict().optional(),
  })
  .strict();
export type WithinSpec = z.infer<typeof WithinSpec>;
export type WithinSpecInput = z.input<typeof WithinSpec>;

export const WITHIN_LABELS = { bug: "timeout", noBug: "happened" } as const;
export const NOT_WITHIN_LABELS = { bug: "happened", noBug: "did-not-happen" } as const;

export const WithinEvidence = z.object({
  what: z.string(),
  must: z.enum(["happen", "not-happen"]),
  moment: z.string(),
  /** The moment's time (null: it never came). */
  from: z.number().nullable(),
  ms: z.number(),
  /** The first time it happened at or after the moment, and what was seen then (null: not seen). */
  happened: z.object({ t: z.number(), seen: z.string() }).nullable(),
  /** How long after the moment it happened. */
  tookMs: z.number().nullable(),
});
export type WithinEvidence = z.infer<typeof WithinEvidence>;

/** The log probe a `log` happening asks for: named by its node and pattern, so equal asks share one. */
export function withinLogProbeName(node: string, pattern: string): string {
  return `within-${createHash("sha256").update(`${node}\n${pattern}`).digest("hex").slice(0, 8)}`;
}

/** The series a happening is read from, where it is one (for the chart). */
export function seriesFor(happens: Happening): string | undefined {
  if ("series" in happens) return happens.series;
  if ("succeeds" in happens) return `${happens.succeeds}.ok`;
  if ("log" in happens) return `${withinLogProbeName(happens.node, happens.log)}.count`;
  return undefined;
}

export function happeningText(happens: Happening): string {
  if ("series" in happens) return `${happens.series} ${conditionText(happens.condition)}`;
  if ("succeeds" in happens) return `${happens.succeeds} succeeds (${happens.succeeds}.ok = 1)`;
  if ("log" in happens) return `a line matching /${happens.log}/ in ${happens.node}'s log`;
  const where = [happens.name && `"${happens.name}"`, happens.node && `on ${happens.node}`]
    .filter(Boolean)
    .join(" ");
  const article = /^[aeiou]/i.test(happens.event) ? "an" : "a";
  return `${article} ${happens.event} event${where ? ` ${where}` : ""}`;
}

/** The first time at or after `from` that it happened, and what was seen. */
export function firstAfter(
  history: History,
  happens: Happening,
  from: number,
): { t: number; seen: string } | undefined {
  if ("event" in happens) {
    const event = eventsOf(history, happens.event, {
      ...(happens.node !== undefined ? { node: happens.node } : {}),
      ...(happens.name !== undefined ? { name: happens.name } : {}),
    }).find((e) => e.t >= from);
    return event && { t: event.t, seen: event.line ?? `${event.kind}${event.name ? ` ${event.name}` : ""}` };
  }
  const points = seriesOf(history, seriesFor(happens) ?? "");
  if ("log" in happens) {
    // Each matching line raises the count: the first rise at or after the moment.
    const before = points.findLast((p) => p.t < from)?.v ?? 0;
    const line = points.find((p) => p.t >= from && p.v > before);
    return line && { t: line.t, seen: line.text ?? `line ${line.v}` };
  }
  const condition: Condition = "series" in happens ? happens.condition : { equals: 1 };
  const point = points.find((p) => p.t >= from && holds(condition, p));
  return point && { t: point.t, seen: pointText(point) };
}

/** Pure: the liveness decision on a history, or undefined while the deadline has not passed. */
export function decideWithin(
  history: History,
  context: CheckContext,
  spec: WithinSpec,
): Decision<WithinEvidence> | undefined {
  const name = spec.name ?? "within";
  const what = happeningText(spec.happens);
  const when = momentText(spec.from);
  const from = momentTime(history, spec.from);
  const hit = from === undefined ? undefined : firstAfter(history, spec.happens, from);
  const deadline = from === undefined ? undefined : from + spec.ms;
  const series = seriesFor(spec.happens);
  const told = (summary: string) => ({
    summary,
    facts: [
      { name: spec.must === "happen" ? "must happen" : "must not happen", value: what },
      {
        name: "within",
        value: `${seconds(spec.ms)} of ${when}${from === undefined ? " (not reached)" : ` (at ${seconds(from)})`}`,
      },
      {
        name: "happened",
        value: hit && from !== undefined ? `after ${seconds(hit.t - from)}: ${hit.seen}` : "not seen",
      },
    ],
    evidence: {
      what,
      must: spec.must,
      moment: when,
      from: from ?? null,
      ms: spec.ms,
      happened: hit ?? null,
      tookMs: hit && from !== undefined ? hit.t - from : null,
    },
    ...(series
      ? {
          plot: {
            series,
            title: what,
            axis: series.slice(series.indexOf(".") + 1),
            marks: [
              ...(from !== undefined ? [{ t: from, label: when }] : []),
              ...(deadline !== undefined ? [{ t: deadline, label: "deadline" }] : []),
            ],
          },
        }
      : {}),
  });

  if (from !== undefined && deadline !== undefined && spec.must === "not-happen") {
    if (hit && hit.t <= deadline)
      return decision(
        name,
        "bug",
        spec.labels?.bug ?? NOT_WITHIN_LABELS.bug,
        `${what} happened ${seconds(hit.t - from)} after ${when}, where it must not within ${seconds(spec.ms)}: ${hit.seen}`,
        told(`happened after ${seconds(hit.t - from)} (≤ ${seconds(spec.ms)})`),
      );
    if (context.now >= deadline)
      return decision(
        name,
        "no-bug",
        spec.labels?.noBug ?? NOT_WITHIN_LABELS.noBug,
        `${what} did not happen within ${seconds(spec.ms)} of ${when} (at ${seconds(from)})`,
        told(`not within ${seconds(spec.ms)}`),
      );
  } else if (from !== undefined && deadline !== undefined) {
    if (hit && hit.t <= deadline)
      return decision(
        name,
        "no-bug",
        spec.labels?.noBug ?? WITHIN_LABELS.noBug,
        `${what} happened ${seconds(hit.t - from)} after ${when} (within ${seconds(spec.ms)}): ${hit.seen}`,
        told(`happened after ${seconds(hit.t - from)} (≤ ${seconds(spec.ms)})`),
      );
    if (hit || context.now >= deadline)
      return decision(
        name,
        "bug",
        spec.labels?.bug ?? WITHIN_LABELS.bug,
        `${what} did not happen within ${seconds(spec.ms)} of ${when} (at ${seconds(from)})${hit ? `; it came after ${seconds(hit.t - from)}` : `; not by ${seconds(context.now)}`}`,
        told(
          hit
            ? `came after ${seconds(hit.t - from)} (> ${seconds(spec.ms)})`
            : `not within ${seconds(spec.ms)}`,
        ),
      );
  }
  const ended = context.ended;
  if (!ended) return undefined;
  const unknown = (reason: string) => decision(name, "unknown", UNKNOWN_LABEL, reason, told("not judged"));
  const died = containerDied(context);
  if (died) return unknown(`${diedText(died)}, before ${what} or the deadline`);
  if (from === undefined) return unknown(`${when} never came before the run ended (${ended.detail})`);
  return unknown(
    `the run ended ${seconds(context.now - from)} after ${when}, before ${seconds(spec.ms)} had passed, and ${what} had not happened (${ended.detail})`,
  );
}

/** The within checker (see WithinSpec); a `log` happening brings its own log probe. */
export function withinChecker(specInput: SpecArg<WithinSpecInput>): Checker<WithinEvidence> {
  const spec = WithinSpec.parse({ ...specInput, checker: "within" });
  const { happens } = spec;
  const read =
    "series" in happens ? happens.series : "succeeds" in happens ? `${happens.succeeds}.ok` : undefined;
  return {
    name: spec.name ?? "within",
    ...(read ? { reads: [read] } : {}),
    ...("log" in happens
      ? {
          probes: [
            logProbe({
              name: withinLogProbeName(happens.node, happens.log),
              pattern: happens.log,
              node: happens.node,
            }),
          ],
        }
      : {}),
    decide: (history, context) => decideWithin(history, context, spec),
  };
}
