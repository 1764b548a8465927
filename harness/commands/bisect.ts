import {
  type BisectPlan,
  bisectCandidates,
  commitCandidates,
  describeOutcome,
  runBisect,
  scenarioTrials,
  withUntestedGap,
} from "../bisect.js";
import { catalogueVersions } from "../catalogue/catalogue.js";
import { UserError } from "../errors.js";
import { DEFAULT_SCENARIO, loadScenario } from "../scenario/index.js";
import { gitDirSetting, resolveGitDir } from "../targets/git.js";
import { releases } from "../targets/releases.js";
import { cachedSourcePath } from "../targets/sources.js";
import { compareVersions } from "../targets/spec.js";
import { baseMode, baseOptions, type Command, commonOptions, printJson } from "./command.js";

const help = `redis-repro bisect --good A --bad B [--commits [--git-dir DIR]] [--scenario NAME|FILE] [--json]

Finds where a scenario's verdict flips, by binary search; either end may be the older. Each step runs
the scenario on one target, reusing cached images and building missing ones; the ends run first, side
by side. A verdict equal to --good's is good; inconclusive, or a target that does not build, is skipped
(as git bisect skip); any other verdict is bad.

Over releases (default): the releases from A to B that can run here (in the catalogue, or with a
tarball in the source cache). A flip between two releases with never-run releases between them is
named as a gap with those releases, not as a flip at the newer one.

Over commits (--commits, or an end written git:REF): every commit from A to B of the clone named by
--git-dir or REDIS_REPRO_GIT (a bare clone works), first-parent; names the first commit that flips
with its id and subject. Images are tagged by full commit id; ccache keeps nearby builds cheap.

  --good A              a release (or with --commits a tag, branch or commit) you call good (e.g. 3.2.9)
  --bad B               a release (or ref) you call bad (e.g. 3.2.8)
                        With one release and patches on one side (--bad 3.2.8 --good
                        3.2.8+fix-aof-pipe-leak) the two builds are run to confirm the patch flips it.
  --commits             bisect over the commits between A and B instead of releases
  --git-dir DIR         the clone for --commits and git: targets (default $REDIS_REPRO_GIT)
  --full-history        with --commits: every commit in between, not only the first-parent line
  --scenario NAME|FILE  default ${DEFAULT_SCENARIO}
  --bases MODE          auto | online | offline base images for builds (default auto)
  --json                print the steps and the outcome as JSON only

Exit: 0 the flip was found, 1 no single flip (the ends agree, only skipped targets in between, never-run
releases in between, or the verdict flips back), 2 usage or environment error.
`;

export { describeOutcome } from "../bisect.js";

export const bisectCommand: Command = {
  name: "bisect",
  summary: "find the release, commit or patch where a scenario's verdict flips, by runs",
  help,
  options: {
    ...commonOptions,
    ...baseOptions,
    good: { type: "string" },
    bad: { type: "string" },
    scenario: { type: "string" },
    commits: { type: "boolean" },
    "full-history": { type: "boolean" },
  },
  async run(values) {
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
    const options = { bases: baseMode(values), rebuild: values.rebuild === true, scenarioRef };
    const { steps, outcome: searched } = await runBisect(plan, scenarioTrials(scenario, options), say);
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
        conclusion,
        builds,
        seconds,
      });
    else {
      say(conclusion);
      say(`${steps.length} target(s) tested, ${builds} image(s) built, ${seconds} s`);
    }
    return outcome.kind === "found" ? 0 : 1;
  },
};

/** Releases a bisection can run: the catalogue's, and any other release whose tarball is in the cache. */
async function testableReleases(): Promise<string[]> {
  const cached = await Promise.all(
    releases.map(async (r) => ((await cachedSourcePath(r.version)) ? r.version : "")),
  );
  return [...new Set([...catalogueVersions(), ...cached.filter(Boolean)])].sort(compareVersions);
}
