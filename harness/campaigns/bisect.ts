import { z } from "zod";
import { compareTargets, selectReleases } from "../catalogue/catalogue.js";
import { errorText, isUserError, UserError } from "../core/errors.js";
import { Outcome } from "../core/outcome.js";
import { type RunOptions, runScenario } from "../run/scenario.js";
import type { Scenario } from "../scenario/index.js";
import { ensureImage, type TargetImage } from "../targets/build.js";
import { type Commit, commitsBetween, git, isAncestor, resolveCommit } from "../targets/git.js";
import { compareVersions, formatTarget, parseTarget } from "../targets/spec.js";

/**
 * Pure bisection over an ordered list of targets (oldest first), by outcome: a target without the
 * bug (no-bug) is good, one with it (bug) is bad, and one the run could not tell (unknown) is skipped,
 * as `git bisect skip` does. The user's --good and --bad only name the ends; what each end gives is
 * what counts (an end that contradicts its name is said in one line, see endsNote). No I/O: the
 * caller runs what a step asks for and calls again with what the runs gave.
 */
export const Tested = z.object({ outcome: Outcome, label: z.string() });
export type Tested = z.infer<typeof Tested>;

export interface BisectInput {
  candidates: string[];
  good: string;
  bad: string;
  /** What each tested target gave; a target that could not be built counts as unknown. */
  results: Readonly<Record<string, Tested>>;
}

export const BisectOutcome = z.discriminatedUnion("kind", [
  /** `first` is the oldest target on the newer end's side; `last` the newest on the older end's. */
  z.object({
    kind: z.literal("found"),
    last: z.string(),
    first: z.string(),
    from: Tested,
    to: Tested,
    /** fix: the newer end is without the bug (a fix landed); regression: the newer end has it. */
    direction: z.enum(["fix", "regression"]),
  }),
  /** Both ends give the same outcome: nothing flips between them. */
  z.object({ kind: z.literal("no-flip"), outcome: Outcome, labels: z.array(z.string()) }),
  /** An end gave unknown: there is nothing to compare against. */
  z.object({
    kind: z.literal("undecided-end"),
    end: z.enum(["good", "bad"]),
    target: z.string(),
    label: z.string(),
  }),
  /** Only skipped targets lie between the last old and the first new outcome. */
  z.object({
    kind: z.literal("ambiguous"),
    last: z.string(),
    first: z.string(),
    skipped: z.array(z.string()),
  }),
  /** The outcome flips more than once: the older end's side again after the newer end's. */
  z.object({ kind: z.literal("non-monotonic"), first: z.string(), laterOld: z.string() }),
  /**
   * Over releases: the flip lies between two measured releases, but releases between them on the
   * newer one's line were never run (no tarball in the cache, nothing in the catalogue).
   */
  z.object({
    kind: z.literal("untested-gap"),
    last: z.string(),
    first: z.string(),
    from: Tested,
    to: Tested,
    direction: z.enum(["fix", "regression"]),
    untested: z.array(z.string()),
  }),
]);
export type BisectOutcome = z.infer<typeof BisectOutcome>;

export type BisectStep =
  | { kind: "run"; targets: string[] }
  | Exclude<BisectOutcome, { kind: "untested-gap" }>;

export type BisectSide = "good" | "bad" | "skip";

/** Which side an outcome is on: without the bug good, with it bad, unknown skipped. */
export function bisectSide(outcome: Outcome): BisectSide {
  return outcome === "no-bug" ? "good" : outcome === "bug" ? "bad" : "skip";
}

/** Where the search stands: the newest target on the older end's side, the oldest on the newer's. */
interface Bounds {
  lo: number;
  hi: number;
  oldSide: BisectSide;
  newSide: BisectSide;
}

function bounds(input: BisectInput): Bounds | undefined {
  const { candidates, results } = input;
  const side = (t: string) => {
    const r = results[t];
    return r === undefined ? undefined : bisectSide(r.outcome);
  };
  const oldSide = side(candidates[0] ?? "");
  const newSide = side(candidates.at(-1) ?? "");
  if (oldSide === undefined || newSide === undefined || oldSide === "skip" || newSide === "skip")
    return undefined;
  if (oldSide === newSide) return undefined;
  const hi = candidates.findIndex((t) => side(t) === newSide);
  let lo = 0;
  for (let i = 0; i < hi; i++) if (side(candidates[i] ?? "") === oldSide) lo = i;
  return { lo, hi, oldSide, newSide };
}

export function bisectStep(input: BisectInput): BisectStep {
  const { candidates, results } = input;
  const oldest = candidates[0];
  const newest = candidates.at(-1);
  if (oldest === undefined || newest === undefined || candidates.length < 2)
    throw new Error("bisect needs at least two candidates");
  const unknownEnds = [oldest, newest].filter((t) => results[t] === undefined);
  if (unknownEnds.length) return { kind: "run", targets: unknownEnds };
  for (const end of ["good", "bad"] as const) {
    const target = input[end];
    const r = results[target] as Tested;
    if (r.outcome === "unknown") return { kind: "undecided-end", end, target, label: r.label };
  }
  const [g, b] = [results[input.good] as Tested, results[input.bad] as Tested];
  if (g.outcome === b.outcome)
    return { kind: "no-flip", outcome: g.outcome, labels: [...new Set([g.label, b.label])] };

  const at = bounds(input) as Bounds;
  const side = (t: string) => {
    const r = results[t];
    return r === undefined ? undefined : bisectSide(r.outcome);
  };
  const laterOld = candidates.findIndex((t, i) => i > at.hi && side(t) === at.oldSide);
  if (laterOld >= 0)
    return { kind: "non-monotonic", first: candidates[at.hi] ?? "", laterOld: candidates[laterOld] ?? "" };

  const between = candidates.slice(at.lo + 1, at.hi);
  const open = between.filter((t) => side(t) === undefined);
  const last = candidates[at.lo] ?? "";
  const first = candidates[at.hi] ?? "";
  if (open.length === 0) {
    if (between.length === 0)
      return {
        kind: "found",
        last,
        first,
        from: results[last] as Tested,
        to: results[first] as Tested,
        direction: at.newSide === "good" ? "fix" : "regression",
      };
    return { kind: "ambiguous", last, first, skipped: between };
  }
  // The open candidate nearest the middle of the window; skipped ones shift it, as git bisect does.
  const middle = (at.lo + at.hi) / 2;
  const next = open.reduce((best, t) => {
    const d = Math.abs(candidates.indexOf(t) - middle);
    return d < Math.abs(candidates.indexOf(best) - middle) ? t : best;
  });
  return { kind: "run", targets: [next] };
}

/**
 * What is still to search: the ends of the window the flip lies in, how many targets between them
 * are untested, and about how many more runs a binary search over those needs (ceil(log2(n + 1)),
 * as many as git bisect's "roughly N steps"). Before both ends are known, the whole list.
 */
export function remaining(input: BisectInput): {
  last: string;
  first: string;
  untested: number;
  steps: number;
} {
  const { candidates, results } = input;
  const at = bounds(input) ?? { lo: 0, hi: candidates.length - 1 };
  const untested = candidates.slice(at.lo + 1, at.hi).filter((t) => results[t] === undefined).length;
  return {
    last: candidates[at.lo] ?? "",
    first: candidates[at.hi] ?? "",
    untested,
    steps: untested === 0 ? 0 : Math.ceil(Math.log2(untested + 1)),
  };
}

/** Runs the search against a recorded table of outcomes: what the unit tests (and dry runs) use. */
export function bisectTable(
  candidates: string[],
  ends: { good: string; bad: string },
  table: Readonly<Record<string, Tested>>,
): { outcome: BisectOutcome; ran: string[] } {
  const results: Record<string, Tested> = {};
  const ran: string[] = [];
  for (;;) {
    const step = bisectStep({ candidates, ...ends, results });
    if (step.kind !== "run") return { outcome: step, ran };
    for (const t of step.targets) {
      const r = table[t];
      if (r === undefined) throw new Error(`no recorded outcome for ${t}`);
      results[t] = r;
      ran.push(t);
    }
  }
}

/**
 * One line when an end contradicts its name (--good with the bug, --bad without it); the search
 * goes by outcome all the same, so swapped ends still find the flip.
 */
export function endsNote(
  ends: { good: string; bad: string },
  results: Readonly<Record<string, Tested>>,
): string | undefined {
  const [g, b] = [results[ends.good], results[ends.bad]];
  if (!g || !b) return undefined;
  const gives = (r: Tested) => (r.label === r.outcome ? r.outcome : `${r.outcome} (${r.label})`);
  if (g.outcome === "bug" && b.outcome === "no-bug")
    return `note: --good ${ends.good} gives ${gives(g)} and --bad ${ends.bad} gives ${gives(b)}, the other way round from their names; bisecting by outcome (no-bug is good, bug is bad)`;
  if (g.outcome === "bug")
    return `note: --good ${ends.good} gives ${gives(g)}: a good end is one without the bug`;
  if (b.outcome === "no-bug")
    return `note: --bad ${ends.bad} gives ${gives(b)}: a bad end is one with the bug`;
  return undefined;
}

/** A release's line: the major.minor it is maintained on (6.2.16 → 6.2; 8.0-m01 → 8.0). */
export function releaseLine(version: string): string {
  return /^(\d+\.\d+)/.exec(version)?.[1] ?? version;
}

/**
 * Over releases, a flip between two measured releases is only a flip at the newer one when no release
 * of the full table lies between them unmeasured; otherwise it is named as a gap with those releases.
 * "Between" is in history, not in numbers: the releases before the newer end on its own line (7.0.0 …
 * 7.0.14 below 7.0.15). A release of another line (6.2.17 … 6.2.23, made after 6.2.16 on the 6.2
 * branch) is not an ancestor of the newer end, so the flip cannot lie in it.
 */
export function withUntestedGap(outcome: BisectOutcome, table: readonly string[]): BisectOutcome {
  if (outcome.kind !== "found") return outcome;
  const [last, first] = [parseTarget(outcome.last), parseTarget(outcome.first)];
  if (last.kind !== "release" || first.kind !== "release" || last.version === first.version) return outcome;
  const line = releaseLine(first.version);
  const untested = table.filter(
    (v) =>
      releaseLine(v) === line &&
      compareVersions(v, last.version) > 0 &&
      compareVersions(v, first.version) < 0,
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
 * Two commits neither of which is the other's ancestor: said in one line, with their merge-base (the
 * newest commit both descend from) offered as the end to use in place of the one on the other line.
 */
async function apartError(
  gitDir: string,
  ends: { good: string; bad: string },
  ids: [string, string],
): Promise<UserError> {
  const base = await git(gitDir, ["merge-base", ...ids]).catch(() => "");
  const apart = `--good ${ends.good} and --bad ${ends.bad} are on different lines of history (neither is an ancestor of the other)`;
  if (!base) return new UserError(`${apart}, and they share no commit: give two commits of one history`);
  const { id, subject } = await resolveCommit(gitDir, base.trim());
  const short = id.slice(0, 12);
  return new UserError(
    `${apart}; their merge-base is ${short} ("${subject}") (git merge-base): use it in place of the end on the other line, --good ${short} --bad ${ends.bad} or --good ${ends.good} --bad ${short}`,
  );
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
  let older: Commit;
  let newer: Commit;
  if (await isAncestor(gitDir, g.id, b.id)) [older, newer] = [g, b];
  else if (await isAncestor(gitDir, b.id, g.id)) [older, newer] = [b, g];
  else throw await apartError(gitDir, { good, bad }, [g.id, b.id]);
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

/** What testing one target gave: a decision, or a build that failed (skipped, as `git bisect skip`). */
export type Trial =
  | {
      target: string;
      built: boolean;
      outcome: Outcome;
      label: string;
      summary: string;
      reason: string;
      runId: string;
    }
  | { target: string; buildFailed: true; reason: string };

export const BisectRunStep = z.object({
  step: z.number(),
  target: z.string(),
  /** git: targets: the commit's id and subject. */
  commit: z.string().optional(),
  subject: z.string().optional(),
  /** null: the target did not build. */
  outcome: Outcome.nullable(),
  label: z.string().nullable(),
  side: z.enum(["good", "bad", "skip"]),
  /** Whether this step compiled an image (false: the content tag was already there). */
  built: z.boolean(),
  summary: z.string(),
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

/** How a target is named in a step line: a commit by short id and subject, anything else as given. */
function stepName(target: string, commits?: Map<string, Commit>): string {
  const commit = commits?.get(target);
  return commit ? `${commit.id.slice(0, 9)} ${commit.subject.slice(0, 50)}` : target;
}

/** A window's end in words: a commit by its short id, anything else as given. */
const endName = (target: string, commits?: Map<string, Commit>) =>
  commits?.get(target)?.id.slice(0, 9) ?? target;

/** The line after a step: the range the flip is still in, and about how many runs it takes. */
export function remainingText(input: BisectInput, commits?: Map<string, Commit>): string | undefined {
  const left = remaining(input);
  if (left.untested === 0) return undefined;
  const what = commits ? "commit(s)" : "target(s)";
  return `        still to search: ${endName(left.last, commits)} .. ${endName(left.first, commits)}, ${left.untested} untested ${what} between: about ${left.steps} more step(s)`;
}

/**
 * Runs a bisection: asks bisectStep what to test, tests it with `test` (which builds and runs), and
 * repeats. A target that does not build is skipped, as are unknown outcomes; an end that cannot be
 * built stops the search with a UserError (there is nothing to compare against).
 */
export async function runBisect(
  plan: BisectPlan,
  test: (targets: string[]) => Promise<Trial[]>,
  say: (line: string) => void = () => undefined,
): Promise<{
  steps: BisectRunStep[];
  outcome: Exclude<BisectStep, { kind: "run" }>;
  /** An end that contradicts its name, in one line (see endsNote). */
  note?: string;
}> {
  const { candidates, good, bad } = plan;
  const results: Record<string, Tested> = {};
  const steps: BisectRunStep[] = [];
  let note: string | undefined;
  for (let n = 1; ; n++) {
    const next = bisectStep({ candidates, good, bad, results });
    if (next.kind !== "run") return { steps, outcome: next, ...(note ? { note } : {}) };
    const trials = await test(next.targets);
    for (const [i, trial] of trials.entries()) {
      const target = next.targets[i] ?? trial.target;
      if ("buildFailed" in trial) {
        if (target === good || target === bad)
          throw new UserError(
            `--${target === good ? "good" : "bad"} ${target} cannot be tested (${trial.reason}): pick an end that builds`,
          );
        // A build failure is skipped exactly like an unknown outcome.
        results[target] = { outcome: "unknown", label: "build-failed" };
      } else results[target] = { outcome: trial.outcome, label: trial.label };
      const ran = "buildFailed" in trial ? undefined : trial;
      const commit = plan.commits?.get(target);
      const side = bisectSide(results[target]?.outcome ?? "unknown");
      steps.push({
        step: n,
        target,
        ...(commit ? { commit: commit.id, subject: commit.subject } : {}),
        outcome: ran?.outcome ?? null,
        label: ran?.label ?? null,
        side,
        built: ran?.built ?? true,
        summary: ran?.summary ?? "",
        reason: trial.reason,
        runId: ran?.runId ?? null,
      });
      const gave = ran
        ? ran.label === ran.outcome
          ? ran.label
          : `${ran.label} (${ran.outcome})`
        : "build failed";
      say(
        `step ${n}: ${stepName(target, plan.commits).padEnd(commit ? 60 : 24)} ${gave.padEnd(22)} ${(side === "skip" ? "skipped" : side).padEnd(8)} ${ran ? ran.summary || ran.reason : trial.reason}`,
      );
    }
    if (n === 1) {
      note = endsNote({ good, bad }, results);
      if (note) say(note);
    }
    const left = remainingText({ candidates, good, bad, results }, plan.commits);
    if (left) say(left);
  }
}

/** A build failure as a Trial, anything else rethrown: only a target that does not build is skipped. */
export function buildFailure(target: string, error: unknown): Trial {
  if (isUserError(error) && /image build for .* failed/.test(error.message))
    return { target, buildFailed: true, reason: errorText(error) };
  throw error;
}

/** How a target is named in words: a commit by short id and subject, anything else as given. */
function named(target: string, commits?: Map<string, Commit>): string {
  const commit = commits?.get(target);
  return commit ? `${commit.id.slice(0, 9)} ("${commit.subject}")` : target;
}

/** "bug (exhaustion)", or the outcome alone where the label is the outcome. */
function gives(r: Tested): string {
  return r.label === r.outcome ? r.outcome : `${r.outcome} (${r.label})`;
}

/** The conclusion in words: which end's outcome is where, and what that means. */
export function describeOutcome(
  outcome: BisectOutcome,
  ends: { good: string; bad: string },
  commits?: Map<string, Commit>,
): string {
  const what = (direction: "fix" | "regression") => (direction === "fix" ? "the fix" : "the regression");
  const first = (direction: "fix" | "regression") =>
    direction === "fix" ? "without the bug" : "with the bug";
  switch (outcome.kind) {
    case "found": {
      const [last, firstT] = [parseTarget(outcome.last), parseTarget(outcome.first)];
      const commit = commits?.get(outcome.first);
      if (commit)
        return `${named(outcome.first, commits)} is the first commit ${first(outcome.direction)}: it gives ${gives(outcome.to)}, the one before it, ${named(outcome.last, commits)}, gives ${gives(outcome.from)}; ${what(outcome.direction)} is commit ${commit.id}`;
      const patchFlip =
        last.kind === "release" && firstT.kind === "release" && last.version === firstT.version
          ? firstT.patches.filter((p) => !last.patches.includes(p))
          : [];
      if (patchFlip.length)
        return `${outcome.first} gives ${gives(outcome.to)} where ${outcome.last} gives ${gives(outcome.from)}: ${what(outcome.direction)} is the patch ${patchFlip.join("+")}`;
      return `${outcome.first} is the first release ${first(outcome.direction)}: it gives ${gives(outcome.to)}, ${outcome.last} gives ${gives(outcome.from)}; ${what(outcome.direction)} landed in ${outcome.first}`;
    }
    case "untested-gap":
      return `${outcome.last} gives ${gives(outcome.from)} and ${outcome.first} gives ${gives(outcome.to)}, but ${outcome.untested.length} release(s) before ${outcome.first} on its line were never run (${outcome.untested.join(", ")}): ${what(outcome.direction)} landed in one of those or in ${outcome.first}; add their tarballs (\`redis-repro sources add FILE\`) and bisect again, or bisect --commits with a clone`;
    case "no-flip":
      return `--good ${named(ends.good, commits)} and --bad ${named(ends.bad, commits)} both give ${outcome.outcome} (${outcome.labels.join(", ")}): nothing to bisect`;
    case "undecided-end":
      return `--${outcome.end} ${named(outcome.target, commits)} gives unknown (${outcome.label}): an end must give bug or no-bug to bisect from; run it again (\`redis-repro run\`) or pick another end`;
    case "ambiguous":
      return `the flip is between ${named(outcome.last, commits)} and ${named(outcome.first, commits)}, but ${outcome.skipped.map((t) => named(t, commits)).join(", ")} could not be tested (no build, or unknown)`;
    case "non-monotonic":
      return `the outcome flips more than once: ${named(outcome.first, commits)} already gives the newer end's outcome but ${named(outcome.laterOld, commits)} gives the older one's again`;
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
    const failed = (x: TargetImage | Trial | undefined): x is Trial => x !== undefined && "buildFailed" in x;
    const runnable = targets.filter((t) => !failed(images.get(t)));
    // Built just now: the run finds them by content tag; a rebuild was done above if asked for.
    const run = runnable.length
      ? await runScenario(scenario, runnable, { ...options, rebuild: false })
      : undefined;
    return targets.map((target): Trial => {
      const image = images.get(target);
      if (!image || failed(image)) return image as Trial;
      const result = run?.results[runnable.indexOf(target)];
      if (!result || !run) throw new Error(`the run gave no result for ${target}`);
      const { decision } = result;
      return {
        target,
        built: image.origin === "built",
        outcome: decision.outcome,
        label: decision.label,
        summary: decision.summary,
        reason: decision.reason,
        runId: run.runId,
      };
    });
  };
}

/**
 * `git bisect run` exit codes for one tested tree: 0 good, 1 bad, 125 cannot test (no build, or an
 * unknown outcome). By default the bug is bad and no bug good: a hunt for the commit that brought the
 * bug. With `fix`, the terms swap: the bug is the old behaviour (exit 0) and no bug the new one
 * (exit 1), because git bisect needs "bad" to be the newer side, so a hunt for a fix starts as
 * `git bisect start FIXED BUGGY`.
 */
export function bisectRunExit(outcome: Outcome | "build-failed", fix: boolean): 0 | 1 | 125 {
  if (outcome === "build-failed" || outcome === "unknown") return 125;
  return (outcome === "bug") === fix ? 0 : 1;
}
