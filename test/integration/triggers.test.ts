import { describe, expect, it } from "vitest";
import { expectation } from "../../harness/catalogue/catalogue.js";
import type { FaultName } from "../../harness/parts/faults/index.js";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/**
 * Every trigger and the BGSAVE control path, under both fork-failure injectors: the verdicts each
 * scenario states for 3.2.8 and 3.2.8+fix-aof-pipe-leak must come out of real runs.
 */
const missing328 = await missingSource("3.2.8");
const missing7 = await missingSource("7.0.15");
const errnoOf: Record<Exclude<FaultName, "none">, string> = {
  "seccomp-enomem": "Cannot allocate memory",
  "pids-limit": "Resource temporarily unavailable",
};

const cases: [string, Exclude<FaultName, "none">][] = [];
for (const scenario of [
  "aof-auto-rewrite-enomem",
  "bgrewriteaof-enomem",
  "config-set-appendonly-enomem",
  "bgsave-enomem",
]) {
  for (const fault of ["seccomp-enomem", "pids-limit"] as const) cases.push([scenario, fault]);
}

describe("rewrite triggers × fork-failure injectors on 3.2.8 and the fix", () => {
  it.skipIf(missing328).each(cases)(
    skipTitle("%s under %s", missing328),
    async (name, fault) => {
      const scenario = await loadScenario(name);
      const run = await runScenario(scenario, ["3.2.8", "3.2.8+fix-aof-pipe-leak"], {
        bases: "auto",
        faultOverride: fault,
      });
      for (const result of run.results) {
        // Catalogue first (3.2.8), then the scenario's own expect (the patched build).
        const { expected } = expectation(scenario, result.target);
        expect(expected, result.target).not.toBe("unmeasured");
        expect(result.expected).toBe(expected);
        expect(result.decision.verdict, `${result.target}: ${result.decision.reason}`).toBe(expected);
        expect(result.decision.evidence.errno).toBe(errnoOf[fault]);
        expect(result.decision.evidence.attempts).toBeGreaterThanOrEqual(scenario.budgets.attempts);
        if (fault === "pids-limit") expect(result.faultDetail).toMatch(/^pids limit set to \d+/);
      }
      const repeated = scenario.workload.some(
        (s) => typeof s !== "function" && s.step === "command" && s.everyMs,
      );
      if (repeated) {
        // A trigger serverCron does not repeat was repeated by the workload, one command per attempt.
        const [first] = run.results;
        expect(first?.workload?.commands ?? 0).toBeGreaterThanOrEqual(scenario.budgets.attempts);
        expect(Object.keys(first?.workload?.replies ?? {}).join()).toMatch(/ERR/);
      }
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
      const scenario = await loadScenario("aof-dir-growth-enomem");
      const run = await runScenario(scenario, ["7.0.15"], { bases: "auto", faultOverride: fault });
      const [result] = run.results;
      expect(result?.decision.verdict, result?.decision.reason).toBe("growing");
      const growth = (series: string) => result?.decision.evidence.growth.find((g) => g.series === series);
      expect(growth("aofdir.files")?.perAttempt ?? 0).toBeGreaterThanOrEqual(0.8);
      expect(growth("aofdir.files")?.attempts ?? 0).toBeGreaterThanOrEqual(10);
      const manifest = growth("aofdir.manifestBytes");
      expect((manifest?.after ?? 0) > (manifest?.before ?? 0)).toBe(true);
      // The history holds the series the checker judged, sampled through the run.
      expect(result?.series["aofdir.files"]?.length ?? 0).toBeGreaterThan(3);
      // fds stay flat on 7.0.15 while the directory grows: a second resource, not the seed's.
      expect(result?.decision.evidence.fdsPerAttempt ?? 0).toBeLessThan(1);
      expect(await countContainers(run.runId)).toBe(0);
    },
    120_000,
  );
});
