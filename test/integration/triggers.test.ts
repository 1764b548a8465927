import { describe, expect, it } from "vitest";
import { expectation } from "../../harness/catalogue/catalogue.js";
import { eventsOf, FAULT_START, seriesOf } from "../../harness/core/history.js";
import { pipesPerAttempt } from "../../harness/parts/checkers/fd-leak.js";
import { AofDirEvidence, FdLeakEvidence } from "../../harness/parts/checkers/index.js";
import type { FaultName } from "../../harness/parts/faults/index.js";
import { fdSamples, fdsProbe } from "../../harness/parts/probes/fds.js";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/**
 * Every trigger and the BGSAVE control path, under both fork-failure injectors: the labels measured
 * for 3.2.8 and 3.2.8+fix-aof-pipe-leak (written here, and recorded in the catalogue) must come out
 * of real runs.
 */
const missing328 = await missingSource("3.2.8");
const missing7 = await missingSource("7.0.15");
const errnoOf: Record<Exclude<FaultName, "none">, string> = {
  "seccomp-enomem": "Cannot allocate memory",
  "pids-limit": "Resource temporarily unavailable",
};

/** What each scenario gave on [3.2.8, 3.2.8+fix-aof-pipe-leak] when measured (docs/catalogue). */
const measured: Record<string, [string, string]> = {
  "aof-auto-rewrite-enomem": ["exhaustion", "stable"],
  "bgrewriteaof-enomem": ["exhaustion", "stable"],
  "config-set-appendonly-enomem": ["growing", "stable"],
  "bgsave-enomem": ["stable", "stable"],
};
const TARGETS = ["3.2.8", "3.2.8+fix-aof-pipe-leak"] as const;

const cases: [string, Exclude<FaultName, "none">][] = [];
for (const scenario of Object.keys(measured)) {
  for (const fault of ["seccomp-enomem", "pids-limit"] as const) cases.push([scenario, fault]);
}

describe("rewrite triggers × fork-failure injectors on 3.2.8 and the fix", () => {
  it.skipIf(missing328).each(cases)(
    skipTitle("%s under %s", missing328),
    async (name, fault) => {
      const scenario = await loadScenario(name);
      const run = await runScenario(scenario, [...TARGETS], { bases: "auto", faultOverride: fault });
      expect(run.results.map((r) => r.target)).toEqual([...TARGETS]);
      for (const [i, result] of run.results.entries()) {
        const label = measured[name]?.[i] ?? "?";
        // The catalogue holds the same measurement, so the run states it as its expectation.
        expect(expectation(scenario, result.target).expected, result.target).toBe(label);
        expect(result).toHaveOutcome(label);
        expect(result.matches).toBe(true);
        const e = FdLeakEvidence.parse(result.decision.evidence);
        expect(e.errno).toBe(errnoOf[fault]);
        expect(e.attempts).toBeGreaterThanOrEqual(scenario.budgets.attempts);
        expect(result.faults).toEqual([fault]);
        if (fault === "pids-limit")
          expect(eventsOf(result.history, FAULT_START, { name: fault })[0]?.line).toMatch(
            /^pids limit set to \d+/,
          );
      }
      const steps = (scenario.data.workload ?? []) as { step?: string; everyMs?: number }[];
      const repeated = steps.some((s) => s.step === "command" && s.everyMs);
      if (repeated) {
        // A trigger serverCron does not repeat was repeated by the workload, one command per attempt.
        const [first] = run.results;
        expect(first?.workload?.commands ?? 0).toBeGreaterThanOrEqual(scenario.budgets.attempts);
        expect(Object.keys(first?.workload?.replies ?? {}).join()).toMatch(/ERR/);
      }
      expect(run).toMeetExpectations();
      expect(run.ok).toBe(true);
      expect(await countContainers(run.runId)).toBe(0);
    },
    120_000,
  );
});

describe("the AOF directory on 7.0.15", () => {
  it.skipIf(missing7).each(["seccomp-enomem", "pids-limit"] as const)(
    skipTitle("grows by an incr file per failed fork under %s", missing7),
    async (fault) => {
      const loaded = await loadScenario("aof-dir-growth-enomem");
      // The fds are read beside the directory (aof-dir's decision carries none): they must stay flat.
      const scenario = { ...loaded, probes: [...loaded.probes, fdsProbe()] };
      const run = await runScenario(scenario, ["7.0.15"], { bases: "auto", faultOverride: fault });
      const [result] = run.results;
      if (!result) throw new Error("one result expected");
      expect(result).toHaveOutcome("bug");
      expect(result).toHaveOutcome("growing");
      const e = AofDirEvidence.parse(result.decision.evidence);
      expect(e.errno).toBe(errnoOf[fault]);
      expect(e.files.series).toBe("aofdir.files");
      expect(e.files.perAttempt ?? 0).toBeGreaterThanOrEqual(0.8);
      expect(e.files.attempts).toBeGreaterThanOrEqual(10);
      expect(e.manifest.series).toBe("aofdir.manifestBytes");
      expect((e.manifest.after ?? 0) > (e.manifest.before ?? 0)).toBe(true);
      // The history holds the series the checker judged, sampled through the run.
      expect(seriesOf(result.history, "aofdir.files").length).toBeGreaterThan(3);
      // fds stay flat on 7.0.15 while the directory grows: a second resource, not the seed's.
      const samples = fdSamples(result.history);
      expect(samples.length).toBeGreaterThan(3);
      expect(pipesPerAttempt(samples, result.history.attempts, null, 6) ?? 0).toBeLessThan(1);
      expect(await countContainers(run.runId)).toBe(0);
    },
    120_000,
  );
});
