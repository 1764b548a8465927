import { z } from "zod";
import { compareTargets, selectReleases } from "../catalogue/catalogue.js";
import { errorText, isUserError, UserError } from "../core/errors.js";
import { EvidenceSummary, summariseEvidence } from "../parts/checkers/fd-leak.js";
import { type RunOptions, runScenario } from "../run/scenario.js";
import type { Scenario, Verdict as VerdictType } from "../scenario/index.js";
import { Verdict } from "../scenario/index.js";
import { ensureImage, type TargetImage } from "../targets/build.js";
import { type Commit, commitsBetween, isAncestor, resolveCommit } from "../targets/git.js";
import { compareVersions, formatTarget, parseTarget } from "../targets/spec.js";

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
  /**
   * Over releases: the flip lies between two measured releases, but releases between them were never
   * run (no tarball in the cache, nothing in the catalogue): the flip may be in any of them.
   */
  z.object({
    kind: z.literal("untested-gap"),
    last: z.string(),
    first: z.string(),
    from: Verdict,
    to: Verdict,
    direction: z.enum(["fix", "regression"]),
    untested: z.array(z.string()),
  }),
]);
export type BisectOutcome = z.infer<typeof BisectOutcome>;

export type BisectStep =
  | { kind: "run"; targets: string[] }
  | Exclude<BisectOutcome, { kind: "untested-gap" }>;

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
 * Over releases, a flip between two measured releases is only a flip at the newer one when no release
 * of the full table lies between them unmeasured; otherwise it is named as a gap with those releases.
 */
export function withUntestedGap(outcome: BisectOutcome, table: readonly string[]): BisectOutcome {
  if (outcome.kind !== "found") return outcome;
  const [last, first] = [parseTarget(outcome.last), parseTarget(outcome.first)];
  if (last.kind !== "release" || first.kind !== "release" || last.version === first.version) return outcome;
  const untested = table.filter(
    (v) => compareVersions(v, last.version) > 0 && compareVersions(v, first.version) < 0,
  );
  return untested.length ? { ...outcome, kind: "untested-gap", untested } : outcome;
}

/**
 * The ordered targets between --good and --bad. Two releases: every testable release between them
 * (in the catalogue or with a tarball in the cache).
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
    throw new UserError(
      "bisect takes releases (3.2.8, 3.2.8+patch), not images or dir: trees; for commits add --commits (refs of --git-dir)",
    );
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

/**
 * The commits between two refs of a clone, oldest first, as git:<full id> targets: the older end, then
 * every commit after it up to the newer end (first-parent by default, like `git bisect --first-parent`).
 * Either end may be the older one; they must lie on one line of history.
 */
export async function commitCandidates(
  gitDir: string,
  good: string,
  bad: string,
  firstParent = true,
): Promise<{ candidates: string[]; good: string; bad: string; commits: Map<string, Commit> }> {
  const refOf = (end: string) => {
    const text = end.replace(/^git:/, "");
    const spec = parseTarget(`git:${text}`);
    if (spec.kind !== "git" || spec.patches.length)
      throw new UserError(
        `bisect --commits takes refs of the clone (tags, branches, commit ids), not "${end}"`,
      );
    return spec.ref;
  };
  const [g, b] = await Promise.all([resolveCommit(gitDir, refOf(good)), resolveCommit(gitDir, refOf(bad))]);
  if (g.id === b.id) throw new UserError(`--good ${good} and --bad ${bad} are the same commit ${g.id}`);
  const [older, newer] = (await isAncestor(gitDir, g.id, b.id))
    ? [g, b]
    : (await isAncestor(gitDir, b.id, g.id))
      ? [b, g]
      : (() => {
          throw new UserError(
            `${good} and ${bad} are on different lines of history (neither is an ancestor of the other): bisect between a commit and one of its descendants`,
          );
        })();
  const between = await commitsBetween(gitDir, older.id, newer.id, firstParent);
  // On a first-parent walk the older end must be where the walk stops, or the order means nothing.
  const firstParentOfFirst = between[0] ? (await resolveCommit(gitDir, `${between[0].id}^`)).id : "";
  if (firstParent && firstParentOfFirst !== older.id)
    throw new UserError(
      `${older.id.slice(0, 9)} is not on the first-parent line of ${newer.id.slice(0, 9)} (it came in through a merge): add --full-history`,
    );
  const commits = new Map([older, ...between].map((c) => [`git:${c.id}`, c]));
  return { candidates: [...commits.keys()], good: `git:${g.id}`, bad: `git:${b.id}`, commits };
}

/** What testing one target gave: a verdict, or a build that failed (skipped, as `git bisect skip`). */
export type Trial =
  | {
      target: string;
      verdict: VerdictType;
      built: boolean;
      evidence: EvidenceSummary;
      reason: string;
      runId: string;
    }
  | { target: string; verdict: "build-failed"; reason: string };

export const BisectRunStep = z.object({
  step: z.number(),
  target: z.string(),
  /** git: targets: the commit's id and subject. */
  commit: z.string().optional(),
  subject: z.string().optional(),
  verdict: z.union([Verdict, z.literal("build-failed")]),
  side: z.enum(["good", "bad", "skip"]),
  /** Whether this step compiled an image (false: the content tag was already there). */
  built: z.boolean(),
  evidence: EvidenceSummary.nullable(),
  reason: z.string(),
  runId: z.string().nullable(),
});
export type BisectRunStep = z.infer<typeof BisectRunStep>;

export interface BisectPlan {
  candidates: string[];
  good: string;
  bad: string;
  commits?: Map<string, Commit>;
}

/**
 * Runs a bisection: asks bisectStep what to test, tests it with `test` (which builds and runs), and
 * repeats. A target that does not build is skipped, as are inconclusive runs; an end that cannot be
 * tested stops the search with a UserError (there is nothing to compare against).
 */
export async function runBisect(
  plan: BisectPlan,
  test: (targets: string[]) => Promise<Trial[]>,
  say: (line: string) => void = () => undefined,
): Promise<{ steps: BisectRunStep[]; outcome: Exclude<BisectOutcome, { kind: "untested-gap" }> }> {
  const { candidates, good, bad } = plan;
  const verdicts: Record<string, VerdictType> = {};
  const steps: BisectRunStep[] = [];
  for (let n = 1; ; n++) {
    const next = bisectStep({ candidates, good, bad, verdicts });
    if (next.kind !== "run") return { steps, outcome: next };
    const trials = await test(next.targets);
    for (const [i, trial] of trials.entries()) {
      const target = next.targets[i] ?? trial.target;
      if (trial.verdict === "build-failed" && (target === good || target === bad))
        throw new UserError(
          `--${target === good ? "good" : "bad"} ${target} cannot be tested (${trial.reason}): pick an end that builds`,
        );
      // A build failure is skipped exactly like an inconclusive run.
      verdicts[target] = trial.verdict === "build-failed" ? "inconclusive" : trial.verdict;
    }
    for (const [i, trial] of trials.entries()) {
      const target = next.targets[i] ?? trial.target;
      const v = verdicts[target] as VerdictType;
      const side = bisectSide(v, verdicts[good] ?? v, verdicts[bad] ?? v);
      const commit = plan.commits?.get(target);
      const ran = trial.verdict !== "build-failed" ? trial : undefined;
      steps.push({
        step: n,
        target,
        ...(commit ? { commit: commit.id, subject: commit.subject } : {}),
        verdict: trial.verdict,
        side,
        built: ran?.built ?? true,
        evidence: ran?.evidence ?? null,
        reason: trial.reason,
        runId: ran?.runId ?? null,
      });
      const open = candidates.filter((t) => verdicts[t] === undefined).length;
      const name = commit ? `${commit.id.slice(0, 9)} ${commit.subject.slice(0, 50)}` : target;
      const evidence = ran
        ? `${ran.evidence.attempts} attempts, fds ${ran.evidence.baseline ?? "—"} → ${ran.evidence.peak ?? "—"}`
        : trial.reason;
      say(
        `step ${n}: ${name.padEnd(commit ? 60 : 24)} ${trial.verdict.padEnd(12)} ${(side === "skip" ? "skipped" : side).padEnd(8)} ${evidence}; ${open} left`,
      );
    }
  }
}

/** A build failure as a Trial, anything else rethrown: only a target that does not build is skipped. */
export function buildFailure(target: string, error: unknown): Trial {
  if (isUserError(error) && /image build for .* failed/.test(error.message))
    return { target, verdict: "build-failed", reason: errorText(error) };
  throw error;
}

/** How a target is named in words: a commit by short id and subject, anything else as given. */
function named(target: string, commits?: Map<string, Commit>): string {
  const commit = commits?.get(target);
  return commit ? `${commit.id.slice(0, 9)} ("${commit.subject}")` : target;
}

/** The conclusion in words: which end's verdict is where, and what that means. */
export function describeOutcome(
  outcome: BisectOutcome,
  ends: { good: string; bad: string },
  commits?: Map<string, Commit>,
): string {
  const what = (direction: "fix" | "regression") => (direction === "fix" ? "the fix" : "the regression");
  switch (outcome.kind) {
    case "found": {
      const [last, first] = [parseTarget(outcome.last), parseTarget(outcome.first)];
      const commit = commits?.get(outcome.first);
      if (commit)
        return `${named(outcome.first, commits)} is the first commit that gives ${outcome.to} (the one before it, ${named(outcome.last, commits)}, gives ${outcome.from}): ${what(outcome.direction)} is commit ${commit.id}`;
      const patchFlip =
        last.kind === "release" && first.kind === "release" && last.version === first.version
          ? first.patches.filter((p) => !last.patches.includes(p))
          : [];
      if (patchFlip.length)
        return `${outcome.first} gives ${outcome.to} where ${outcome.last} gives ${outcome.from}: ${what(outcome.direction)} is the patch ${patchFlip.join("+")}`;
      return `${outcome.first} is the first release that gives ${outcome.to} (${outcome.last} gives ${outcome.from}): ${what(outcome.direction)} landed in ${outcome.first}`;
    }
    case "untested-gap":
      return `${outcome.last} gives ${outcome.from} and ${outcome.first} gives ${outcome.to}, but ${outcome.untested.length} release(s) between them were never run (${outcome.untested.join(", ")}): ${what(outcome.direction)} landed in one of those or in ${outcome.first}; add their tarballs (\`redis-repro sources add FILE\`) and bisect again, or bisect --commits with a clone`;
    case "no-flip":
      return `--good ${named(ends.good, commits)} and --bad ${named(ends.bad, commits)} both give ${outcome.verdict}: nothing to bisect`;
    case "ambiguous":
      return `the flip is between ${named(outcome.last, commits)} and ${named(outcome.first, commits)}, but ${outcome.skipped.map((t) => named(t, commits)).join(", ")} could not be tested (no build, or inconclusive)`;
    case "non-monotonic":
      return `the verdict flips more than once: ${named(outcome.first, commits)} already gives the newer end's verdict but ${named(outcome.laterOld, commits)} gives the older one's again`;
  }
}

/**
 * Tests targets by real runs: builds each first (a build failure is that target's result, skipped),
 * then runs the scenario on those that built, side by side.
 */
export function scenarioTrials(
  scenario: Scenario,
  options: RunOptions,
): (targets: string[]) => Promise<Trial[]> {
  return async (targets) => {
    const images = new Map<string, TargetImage | Trial>();
    for (const target of targets) {
      images.set(
        target,
        await ensureImage(parseTarget(target), options).catch((e) => buildFailure(target, e)),
      );
    }
    const runnable = targets.filter((t) => !("verdict" in (images.get(t) ?? {})));
    // Built just now: the run finds them by content tag; a rebuild was done above if asked for.
    const run = runnable.length
      ? await runScenario(scenario, runnable, { ...options, rebuild: false })
      : undefined;
    return targets.map((target): Trial => {
      const image = images.get(target);
      if (!image || "verdict" in image) return image as Trial;
      const result = run?.results[runnable.indexOf(target)];
      if (!result || !run) throw new Error(`the run gave no result for ${target}`);
      return {
        target,
        verdict: result.decision.verdict,
        built: image.origin === "built",
        evidence: summariseEvidence(result.decision.evidence),
        reason: result.decision.reason,
        runId: run.runId,
      };
    });
  };
}

/**
 * `git bisect run` exit codes for one tested tree: 0 good, 1 bad, 125 cannot test (no build, or an
 * inconclusive run). By default a leak (exhaustion, growing) is bad and stable is good: a hunt for the
 * commit that brought a leak. With `fix`, the terms swap: a leak is the old behaviour (exit 0) and
 * stable the new one (exit 1), because git bisect needs "bad" to be the newer side, so a hunt for a fix
 * starts as `git bisect start FIXED LEAKY`.
 */
export function bisectRunExit(verdict: Trial["verdict"], fix: boolean): 0 | 1 | 125 {
  if (verdict === "build-failed" || verdict === "inconclusive") return 125;
  const leaks = verdict !== "stable";
  return leaks === fix ? 0 : 1;
}
