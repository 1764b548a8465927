/**
 * Fault episodes on real containers: a node under one injector, a trigger that makes the server
 * attempt the failing call every 100 ms, the fault started and healed while it runs, and when the
 * effect (a log line of the failure, or an fd that stays open) was first and last seen. Used by
 * bench/faults.ts (the latency table of docs/faults.md) and test/integration/faults.test.ts (the
 * behaviour: no effect before start, effects after it, none after heal).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Fault } from "../harness/core/fault.js";
import { removeContainers } from "../harness/engine/cleanup.js";
import { dockerode, prepareReaper } from "../harness/engine/client.js";
import { createRunNetwork } from "../harness/engine/networks.js";
import {
  RedisReproContainer,
  type StartedRedisReproContainer,
} from "../harness/parts/container/redis-container.js";
import { type FaultSpec, faultFrom } from "../harness/parts/faults/index.js";
import { logLineMs } from "../harness/parts/probes/log.js";
import { ensureImage, type TargetImage } from "../harness/targets/build.js";
import type { RedisConfig } from "../harness/targets/config.js";
import { parseTarget } from "../harness/targets/spec.js";

export const LIMITS = { memory: 256 * 1024 ** 2, pids: 64, nofile: 1024 };
const BASE_CONFIG: RedisConfig = { save: "", appendonly: "no" };
const TICK_MS = 100;

export interface Line {
  /**
   * ms since the episode's clock started: the server's own time of the line where it has one (a
   * flood of lines reaches the harness late), else when the harness received it.
   */
  t: number;
  line: string;
}

const DAY_MS = 86_400_000;

/** A line's time on the episode's clock (the container's clock is the host's; its zone is UTC). */
function lineTime(line: string, t0: number, received: number): number {
  const ms = logLineMs(line);
  if (ms === null) return received;
  const t = ms - (t0 % DAY_MS);
  // Within a second or so of receipt, modulo a midnight in between.
  return Math.abs(t - received) < DAY_MS / 2 ? t : t + Math.sign(received - t) * DAY_MS;
}

/** What the server is made to do every tick, and how its failure shows. */
export interface EpisodeCase {
  /** Row name: the call that fails. */
  call: string;
  fault: FaultSpec;
  /** Directives besides the base ones (e.g. loglevel verbose, where the failure logs at verbose). */
  config?: RedisConfig;
  /** Once, before the clock starts (e.g. SLAVEOF a port nothing listens on). */
  setup?: (node: StartedRedisReproContainer, client: Redis) => Promise<void>;
  /** Each tick: make the server attempt the call. Errors are expected while the fault holds. */
  trigger: (node: StartedRedisReproContainer, client: Redis) => Promise<unknown>;
  /** A log line of the failure, by version (3.x and 7.x word some differently). */
  effect: (version: string) => RegExp;
  /** How long the fault holds before the heal (default 2 s). */
  holdMs?: number;
  /** Whether the fault can heal (malloc: the server aborts; static seccomp: no heal). */
  heals?: boolean;
}

export interface EpisodeResult {
  version: string;
  call: string;
  fault: string;
  /** What start and heal said they did. */
  started?: string;
  healed?: string;
  /** How long start() and heal() took (the mechanism's own latency: an exec of fiu-ctrl, an engine call). */
  startCallMs?: number;
  healCallMs?: number;
  /** From start() being called to the first effect; undefined: none seen within the wait. */
  firstEffectMs?: number;
  /** From heal() being called to the last effect seen (negative: the last came before heal returned). */
  lastEffectMs?: number;
  effectsBeforeStart: number;
  effectsDuringFault: number;
  /** Effects later than heal() returning + 1 s: a heal that did not take. */
  effectsAfterHeal: number;
  /** The effect lines (the first ones), for a report. */
  sample: string[];
  /** The server's log lines, for diagnosis. */
  log: Line[];
}

/** ms since the episode began, with its origin (for the lines' own times). */
function clock(): (() => number) & { t0: number } {
  const t0 = Date.now();
  return Object.assign(() => Date.now() - t0, { t0 });
}

let counter = 0;
/** A run id for an episode's containers (removed at its end, whatever happens). */
function episodeRunId(): string {
  counter += 1;
  return `faults-${process.pid}-${counter}`;
}

/** The image of a release built the harness's way (libfiu included). */
export async function imageOf(version: string): Promise<TargetImage> {
  return ensureImage(parseTarget(version), { bases: "auto" });
}

async function startNode(
  image: TargetImage,
  runId: string,
  target: string,
  fault: Fault,
  config: RedisConfig,
  lines: Line[],
  now: (() => number) & { t0: number },
  network?: { name: string; alias: string },
): Promise<StartedRedisReproContainer> {
  let container = new RedisReproContainer(image)
    .withRun(runId, target, network?.alias ?? "main")
    .withFault(fault)
    .withLimits(LIMITS)
    .withConfig({ ...BASE_CONFIG, ...config })
    .withLogLines((line) => lines.push({ t: lineTime(line, now.t0, now()), line }));
  if (network) container = container.withNetworkAlias(network.name, network.alias);
  return container.start();
}

/** One episode of one case on one release. */
export async function runEpisode(version: string, c: EpisodeCase): Promise<EpisodeResult> {
  await prepareReaper();
  const image = await imageOf(version);
  const runId = episodeRunId();
  const fault = faultFrom(c.fault);
  const lines: Line[] = [];
  const now = clock();
  const result: EpisodeResult = {
    version,
    call: c.call,
    fault: fault.name,
    effectsBeforeStart: 0,
    effectsDuringFault: 0,
    effectsAfterHeal: 0,
    sample: [],
    log: lines,
  };
  const pattern = c.effect(version);
  const effects = (from: number, to = Number.POSITIVE_INFINITY) =>
    lines.filter((l) => l.t >= from && l.t < to && pattern.test(l.line));
  let node: StartedRedisReproContainer | undefined;
  let stop = false;
  try {
    node = await startNode(image, runId, version, fault, c.config ?? {}, lines, now).catch(
      (error: unknown) => {
        // A fault on from creation may keep the server from starting at all: its last words say why.
        const last = lines.filter((l) => / [#*.-] /.test(l.line)).at(-1)?.line;
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}; the server's last line: ${last}`,
        );
      },
    );
    const client = await node.connection();
    await c.setup?.(node, client);
    const ticking = (async () => {
      while (!stop) {
        await c.trigger(node, client).catch(() => undefined);
        await sleep(TICK_MS);
      }
    })();
    await sleep(1_000);
    const startAt = now();
    result.effectsBeforeStart = effects(0, startAt).length;
    if (fault.start) {
      result.started = await fault.start(node);
      result.startCallMs = now() - startAt;
    }
    // The first effect, waited for up to 15 s (socket's attempts come once a second).
    for (let waited = 0; waited < 15_000 && effects(startAt).length === 0; waited += 50) await sleep(50);
    const first = effects(startAt)[0];
    result.firstEffectMs = first ? first.t - startAt : undefined;
    await sleep(c.holdMs ?? 2_000);
    if (c.heals !== false && fault.heal) {
      const healAt = now();
      result.effectsDuringFault = effects(startAt, healAt).length;
      result.healed = await fault.heal(node);
      const healedAt = now();
      result.healCallMs = healedAt - healAt;
      await sleep(3_000);
      const last = effects(startAt).at(-1);
      result.lastEffectMs = last ? last.t - healAt : undefined;
      result.effectsAfterHeal = effects(healedAt + 1_000).length;
    } else {
      result.effectsDuringFault = effects(startAt).length;
    }
    result.sample = effects(startAt)
      .slice(0, 3)
      .map((l) => l.line);
    stop = true;
    await ticking;
    return result;
  } finally {
    stop = true;
    await node?.discard();
    await removeContainers(runId);
  }
}

/** A fresh client's connect and PING, closed after: the server accepts, writes, closes. */
async function freshPing(node: StartedRedisReproContainer): Promise<void> {
  const client = node.client({ connectTimeout: 1_000, commandTimeout: 1_000 });
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}

/**
 * The libfiu cases: each call on a path where a failure logs, with the errno a server would plausibly
 * see. `close` has its own measure (an fd left open, not a log line).
 */
export const LIBFIU_CASES: EpisodeCase[] = [
  {
    call: "fork",
    fault: { fault: "libfiu", call: "fork", errno: "ENOMEM" },
    trigger: (_n, client) => client.bgsave(),
    effect: () => /Can't save in background: fork: Cannot allocate memory/,
  },
  {
    call: "open",
    fault: { fault: "libfiu", call: "open", errno: "EACCES" },
    // appendonly yes opens the AOF (3.2) or a new incr file (7.0) in the server itself.
    trigger: async (_n, client) => {
      await client.config("SET", "appendonly", "yes");
      await client.config("SET", "appendonly", "no");
    },
    effect: () => /can't open the append.only file.*: Permission denied/i,
  },
  {
    call: "write",
    fault: { fault: "libfiu", call: "write", errno: "EIO" },
    // A reply's write error is logged at verbose only.
    config: { loglevel: "verbose" },
    trigger: (node) => freshPing(node),
    effect: () => /Error writing to client: Input\/output error/,
  },
  {
    call: "accept",
    fault: { fault: "libfiu", call: "accept", errno: "ECONNABORTED" },
    // The connection stays in the backlog while accept fails, so the server retries (and logs) on
    // every turn of its event loop: a short hold keeps the log small.
    holdMs: 1_000,
    trigger: (node) => freshPing(node),
    effect: () => /Accepting client connection: .*Software caused connection abort/,
  },
  {
    call: "socket",
    fault: { fault: "libfiu", call: "socket", errno: "EMFILE" },
    // A replica of a port nothing listens on tries to connect once a second (replicationCron).
    setup: async (_n, client) => {
      await client.call("SLAVEOF", "127.0.0.1", "1");
    },
    trigger: async () => undefined,
    holdMs: 3_000,
    effect: () => /Unable to connect to MASTER: .*Too many open files/,
  },
  {
    call: "malloc",
    fault: { fault: "libfiu", call: "malloc", errno: "ENOMEM" },
    heals: false,
    holdMs: 500,
    trigger: (_n, client) => client.set("k", "v".repeat(64)),
    effect: () => /Out of memory/i,
  },
];

export const PIDS_CASE: EpisodeCase = {
  call: "fork",
  fault: "pids-limit",
  trigger: (_n, client) => client.bgsave(),
  effect: () => /Can't save in background: fork: Resource temporarily unavailable/,
};

/** Static seccomp: on from creation; the first trigger shows it (measured from the node's start). */
export const SECCOMP_CASES: EpisodeCase[] = [
  {
    call: "pipe",
    fault: { fault: "seccomp", calls: ["pipe", "pipe2"], errno: "EMFILE" },
    heals: false,
    holdMs: 500,
    // 3.2 opens its AOF rewrite pipes with pipe() before forking. (7.0 makes a pipe with pipe2() at
    // start, for module threads, and exits when it fails: it never starts under this fault.)
    trigger: (_n, client) => client.bgrewriteaof(),
    effect: () => /Error opening \/setting AOF rewrite IPC pipes: Too many open files/,
  },
];

/**
 * close: a failed close() leaves the fd open, and nothing is logged. The effect is the server's fd
 * count rising above its highest before the fault (fresh clients connect and disconnect each tick).
 */
export async function runCloseEpisode(version: string): Promise<EpisodeResult> {
  await prepareReaper();
  const image = await imageOf(version);
  const runId = episodeRunId();
  const fault = faultFrom({ fault: "libfiu", call: "close", errno: "EIO" });
  const lines: Line[] = [];
  const now = clock();
  const result: EpisodeResult = {
    version,
    call: "close",
    fault: fault.name,
    effectsBeforeStart: 0,
    effectsDuringFault: 0,
    effectsAfterHeal: 0,
    sample: [],
    log: lines,
  };
  let node: StartedRedisReproContainer | undefined;
  let stop = false;
  const counts: { t: number; fds: number }[] = [];
  try {
    node = await startNode(image, runId, version, fault, {}, lines, now);
    await node.connection();
    const ticking = (async () => {
      while (!stop) {
        await freshPing(node).catch(() => undefined);
        await sleep(TICK_MS);
      }
    })();
    const sampling = (async () => {
      while (!stop) {
        // Timed when the reading began: it shows the fds of some moment before it returned.
        const t = now();
        const fds = await node.fds();
        if (fds) counts.push({ t, fds: fds.length });
        await sleep(50);
      }
    })();
    // A few readings first (an exec takes 0.1-1 s on a busy machine): the count before the fault.
    for (let waited = 0; waited < 20_000 && counts.length < 3; waited += 100) await sleep(100);
    const startAt = now();
    const before = Math.max(...counts.map((c) => c.fds));
    result.started = await fault.start?.(node);
    result.startCallMs = now() - startAt;
    for (let waited = 0; waited < 10_000; waited += 50) {
      if (counts.some((c) => c.t >= startAt && c.fds > before)) break;
      await sleep(50);
    }
    await sleep(2_000);
    const healAt = now();
    result.healed = await fault.heal?.(node);
    const healedAt = now();
    result.healCallMs = healedAt - healAt;
    await sleep(3_000);
    // A rise is a sample above every sample before it (leaked fds stay: the count never comes back).
    const rises: number[] = [];
    let high = before;
    for (const c of counts.filter((x) => x.t >= startAt)) {
      if (c.fds > high) {
        rises.push(c.t);
        high = c.fds;
      }
    }
    result.firstEffectMs = rises[0] !== undefined ? rises[0] - startAt : undefined;
    result.lastEffectMs = rises.at(-1) !== undefined ? (rises.at(-1) as number) - healAt : undefined;
    result.effectsDuringFault = rises.filter((t) => t < healAt).length;
    // After the heal, only readings begun after it count, against each other: one begun before the heal
    // may return late, and a fresh client's socket is in some readings (+1), so a rise is 2 or more.
    const after = counts.filter((c) => c.t >= healedAt + 500);
    const low = Math.min(...after.map((c) => c.fds));
    result.effectsAfterHeal = after.filter((c) => c.fds > low + 1).length;
    result.sample = [
      `fds before ${before}, at heal ${counts.filter((c) => c.t <= healAt).at(-1)?.fds}, at end ${counts.at(-1)?.fds}`,
    ];
    stop = true;
    await Promise.all([ticking, sampling]);
    return result;
  } finally {
    stop = true;
    await node?.discard();
    await removeContainers(runId);
  }
}

export interface CutResult {
  version: string;
  settings: string;
  /** From the cut (start called) to the replica's master_link_status:down. */
  downMs?: number;
  /** From the reconnect (heal called) to master_link_status:up. */
  upMs?: number;
  /** From the reconnect to the replica's log line of the sync. */
  syncLineMs?: number;
  syncLine?: string;
  startCallMs: number;
  healCallMs: number;
  /** The harness's own connection to the replica answered INFO during the whole cut. */
  keptAnswered: boolean;
  /** The replica's published port is the same after the reconnect (the engine's view). */
  portKept: boolean;
  log: Line[];
}

/** The host port the engine publishes the node's 6379 on now. */
async function publishedPort(id: string): Promise<string | undefined> {
  const inspected = await (await dockerode()).getContainer(id).inspect();
  return inspected.NetworkSettings.Ports["6379/tcp"]?.[0]?.HostPort;
}

/**
 * A replica cut off from its master (network-cut on the replica) and reconnected: master_link_status
 * is read through the harness's kept connection every 100 ms, which the cut must not break.
 */
export async function runCutEpisode(
  version: string,
  settings: { master?: RedisConfig; replica?: RedisConfig } = {},
  holdMs = 0,
): Promise<CutResult> {
  const replicaConfig = settings.replica ?? {};
  await prepareReaper();
  const image = await imageOf(version);
  const runId = episodeRunId();
  const network = await createRunNetwork(runId, version);
  const lines: Line[] = [];
  const now = clock();
  const cut = faultFrom({ fault: "network-cut" });
  const nodes: StartedRedisReproContainer[] = [];
  let stop = false;
  try {
    const master = await startNode(image, runId, version, faultFrom("none"), settings.master ?? {}, [], now, {
      name: network.name,
      alias: "main",
    });
    nodes.push(master);
    const replica = await startNode(
      image,
      runId,
      version,
      cut,
      { slaveof: "main 6379", ...replicaConfig },
      lines,
      now,
      { name: network.name, alias: "replica" },
    );
    nodes.push(replica);
    const link: { t: number; up: boolean | undefined }[] = [];
    let keptAnswered = true;
    const poll = async () => {
      const info = await replica.info("replication").catch(() => undefined);
      if (!info) keptAnswered = false;
      link.push({ t: now(), up: info ? info.master_link_status === "up" : undefined });
    };
    for (let waited = 0; waited < 20_000; waited += 100) {
      await poll();
      if (link.at(-1)?.up) break;
      await sleep(100);
    }
    if (!link.at(-1)?.up) throw new Error(`the replica of ${version} never synced: ${lines.at(-1)?.line}`);
    // Writes keep flowing, so a partial resync has something to carry.
    const writer = await master.connection();
    const polling = (async () => {
      let i = 0;
      while (!stop) {
        await poll();
        await writer.set(`k${i++ % 100}`, String(i)).catch(() => undefined);
        await sleep(100);
      }
    })();
    await sleep(1_000);
    const portBefore = await publishedPort(replica.getId());
    const startAt = now();
    await cut.start?.(replica);
    const startCallMs = now() - startAt;
    for (let waited = 0; waited < 120_000; waited += 100) {
      if (link.some((l) => l.t > startAt && l.up === false)) break;
      await sleep(100);
    }
    const down = link.find((l) => l.t > startAt && l.up === false);
    await sleep(holdMs);
    const healAt = now();
    await cut.heal?.(replica);
    const healCallMs = now() - healAt;
    const portAfter = await publishedPort(replica.getId());
    for (let waited = 0; waited < 60_000; waited += 100) {
      if (link.some((l) => l.t > healAt && l.up === true)) break;
      await sleep(100);
    }
    await sleep(500);
    const up = link.find((l) => l.t > healAt && l.up === true);
    const sync = lines.find(
      (l) =>
        l.t > healAt &&
        /Master accepted a Partial Resynchronization|sync: Finished with success/.test(l.line),
    );
    stop = true;
    await polling;
    return {
      version,
      settings:
        Object.entries({ ...settings.master, ...replicaConfig })
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "defaults (repl-timeout 60, pings every 10 s)",
      downMs: down ? down.t - startAt : undefined,
      upMs: up ? up.t - healAt : undefined,
      syncLineMs: sync ? sync.t - healAt : undefined,
      syncLine: sync?.line,
      startCallMs,
      healCallMs,
      keptAnswered,
      portKept: portBefore !== undefined && portBefore === portAfter && portBefore === String(replica.port),
      log: lines,
    };
  } finally {
    stop = true;
    await Promise.all(nodes.map((n) => n.discard()));
    await removeContainers(runId);
    await network.remove().catch(() => undefined);
  }
}
