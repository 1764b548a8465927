import { type BisectOutcome, type BisectSide, bisectCandidates, bisectSide, bisectStep } from "../bisect.js";
import { catalogueVersions } from "../catalogue/catalogue.js";
import { UserError } from "../errors.js";
import { runScenario } from "../run.js";
import { loadScenario, type Verdict } from "../scenario.js";
import { parseTarget } from "../targets/spec.js";
import { baseMode, type Input, printJson } from "./command.js";

export interface BisectRunStep {
  step: number;
  target: string;
  verdict: Verdict;
  side: BisectSide;
  attempts: number;
  baselineFds: number | null;
  peakFds: number | null;
  reason: string;
  runId: string;
}

/** The conclusion in words: which end's verdict is where, and what that means. */
export function describeOutcome(outcome: BisectOutcome, ends: { good: string; bad: string }): string {
  switch (outcome.kind) {
    case "found": {
      const [last, first] = [parseTarget(outcome.last), parseTarget(outcome.first)];
      const what = outcome.direction === "fix" ? "the fix" : "the regression";
      const patchFlip =
        last.kind === "release" && first.kind === "release" && last.version === first.version
          ? first.patches.filter((p) => !last.patches.includes(p))
          : [];
      if (patchFlip.length)
        return `${outcome.first} gives ${outcome.to} where ${outcome.last} gives ${outcome.from}: ${what} is the patch ${patchFlip.join("+")}`;
      return `${outcome.first} is the first release that gives ${outcome.to} (${outcome.last} gives ${outcome.from}): ${what} landed in ${outcome.first}`;
    }
    case "no-flip":
      return `--good ${ends.good} and --bad ${ends.bad} both give ${outcome.verdict}: nothing to bisect`;
    case "ambiguous":
      return `the flip is between ${outcome.last} and ${outcome.first}, but ${outcome.skipped.join(", ")} gave neither end's verdict`;
    case "non-monotonic":
      return `the verdict flips more than once: ${outcome.first} already gives the newer end's verdict but ${outcome.laterOld} gives the older one's again`;
  }
}

export async function run({ values }: Input): Promise<number> {
  if (typeof values.good !== "string" || typeof values.bad !== "string")
    throw new UserError("bisect needs --good A and --bad B, e.g. --good 3.2.9 --bad 3.2.8");
  const { candidates, good, bad } = bisectCandidates(values.good, values.bad, catalogueVersions());
  const scenarioRef = typeof values.scenario === "string" ? values.scenario : undefined;
  const scenario = await loadScenario(scenarioRef);
  const say = (line: string) => {
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  say(
    `bisect ${scenario.name} over ${candidates.length} target(s), ${candidates[0]} .. ${candidates.at(-1)}: --good ${good}, --bad ${bad}`,
  );

  const verdicts: Record<string, Verdict> = {};
  const steps: BisectRunStep[] = [];
  let outcome: BisectOutcome | undefined;
  for (let n = 1; !outcome; n++) {
    const next = bisectStep({ candidates, good, bad, verdicts });
    if (next.kind !== "run") {
      outcome = next;
      break;
    }
    const run = await runScenario(scenario, next.targets, {
      bases: baseMode(values),
      rebuild: values.rebuild === true,
      scenarioRef,
    });
    // By position: results come in the order asked, and a patch prefix (3.2.8+fix) comes back
    // under its full name.
    next.targets.forEach((target, i) => {
      const verdict = run.results[i]?.decision.verdict;
      if (!verdict) throw new Error(`run ${run.runId} gave no verdict for ${target}`);
      verdicts[target] = verdict;
    });
    for (const [i, r] of run.results.entries()) {
      const target = next.targets[i] ?? r.target;
      const v = r.decision.verdict;
      const side = bisectSide(v, verdicts[good] ?? v, verdicts[bad] ?? v);
      const e = r.decision.evidence;
      steps.push({
        step: n,
        target,
        verdict: v,
        side,
        attempts: e.attempts,
        baselineFds: e.baseline,
        peakFds: e.peak,
        reason: r.decision.reason,
        runId: run.runId,
      });
      const open = candidates.filter((t) => verdicts[t] === undefined).length;
      say(
        `step ${n}: ${target.padEnd(24)} ${v.padEnd(12)} ${(side === "skip" ? "skipped" : side).padEnd(8)} ${e.attempts} failed forks, fds ${e.baseline ?? "—"} → ${e.peak ?? "—"}; ${open} left`,
      );
    }
  }
  const conclusion = describeOutcome(outcome, { good, bad });
  if (values.json) printJson({ scenario: scenario.name, good, bad, candidates, steps, outcome, conclusion });
  else say(conclusion);
  return outcome.kind === "found" ? 0 : 1;
}
