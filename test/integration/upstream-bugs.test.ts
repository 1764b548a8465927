import { beforeAll, describe, expect, it } from "vitest";
import { EXITED, eventsOf, MARK, seriesOf } from "../../harness/core/history.js";
import { type Decision, meets } from "../../harness/core/outcome.js";
import { AssertEvidence, ComposedEvidence, WithinEvidence } from "../../harness/parts/checkers/index.js";
import type { TargetResult } from "../../harness/run/result.js";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { ensureImage } from "../../harness/targets/build.js";
import { parseTarget } from "../../harness/targets/spec.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/**
 * Real upstream Redis bugs that are not a growing resource (issue #18's proof), each a scenario run
 * on a release before its fix and one after: bug, then no bug, as measured. Each case names what its
 * decision must show beyond the outcome (`check`), read from the deciding checkers' own evidence.
 *
 * To add one: a scenario in scenarios/, then a case below with its two targets, the outcome or label
 * each must give, the releases it needs (skipped with the tarball named where one is missing), and
 * its checks on the decisions. A deb: target needs no tarball here: it is fetched through Debian's
 * signed indexes when its image is built.
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
  {
    scenario: "randomkey-hang-during-pause",
    upstream: "redis/redis#13863, fixed in 8.0.0",
    before: { target: "7.0.15", gives: ["bug", "hang"] },
    after: { target: "deb:redis/8.0.6", gives: ["no-bug", "answered"] },
    needs: ["7.0.15"],
    check(before, after) {
      // 7.0.15: from 0.3 s after the RANDOMKEY no fresh client got PONG for 3 s, and RANDOMKEY
      // itself never answered (the kept connection's 5 s timeout, if the run lasted that long).
      const hung = WithinEvidence.parse(before.decision.evidence);
      expect(hung.from).not.toBeNull();
      expect(hung.happened).toBeNull();
      const refused = seriesOf(before.history, "connect.ok").filter((p) => p.t >= (hung.from ?? 0));
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((p) => p.v === 0)).toBe(true);
      expect(before.workload?.replies.key).toBeUndefined();
      // 8.0.6: RANDOMKEY answered with the expired key (the 100-tries hatch), and a fresh client at once.
      const answered = WithinEvidence.parse(after.decision.evidence);
      expect(answered.happened).not.toBeNull();
      expect(answered.tookMs ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(3_000);
      expect(after.workload?.replies.key ?? 0).toBeGreaterThanOrEqual(1);
    },
  },
  {
    scenario: "client-unblock-paused-panic",
    upstream: "redis/redis#14164 (valkey-io/valkey#2117), fixed in 8.0.4",
    before: { target: "7.0.15", gives: ["bug", "crashed"] },
    after: { target: "deb:redis/8.0.6", gives: ["no-bug", "survived"] },
    needs: ["7.0.15"],
    check(before, after) {
      // 7.0.15: the server panicked on CLIENT UNBLOCK and its container ended with the crash report.
      const died = WithinEvidence.parse(before.decision.evidence);
      expect(died.happened).not.toBeNull();
      expect(died.tookMs ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(2_000);
      expect(eventsOf(before.history, EXITED)[0]?.name).toBe("crashed");
      expect(before.ended?.cause).toBe("crashed");
      expect(
        before.history.logs.main?.some((l) => /Unknown btype in replyToBlockedClientTimedOut/.test(l)),
      ).toBe(true);
      expect(seriesOf(before.history, "panic.count").at(-1)?.v ?? 0).toBeGreaterThanOrEqual(1);
      // 8.0.6: CLIENT UNBLOCK answers 0 (a paused client may not be unblocked), the held SET runs
      // after CLIENT UNPAUSE, and the server is still there.
      const mark = (name: string) => eventsOf(after.history, MARK, { name })[0]?.value;
      expect(mark("unblock-reply")).toBe("0");
      expect(mark("held-set")).toBe("OK");
      expect(WithinEvidence.parse(after.decision.evidence).happened).toBeNull();
      expect(eventsOf(after.history, EXITED)).toEqual([]);
    },
  },
];

/** Per case, the first release whose tarball this machine lacks (the skip's reason names the file). */
const missing = new Map<string, string | undefined>();
for (const c of cases) {
  let reason: string | undefined;
  for (const version of c.needs) reason ??= await missingSource(version);
  missing.set(c.scenario, reason);
}

describe("upstream Redis bugs, before and after their fix", () => {
  // Built first, outside each case's timeout: a deb: target's image is compiled from Debian's orig
  // tarball on a fresh machine (about 4 minutes for redis 8.0.6 here).
  beforeAll(async () => {
    for (const c of cases) {
      if (missing.get(c.scenario)) continue;
      for (const t of [c.before.target, c.after.target]) await ensureImage(parseTarget(t), { bases: "auto" });
    }
  }, 1_800_000);

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
