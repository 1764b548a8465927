import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/scenario.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/** Production settings: about 3 minutes. Excluded from `npm test`; run with `npm run test:slow`. */
const missing328 = await missingSource("3.2.8");

describe("seed fidelity", () => {
  it.skipIf(missing328)(
    skipTitle(
      "3.2.8 at maxclients 10000, hz 10: measured time to exhaustion within 15 % of the prediction",
      missing328,
    ),
    async () => {
      const scenario = await loadScenario("seed-fidelity-enomem");
      const run = await runScenario(scenario, ["3.2.8"], { bases: "auto" });
      const [result] = run.results;
      console.log(
        `predicted ${result?.prediction?.predictedSeconds} s, measured ${result?.prediction?.measuredSeconds} s (deviation ${result?.prediction?.deviation})`,
      );
      expect(result?.decision.verdict).toBe("exhaustion");
      expect(result?.decision.evidence.ceiling).toBe(10128);
      expect(result?.prediction?.within).toBe(true);
      expect(result?.prediction?.deviation ?? 1).toBeLessThanOrEqual(0.15);
      expect(await countContainers(run.runId)).toBe(0);
    },
    400_000,
  );
});
