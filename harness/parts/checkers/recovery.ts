import { z } from "zod";
import type { CheckContext, Checker } from "../../core/checker.js";
import { faultWindows, type History, Point, seriesOf } from "../../core/history.js";
import type { Decision, Fact } from "../../core/outcome.js";
import type { Probe } from "../../core/probe.js";
import { commandProbe } from "../probes/command.js";
import { connectProbe } from "../probes/connect.js";
import { fdsProbe } from "../probes/fds.js";
import { infoProbe } from "../probes/info.js";
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
import { Condition, conditionText, type FaultMoment, faultEvent, momentText, pointText } from "./moment.js";
import { firstAfter, type Happening, seriesFor, withinLogProbeName } from "./within.js";

/**
 * Recovery: what the server is left with once a fault is gone. After the last heal (of the faults
 * `after` names; default any), within `ms`, every requirement listed must hold, each on its own
 * evidence, the first time it holds at or after the heal:
 *
 * - `baseline`: a series back at or below its value before the fault (the last reading before the
 *   first fault start, or, for a fault on from the run's start, before the first attempt; or the
 *   `baseline` given) plus `tolerance`: leaked fds (fds.total) that come back, or do not;
 * - `clients`: a fresh client (new connection + PING) answered on the node;
 * - `rewrite` / `save`: an AOF rewrite / a BGSAVE finishes successfully on the node (its log line:
 *   "Background AOF rewrite finished successfully", "Background saving terminated with success",
 *   worded so by 2.8 to 8.x);
 * - `sync`: the node (a replica) reports master_link_status:up;
 * - `writes`: a write is accepted: a SET on a fresh client answered (its own probe), or the replies
 *   of a named command step or command probe (`replies`: NAME.ok = 1);
 * - `log`: a line matching a pattern in the node's log; `series`: any series meets a condition.
 *
 * Outcomes: no bug ("recovered") once every requirement held within `ms` of the last heal; bug
 * ("not-recovered") once `ms` has passed with one that has not; unknown ("inconclusive") when the
 * run ended before the last heal (a fault that never healed) or before the window closed, when a
 * baseline could not be known, or when the server died. The checker asks for the probes it needs:
 * fds for an fds.* baseline, and for clients, sync and writes its own probes, which read only once
 * the last heal has come (before it they would only add connections to a server under the fault:
 * a fresh client's socket near a full fd table is a hole the fd checkers must not see).
 */
const SeriesName = z.string().regex(/^[^.]+\..+$/, "a series PROBE.FIELD, e.g. fds.total");

export const Requirement = z.discriminatedUnion("require", [
  z
    .object({
      require: z.literal("baseline"),
      series: SeriesName,
      /** How far above its baseline the series may stay (a probe's own socket, a child's pipes). */
      tolerance: z.number().min(0).default(2),
      /** The value to come back to, where the run cannot know it (default: read before the fault). */
      baseline: z.number().optional(),
      /**
       * Judge it only where the run read the series before the fault: one with no baseline holds
       * (7.x's appendonlydir on 3.2, or before AOF was turned on). Default: no baseline is unknown.
       */
      ifRead: z.boolean().default(false),
    })
    .strict(),
  z.object({ require: z.literal("clients"), node: NodeName }).strict(),
  z.object({ require: z.literal("rewrite"), node: NodeName }).strict(),
  z.object({ require: z.literal("save"), node: NodeName }).strict(),
  z.object({ require: z.literal("sync"), node: NodeName }).strict(),
  z
    .object({
      require: z.literal("writes"),
      node: NodeName,
      /** A named command step's or command probe's replies (NAME.ok); default: a SET of its own. */
      replies: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_-]*$/)
        .optional(),
    })
    .strict(),
  z.object({ require: z.literal("log"), pattern: Pattern, node: NodeName }).strict(),
  z.object({ require: z.literal("series"), series: SeriesName, condition: Condition }).strict(),
]);
export type Requirement = z.infer<typeof Requirement>;
export type RequirementInput = z.input<typeof Requirement>;

export const RecoverySpec = z
  .object({
    checker: z.literal("recovery"),
    /** How the result and a composition's facts name it (default "recovery"). */
    name: CheckerName.optional(),
    /** Whose heal: a fault's name and/or node (default: any fault on any node). */
    after: z
      .object({ name: z.string().min(1).optional(), node: z.string().min(1).optional() })
      .strict()
      .default({}),
    /** How long after the last heal every requirement has to hold. */
    ms: z.number().positive(),
    requires: z.array(Requirement).min(1),
    labels: z.object({ bug: Label.optional(), noBug: Label.optional() }).strict().optional(),
  })
  .strict();
export type RecoverySpec = z.infer<typeof RecoverySpec>;
export type RecoverySpecInput = z.input<typeof RecoverySpec>;

export const RECOVERY_LABELS = { bug: "not-recovered", noBug: "recovered" } as const;

/** The success lines `rewrite` and `save` wait for (aof.c's backgroundRewriteDoneHandler, rdb.c's backgroundSaveDoneHandlerDisk). */
export const REWRITE_DONE = "Background AOF rewrite finished successfully";
export const SAVE_DONE = "Background saving terminated with success";

export const RequirementResult = z.object({
  /** The requirement in words. */
  what: z.string(),
  require: z.string(),
  /** The series it was read from (null: an event). */
  series: z.string().nullable(),
  /** baseline: the value to come back to, plus the tolerance (null: unknown, or not a baseline). */
  limit: z.number().nullable(),
  /** The first time it held at or after the heal, and what was seen then. */
  held: z.object({ t: z.number(), seen: z.string() }).nullable(),
  /** How long after the heal it held. */
  tookMs: z.number().nullable(),
  /** The last reading at or after the heal where it did not hold yet (null: none). */
  last: Point.nullable(),
  /** Why it cannot be judged (a baseline never read), else null. */
  unknown: z.string().nullable(),
});
export type RequirementResult = z.infer<typeof RequirementResult>;

export const RecoveryEvidence = z.object({
  moment: z.string(),
  /** The last heal's time (null: it never came). */
  healedAt: z.number().nullable(),
  ms: z.number(),
  /** The first start of the faults it judges (null: none started). */
  firstStart: z.number().nullable(),
  requirements: z.array(RequirementResult),
  /** Fault windows still open when it decided (a fault that never healed). */
  open: z.array(z.object({ name: z.string(), node: z.string(), start: z.number() })),
});
export type RecoveryEvidence = z.infer<typeof RecoveryEvidence>;

/** The probe names the checker's own probes go by on a node ("clients" on main, "clients-replica"). */
function ownName(kind: "clients" | "sync" | "writes", node: string): string {
  return node === "main" ? kind : `${kind}-${node}`;
}

/** What each requirement waits for, as within's happenings (their first time at or after a moment). */
function happeningOf(r: Requirement, limit: number | null): Happening | undefined {
  switch (r.require) {
    case "baseline":
      return limit === null ? undefined : { series: r.series, condition: { atMost: limit } };
    case "clients":
      return { succeeds: ownName("clients", r.node) };
    case "rewrite":
      return { log: REWRITE_DONE, node: r.node };
    case "save":
      return { log: SAVE_DONE, node: r.node };
    case "sync":
      return { series: `${ownName("sync", r.node)}.master_link_status`, condition: { equals: 1 } };
    case "writes":
      return { succeeds: r.replies ?? ownName("writes", r.node) };
    case "log":
      return { log: r.pattern, node: r.node };
    case "series":
      return { series: r.series, condition: r.condition };
  }
}

function requirementText(r: Requirement): string {
  switch (r.require) {
    case "baseline":
      return `${r.series} back to its baseline`;
    case "clients":
      return `fresh clients served on ${r.node}`;
    case "rewrite":
      return `an AOF rewrite succeeds on ${r.node}`;
    case "save":
      return `a BGSAVE succeeds on ${r.node}`;
    case "sync":
      return `${r.node} in sync with its master`;
    case "writes":
      return r.replies ? `writes accepted (${r.replies}.ok)` : `writes accepted on ${r.node}`;
    case "log":
      return `a line matching /${r.pattern}/ in ${r.node}'s log`;
    case "series":
      return `${r.series} ${conditionText(r.condition)}`;
  }
}

/** The moment the checker judges from: the last heal of the faults `after` names. */
function healMoment(spec: RecoverySpec): FaultMoment {
  return {
    fault: "heal",
    which: "last",
    afterMs: 0,
    ...(spec.after.name !== undefined ? { name: spec.after.name } : {}),
    ...(spec.after.node !== undefined ? { node: spec.after.node } : {}),
  };
}

/** Windows of the faults it judges: a window still open means the last heal has not come. */
function windowsOf(history: History, spec: RecoverySpec) {
  return faultWindows(history, spec.after.node).filter(
    (w) => spec.after.name === undefined || w.name === spec.after.name,
  );
}

/** A series' value before the fault: the last reading before its first start, else before the first attempt. */
function baselineOf(
  history: History,
  r: Extract<Requirement, { require: "baseline" }>,
  firstStart: number | null,
): { value: number } | { unknown: string } {
  if (r.baseline !== undefined) return { value: r.baseline };
  const points = seriesOf(history, r.series);
  const firstAttempt = history.attempts[0]?.t;
  // A fault on from the run's start came before any reading: what the server had before its first
  // failed attempt is then what it had before the fault did anything.
  const before = (t: number | undefined) => (t === undefined ? undefined : points.findLast((p) => p.t <= t));
  const point = before(firstStart ?? undefined) ?? before(firstAttempt);
  if (point) return { value: point.v };
  return {
    unknown: `no reading of ${r.series} before the fault started${firstAttempt === undefined ? "" : " or before the first attempt"}, so its baseline is unknown: give it (baseline: N) or read the series earlier`,
  };
}

/** Pure: the recovery decision on a history, or undefined while it cannot tell yet. */
export function decideRecovery(
  history: History,
  context: CheckContext,
  specInput: SpecArg<RecoverySpecInput>,
): Decision<RecoveryEvidence> | undefined {
  const spec = RecoverySpec.parse({ ...specInput, checker: "recovery" });
  const name = spec.name ?? "recovery";
  const moment = healMoment(spec);
  const when = momentText(moment);
  const windows = windowsOf(history, spec);
  const open = windows.filter((w) => w.heal === null).map(({ name, node, start }) => ({ name, node, start }));
  const firstStart = windows[0]?.start ?? null;
  // The last heal, once no window of the faults judged is open any more.
  const healed = open.length === 0 ? faultEvent(history, moment)?.t : undefined;
  const deadline = healed === undefined ? undefined : healed + spec.ms;

  const results: RequirementResult[] = spec.requires.map((r) => {
    const base = r.require === "baseline" ? baselineOf(history, r, firstStart) : undefined;
    if (r.require === "baseline" && r.ifRead && base && "unknown" in base)
      return {
        what: requirementText(r),
        require: r.require,
        series: r.series,
        limit: null,
        held: healed === undefined ? null : { t: healed, seen: "not read before the fault (ifRead)" },
        tookMs: healed === undefined ? null : 0,
        last: null,
        unknown: null,
      };
    const limit = base && "value" in base ? base.value + (r.require === "baseline" ? r.tolerance : 0) : null;
    const happens = happeningOf(r, limit);
    const series = happens ? (seriesFor(happens) ?? null) : r.require === "baseline" ? r.series : null;
    const hit = healed !== undefined && happens ? firstAfter(history, happens, healed) : undefined;
    // A fresh client's success has no text of its own: it got PONG.
    const held = hit
      ? { t: hit.t, seen: r.require === "clients" && hit.seen === "1" ? "PONG" : hit.seen }
      : null;
    const after =
      healed === undefined || !series ? [] : seriesOf(history, series).filter((p) => p.t >= healed);
    const last = (held ? after.filter((p) => p.t < held.t) : after).at(-1) ?? null;
    return {
      what: requirementText(r),
      require: r.require,
      series,
      limit,
      held,
      tookMs: held && healed !== undefined ? held.t - healed : null,
      last,
      unknown: base && "unknown" in base ? base.unknown : null,
    };
  });
  const evidence: RecoveryEvidence = {
    moment: when,
    healedAt: healed ?? null,
    ms: spec.ms,
    firstStart,
    requirements: results,
    open,
  };
  const inTime = (r: RequirementResult) => r.held !== null && deadline !== undefined && r.held.t <= deadline;
  const missing = results.filter((r) => !inTime(r));
  const told = (summary: string) => ({
    summary,
    facts: factsOf(evidence),
    evidence,
    plot: plotOf(evidence, results, missing, when, deadline),
  });

  if (missing.length === 0 && healed !== undefined)
    return decision(
      name,
      "no-bug",
      spec.labels?.noBug ?? RECOVERY_LABELS.noBug,
      `every requirement held within ${seconds(spec.ms)} of ${when} (at ${seconds(healed)}): ${results.map((r) => `${r.what} after ${seconds(r.tookMs ?? 0)}`).join("; ")}`,
      told(`recovered: ${results.map((r) => `${shortWhat(r)} +${seconds(r.tookMs ?? 0)}`).join(", ")}`),
    );
  const died = containerDied(context);
  if (died)
    return decision(name, "unknown", UNKNOWN_LABEL, diedText(died), told(`not judged: ${diedText(died)}`));
  // As Kleene's "and": one requirement that did not hold is enough; one that cannot be judged (no
  // baseline) leaves the answer unknown only when every other one held.
  const unknowable = results.filter((r) => r.unknown !== null);
  const failed = missing.filter((r) => r.unknown === null);
  const whyUnknown = () =>
    decision(
      name,
      "unknown",
      UNKNOWN_LABEL,
      unknowable.map((r) => r.unknown).join("; "),
      told(`not judged: ${unknowable.map((r) => shortWhat(r)).join(", ")} without a baseline`),
    );
  if (healed !== undefined && unknowable.length && failed.length === 0) return whyUnknown();
  if (deadline !== undefined && context.now >= deadline) {
    if (failed.length === 0) return whyUnknown();
    return decision(
      name,
      "bug",
      spec.labels?.bug ?? RECOVERY_LABELS.bug,
      `not within ${seconds(spec.ms)} of ${when} (at ${seconds(healed ?? 0)}): ${failed.map((r) => `${r.what} (${notYet(r)})`).join("; ")}`,
      told(`not recovered: ${failed.map((r) => shortWhat(r)).join(", ")}`),
    );
  }
  const ended = context.ended;
  if (!ended) return undefined;
  if (healed === undefined) {
    const reason =
      open.length > 0
        ? `the fault never healed before the run ended (${ended.detail}): ${open.map((w) => `${w.name} on ${w.node} since ${seconds(w.start)}`).join(", ")} still on; heal it sooner (the episode's heal) or raise budgets.timeLimitSeconds`
        : windows.length > 0
          ? `${when} never came before the run ended (${ended.detail}): a window of the episode was still to come; heal sooner or raise budgets.timeLimitSeconds`
          : `no fault${spec.after.name ? ` ${spec.after.name}` : ""}${spec.after.node ? ` on ${spec.after.node}` : ""} started before the run ended (${ended.detail}), so there was nothing to recover from`;
    return decision(name, "unknown", UNKNOWN_LABEL, reason, told("not judged: no heal"));
  }
  return decision(
    name,
    "unknown",
    UNKNOWN_LABEL,
    `the run ended (${ended.detail}) ${seconds(context.now - healed)} after ${when}, before the ${seconds(spec.ms)} window closed: not yet ${missing.map((r) => `${r.what} (${notYet(r)})`).join("; ")}`,
    told(`not judged: ended ${seconds(context.now - healed)} after the heal`),
  );
}

/** A requirement in two or three words, for the summary line. */
function shortWhat(r: RequirementResult): string {
  switch (r.require) {
    case "baseline":
      return r.series ?? "baseline";
    case "clients":
      return "clients";
    case "rewrite":
      return "rewrite";
    case "save":
      return "save";
    case "sync":
      return "sync";
    case "writes":
      return "writes";
    case "log":
      return "log line";
    default:
      return r.series ?? r.require;
  }
}

/** Where a requirement stands that has not held: its last reading, or that nothing came. */
function notYet(r: RequirementResult): string {
  if (r.unknown) return r.unknown;
  if (r.held) return `only after ${seconds(r.tookMs ?? 0)}: ${r.held.seen}`;
  const limit = r.limit === null ? "" : ` (back at ≤ ${r.limit})`;
  if (r.last) return `last ${pointText(r.last)} at ${seconds(r.last.t)}${limit}`;
  return r.series?.endsWith(".count") ? "no such line" : "no reading after the heal";
}

function factsOf(e: RecoveryEvidence): Fact[] {
  const healed = e.healedAt;
  return [
    {
      name: "after",
      value: healed === null ? `${e.moment}: not reached` : `${e.moment} at ${seconds(healed)}`,
    },
    ...e.requirements.map((r) => ({
      name: r.what,
      value:
        r.held && r.tookMs !== null && r.tookMs <= e.ms
          ? `held after ${seconds(r.tookMs)}: ${r.held.seen}${r.limit === null ? "" : ` (≤ ${r.limit})`}`
          : healed === null
            ? "not judged (no heal)"
            : `not within ${seconds(e.ms)}: ${notYet(r)}`,
    })),
  ];
}

function plotOf(
  e: RecoveryEvidence,
  results: RequirementResult[],
  missing: RequirementResult[],
  when: string,
  deadline: number | undefined,
) {
  // The first requirement that did not hold and has a series, else the first with one.
  const shown = missing.find((r) => r.series) ?? results.find((r) => r.series);
  if (!shown?.series) return undefined;
  const series = shown.series;
  return {
    series,
    title: shown.what,
    axis: series.slice(series.indexOf(".") + 1),
    ceiling: shown.require === "baseline" ? shown.limit : null,
    ceilingLabel: "baseline + tolerance",
    marks: [
      ...(e.healedAt !== null ? [{ t: e.healedAt, label: when }] : []),
      ...(deadline !== undefined ? [{ t: deadline, label: "deadline" }] : []),
    ],
  };
}

/** The probes a spec's requirements need: fds, log lines, and its own clients, sync and writes. */
export function recoveryProbes(spec: RecoverySpec): Probe[] {
  const moment = healMoment(spec);
  const windowsClosed = (history: History) => windowsOf(history, spec).every((w) => w.heal !== null);
  // Read only once the last heal has come: before it they would only add to the fault's load.
  const afterHeal = (history: History) => windowsClosed(history) && faultEvent(history, moment) !== undefined;
  const gated = (probe: Probe): Probe => ({
    ...probe,
    due: (history, context) => afterHeal(history) && (probe.due?.(history, context) ?? true),
  });
  const probes: Probe[] = [];
  for (const r of spec.requires) {
    if (r.require === "baseline" && r.series.startsWith("fds.")) probes.push(fdsProbe());
    if (r.require === "clients")
      probes.push(
        connectProbe({
          name: ownName("clients", r.node),
          node: r.node,
          everyMs: 500,
          due: (history, context) => afterHeal(history) && context.interval,
        }),
      );
    if (r.require === "sync")
      probes.push(
        gated(infoProbe({ name: ownName("sync", r.node), node: r.node, fields: ["master_link_status"] })),
      );
    if (r.require === "writes" && r.replies === undefined)
      probes.push(
        gated(
          commandProbe({
            name: ownName("writes", r.node),
            node: r.node,
            args: ["SET", "redis-repro:recovery", "1"],
            everyMs: 500,
          }),
        ),
      );
    const log =
      r.require === "rewrite"
        ? REWRITE_DONE
        : r.require === "save"
          ? SAVE_DONE
          : r.require === "log"
            ? r.pattern
            : undefined;
    if (log !== undefined && "node" in r)
      probes.push(logProbe({ name: withinLogProbeName(r.node, log), pattern: log, node: r.node }));
  }
  // One per node and name (two fds baselines share one fds probe).
  return probes.filter((p, i) => probes.findIndex((q) => q.name === p.name && q.node === p.node) === i);
}

/** The recovery checker (see above): its decision, and the probes it asks the run for. */
export function recoveryChecker(specInput: SpecArg<RecoverySpecInput>): Checker<RecoveryEvidence> {
  const spec = RecoverySpec.parse({ ...specInput, checker: "recovery" });
  const probes = recoveryProbes(spec);
  const own = new Set(probes.map((p) => p.name));
  // Series its own probes do not make: the scenario must read them (checked at load).
  const reads = spec.requires.flatMap((r) =>
    (r.require === "baseline" || r.require === "series") && !own.has(r.series.slice(0, r.series.indexOf(".")))
      ? [r.series]
      : [],
  );
  return {
    name: spec.name ?? "recovery",
    probes,
    ...(reads.length ? { reads } : {}),
    decide: (history, context) => decideRecovery(history, context, spec),
  };
}
