import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import type { StartedTestContainer } from "testcontainers";
import { type AofDirInput, decideAofDir } from "./checkers/aof-dir.js";
import { type Decision, decideFdLeak, failedForks } from "./checkers/fd-leak.js";
import { comparePrediction, type Prediction, predictExhaustionSeconds } from "./checkers/prediction.js";
import { startRedisContainer } from "./container/redis-container.js";
import { removeContainers } from "./engine/cleanup.js";
import {
  containerCounters,
  containerState,
  removeContainer,
  setPidsLimit,
  watchCounters,
} from "./engine/containers.js";
import { describeEnvironment } from "./environment.js";
import { errorText, UserError } from "./errors.js";
import { type ArmContext, type Fault, type FaultName, fault as makeFault } from "./faults/index.js";
import { onInterrupt } from "./interrupt.js";
import { type AofDirSample, sampleAofDir, sampleAofDirFromHost } from "./probes/aof-dir.js";
import { type ConnectProbe, freshClientProbe, probeClientOptions } from "./probes/connect.js";
import { type FdSample, hostProcReadable, sampleFds, sampleFdsFromHost } from "./probes/fds.js";
import { infoSection } from "./probes/info.js";
import { type LogEvent, parseLogLine } from "./probes/log.js";
import { progress } from "./progress.js";
import type { RunResult, TargetResult } from "./result.js";
import type { Scenario } from "./scenario.js";
import { type EnsureOptions, ensureImages, type TargetImage } from "./targets/build.js";
import { eventLoopSize, redisArgs } from "./targets/config.js";
import { parseTarget } from "./targets/spec.js";
import { mark } from "./trace.js";
import { harnessVersion } from "./version.js";
import { startWorkload, type WorkloadResult } from "./workload/index.js";

const SAMPLE_INTERVAL_MS = 200;
const PROBE_INTERVAL_MS = 1_000;
/** The server's user in our images and in the official ones. */
const SERVER_USER = "redis";

export interface RunOptions extends EnsureOptions {
  faultOverride?: FaultName;
  /** How the user named the scenario (a name or a file), for the rerun command. */
  scenarioRef?: string;
}

export function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, "").slice(0, 15)}-${randomBytes(3).toString("hex")}`;
}

async function memoryPeak(container: StartedTestContainer): Promise<number | null> {
  try {
    return (await containerCounters(container.getId())).memoryPeakBytes;
  } catch {
    return null;
  }
}

/** Why a container stopped answering: an OOM kill is named as such, with the limit. */
async function containerEnd(
  container: StartedTestContainer,
  limitBytes: number,
): Promise<string | undefined> {
  try {
    const state = await containerState(container.getId());
    if (state.Running) return undefined;
    if (state.OOMKilled) return `OOM-killed at the memory limit of ${Math.round(limitBytes / 1024 ** 2)} MiB`;
    return `exited with code ${state.ExitCode}`;
  } catch {
    return "removed";
  }
}

/** Reads fds (and the AOF directory) by exec, or from the engine host when the fault blocks exec. */
interface Samplers {
  fds(): Promise<FdSample | undefined>;
  aofDir(): Promise<AofDirSample | undefined>;
}

async function samplersFor(
  container: StartedTestContainer,
  fault: Fault,
  scenario: Scenario,
  t: () => number,
): Promise<Samplers> {
  const aofDir = `${scenario.redis.dir}/appendonlydir`;
  if (!fault.blocksExec) {
    return {
      fds: () => sampleFds(container, SERVER_USER, t),
      aofDir: () => sampleAofDir(container, SERVER_USER, aofDir, t),
    };
  }
  const hostPid = (await containerState(container.getId())).Pid;
  if (!(await hostProcReadable(hostPid))) {
    throw new UserError(
      `fault ${fault.name} leaves no room for a probe process in the container, so fds are read from the engine host's /proc, which this process cannot read: run as root on the engine's host, or use --fault seccomp-enomem`,
      "environment",
    );
  }
  return { fds: () => sampleFdsFromHost(hostPid, t), aofDir: () => sampleAofDirFromHost(hostPid, aofDir, t) };
}

function armContext(container: StartedTestContainer): ArmContext {
  return {
    taskCount: async () => {
      const current = (await containerCounters(container.getId())).tasks;
      if (!current)
        throw new Error("the engine reports no pids count for the container (no pids cgroup controller?)");
      return current;
    },
    setPidsLimit: (limit) => setPidsLimit(container.getId(), limit),
  };
}

function predictionFor(scenario: Scenario, decision: Decision): Prediction | null {
  const { ceiling, baseline, exhaustedMs, firstFailureMs } = decision.evidence;
  if (!scenario.predict || baseline === null) return null;
  const predicted = predictExhaustionSeconds(
    ceiling,
    baseline,
    scenario.checker.fdsPerAttempt,
    scenario.redis.hz,
  );
  const measured =
    exhaustedMs === null || firstFailureMs === null ? null : (exhaustedMs - firstFailureMs) / 1000;
  return comparePrediction(predicted, measured, scenario.predict.tolerance);
}

/** Runs one target through the scenario: container → fault → workload → probes until the checker decides. */
export async function runTarget(
  scenario: Scenario,
  image: TargetImage,
  runId: string,
  options: RunOptions,
): Promise<TargetResult> {
  const fault = makeFault(options.faultOverride ?? scenario.fault);
  const started = Date.now();
  const t = () => Date.now() - started;
  const log: string[] = [];
  const events: LogEvent[] = [];
  const samples: FdSample[] = [];
  const aofSamples: AofDirSample[] = [];
  const probes: ConnectProbe[] = [];
  const tag = `[${image.target}]`;
  const container = await startRedisContainer({
    image: image.image,
    brought: image.origin === "brought",
    args: redisArgs(image.version, scenario.redis),
    runId,
    target: image.target,
    memoryBytes: scenario.limits.memory,
    pids: scenario.limits.pids,
    nofile: scenario.limits.nofile,
    securityOpt: fault.securityOpt,
    onLogLine: (line) => {
      log.push(line);
      const event = parseLogLine(line, t());
      if (event) events.push(event);
    },
  }).catch((error: unknown) => {
    const text = errorText(error);
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
  const containerStartMs = t();
  // Speed: the memory peak is read from the engine's stats stream during the run (see watchCounters).
  const counters = watchCounters(container.getId());
  const host = "127.0.0.1";
  const port = container.getMappedPort(6379);
  progress(`${tag} started ${container.getId().slice(0, 12)} on ${host}:${port} (${fault.name})`);

  // The workload's connection stays open to the end: once the event loop is full it is the only way in.
  const client = new Redis({ host, port, ...probeClientOptions, commandTimeout: 5_000 });
  client.on("error", () => undefined);
  const abort = new AbortController();
  let workload: WorkloadResult | null = null;
  let decision: Decision | undefined;
  let workloadMs = 0;
  let faultDetail: string | null = null;
  let info: Record<string, string> = {};
  // Known once the server answers; until then the configured values stand in (a run that fails early).
  let baseline: FdSample | undefined;
  let ceiling = Math.min(eventLoopSize(scenario.redis.maxclients), scenario.limits.nofile);
  const input = (): AofDirInput => ({
    samples,
    aofSamples,
    events,
    probes,
    baseline,
    ceiling,
    attemptsNeeded: scenario.budgets.attempts,
    tolerance: scenario.checker.tolerance,
    fdsPerAttempt: scenario.checker.fdsPerAttempt,
  });
  const decide = (data: AofDirInput) =>
    scenario.resource === "aof-dir" ? decideAofDir(data) : decideFdLeak(data);
  try {
    await client.connect();
    const samplers = await samplersFor(container, fault, scenario, t);
    const reply = (await client.config("GET", "maxclients")) as string[];
    const maxclients = Number(reply[1] ?? scenario.redis.maxclients);
    ceiling = Math.min(eventLoopSize(maxclients), scenario.limits.nofile);
    if (fault.arm) faultDetail = await fault.arm(armContext(container));
    baseline = await samplers.fds();
    if (baseline) samples.push(baseline);
    const running = startWorkload(scenario.trigger, client, scenario.redis, abort.signal);
    await running.loaded;
    workloadMs = t() - containerStartMs;
    progress(`${tag} workload loaded${faultDetail ? `; ${faultDetail}` : ""}; waiting for fork attempts`);

    const deadline = started + scenario.budgets.timeLimitSeconds * 1000;
    let lastProbe = 0;
    while (!decision) {
      const tick = Date.now();
      const sample = await samplers.fds().catch(() => undefined);
      if (!sample) {
        const end = await containerEnd(container, scenario.limits.memory);
        if (end) {
          decision = decide({ ...input(), ended: { reason: "container-exited", detail: end } });
          break;
        }
      } else samples.push(sample);
      if (scenario.resource === "aof-dir") {
        const aof = await samplers.aofDir().catch(() => undefined);
        if (aof) aofSamples.push(aof);
      }
      const attempts = failedForks(events).length;
      // A probe's own connection, open while serverCron's last leaking tick runs, leaves a hole below
      // the ceiling once it closes, and later clients get in through it. So near the ceiling the probe
      // waits until an attempt has failed for want of a slot (the table is full), then probes at once.
      const per = scenario.checker.fdsPerAttempt;
      const near = sample !== undefined && sample.maxFd >= ceiling - 3 * per;
      const full = events.some((e) => e.kind === "pipes-error");
      const budgetReached = attempts >= scenario.budgets.attempts;
      const due = tick - lastProbe >= PROBE_INTERVAL_MS || budgetReached;
      if (full || (due && !near)) {
        probes.push(await freshClientProbe(host, port, t));
        lastProbe = Date.now();
      }
      decision = decide(input());
      if (decision?.verdict === "exhaustion" && !events.some((e) => e.kind === "register-error")) {
        // The refused probe's own log line may still be on its way: give it up to 300 ms to arrive.
        // Speed: polled every 20 ms rather than one fixed 300 ms wait.
        const until = Date.now() + 300;
        while (Date.now() < until && !events.some((e) => e.kind === "register-error")) await sleep(20);
        decision = decide(input());
      }
      if (!decision && Date.now() >= deadline) {
        const detail = `time limit ${scenario.budgets.timeLimitSeconds} s`;
        decision = decide({ ...input(), ended: { reason: "time-limit", detail } });
      }
      if (!decision) await sleep(Math.max(0, SAMPLE_INTERVAL_MS - (Date.now() - tick)));
    }
    abort.abort();
    workload = await running.finish();
    info = await infoSection(client, "persistence").catch(() => ({}));
  } catch (error) {
    if (error instanceof UserError) {
      counters.stop();
      await removeContainer(container.getId()).catch(() => undefined);
      throw error;
    }
    const end = await containerEnd(container, scenario.limits.memory);
    const ended = end
      ? { reason: "container-exited" as const, detail: end }
      : { reason: "error" as const, detail: errorText(error) };
    decision = decide({ ...input(), ended });
  } finally {
    abort.abort();
    client.disconnect();
  }
  const verdictMs = t() - containerStartMs - workloadMs;
  // Speed: the stream's peak when it has one (a run shorter than the engine's first sample has not).
  const peakBytes = counters.peakBytes() ?? (await memoryPeak(container));
  counters.stop();
  // Speed: killed and removed at once; the evidence is read, a graceful stop would check nothing.
  await removeContainer(container.getId()).catch(() => undefined);
  if (!decision) throw new Error("the checker returned no decision for an ended run");
  const expected = scenario.expect[image.target] ?? null;
  progress(`${tag} ${decision.verdict}: ${decision.reason}`);
  const prediction = predictionFor(scenario, decision);
  if (prediction) {
    progress(
      `${tag} time to exhaustion: predicted ${prediction.predictedSeconds} s, measured ${prediction.measuredSeconds ?? "—"} s`,
    );
  }
  return {
    target: image.target,
    image: image.image,
    imageOrigin: image.origin,
    version: events.find((e) => e.kind === "started")?.version ?? image.version ?? null,
    sourceCheck: image.sourceCheck ?? null,
    fault: fault.name,
    faultDetail,
    resource: scenario.resource,
    expected,
    matches: expected ? expected === decision.verdict && (prediction?.within ?? true) : null,
    decision,
    prediction,
    phases: { containerStartMs, workloadMs, verdictMs, totalMs: t() },
    memory: { limitBytes: scenario.limits.memory, peakBytes },
    workload,
    info,
    samples,
    aofSamples,
    events,
    probes,
    log,
  };
}

/** The command that reruns a scenario on the same targets: what a bug report quotes. */
export function rerunCommand(scenario: Scenario, targets: string[], options: RunOptions): string {
  const parts = ["npx", "redis-repro", "run", "--scenario", options.scenarioRef ?? scenario.name];
  for (const t of targets) parts.push("--target", t);
  if (options.faultOverride) parts.push("--fault", options.faultOverride);
  return parts.join(" ");
}

/**
 * Builds what is missing, then runs every target in parallel. The run's containers are removed in
 * every ending: normal, error, and SIGINT/SIGTERM (where Ryuk is off nobody else would).
 */
export async function runScenario(
  scenario: Scenario,
  targets: string[],
  options: RunOptions,
): Promise<RunResult> {
  const specs = targets.map(parseTarget);
  const runId = process.env.REDIS_REPRO_RUN_ID ?? newRunId();
  const startedAt = new Date().toISOString();
  mark("start");
  // Speed: images are checked in parallel (builds still one at a time), beside the engine's facts.
  const [images, environment] = await Promise.all([
    ensureImages(specs, options).finally(() => mark("images")),
    describeEnvironment().finally(() => mark("engine")),
  ]);
  // Twice, a moment apart: a container still being created when the signal came shows up late.
  const forget = onInterrupt(async () => {
    await removeContainers(runId);
    await sleep(500);
    await removeContainers(runId);
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
    await removeContainers(runId);
    mark("done");
  }
}
