import {
  type BisectPlan,
  bisectCandidates,
  commitCandidates,
  describeOutcome,
  runBisect,
  scenarioTrials,
  withUntestedGap,
} from "../campaigns/bisect.js";
import { catalogueVersions } from "../catalogue/catalogue.js";
import { UserError } from "../core/errors.js";
import { loadScenario } from "../scenario/index.js";
import { gitDirSetting, resolveGitDir } from "../targets/git.js";
import { releases } from "../targets/releases.js";
import { cachedSourcePath } from "../targets/sources.js";
import { compareVersions } from "../targets/spec.js";
import { baseMode, type Input, printJson } from "./command.js";

export { describeOutcome } from "../campaigns/bisect.js";

export async function run({ values }: Input): Promise<number> {
  if (typeof values.good !== "string" || typeof values.bad !== "string")
    throw new UserError("bisect needs --good A and --bad B, e.g. --good 3.2.9 --bad 3.2.8");
  const commits = values.commits === true || [values.good, values.bad].some((e) => e.startsWith("git:"));
  const plan: BisectPlan = commits
    ? await commitCandidates(
        await resolveGitDir(gitDirSetting()),
        values.good,
        values.bad,
        values["full-history"] !== true,
      )
    : bisectCandidates(values.good, values.bad, await testableReleases());
  const { candidates, good, bad } = plan;
  const scenarioRef = typeof values.scenario === "string" ? values.scenario : undefined;
  const scenario = await loadScenario(scenarioRef);
  const say = (line: string) => {
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  say(
    `bisect ${scenario.name} over ${candidates.length} ${commits ? "commit(s)" : "target(s)"}, ${candidates[0]} .. ${candidates.at(-1)}: --good ${good}, --bad ${bad}`,
  );
  const started = Date.now();
  const options = { bases: baseMode(values), rebuild: values.rebuild === true };
  const { steps, outcome: searched, note } = await runBisect(plan, scenarioTrials(scenario, options), say);
  const outcome = commits
    ? searched
    : withUntestedGap(
        searched,
        releases.map((r) => r.version),
      );
  const conclusion = describeOutcome(outcome, { good, bad }, plan.commits);
  const builds = steps.filter((s) => s.built).length;
  const seconds = Math.round((Date.now() - started) / 1000);
  if (values.json)
    printJson({
      scenario: scenario.name,
      good,
      bad,
      candidates,
      steps,
      outcome,
      ...(note ? { note } : {}),
      conclusion,
      builds,
      seconds,
    });
  else {
    say(conclusion);
    say(`${steps.length} target(s) tested, ${builds} image(s) built, ${seconds} s`);
  }
  return outcome.kind === "found" ? 0 : 1;
}

/** Releases a bisection can run: the catalogue's, and any other release whose tarball is in the cache. */
async function testableReleases(): Promise<string[]> {
  const cached = await Promise.all(
    releases.map(async (r) => ((await cachedSourcePath(r.version)) ? r.version : "")),
  );
  return [...new Set([...catalogueVersions(), ...cached.filter(Boolean)])].sort(compareVersions);
}
