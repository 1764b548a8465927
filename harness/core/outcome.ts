import { z } from "zod";

/**
 * What a checker decides, in the words of a bug report. Jepsen's checkers answer `:valid?` true,
 * false or `:unknown`; here the question is "is the bug there?": `bug`, `no-bug`, or `unknown` (the
 * run could not tell, and the reason says why). Everything else a checker knows is its own: a label
 * it names (exhaustion, growing, stable, recovered, …), the facts a table prints, and evidence of its
 * own shape. Nothing outside a checker needs to know what its evidence means.
 */
export const Outcome = z.enum(["bug", "no-bug", "unknown"]);
export type Outcome = z.infer<typeof Outcome>;

/** A row of the summary table and the report: chosen and worded by the checker that decided. */
export const Fact = z.object({ name: z.string(), value: z.string() });
export type Fact = z.infer<typeof Fact>;

/**
 * What the report's chart draws for a decision: one series over time, the attempts as rings, an
 * optional dashed ceiling, and marks (a refused client, a failed write) as labelled crosses. Fault
 * windows come from the history's events, not from here.
 */
export const Plot = z.object({
  series: z.string(),
  title: z.string(),
  axis: z.string(),
  ceiling: z.number().nullable().default(null),
  /** What the dashed line is, in the key and beside it (default "ceiling"; a recovery's baseline). */
  ceilingLabel: z.string().optional(),
  marks: z.array(z.object({ t: z.number(), label: z.string() })).default([]),
});
export type Plot = z.infer<typeof Plot>;
export type PlotInput = z.input<typeof Plot>;

/** A checker's decision. `E` is the checker's own evidence; composed checkers keep their parts'. */
export interface Decision<E = unknown> {
  /** The checker that decided (a composition names itself: "all", "any"). */
  checker: string;
  outcome: Outcome;
  /** The checker's word for what it saw: exhaustion, growing, stable, held, recovered, timeout… */
  label: string;
  /** One sentence a reader can check against the evidence; for `unknown`, why it could not tell. */
  reason: string;
  /** Figures in a line, for a matrix cell, a bisect step or the catalogue: "6 fd/attempt, 8 → 194". */
  summary: string;
  facts: Fact[];
  evidence: E;
  /** The decisions of a composition's parts, each whole. */
  parts?: Decision[];
  plot?: Plot;
}

export const Decision: z.ZodType<Decision, unknown> = z.lazy(() =>
  z.object({
    checker: z.string(),
    outcome: Outcome,
    label: z.string(),
    reason: z.string(),
    summary: z.string().default(""),
    facts: z.array(Fact).default([]),
    evidence: z.unknown(),
    parts: z.array(Decision).optional(),
    plot: Plot.optional(),
  }),
);

/**
 * An expectation as people state it: an outcome (`bug`, `no-bug`, `unknown`), or a label the
 * checker names (`exhaustion`), which then must match exactly (and implies its outcome).
 */
export const Expected = z.string().min(1);
export type Expected = z.infer<typeof Expected>;

export function isOutcome(expected: string): expected is Outcome {
  return (Outcome.options as readonly string[]).includes(expected);
}

/** Whether a decision meets what was expected of it: by outcome, or by label where one was stated. */
export function meets(decision: Pick<Decision, "outcome" | "label">, expected: Expected): boolean {
  return isOutcome(expected) ? decision.outcome === expected : decision.label === expected;
}

/** A decision's words for a table cell: the label, and the outcome where the label does not say it. */
export function decisionText(decision: Pick<Decision, "outcome" | "label">): string {
  return decision.label === decision.outcome ? decision.label : `${decision.label} (${decision.outcome})`;
}
