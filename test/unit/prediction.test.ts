import { describe, expect, it } from "vitest";
import {
  comparePrediction,
  Prediction,
  predictExhaustionSeconds,
} from "../../harness/parts/checkers/prediction.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { eventLoopSize, numericDirective } from "../../harness/targets/config.js";
import { recordedResult, recordedRun } from "../helpers/runs.js";

const FIDELITY = "seed-fidelity-3.2.8.json.gz";

describe("predictExhaustionSeconds", () => {
  it("is (ceiling − baseline) / (fdsPerAttempt · hz): 168.67 s at production settings", () => {
    expect(predictExhaustionSeconds(10128, 8, 6, 10)).toBeCloseTo(168.67, 2);
    expect(predictExhaustionSeconds(10128, 8, 6, 10)).toBeCloseTo(10120 / 60, 10);
  });

  it("halves when serverCron ticks twice as often or each attempt leaks twice as much", () => {
    const base = predictExhaustionSeconds(10128, 8, 6, 10);
    expect(predictExhaustionSeconds(10128, 8, 6, 20)).toBeCloseTo(base / 2, 10);
    expect(predictExhaustionSeconds(10128, 8, 12, 10)).toBeCloseTo(base / 2, 10);
  });

  it("is 3.07 s for the small seed scenario (ceiling 192, baseline 8)", () => {
    expect(predictExhaustionSeconds(192, 8, 6, 10)).toBeCloseTo(3.07, 2);
  });
});

describe("comparePrediction", () => {
  it("within the tolerance: deviation rounded to 3 places, seconds to 1", () => {
    const prediction = comparePrediction(10120 / 60, 171.122, 0.15);
    expect(prediction).toEqual({
      predictedSeconds: 168.7,
      measuredSeconds: 171.1,
      deviation: 0.015,
      tolerance: 0.15,
      within: true,
    });
    expect(() => Prediction.parse(prediction)).not.toThrow();
  });

  it("outside the tolerance, early or late", () => {
    expect(comparePrediction(100, 120, 0.15)).toMatchObject({ deviation: 0.2, within: false });
    expect(comparePrediction(100, 80, 0.15)).toMatchObject({ deviation: 0.2, within: false });
  });

  it("the tolerance itself counts as within, on either side", () => {
    expect(comparePrediction(100, 115, 0.15).within).toBe(true);
    expect(comparePrediction(100, 85, 0.15).within).toBe(true);
    expect(comparePrediction(100, 115.1, 0.15).within).toBe(false);
  });

  it("no measurement (exhaustion never reached): not within, deviation null", () => {
    const prediction = comparePrediction(168.67, null, 0.15);
    expect(prediction).toEqual({
      predictedSeconds: 168.7,
      measuredSeconds: null,
      deviation: null,
      tolerance: 0.15,
      within: false,
    });
    expect(() => Prediction.parse(prediction)).not.toThrow();
  });
});

describe("the recorded production-settings run (seed-fidelity-enomem, 3.2.8)", () => {
  const run = recordedRun(FIDELITY);
  const result = recordedResult(FIDELITY, "3.2.8");
  const { evidence } = result.decision;

  it("is the scenario it claims, at production settings", async () => {
    const scenario = await loadScenario(run.scenario);
    expect(scenario.name).toBe("seed-fidelity-enomem");
    expect(scenario.redis.maxclients).toBe(10000);
    expect(scenario.redis.hz).toBe(10);
    expect(evidence.ceiling).toBe(
      Math.min(eventLoopSize(numericDirective(scenario.redis, "maxclients", 10_000)), scenario.limits.nofile),
    );
    expect(evidence.ceiling).toBe(10128);
    expect(evidence.baseline).toBe(result.samples[0]?.total);
    expect(result.decision.verdict).toBe("exhaustion");
  });

  it("recomputing the prediction from its evidence and the scenario gives the recorded one", async () => {
    const scenario = await loadScenario("seed-fidelity-enomem");
    if (!scenario.predict) throw new Error("seed-fidelity-enomem has no predict section");
    const { ceiling, baseline, exhaustedMs, firstFailureMs } = evidence;
    if (baseline === null || exhaustedMs === null || firstFailureMs === null)
      throw new Error("the fidelity run lacks baseline, exhaustion or first failure");

    const checker = scenario.checker;
    if (!("checker" in checker) || checker.checker !== "fd-leak")
      throw new Error("seed-fidelity-enomem's checker is not fd-leak");
    const predicted = predictExhaustionSeconds(
      ceiling,
      baseline,
      checker.fdsPerAttempt,
      numericDirective(scenario.redis, "hz", 10),
    );
    expect(predicted).toBeCloseTo(168.67, 2);
    const measured = (exhaustedMs - firstFailureMs) / 1000;
    const prediction = comparePrediction(predicted, measured, scenario.predict.tolerance);

    expect(prediction).toEqual(result.prediction);
    expect(prediction).toEqual({
      predictedSeconds: 168.7,
      measuredSeconds: 171.1,
      deviation: 0.015,
      tolerance: 0.15,
      within: true,
    });
    expect(Math.abs(measured - predicted) / predicted).toBeLessThanOrEqual(0.15);
    // The verdict matched the expectation and the prediction held: the run counts as a match.
    expect(result.matches).toBe(true);
  });

  it("a run cut off before exhaustion would have had nothing to measure", () => {
    const prediction = comparePrediction(predictExhaustionSeconds(10128, 8, 6, 10), null, 0.15);
    expect(prediction.within).toBe(false);
  });
});
