import { expectation } from "../catalogue/catalogue.js";
import type { Ended } from "../core/checker.js";
import { type Clock, runClock } from "../core/clock.js";
import { errorText, UserError } from "../core/errors.js";
import type { Episode, Fault } from "../core/fault.js";
import { EXITED, MARK } from "../core/history.js";
import type { Node } from "../core/node.js";
import { type Decision, type Expected, meets } from "../core/outcome.js";
import type { Probe } from "../core/probe.js";
import { progress } from "../core/progress.js";
import { unionProbes } from "../parts/checkers/index.js";
import type { Scenario } from "../scenario/index.js";
import type { TargetImage } from "../targets/build.js";
import { Server } from "../targets/server.js";
import { LOADED, Nemesis } from "./nemesis.js";
import { type RunNodes, startNodes } from "./nodes.js";
import { HistoryRecorder } from "./recorder.js";
import type { TargetResult } from "./result.js";
import { watch } from "./watch.js";
import { type RunningWorkload, startWorkload } from "./workload.js";

export interface TargetRunOptions {
  /** The main node's fault instead of the scenario's (`--fault`). */
  fault?: Fault;
}

/**
 * One target through a scenario, as Jepsen's run! nests its scopes: start the nodes (with their
 * faults' container options), start the faults, read every probe once, load the workload, watch
 * until the checker decides, collect; one teardown in every ending.
 */
export async function runTarget(
  scenario: Scenario,
  image: TargetImage,
  runId: string,
  options: TargetRunOptions = {},
): Promise<TargetResult> {
  const clock = runClock();
  const tag = `[${image.target}]`;
  const episodes = episodesOf(scenario, options.fault);
  const probes = probesOf(scenario);
  const recorder = new HistoryRecorder(scenario.attempt, probes);
  const { history } = recorder;
  const nodes = await startNodes(scenario, image, runId, faultsByNode(episodes), recorder, clock.now);
  const nemesis = new Nemesis(episodes, nodes.get, recorder, clock, (line) => progress(`${tag} ${line}`));
  const containerStartMs = clock.now();
  const attemptsNeeded = scenario.budgets.attempts;
  const read = (which: (p: Probe) => boolean) =>
    readProbes(probes, nodes, recorder, clock, attemptsNeeded, which);
  const stop = new AbortController();
  let decision: Decision | undefined;
  let ended: Ended | undefined;
  let workload: RunningWorkload | undefined;
  let peakBytes: number | null = null;
  let workloadMs = 0;
  /** When the checker decided: what follows (stopping the workload, removing the nodes) is teardown. */
  let decidedAt: number | undefined;
  try {
    await nemesis.begin();
    await read(() => true);
    const running = startWorkload(scenario.workload, {
      node: (name = "main") => nodes.get(name),
      t: clock.now,
      signal: stop.signal,
      sleep: (ms) => clock.sleep(ms, stop.signal),
      log: (message) => progress(`${tag} ${message}`),
      mark: (name, value = null) => recorder.event({ t: clock.now(), kind: MARK, name, value }),
      reply: (node, text, reply) => recorder.reply(node, text, clock.now(), reply),
    });
    workload = running;
    // The watch starts beside the workload: a step that never returns (a hung server) is itself what
    // the checker may be waiting to see, and the time limit holds either way.
    let loadError: unknown;
    running.loaded.then(
      () => {
        workloadMs = clock.now() - containerStartMs;
        recorder.event({ t: clock.now(), kind: LOADED });
        progress(`${tag} workload loaded; watching`);
      },
      (error: unknown) => {
        loadError = error ?? new Error("a workload step failed");
      },
    );
    ({ decision, ended } = await watch(
      {
        clock,
        history,
        checker: scenario.checker,
        attemptsNeeded,
        sample: async () => {
          if (loadError instanceof UserError) throw loadError;
          if (loadError !== undefined)
            return { reason: "error", detail: `a workload step failed: ${errorText(loadError)}` };
          await nemesis.tick();
          return read((p) => !p.once);
        },
      },
      {
        deadlineMs: scenario.budgets.timeLimitSeconds * 1000,
        timeLimitText: `time limit ${scenario.budgets.timeLimitSeconds} s`,
      },
    ));
    decidedAt = clock.now();
  } catch (error) {
    if (error instanceof UserError) throw error;
    ended = await endedBy(error, nodes);
    decision = scenario.checker.decide(history, { now: clock.now(), attemptsNeeded, ended });
    decidedAt = clock.now();
  } finally {
    stop.abort();
    // Steps stop at the signal; one stuck on a server that never answers is cut off by the removal.
    await Promise.race([workload?.finish(), clock.sleep(2_000)]);
    peakBytes = await nodes
      .get("main")
      .memoryPeak()
      .catch(() => null);
    await nodes.stop();
  }
  if (!decision) throw new Error(`checker ${scenario.checker.name} returned no decision for an ended run`);
  progress(`${tag} ${decision.label} (${decision.outcome}): ${decision.reason}`);
  return targetResult(scenario, image, decision, recorder, {
    ended: ended ?? null,
    phases: {
      containerStartMs,
      workloadMs,
      decideMs: (decidedAt ?? clock.now()) - containerStartMs - workloadMs,
      totalMs: clock.now(),
    },
    memory: { limitBytes: scenario.limits.memory, peakBytes },
    workload: workload?.tally ?? null,
    faults: [...new Set(episodes.map((e) => e.fault.name))].filter((name) => name !== "none"),
  });
}

/** The scenario's episodes, the main node's whole-run fault replaced by the run's override (`--fault`). */
export function episodesOf(scenario: Pick<Scenario, "episodes">, override: Fault | undefined): Episode[] {
  const [main, ...rest] = scenario.episodes;
  return override && main ? [{ ...main, fault: override }, ...rest] : scenario.episodes;
}

/** Each node's faults: their container options apply from the node's creation, whenever they start. */
export function faultsByNode(episodes: readonly Episode[]): Map<string, Fault[]> {
  const byNode = new Map<string, Fault[]>();
  for (const e of episodes) byNode.set(e.node, [...(byNode.get(e.node) ?? []), e.fault]);
  return byNode;
}

/**
 * The scenario's probes and what its checker asks for, one per node and name: where both ask for the
 * same probe it reads when both agree (the fd checkers hold fresh clients back near a full table).
 */
export function probesOf(scenario: Pick<Scenario, "probes" | "checker">): Probe[] {
  return unionProbes([scenario.probes, scenario.checker.probes]);
}

/**
 * Reads the probes that pass `which` and are due, all at once, each stamped when it returns (an
 * exec's listing is of its end). A probe that throws is recorded once as an event, so a broken
 * probe shows in the report instead of an empty series. A node whose reads all failed is asked
 * whether it still runs: if not, the run is over.
 */
export async function readProbes(
  probes: readonly Probe[],
  nodes: { get(name: string): Node; readonly all: ReadonlyMap<string, unknown> },
  recorder: HistoryRecorder,
  clock: Clock,
  attemptsNeeded: number,
  which: (probe: Probe) => boolean,
): Promise<Ended | undefined> {
  const answered = new Set<string>();
  await Promise.all(
    probes.map(async (probe) => {
      if (!probe.read || !which(probe)) return;
      if (probe.due && !probe.due(recorder.history, { now: clock.now(), attemptsNeeded })) return;
      try {
        const values = await probe.read(nodes.get(probe.node), clock.now);
        if (values) recorder.reading(probe.name, clock.now(), values);
        if (values) answered.add(probe.node);
      } catch (error) {
        const said = recorder.history.events.some((e) => e.kind === "probe-error" && e.name === probe.name);
        if (!said)
          recorder.event({
            t: clock.now(),
            node: probe.node,
            kind: "probe-error",
            name: probe.name,
            line: errorText(error),
          });
      }
    }),
  );
  // A node none of whose reads answered this tick (or that nothing reads) is asked whether it still
  // runs: a crash is an event of the history, and the end of the run.
  for (const name of nodes.all.keys()) {
    if (answered.has(name)) continue;
    const end = await nodes.get(name).endState();
    if (!end) continue;
    recorder.event({ t: clock.now(), node: name, kind: EXITED, name: end.cause, line: end.detail });
    return {
      reason: "container-exited",
      cause: end.cause,
      detail: name === "main" ? end.detail : `node ${name}: ${end.detail}`,
    };
  }
  return undefined;
}

/** Why a run that threw is over: its main container ended, or the error itself. */
async function endedBy(error: unknown, nodes: RunNodes): Promise<Ended> {
  const end = await nodes
    .get("main")
    .endState()
    .catch(() => undefined);
  return end ? { reason: "container-exited", ...end } : { reason: "error", detail: errorText(error) };
}

/** A target's result: what was expected of it (catalogue, else the scenario) and whether it was met. */
function targetResult(
  scenario: Scenario,
  image: TargetImage,
  decision: Decision,
  recorder: HistoryRecorder,
  rest: Pick<TargetResult, "phases" | "memory" | "workload" | "faults" | "ended">,
): TargetResult {
  const { expected } = expectation(scenario, image.target);
  const stated: Expected | null = expected === "unmeasured" ? null : expected;
  const { history } = recorder;
  const started = history.events.find((e) => e.kind === "started" && e.node === "main");
  return {
    target: image.target,
    image: image.image,
    imageOrigin: image.origin,
    // Valkey names itself in its start line; a Redis line (or none) leaves the image's word.
    server: Server.safeParse(started?.server).data ?? image.server ?? "redis",
    version: started?.version ?? image.version ?? null,
    sourceCheck: image.sourceCheck ?? null,
    checker: decision.checker,
    expected: stated,
    matches: stated === null ? null : meets(decision, stated),
    decision,
    history,
    ...rest,
  };
}
