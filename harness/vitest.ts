import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { type Expected, meets } from "./core/outcome.js";
import { withLogger } from "./core/progress.js";
import type { RunResult, TargetResult } from "./run/result.js";
import { type EnsureOptions, ensureImage, type TargetImage } from "./targets/build.js";
import { parseTarget } from "./targets/spec.js";

/**
 * redis-repro in a user's own vitest suite:
 * - `buildImages([...targets])` as (part of) a globalSetup: images are built once for the whole run,
 *   before any test and outside every test's timeout, and `inject("redisReproImages")` gives them;
 * - `matchers`, for `expect.extend(matchers)` in a setup file: `toHaveOutcome`, `toMeetExpectations`.
 */
declare module "vitest" {
  export interface ProvidedContext {
    redisReproImages: Record<string, TargetImage>;
  }
  // biome-ignore lint/suspicious/noExplicitAny: the signature vitest declares
  interface Assertion<T = any> {
    /**
     * A run (every target, or the one named) or a target's result gives this: an outcome (`bug`,
     * `no-bug`, `unknown`) or the label its checker names (`exhaustion`), which must then match exactly.
     */
    toHaveOutcome(expected: Expected, target?: string): T;
    /** Every target whose expectation is known got it (RunResult.ok). */
    toMeetExpectations(): T;
  }
}

export function buildImages(
  targets: string[],
  options: EnsureOptions & { log?: (line: string) => void } = { bases: "auto" },
) {
  return async function setup(project: TestProject): Promise<void> {
    const images: Record<string, TargetImage> = {};
    await withLogger(options.log ?? ((line) => process.stderr.write(`${line}\n`)), async () => {
      for (const target of targets) images[target] = await ensureImage(parseTarget(target), options);
    });
    project.provide("redisReproImages", images);
  };
}

function results(received: RunResult | TargetResult, target?: string): TargetResult[] {
  const all = "results" in received ? received.results : [received];
  return target === undefined ? all : all.filter((r) => r.target === target);
}

const gave = (r: TargetResult) =>
  `${r.target}: ${r.decision.label} (${r.decision.outcome}): ${r.decision.reason}`;

export const matchers = {
  toHaveOutcome(received: RunResult | TargetResult, expected: Expected, target?: string) {
    const picked = results(received, target);
    const pass = picked.length > 0 && picked.every((r) => meets(r.decision, expected));
    return {
      pass,
      message: () =>
        picked.length === 0
          ? `no result for target ${target}`
          : `expected ${target ?? "every target"} ${pass ? "not " : ""}to give ${expected}; got ${picked.map(gave).join("; ")}`,
    };
  },
  toMeetExpectations(received: RunResult) {
    const missed = received.results.filter((r) => r.matches === false);
    return {
      pass: missed.length === 0,
      message: () =>
        missed.length
          ? `expected every expectation met; ${missed.map((r) => `${r.target} expected ${r.expected}, got ${r.decision.label} (${r.decision.outcome})`).join("; ")}`
          : "expected an expectation not to be met",
    };
  },
};
