import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { expectedVerdict } from "./catalogue/catalogue.js";
import { type Checker, checkerFor, type Decision } from "./checkers/index.js";
import { comparePrediction, type Prediction, predictExhaustionSeconds } from "./checkers/prediction.js";
import { RedisReproContainer, type StartedRedisReproContainer } from "./container/redis-container.js";
import { removeContainers, removeNetworks } from "./engine/cleanup.js";
import { createRunNetwork } from "./engine/networks.js";
import { sweepDeadRuns } from "./engine/sweep.js";
import { describeEnvironment } from "./environment.js";
import { errorText, UserError } from "./errors.js";
import { type FaultName, fault as makeFault } from "./faults/index.js";
import { type History, HistoryRecorder } from "./history.js";
import { onInterrupt } from "./interrupt.js";
import { freshClientProbe } from "./probes/connect.js";
import type { FdSample } from "./probes/fds.js";
import { type Sampler, samplerFor } from "./probes/index.js";
import { progress } from "./progress.js";
import type { RunResult, TargetResult } from "./result.js";
import type { RedisConfig, Scenario, StepContext } from "./scenario/index.js";
import { type EnsureOptions, ensureImages, type TargetImage } from "./targets/build.js";
import {
  directive,
  eventLoopSize,
  numericDirective,
  redisArgs,
  rejectedDirective,
} from "./targets/config.js";
import { parseTarget } from "./targets/spec.js";
import { mark } from "./trace.js";
import { harnessVersion } from "./version.js";
import { type Clock, watch } from "./watch.js";
import { startWorkload, type WorkloadResult } from "./workload/index.js";

export interface RunOptions extends EnsureOptions {
  faultOverride?: FaultName;
  /** How the user named the scenario (a name or a file), for the rerun command. */
  scenarioRef?: string;
  /** Labels every container of the run (default: REDIS_REPRO_RUN_ID, else a new id). */
  runId?: string;
}

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`;
}

function predictionFor(scenario: Scenario, decision: Decision): Prediction | null {
  const { ceiling, baseline, exhaustedMs, firstFailureMs } = decision.evidence;
  const checker = scenario.checker;
  if (!scenario.predict || baseline === null || !("checker" in checker) || checker.checker !== "fd-leak")
    return null;
  const predicted = predictExhaustionSeconds(
    ceiling,
    baseline,
    checker.fdsPerAttempt,
    numericDirective(scenario.redis, "hz", 10),
  );
  const measured =
    exhaustedMs === null || firstFailureMs === null ? null : (exhaustedMs - firstFailureMs) / 1000;
  return comparePrediction(predicted, measured, scenario.predict.tolerance);
}

/** A node's config: a replica is told where its master is, by the master's alias on the run's network. */
function nodeConfig(scenario: Scenario, name: string): RedisConfig {
  if (name === "main") return scenario.redis;
  const spec = scenario.nodes[name];
  return spec?.replicaOf ? { slaveof: `${spec.replicaOf} 6379`, ...spec.redis } : (spec?.redis ?? {});
}

/** Starts one node; Redis's refusal of a directive becomes one line naming it and the release. */
async function startNode(
  scenario: Scenario,
  image: TargetImage,
  runId: string,
  name: string,
  faultName: FaultName,
  network: string | undefined,
  onLine: (line: string) => void,
): Promise<StartedRedisReproContainer> {
  const log: string[] = [];
  let container = new RedisReproContainer(image.image)
    .withRun(runId, image.target, name)
    .withFault(makeFault(faultName))
    .withLimits(scenario.limits)
    .withServerArgs(redisArgs(image.version, nodeConfig(scenario, name)))
    .withLogLines((line) => {
      log.push(line);
      onLine(line);
    });
  if (image.origin === "brought") container = container.asBroughtImage();
  if (network) container = container.withNetworkAlias(network, name);
  return container.start().catch((error: unknown) => {
    const text = errorText(error);
    const rejected = rejectedDirective(log);
    if (rejected) {
      throw new UserError(
        `redis ${image.version ?? image.target} rejects the directive "${rejected.directive}" (${rejected.why}): remove or fix redis.${rejected.directive} in the scenario, or use a release that has it`,
      );
    }
    if (/executable file not found|no such file or directory/i.test(text)) {
      throw new UserError(
        `image ${image.image} has no redis-server on its PATH: bring an image that holds one`,
      );
    }
    if (/unable to find user/i.test(text)) {
      throw new UserError(
        `image ${image.image} has no user "redis": bring an image built like the official ones (user redis, uid 999)`,
      );
    }
    throw new UserError(
      `container for ${image.target} did not become ready: ${text.split("\n")[0]}`,
      "environment",
    );
  });
}

/**
 * Runs one target through the scenario: start the nodes, arm the fault, load the workload, watch
 * until the checker decides, collect, clean up. Each part lives in its own module; this composes them.
 */
export async function runTarget(
  scenario: Scenario,
  image: TargetImage,
  runId: string,
  options: RunOptions,
): Promise<TargetResult> {
  const faultName = options.faultOverride ?? scenario.fault;
  const started = Date.now();
  const clock: Clock = { now: () => Date.now() - started, sleep: (ms) => sleep(ms) };
  const recorder = new HistoryRecorder(
    scenario.attempt,
    scenario.probes.flatMap((p) => (p.probe === "log" && p.node === "main" ? [p] : [])),
  );
  const history = recorder.history;
  const nodeLogs: Record<string, string[]> = {};
  const tag = `[${image.target}]`;
  const others = Object.keys(scenario.nodes);
  const network = others.length
    ? await createRunNetwork(runId, image.target).catch((error: unknown) => {
        throw new UserError(
          `could not make a network for the run's nodes: ${errorText(error)}`,
          "environment",
        );
      })
    : undefined;
  const nodes = new Map<string, StartedRedisReproContainer>();
  const stopAll = async () => {
    await Promise.all([...nodes.values()].map((n) => n.discard()));
    await network?.remove().catch(() => undefined);
  };
  let main: StartedRedisReproContainer;
  try {
    main = await startNode(scenario, image, runId, "main", faultName, network?.name, (line) =>
      recorder.logLine(line, clock.now()),
    );
    nodes.set("main", main);
    for (const name of others) {
      const lines: string[] = [];
      nodeLogs[name] = lines;
      const spec = scenario.nodes[name];
      nodes.set(
        name,
        await startNode(scenario, image, runId, name, spec?.fault ?? "none", network?.name, (l) =>
          lines.push(l),
        ),
      );
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  const fault = main.fault;
  const containerStartMs = clock.now();
  progress(`${tag} started ${main.getId().slice(0, 12)} on ${main.host}:${main.port} (${fault.name})`);

  const checker: Checker = checkerFor(scenario.checker);
  const abort = new AbortController();
  const nodeOf = (name: string) => {
    const node = nodes.get(name);
    if (!node) throw new UserError(`the scenario has no node "${name}"`);
    return node;
  };
  const clientOf = (name: string) => nodeOf(name).connection();
  let workload: WorkloadResult | null = null;
  let decision: Decision | undefined;
  let workloadMs = 0;
  let faultDetail: string | null = null;
  let info: Record<string, string> = {};
  // Known once the server answers; until then the configured values stand in (a run that fails early).
  let baseline: FdSample | undefined;
  let ceiling = Math.min(
    eventLoopSize(numericDirective(scenario.redis, "maxclients", 10_000)),
    scenario.limits.nofile,
  );
  const context = () => ({
    ...(baseline ? { baseline } : {}),
    ceiling,
    attemptsNeeded: scenario.budgets.attempts,
  });
  const samplers: Sampler[] = [];
  // A reading is stamped when it returns: an exec spends most of its time being set up, and the
  // listing it returns is of the moment just before it exits. Stamped at the start, a busy engine's
  // slow execs put each reading several attempts early (a 6-fd leak read 7.14 per attempt).
  const sampleProbes = () =>
    Promise.all(
      samplers.map(async (sampler) => {
        const values = await sampler.sample(clock.now()).catch(() => undefined);
        if (values) recorder.reading(sampler.name, clock.now(), values);
      }),
    );
  const sample = async () => {
    const fds = await main
      .fds(clock.now())
      .then((s) => s && { ...s, t: clock.now() })
      .catch(() => undefined);
    if (fds) recorder.fds(fds);
    await sampleProbes();
    if (fds) return undefined;
    const end = await main.endState(history.log);
    return end ? { reason: "container-exited" as const, detail: end } : undefined;
  };
  try {
    const client = await clientOf("main");
    const reply = (await client.config("GET", "maxclients")) as string[];
    ceiling = Math.min(eventLoopSize(Number(reply[1] ?? 10_000)), scenario.limits.nofile);
    faultDetail = await main.arm();
    baseline = await main.fds(clock.now());
    if (baseline) recorder.fds(baseline);
    for (const spec of scenario.probes) {
      const node = nodes.get(spec.node);
      const sampler = node && samplerFor(spec, node);
      if (sampler) samplers.push(sampler);
    }
    // Every probe once before any write: forks can start failing while the workload still loads,
    // and a series needs its value from before the first attempt.
    await sampleProbes();
    const stepContext: StepContext = {
      node: (name = "main") => nodeOf(name),
      t: clock.now,
      signal: abort.signal,
      log: (message) => progress(`${tag} ${message}`),
    };
    const running = startWorkload(
      scenario.workload,
      {
        client: clientOf,
        directive: (node, name) => directive(nodeConfig(scenario, node), name),
        onReply: (_node, reply) => recorder.reply(reply, clock.now()),
      },
      stepContext,
    );
    await running.loaded;
    workloadMs = clock.now() - containerStartMs;
    progress(`${tag} workload loaded${faultDetail ? `; ${faultDetail}` : ""}; waiting for attempts`);
    decision = await watch(
      {
        clock,
        history,
        checker,
        context,
        sample,
        connect: async () => recorder.connect(await freshClientProbe(main.host, main.port, clock.now)),
      },
      {
        deadlineMs: scenario.budgets.timeLimitSeconds * 1000,
        timeLimitText: `time limit ${scenario.budgets.timeLimitSeconds} s`,
        // The refused probe's own log line may still be on its way: give it a moment to arrive.
        settleMs: (d, h) =>
          d.verdict === "exhaustion" && !h.events.some((e) => e.kind === "register-error") ? 300 : 0,
      },
    );
    abort.abort();
    workload = await running.finish();
    info = await main.info("persistence").catch(() => ({}));
  } catch (error) {
    if (error instanceof UserError) {
      abort.abort();
      await stopAll();
      throw error;
    }
    const end = await main.endState(history.log);
    const ended = end
      ? { reason: "container-exited" as const, detail: end }
      : { reason: "error" as const, detail: errorText(error) };
    decision = checker.decide(history, { ...context(), ended });
  } finally {
    abort.abort();
  }
  const verdictMs = clock.now() - containerStartMs - workloadMs;
  const peakBytes = await main.memoryPeak();
  await stopAll();
  if (!decision) throw new Error(`checker ${checker.name} returned no decision for an ended run`);
  const expected = expectedVerdict(scenario, image.target);
  progress(`${tag} ${decision.verdict}: ${decision.reason}`);
  const prediction = predictionFor(scenario, decision);
  if (prediction) {
    progress(
      `${tag} time to exhaustion: predicted ${prediction.predictedSeconds} s, measured ${prediction.measuredSeconds ?? "—"} s`,
    );
  }
  return targetResult(history, decision, {
    target: image.target,
    image: image.image,
    imageOrigin: image.origin,
    version: history.events.find((e) => e.kind === "started")?.version ?? image.version ?? null,
    sourceCheck: image.sourceCheck ?? null,
    fault: fault.name,
    faultDetail,
    checker: checker.name,
    expected,
    prediction,
    phases: { containerStartMs, workloadMs, verdictMs, totalMs: clock.now() },
    memory: { limitBytes: scenario.limits.memory, peakBytes },
    workload,
    info,
    nodeLogs,
  });
}

/** Pure: a history and its decision, with what the run knows of itself, as a target's result. */
export function targetResult(
  history: History,
  decision: Decision,
  meta: Omit<TargetResult, keyof History | "decision" | "matches">,
): TargetResult {
  const matches = meta.expected
    ? meta.expected === decision.verdict && (meta.prediction?.within ?? true)
    : null;
  return { ...meta, matches, decision, ...history };
}

/** The command that reruns a scenario on the same targets: what a bug report quotes. */
export function rerunCommand(scenario: Scenario, targets: string[], options: RunOptions): string {
  const parts = ["npx", "redis-repro", "run", "--scenario", options.scenarioRef ?? scenario.name];
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
  try {
    const results = await Promise.all(images.map((image) => runTarget(scenario, image, runId, options)));
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
