import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { onInterrupt } from "../core/interrupt.js";
import { mark } from "../core/trace.js";
import { harnessVersion } from "../core/version.js";
import { removeContainers, removeNetworks } from "../engine/cleanup.js";
import { describeEnvironment } from "../engine/environment.js";
import { sweepDeadRuns } from "../engine/sweep.js";
import { type FaultName, faultFrom } from "../parts/faults/index.js";
import type { Scenario } from "../scenario/index.js";
import { type EnsureOptions, ensureImages } from "../targets/build.js";
import { parseTarget } from "../targets/spec.js";
import type { RunResult } from "./result.js";
import { runTarget } from "./target.js";

export interface RunOptions extends EnsureOptions {
  /** The main node's fault instead of the scenario's (`--fault`). */
  faultOverride?: FaultName;
  /** Labels every container of the run (default: REDIS_REPRO_RUN_ID, else a new id). */
  runId?: string;
}

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`;
}

/**
 * The command that reruns a scenario on the same targets: what a bug report quotes. A scenario from
 * a file or script is named by the path the user gave.
 */
export function rerunCommand(scenario: Scenario, targets: string[], options: RunOptions): string {
  const ref = scenario.source.kind === "object" ? scenario.name : scenario.source.ref;
  const parts = ["npx", "redis-repro", "run", "--scenario", ref];
  for (const t of targets) parts.push("--target", t);
  if (options.faultOverride) parts.push("--fault", options.faultOverride);
  const gitDir = options.gitDir ?? process.env.REDIS_REPRO_GIT;
  if (gitDir && targets.some((t) => t.startsWith("git:"))) parts.push("--git-dir", gitDir);
  return parts.join(" ");
}

/**
 * Builds what is missing, then runs every target in parallel. The run's containers (and networks)
 * are removed in every ending: normal, error, and SIGINT/SIGTERM (where Ryuk is off nobody else would).
 */
export async function runScenario(
  scenario: Scenario,
  targets: string[],
  options: RunOptions,
): Promise<RunResult> {
  const specs = targets.map(parseTarget);
  const runId = options.runId ?? process.env.REDIS_REPRO_RUN_ID ?? newRunId();
  const startedAt = new Date().toISOString();
  mark("start");
  // Speed: the engine's facts are read beside the image checks (builds stay one at a time).
  const environmentRead = describeEnvironment().finally(() => mark("engine"));
  environmentRead.catch(() => undefined);
  // Beside them too: what killed runs left is removed before this run's containers start.
  const swept = sweepDeadRuns();
  swept.catch(() => undefined);
  const images = await ensureImages(specs, options);
  mark("images");
  const environment = await environmentRead;
  await swept;
  // Twice, a moment apart: a container still being created when the signal came shows up late.
  const cleanup = async () => {
    await removeContainers(runId);
    await removeNetworks(runId);
  };
  const forget = onInterrupt(async () => {
    await cleanup();
    await sleep(500);
    await cleanup();
  });
  const fault = options.faultOverride ? faultFrom(options.faultOverride) : undefined;
  try {
    const results = await Promise.all(
      images.map((image) => runTarget(scenario, image, runId, fault ? { fault } : {})),
    );
    mark("targets");
    return {
      harness: { name: "redis-repro", version: harnessVersion },
      runId,
      scenario: scenario.name,
      startedAt,
      command: rerunCommand(
        scenario,
        images.map((i) => i.target),
        options,
      ),
      environment,
      ok: results.every((r) => r.matches !== false),
      results,
    };
  } finally {
    forget();
    await cleanup();
    mark("done");
  }
}
