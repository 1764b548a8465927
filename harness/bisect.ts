import { z } from "zod";
import { compareTargets, selectReleases } from "./catalogue/catalogue.js";
import { UserError } from "./errors.js";
import { Verdict } from "./scenario/index.js";
import { formatTarget, parseTarget } from "./targets/spec.js";

/**
 * Pure bisection over an ordered list of targets (oldest first). The two ends are the user's --good
 * and --bad. A verdict equal to --good's is good; `inconclusive` (unless an end gave it) is skipped,
 * as `git bisect skip` does; any other verdict is bad: a leaky release may end as `exhaustion` or,
 * when a probe slipped into a hole under the ceiling, `growing`, and both are "not fixed". No I/O:
 * the caller runs what a step asks for and calls again with the new verdicts.
 */
export interface BisectInput {
  candidates: string[];
  good: string;
  bad: string;
  verdicts: Readonly<Record<string, Verdict>>;
}

export const BisectOutcome = z.discriminatedUnion("kind", [
  /** `first` is the oldest target on the newer end's side; `last` the newest on the older end's. */
  z.object({
    kind: z.literal("found"),
    last: z.string(),
    first: z.string(),
    from: Verdict,
    to: Verdict,
    /** fix: the newer end is --good (a fix landed); regression: the newer end is --bad. */
    direction: z.enum(["fix", "regression"]),
  }),
  z.object({ kind: z.literal("no-flip"), verdict: Verdict }),
  /** Only skipped targets lie between the last old and the first new verdict. */
  z.object({
    kind: z.literal("ambiguous"),
    last: z.string(),
    first: z.string(),
    skipped: z.array(z.string()),
  }),
  /** The verdict flips more than once: the older end's side again after the newer end's. */
  z.object({ kind: z.literal("non-monotonic"), first: z.string(), laterOld: z.string() }),
]);
export type BisectOutcome = z.infer<typeof BisectOutcome>;

export type BisectStep = { kind: "run"; targets: string[] } | BisectOutcome;

export type BisectSide = "good" | "bad" | "skip";

/** Which side a verdict is on, given the ends' verdicts. */
export function bisectSide(verdict: Verdict, goodVerdict: Verdict, badVerdict: Verdict): BisectSide {
  if (verdict === goodVerdict) return "good";
  if (verdict === badVerdict) return "bad";
  return verdict === "inconclusive" ? "skip" : "bad";
}

export function bisectStep(input: BisectInput): BisectStep {
  const { candidates, verdicts } = input;
  const oldest = candidates[0];
  const newest = candidates.at(-1);
  if (oldest === undefined || newest === undefined || candidates.length < 2)
    throw new Error("bisect needs at least two candidates");
  const unknownEnds = [oldest, newest].filter((t) => verdicts[t] === undefined);
  if (unknownEnds.length) return { kind: "run", targets: unknownEnds };
  const goodVerdict = verdicts[input.good] as Verdict;
  const badVerdict = verdicts[input.bad] as Verdict;
  if (goodVerdict === badVerdict) return { kind: "no-flip", verdict: goodVerdict };

  const side = (t: string) => {
    const v = verdicts[t];
    return v === undefined ? undefined : bisectSide(v, goodVerdict, badVerdict);
  };
  const oldSide = side(oldest);
  const newSide = side(newest);
  const hi = candidates.findIndex((t) => side(t) === newSide);
  let lo = 0;
  for (let i = 0; i < hi; i++) if (side(candidates[i] ?? "") === oldSide) lo = i;
  const laterOld = candidates.findIndex((t, i) => i > hi && side(t) === oldSide);
  if (laterOld >= 0)
    return { kind: "non-monotonic", first: candidates[hi] ?? "", laterOld: candidates[laterOld] ?? "" };

  const between = candidates.slice(lo + 1, hi);
  const open = between.filter((t) => side(t) === undefined);
  const last = candidates[lo] ?? "";
  const first = candidates[hi] ?? "";
  if (open.length === 0) {
    if (between.length === 0) {
      const [from, to] = [verdicts[last] as Verdict, verdicts[first] as Verdict];
      return { kind: "found", last, first, from, to, direction: newSide === "good" ? "fix" : "regression" };
    }
    return { kind: "ambiguous", last, first, skipped: between };
  }
  // The open candidate nearest the middle of the window; skipped ones shift it, as git bisect does.
  const middle = (lo + hi) / 2;
  const next = open.reduce((best, t) => {
    const d = Math.abs(candidates.indexOf(t) - middle);
    return d < Math.abs(candidates.indexOf(best) - middle) ? t : best;
  });
  return { kind: "run", targets: [next] };
}

/** Runs the search against a recorded table of verdicts: what the unit tests (and dry runs) use. */
export function bisectTable(
  candidates: string[],
  ends: { good: string; bad: string },
  table: Readonly<Record<string, Verdict>>,
): { outcome: BisectOutcome; ran: string[] } {
  const verdicts: Record<string, Verdict> = {};
  const ran: string[] = [];
  for (;;) {
    const step = bisectStep({ candidates, ...ends, verdicts });
    if (step.kind !== "run") return { outcome: step, ran };
    for (const t of step.targets) {
      const v = table[t];
      if (v === undefined) throw new Error(`no recorded verdict for ${t}`);
      verdicts[t] = v;
      ran.push(t);
    }
  }
}

/**
 * The ordered targets between --good and --bad. Two releases: every catalogue release between them.
 * One release with different patches (3.2.8 vs 3.2.8+fix-aof-pipe-leak): the two builds, the one
 * with fewer patches first, so a flip names the patch.
 */
export function bisectCandidates(
  good: string,
  bad: string,
  versions: readonly string[],
): { candidates: string[]; good: string; bad: string } {
  const [g, b] = [parseTarget(good), parseTarget(bad)];
  if (g.kind !== "release" || b.kind !== "release")
    throw new UserError("bisect takes releases (3.2.8, 3.2.8+patch), not images");
  const [goodT, badT] = [formatTarget(g), formatTarget(b)];
  if (goodT === badT) throw new UserError(`--good and --bad are the same target ${goodT}`);
  selectReleases(`${goodT},${badT}`, versions); // both must be catalogue releases
  const ends = { good: goodT, bad: badT };
  if (g.version === b.version) return { candidates: [goodT, badT].sort(compareTargets), ...ends };
  if (g.patches.length || b.patches.length)
    throw new UserError(
      `bisect over patches needs both ends on one release (e.g. --bad 3.2.8 --good 3.2.8+fix-aof-pipe-leak), not ${badT} and ${goodT}`,
    );
  const [older, newer] = [g.version, b.version].sort(compareTargets);
  return { candidates: selectReleases(`${older}..${newer}`, versions), ...ends };
}
