import { z } from "zod";
import type { CheckContext, Checker } from "../../core/checker.js";
import type { History } from "../../core/history.js";
import { type Decision, type Fact, Outcome } from "../../core/outcome.js";
import type { Probe } from "../../core/probe.js";
import { Label } from "./common.js";

/**
 * Several checkers as one, Jepsen's checker/compose as the model: every part decides on the same
 * history and the composition keeps each part's whole decision in `parts`. With outcomes read as
 * "is the bug there?" (bug = true, no-bug = false, unknown = unknown), the rules are Kleene's:
 *
 * - `any` (the bug shows one way or another): bug when at least one part found its bug; no-bug when
 *   every part found none; otherwise unknown (no part found the bug, at least one could not tell).
 * - `all` (the bug needs every symptom): bug when every part found its bug; no-bug when at least one
 *   part found none; otherwise unknown (no part ruled it out, at least one could not tell).
 *
 * When: a composition decides once every part has decided on the same history (a part that decided
 * earlier is asked again: checkers keep no state, and the composition does not either), or when the
 * run has ended, where every part must decide (a part that still gives nothing counts as unknown).
 * Label: the labels of the parts that settled the outcome, each once, joined by "+" ("exhaustion",
 * "growing+timeout", "stable+held"), unless the spec names its own. Reason: the rule's words, then
 * those parts' reasons, each prefixed by the part's name. Summary and facts: every part's, prefixed by
 * its name (a name two parts share gets "#position"). Plot: the first settling part's, else the first
 * part's. Probes: every part's, one per node and name; where two parts ask for the same probe, it
 * reads when every part's `due` agrees (a probe one part holds back near a full fd table stays back).
 */
export const ComposeRule = z.enum(["all", "any"]);
export type ComposeRule = z.infer<typeof ComposeRule>;

export const ComposeLabels = z
  .object({ bug: Label.optional(), noBug: Label.optional(), unknown: Label.optional() })
  .strict();
export type ComposeLabels = z.infer<typeof ComposeLabels>;

export const ComposedEvidence = z.object({
  rule: ComposeRule,
  /** Each part's name, outcome and label, in order (their whole decisions are the decision's `parts`). */
  parts: z.array(z.object({ checker: z.string(), outcome: Outcome, label: z.string() })),
  /** Positions (0-based) of the parts that settled the outcome. */
  settledBy: z.array(z.number()),
});
export type ComposedEvidence = z.infer<typeof ComposedEvidence>;

/** The composed outcome of parts' outcomes (Kleene's or / and on "is the bug there?"). */
export function composeOutcome(rule: ComposeRule, outcomes: readonly Outcome[]): Outcome {
  const [strong, weak] = rule === "any" ? (["bug", "no-bug"] as const) : (["no-bug", "bug"] as const);
  if (outcomes.includes(strong)) return strong;
  if (outcomes.every((o) => o === weak)) return weak;
  return "unknown";
}

/** Names of the parts, made unique by position where two share one. */
function partNames(decisions: readonly Decision[]): string[] {
  const names = decisions.map((d) => d.checker);
  return names.map((n, i) => (names.indexOf(n) !== names.lastIndexOf(n) ? `${n}#${i + 1}` : n));
}

const RULE_TEXT: Record<ComposeRule, Record<Outcome, string>> = {
  any: {
    bug: "a part found its bug",
    "no-bug": "no part found its bug",
    unknown: "no part found its bug, and not every part could tell",
  },
  all: {
    bug: "every part found its bug",
    "no-bug": "a part found no bug",
    unknown: "no part ruled the bug out, and not every part could tell",
  },
};

/** Pure: the composition of the parts' decisions (every part decided). */
export function composeDecisions(
  rule: ComposeRule,
  decisions: Decision[],
  labels: ComposeLabels = {},
): Decision<ComposedEvidence> {
  const outcome = composeOutcome(
    rule,
    decisions.map((d) => d.outcome),
  );
  const names = partNames(decisions);
  const settledBy = decisions.flatMap((d, i) => (d.outcome === outcome ? [i] : []));
  const settling = settledBy.map((i) => decisions[i] as Decision);
  const own = outcome === "bug" ? labels.bug : outcome === "no-bug" ? labels.noBug : labels.unknown;
  const label = own ?? [...new Set(settling.map((d) => d.label))].join("+");
  const count = rule === "any" && outcome === "bug" ? ` (${settling.length} of ${decisions.length})` : "";
  const facts: Fact[] = [
    {
      name: rule,
      value: decisions
        .map((d, i) => `${names[i]} ${d.label}${d.label === d.outcome ? "" : ` (${d.outcome})`}`)
        .join(", "),
    },
    ...decisions.flatMap((d, i) => d.facts.map((f) => ({ name: `${names[i]}: ${f.name}`, value: f.value }))),
  ];
  const plot = settling.find((d) => d.plot)?.plot ?? decisions.find((d) => d.plot)?.plot;
  return {
    checker: rule,
    outcome,
    label,
    reason: `${RULE_TEXT[rule][outcome]}${count}: ${settledBy.map((i) => `${names[i]}: ${decisions[i]?.reason}`).join("; ")}`,
    summary: decisions
      .map((d, i) => `${names[i]} ${d.label}${d.summary ? ` (${d.summary})` : ""}`)
      .join("; "),
    facts,
    evidence: {
      rule,
      parts: decisions.map((d, i) => ({
        checker: names[i] ?? d.checker,
        outcome: d.outcome,
        label: d.label,
      })),
      settledBy,
    },
    parts: decisions,
    ...(plot ? { plot } : {}),
  };
}

/** One probe per node and name; a probe several parts ask for reads when every part's `due` agrees. */
export function unionProbes(lists: readonly (readonly Probe[] | undefined)[]): Probe[] {
  const byKey = new Map<string, Probe[]>();
  for (const probe of lists.flatMap((l) => l ?? [])) {
    const key = `${probe.node}\u0000${probe.name}`;
    byKey.set(key, [...(byKey.get(key) ?? []), probe]);
  }
  return [...byKey.values()].map((same) => {
    const [first] = same as [Probe, ...Probe[]];
    const dues = same.flatMap((p) => (p.due ? [p] : []));
    if (same.length === 1 || dues.length === 0) return first;
    const merged: Probe = {
      name: first.name,
      node: first.node,
      ...(first.once !== undefined ? { once: first.once } : {}),
      due: (history, context) => dues.every((p) => p.due?.(history, context) ?? true),
      ...(first.read ? { read: (node, now) => first.read?.(node, now) ?? Promise.resolve(undefined) } : {}),
      ...(first.onLog ? { onLog: (line, history) => first.onLog?.(line, history) } : {}),
    };
    return merged;
  });
}

/** A composition of checkers (see the rules above). */
export function compose(
  rule: ComposeRule,
  parts: readonly Checker[],
  labels: ComposeLabels = {},
): Checker<ComposedEvidence> {
  if (parts.length === 0) throw new Error(`${rule} needs at least one checker`);
  const probes = unionProbes(parts.map((p) => p.probes));
  const reads = [...new Set(parts.flatMap((p) => p.reads ?? []))];
  return {
    name: rule,
    ...(probes.length ? { probes } : {}),
    ...(reads.length ? { reads } : {}),
    decide(history: History, context: CheckContext) {
      const decisions: Decision[] = [];
      for (const part of parts) {
        const decided = part.decide(history, context);
        if (decided) decisions.push(decided);
        else if (!context.ended) return undefined;
        else
          decisions.push({
            checker: part.name,
            outcome: "unknown",
            label: "inconclusive",
            reason: `${part.name} gave no decision for the ended run (${context.ended.detail})`,
            summary: "",
            facts: [],
            evidence: null,
          });
      }
      return composeDecisions(rule, decisions, labels);
    },
  };
}

export const allOf = (parts: readonly Checker[], labels?: ComposeLabels) => compose("all", parts, labels);
export const anyOf = (parts: readonly Checker[], labels?: ComposeLabels) => compose("any", parts, labels);
