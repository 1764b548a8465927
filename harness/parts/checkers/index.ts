import { z } from "zod";
import type { Checker } from "../../core/checker.js";
import { AofDirSpec, aofDirChecker } from "./aof-dir.js";
import { AssertSpec, assertChecker } from "./assert.js";
import { ComposeLabels, compose } from "./compose.js";
import { FdLeakSpec, fdLeakChecker } from "./fd-leak.js";
import { GrowthSpec, growthChecker } from "./growth.js";
import { LeaksSpec, leaksChecker } from "./leaks.js";
import { RecoverySpec, recoveryChecker } from "./recovery.js";
import { WithinSpec, withinChecker } from "./within.js";

/**
 * The built-in checkers as data: `{"checker": KIND, …}`, compositions of them (`all`, `any`, nested
 * to any depth), and `checkerFrom` that makes the Checker a spec names. A script may put its own
 * Checker object wherever a spec goes, inside `all` and `any` too (CheckerInput).
 */

export interface AllSpec {
  checker: "all";
  of: CheckerSpec[];
  labels?: ComposeLabels | undefined;
}
export interface AnySpec {
  checker: "any";
  of: CheckerSpec[];
  labels?: ComposeLabels | undefined;
}
export type LeafSpec =
  | FdLeakSpec
  | AofDirSpec
  | GrowthSpec
  | LeaksSpec
  | AssertSpec
  | WithinSpec
  | RecoverySpec;
export type CheckerSpec = LeafSpec | AllSpec | AnySpec;

type LeafSpecInput =
  | z.input<typeof FdLeakSpec>
  | z.input<typeof AofDirSpec>
  | z.input<typeof GrowthSpec>
  | z.input<typeof LeaksSpec>
  | z.input<typeof AssertSpec>
  | z.input<typeof WithinSpec>
  | z.input<typeof RecoverySpec>;
/** A spec as written (defaults may be left out). */
export type CheckerSpecInput =
  | LeafSpecInput
  | { checker: "all" | "any"; of: readonly CheckerSpecInput[]; labels?: ComposeLabels | undefined };

/**
 * A spec as written (defaults may be left out, as in a JSON file), or a Checker object where the data
 * would name one (a script's own).
 */
export type CheckerInput =
  | LeafSpecInput
  | Checker
  | { checker: "all" | "any"; of: CheckerInput[]; labels?: ComposeLabels | undefined };

const leaves = [FdLeakSpec, AofDirSpec, GrowthSpec, LeaksSpec, AssertSpec, WithinSpec, RecoverySpec] as const;

/** Every checker's data form (what a JSON scenario holds, and what its JSON Schema is made from). */
export const CheckerSpec: z.ZodType<CheckerSpec, CheckerSpecInput> = z.lazy(() =>
  z.discriminatedUnion("checker", [
    ...leaves,
    z
      .object({
        checker: z.literal("all"),
        of: z.array(CheckerSpec).min(1),
        labels: ComposeLabels.optional(),
      })
      .strict(),
    z
      .object({
        checker: z.literal("any"),
        of: z.array(CheckerSpec).min(1),
        labels: ComposeLabels.optional(),
      })
      .strict(),
  ]),
);

export function isChecker(value: unknown): value is Checker {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { name?: unknown }).name === "string" &&
    typeof (value as { decide?: unknown }).decide === "function"
  );
}

/** A script's own checker: any object with a name and a decide function (passed through as it is). */
export const CheckerObject = z.custom<Checker>(isChecker, {
  message: "a checker object: { name, decide(history, context) }",
});

/** What a script may give: a spec, or its own Checker object, at any depth of all/any. */
export const CheckerInput: z.ZodType<
  CheckerSpec | Checker | { checker: "all" | "any"; of: unknown[]; labels?: ComposeLabels },
  CheckerInput
> = z.lazy(() =>
  z.union([
    CheckerObject,
    z.discriminatedUnion("checker", [
      ...leaves,
      z
        .object({
          checker: z.literal("all"),
          of: z.array(CheckerInput).min(1),
          labels: ComposeLabels.optional(),
        })
        .strict(),
      z
        .object({
          checker: z.literal("any"),
          of: z.array(CheckerInput).min(1),
          labels: ComposeLabels.optional(),
        })
        .strict(),
    ]),
  ]),
) as never;

/**
 * The checker a spec names, or the object given, as it is. Data is parsed here too (defaults filled
 * in), so a constructor's caller may leave out what has a default; a spec that does not parse throws
 * zod's error (the scenario layer parses first and reports a user's mistake with its file and line).
 */
export function checkerFrom(input: CheckerInput | CheckerSpecInput): Checker {
  if (isChecker(input)) return input;
  if (input.checker === "all" || input.checker === "any") {
    const { of, labels } = input as { of: (CheckerInput | CheckerSpecInput)[]; labels?: ComposeLabels };
    return compose(input.checker, of.map(checkerFrom), labels ? ComposeLabels.parse(labels) : {});
  }
  const spec = CheckerSpec.parse(input) as LeafSpec;
  switch (spec.checker) {
    case "fd-leak":
      return fdLeakChecker(spec);
    case "aof-dir":
      return aofDirChecker(spec);
    case "growth":
      return growthChecker(spec);
    case "leaks":
      return leaksChecker(spec);
    case "assert":
      return assertChecker(spec);
    case "within":
      return withinChecker(spec);
    case "recovery":
      return recoveryChecker(spec);
  }
}

export { AofDirEvidence, AofDirSpec, aofDirChecker, decideAofDir, LimiterEvidence } from "./aof-dir.js";
export { AssertEvidence, AssertSpec, assertChecker, decideAssert } from "./assert.js";
export { RESOURCE_LABELS, type ResourceLabel } from "./common.js";
export {
  allOf,
  anyOf,
  ComposedEvidence,
  ComposeLabels,
  ComposeRule,
  compose,
  composeDecisions,
  composeOutcome,
  unionProbes,
} from "./compose.js";
export { decideFdLeak, FdLeakEvidence, FdLeakSpec, fdLeakChecker } from "./fd-leak.js";
export { ceilingOf } from "./fd-table.js";
export { decideGrowth, GrowthEvidence, GrowthSpec, growthChecker, SeriesGrowth } from "./growth.js";
export {
  DEFAULT_LEAK_SERIES,
  decideLeaks,
  LeakSeries,
  LeaksEvidence,
  LeaksSpec,
  leaksChecker,
  leakText,
} from "./leaks.js";
export { Condition, FaultMoment, FromMoment, Moment } from "./moment.js";
export { Prediction } from "./prediction.js";
export {
  decideRecovery,
  RECOVERY_LABELS,
  RecoveryEvidence,
  RecoverySpec,
  Requirement,
  recoveryChecker,
  recoveryProbes,
} from "./recovery.js";
export { decideWithin, Happening, WithinEvidence, WithinSpec, withinChecker } from "./within.js";
