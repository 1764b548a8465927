import { errorText, UserError } from "../core/errors.js";
import type { Fault } from "../core/fault.js";
import { LIMIT } from "../core/history.js";
import { progress } from "../core/progress.js";
import { createRunNetwork } from "../engine/networks.js";
import { RedisReproContainer, type StartedRedisReproContainer } from "../parts/container/redis-container.js";
import type { RedisConfig, Scenario } from "../scenario/index.js";
import type { TargetImage } from "../targets/build.js";
import { rejectedDirective } from "../targets/config.js";
import { serverProgram } from "../targets/server.js";
import type { HistoryRecorder } from "./recorder.js";

/** A node's config: a replica is told where its master is, by the master's alias on the run's network. */
export function nodeConfig(scenario: Scenario, name: string): RedisConfig {
  if (name === "main") return scenario.redis;
  const spec = scenario.nodes[name];
  return spec?.replicaOf ? { slaveof: `${spec.replicaOf} 6379`, ...spec.redis } : (spec?.redis ?? {});
}

/** Starts one node; Redis's refusal of a directive becomes one line naming it and the release. */
async function startNode(
  image: TargetImage,
  limits: Scenario["limits"],
  config: RedisConfig,
  faults: readonly Fault[],
  run: { runId: string; name: string; network: string | undefined },
  onLine: (line: string) => void,
): Promise<StartedRedisReproContainer> {
  const log: string[] = [];
  let container = new RedisReproContainer(image)
    .withRun(run.runId, image.target, run.name)
    .withLimits(limits)
    .withConfig(config)
    .withLogLines((line) => {
      log.push(line);
      onLine(line);
    });
  for (const fault of faults) container = container.withFault(fault);
  if (run.network) container = container.withNetworkAlias(run.network, run.name);
  return container.start().catch((error: unknown) => {
    // Already a one-line error naming the thing (a fault's wrapper the image lacks): as it is.
    if (error instanceof UserError) throw error;
    const text = errorText(error);
    const rejected = rejectedDirective(log);
    if (rejected) {
      throw new UserError(
        `${image.server ?? "redis"} ${image.version ?? image.target} rejects the directive "${rejected.directive}" (${rejected.why}): remove or fix redis.${rejected.directive} in the scenario, or use a release that has it`,
      );
    }
    if (/executable file not found|no such file or directory/i.test(text)) {
      throw new UserError(
        `image ${image.image} has no ${serverProgram(image.server)} on its PATH: bring an image that holds one`,
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

/** The nodes of one target's run, and the one teardown every ending calls. */
export interface RunNodes {
  get(name: string): StartedRedisReproContainer;
  readonly all: ReadonlyMap<string, StartedRedisReproContainer>;
  /** Removes every node and the run's network (idempotent). */
  stop(): Promise<void>;
}

/**
 * Starts the main node, then the others on a private network (a replica finds its master by name),
 * each with the faults aimed at it; every line any node logs goes to the history, and each node's
 * limits are recorded there at the start. Whatever was started is removed if a later start fails.
 */
export async function startNodes(
  scenario: Scenario,
  image: TargetImage,
  runId: string,
  faults: ReadonlyMap<string, readonly Fault[]>,
  recorder: HistoryRecorder,
  now: () => number,
): Promise<RunNodes> {
  const names = ["main", ...Object.keys(scenario.nodes)];
  const network =
    names.length > 1
      ? await createRunNetwork(runId, image.target).catch((error: unknown) => {
          throw new UserError(
            `could not make a network for the run's nodes: ${errorText(error)}`,
            "environment",
          );
        })
      : undefined;
  const all = new Map<string, StartedRedisReproContainer>();
  let stopped: Promise<void> | undefined;
  const nodes: RunNodes = {
    all,
    get(name) {
      const node = all.get(name);
      if (!node) throw new UserError(`the scenario has no node "${name}": name one of ${names.join(", ")}`);
      return node;
    },
    stop() {
      stopped ??= (async () => {
        await Promise.all([...all.values()].map((n) => n.discard()));
        await network?.remove().catch(() => undefined);
      })();
      return stopped;
    },
  };
  try {
    for (const name of names) {
      const node = await startNode(
        image,
        scenario.limits,
        nodeConfig(scenario, name),
        faults.get(name) ?? [],
        { runId, name, network: network?.name },
        (line) => recorder.logLine(name, line, now()),
      );
      all.set(name, node);
      // Where it is reached: on a remote engine, its address rather than loopback.
      progress(`[${image.target}] ${name} started ${node.getId().slice(0, 12)} on ${node.host}:${node.port}`);
      for (const [limit, value] of Object.entries(node.limits))
        recorder.event({ t: now(), node: name, kind: LIMIT, name: limit, value });
    }
  } catch (error) {
    await nodes.stop();
    throw error;
  }
  return nodes;
}
