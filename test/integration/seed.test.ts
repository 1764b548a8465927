import { describe, expect, it } from "vitest";
import { countContainers } from "../../harness/engine/cleanup.js";
import { RunResult } from "../../harness/run/result.js";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { missingSource, skipTitle } from "./support.js";

const missing328 = await missingSource("3.2.8");
const missing7 = await missingSource("7.0.15");
const seed = await loadScenario("aof-auto-rewrite-enomem");
if (!("checker" in seed.checker) || seed.checker.checker !== "fd-leak")
  throw new Error("the seed scenario's checker is not fd-leak");
const fdTolerance = seed.checker.tolerance;

describe("the seed scenario on the real engine", () => {
  it.skipIf(missing328)(
    skipTitle("3.2.8 runs out of fds; 3.2.8+fix-aof-pipe-leak stays flat under the same faults", missing328),
    async () => {
      const run = RunResult.parse(
        await runScenario(seed, ["3.2.8", "3.2.8+fix-aof-pipe-leak"], { bases: "auto" }),
      );
      const [leaky, fixed] = run.results;
      expect(leaky?.decision.verdict).toBe("exhaustion");
      expect(leaky?.decision.evidence.fdsPerAttempt).toBeCloseTo(6, 0);
      expect(leaky?.decision.evidence.peakMaxFd).toBeGreaterThanOrEqual(
        (leaky?.decision.evidence.ceiling ?? 0) - 6,
      );
      expect(leaky?.decision.evidence.refusedProbe).not.toBeNull();
      const lines = leaky?.decision.evidence.logLines.join("\n") ?? "";
      expect(lines).toContain("Can't rewrite append only file in background: fork: Cannot allocate memory");
      expect(lines).toContain("Error opening /setting AOF rewrite IPC pipes: Numerical result out of range");
      expect(lines).toMatch(
        /Error registering fd event for the new client: Numerical result out of range \(fd=\d+\)/,
      );

      expect(fixed?.decision.verdict).toBe("stable");
      expect(fixed?.decision.evidence.attempts).toBeGreaterThanOrEqual(seed.budgets.attempts);
      expect(
        (fixed?.decision.evidence.peak ?? 99) - (fixed?.decision.evidence.baseline ?? 0),
      ).toBeLessThanOrEqual(fdTolerance);
      expect(fixed?.probes.every((p) => p.ok)).toBe(true);
      expect(run.ok).toBe(true);
      expect(await countContainers(run.runId)).toBe(0);
    },
    180_000,
  );

  it.skipIf(missing7)(
    skipTitle("7.0.15 (what a fresh machine can build) closes its pipes: stable", missing7),
    async () => {
      const run = await runScenario(seed, ["7.0.15"], { bases: "auto" });
      const [result] = run.results;
      expect(result?.decision.verdict).toBe("stable");
      expect(result?.expected).toBe("stable");
      expect(result?.decision.evidence.errno).toBe("Cannot allocate memory");
      expect(result?.decision.evidence.attempts).toBeGreaterThanOrEqual(seed.budgets.attempts);
      expect(result?.info.aof_enabled).toBe("1");
      expect(await countContainers(run.runId)).toBe(0);
    },
    180_000,
  );

  it.skipIf(missing7)(
    skipTitle("the control fault (none) lets fork succeed: no failed fork, no fd verdict", missing7),
    async () => {
      const quick = { ...seed, budgets: { ...seed.budgets, timeLimitSeconds: 6 } };
      const run = await runScenario(quick, ["7.0.15"], { bases: "auto", faultOverride: "none" });
      const [result] = run.results;
      expect(result?.fault).toBe("none");
      expect(result?.decision.evidence.attempts).toBe(0);
      expect(result?.decision.verdict).toBe("inconclusive");
      expect(result?.decision.reason).toContain("no fork failure");
      expect(result?.events.some((e) => e.kind === "rewrite-started")).toBe(true);
    },
    120_000,
  );
});
