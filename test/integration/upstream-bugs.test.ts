import { describe, expect, it } from "vitest";
import { type Decision, meets } from "../../harness/core/outcome.js";
import { AssertEvidence, ComposedEvidence, WithinEvidence } from "../../harness/parts/checkers/index.js";
import type { TargetResult } from "../../harness/run/result.js";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/**
 * Real upstream Redis bugs that are not a growing resource (issue #18's proof), each a scenario run
 * on a release before its fix and one after: bug, then no bug, as measured. Each case names what its
 * decision must show beyond the outcome (`check`), read from the deciding checkers' own evidence.
 *
 * To add one: a scenario in scenarios/, then a case below with its two targets, the outcome or label
 * each must give, the releases it needs (skipped with the tarball named where one is missing), and
 * its checks on the decisions. Two more arrive later (7.0.15 vs deb:redis/8.0.6): see the end.
 */
interface UpstreamCase {
  scenario: string;
  /** Where the bug was reported and fixed, for the test's title. */
  upstream: string;
  before: { target: string; gives: string[] };
  after: { target: string; gives: string[] };
  /** Releases whose tarballs the targets are built from. */
  needs: string[];
  check: (before: TargetResult, after: TargetResult) => void;
}

/** A composed decision's part, by the name its scenario gave it. */
function part(decision: Decision, name: string): Decision {
  const found = decision.parts?.find((p) => p.checker === name);
  if (!found) throw new Error(`no part ${name} in ${decision.checker}'s decision`);
  return found;
}

const cases: UpstreamCase[] = [
  {
    scenario: "lua-time-limit-ignored",
    upstream: "redis/redis#3703, fixed by 697d3abe in 3.2.9",
    before: { target: "3.2.8", gives: ["bug", "limit-ignored"] },
    after: { target: "3.2.9", gives: ["no-bug", "limit-honoured"] },
    needs: ["3.2.8", "3.2.9"],
    check(before, after) {
      // Both parts are kept whole, and each found the same: the config value read at the start, and
      // the slow-script log line within a second of the script's mark.
      const labels = (r: TargetResult) => {
        const composed = ComposedEvidence.parse(r.decision.evidence);
        expect(composed.rule).toBe("any");
        return composed.parts.map((p) => [p.checker, p.outcome, p.label]);
      };
      expect(labels(before)).toEqual([
        ["setting", "bug", "setting-lost"],
        ["slow-script-reported", "bug", "never-reported"],
      ]);
      expect(labels(after)).toEqual([
        ["setting", "no-bug", "setting-kept"],
        ["slow-script-reported", "no-bug", "reported"],
      ]);
      const lost = AssertEvidence.parse(part(before.decision, "setting").evidence);
      expect(lost.reading?.v).toBe(5000);
      expect(lost.held).toBe(false);
      const kept = AssertEvidence.parse(part(after.decision, "setting").evidence);
      expect(kept.reading?.v).toBe(100);
      expect(kept.held).toBe(true);
      const silent = WithinEvidence.parse(part(before.decision, "slow-script-reported").evidence);
      expect(silent.from).not.toBeNull();
      expect(silent.happened).toBeNull();
      expect(before.history.logs.main?.some((l) => /Lua slow script detected/.test(l))).toBe(false);
      const reported = WithinEvidence.parse(part(after.decision, "slow-script-reported").evidence);
      expect(reported.happened?.seen).toMatch(/Lua slow script detected/);
      expect(reported.tookMs ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(1_000);
    },
  },
  // Arriving later, on 7.0.15 (bug) vs deb:redis/8.0.6 (fixed), needs ["7.0.15", "8.0.6"]:
  // - a liveness bug (something must happen within T): its scenario, targets and checks here;
  // - a bug about the server surviving or refusing writes: its scenario, targets and checks here.
];

/** Per case, the first release whose tarball this machine lacks (the skip's reason names the file). */
const missing = new Map<string, string | undefined>();
for (const c of cases) {
  let reason: string | undefined;
  for (const version of c.needs) reason ??= await missingSource(version);
  missing.set(c.scenario, reason);
}

describe("upstream Redis bugs, before and after their fix", () => {
  for (const c of cases) {
    const title = `${c.scenario} (${c.upstream}): ${c.before.target} gives ${c.before.gives.join(" / ")}, ${c.after.target} gives ${c.after.gives.join(" / ")}`;
    const reason = missing.get(c.scenario);
    it.skipIf(reason)(
      skipTitle(title, reason),
      async () => {
        const scenario = await loadScenario(c.scenario);
        const run = await runScenario(scenario, [c.before.target, c.after.target], { bases: "auto" });
        const [before, after] = run.results;
        if (!before || !after) throw new Error("two results expected");
        expect(before.target).toBe(c.before.target);
        expect(after.target).toBe(c.after.target);
        for (const gives of c.before.gives) expect(before).toHaveOutcome(gives);
        for (const gives of c.after.gives) expect(after).toHaveOutcome(gives);
        // What the catalogue records, where it holds the scenario yet, is what was measured here.
        for (const r of run.results)
          if (r.expected !== null) expect(meets(r.decision, r.expected)).toBe(true);
        expect(run).toMeetExpectations();
        expect(run.ok).toBe(true);
        c.check(before, after);
        expect(await countContainers(run.runId)).toBe(0);
      },
      180_000,
    );
  }
});
