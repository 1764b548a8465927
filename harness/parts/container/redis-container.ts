import type { Readable } from "node:stream";
import { Redis, type RedisOptions } from "ioredis";
import { AbstractStartedContainer, GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { errorText, UserError } from "../../core/errors.js";
import type { Fault } from "../../core/fault.js";
import type { DirEntry, FaultNode, FdEntry, NodeLimits } from "../../core/node.js";
import { prepareReaper } from "../../engine/client.js";
import { containerCounters, removeContainer, setPidsLimit, watchCounters } from "../../engine/containers.js";
import { type ContainerEnd, containerEnd } from "../../engine/failure.js";
import { LABEL_MANAGED, LABEL_NODE, LABEL_RUN, LABEL_TARGET } from "../../engine/labels.js";
import { engineLocality } from "../../engine/locality.js";
import { connectToNetwork, disconnectFromNetwork } from "../../engine/networks.js";
import { ownerLabels } from "../../engine/owner.js";
import type { TargetImage } from "../../targets/build.js";
import { type RedisConfig, redisArgs } from "../../targets/config.js";
import { type Server, serverProgram } from "../../targets/server.js";
import { probeClientOptions } from "../probes/connect.js";
import { parseInfo } from "../probes/info.js";
import { securityOptionsFor, ulimitsFor } from "./engine-options.js";
import type { Limits } from "./limits.js";
import { defaultReader, type ProcReader, readerWhenExecBlocked } from "./proc-reader.js";

/** The server's user in our images and in the official ones. */
const SERVER_USER = "redis";
/** Its uid and gid (999 in our images and the official ones). */
const SERVER_UID = 999;
const DEFAULT_LIMITS: Limits = { memory: 64 * 1024 ** 2, pids: 64, nofile: 1024 };

/**
 * What a node's faults ask of its container's creation, added up (a profile and a preload may go
 * together): security options after no-new-privileges, their environment, and the entrypoint. A
 * wrapper (a preload's launcher) goes before the server; a brought image's own entrypoint may be a
 * shell script, which cannot run under a fork fault, so the server is named directly there too.
 */
export function creationOptions(
  faults: readonly Fault[],
  brought: boolean,
  server: Server = "redis",
): { securityOpt: string[]; env: Record<string, string>; entrypoint: string[] | undefined } {
  const options = faults.flatMap((f) => (f.container ? [f.container] : []));
  const wrap = options.flatMap((o) => o.wrap ?? []);
  // Our Valkey images also answer to redis-server (their default entrypoint); run it by its name.
  const named = brought || wrap.length > 0 || server !== "redis";
  return {
    securityOpt: ["no-new-privileges", ...options.flatMap((o) => o.securityOpt ?? [])],
    env: Object.assign({}, ...options.map((o) => o.env ?? {})) as Record<string, string>,
    entrypoint: named ? [...wrap, serverProgram(server)] : undefined,
  };
}

/**
 * One Redis in a container, in the style of testcontainers' own modules: a builder with the few
 * settings a reproduction needs (faults, limits, server arguments, labels), and a started form that
 * is a node for probes, steps and faults. testcontainers has no setters for PidsLimit, MemorySwap or
 * the host IP of a published port, so this subclass sets them on the protected hostConfig.
 */
export class RedisReproContainer extends GenericContainer {
  private faults: Fault[] = [];
  private limits: Limits = DEFAULT_LIMITS;
  private config: RedisConfig = {};
  private readonly version: string | undefined;
  private brought = false;
  private nodeName = "main";
  private network: { name: string; alias: string } | undefined;
  private server: Server = "redis";
  private lineHandlers: ((line: string) => void)[] = [];

  /**
   * An image by name, or one the harness built or found (`ensureImage`): then the server's release is
   * known, and the arguments suit it (protected-mode exists from 3.2), and a brought image's own
   * entrypoint is bypassed.
   */
  constructor(image: string | TargetImage) {
    super(typeof image === "string" ? image : image.image);
    if (typeof image !== "string") {
      this.version = image.version;
      this.brought = image.origin === "brought";
      this.server = image.server ?? "redis";
    }
    this.withExposedPorts(6379)
      .withLabels({ [LABEL_MANAGED]: "true" })
      // No shell can run where fork fails, so readiness comes from the log, never an exec.
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/i))
      .withStartupTimeout(30_000);
  }

  /** A fault the node may run under: its container options apply from creation (several add up). */
  withFault(fault: Fault): this {
    this.faults.push(fault);
    return this;
  }

  withLimits(limits: Limits): this {
    this.limits = limits;
    return this;
  }

  /** redis.conf directives, passed to redis-server as arguments (any directive; booleans as yes/no). */
  withConfig(config: RedisConfig): this {
    this.config = config;
    return this;
  }

  /** Which run, target and node this is: labels, so any leftover can be found and removed. */
  withRun(runId: string, target: string, node = "main"): this {
    this.nodeName = node;
    return this.withLabels({
      [LABEL_MANAGED]: "true",
      [LABEL_RUN]: runId,
      [LABEL_TARGET]: target,
      [LABEL_NODE]: node,
      // Which process started it, so cleanup can tell a killed run's leftovers from a live run's.
      ...ownerLabels(),
    });
  }

  /** Which server the image holds (an image by name; a TargetImage says so itself): Valkey runs as valkey-server. */
  withServer(server: Server | undefined): this {
    this.server = server ?? "redis";
    return this;
  }

  /** Every line the server logs, as it comes. */
  withLogLines(handler: (line: string) => void): this {
    this.lineHandlers.push(handler);
    return this;
  }

  /** Joins a network by name under an alias (how other nodes reach it: a replica's `slaveof main`). */
  withNetworkAlias(network: string, alias: string): this {
    this.network = { name: network, alias };
    return this.withNetworkMode(network).withNetworkAliases(alias);
  }

  protected override async beforeContainerCreated(): Promise<void> {
    const { limits } = this;
    this.hostConfig.Memory = limits.memory;
    // Equal to Memory: no swap, so the limit means what it says.
    this.hostConfig.MemorySwap = limits.memory;
    this.hostConfig.PidsLimit = limits.pids;
    // Protected mode is off for clients through the port, so it is published no wider than needed:
    // on loopback where the engine is local, else on the address this host reaches the engine at
    // (engine/locality.ts says how that is decided).
    const { publishing } = await engineLocality();
    this.hostConfig.PortBindings = { "6379/tcp": [{ HostIp: publishing.bindIp, HostPort: "0" }] };
    this.hostConfig.CapDrop = ["ALL"];
    this.hostConfig.Privileged = false;
    // Owned by the server's user: on a path the image already has (/data), Docker 20.10 keeps the
    // directory's mode (0755) and ignores mode=, so a mount owned by root is read-only to the server.
    // World-writable too, for a path the image lacks and an image whose server runs as another uid.
    this.hostConfig.Tmpfs = Object.fromEntries(
      Object.entries(limits.tmpfs ?? {}).map(([path, bytes]) => [
        path,
        `rw,size=${bytes},mode=1777,uid=${SERVER_UID},gid=${SERVER_UID}`,
      ]),
    );
  }

  override async start(): Promise<StartedRedisReproContainer> {
    const { limits } = this;
    const { securityOpt, env, entrypoint } = creationOptions(this.faults, this.brought, this.server);
    const engine = await engineLocality();
    this.withCommand(redisArgs(this.version, this.config))
      .withUlimits(ulimitsFor(limits, engine))
      // As this engine takes them (Podman: a seccomp profile by file).
      .withSecurityOpt(
        ...(await securityOptionsFor(
          securityOpt,
          engine,
          this.faults.map((f) => f.name),
        )),
      )
      .withEnvironment(env)
      .withLogConsumer((stream: Readable) => {
        let rest = "";
        stream.on("data", (chunk: Buffer | string) => {
          const lines = (rest + chunk.toString()).split("\n");
          rest = lines.pop() ?? "";
          for (const line of lines) {
            if (line.trim()) for (const handler of this.lineHandlers) handler(line.trimEnd());
          }
        });
      });
    if (this.brought) this.withUser(SERVER_USER).withWorkingDir("/data");
    if (entrypoint) this.withEntrypoint(entrypoint);
    // Without Ryuk (the harness removes its own containers by run id) there is nothing to register
    // with, and registering takes testcontainers' machine-wide file lock, which it retries every
    // 0.5-3 s: the second of two containers started together waited for the first, and every run
    // for other processes' runs.
    this.withAutoCleanup((await prepareReaper()) === "ryuk");
    const log: string[] = [];
    this.lineHandlers.push((line) => log.push(line));
    const started = await super.start().catch((error: unknown) => {
      // The engine's words for a wrapper the image lacks would read as a missing redis-server.
      const program = entrypoint && entrypoint.length > 1 ? entrypoint[0] : undefined;
      if (program && new RegExp(`"${program}": executable file not found`).test(errorText(error))) {
        const faults = this.faults.filter((f) => f.container?.wrap?.length).map((f) => f.name);
        throw new UserError(
          `image ${this.imageName.string} lacks ${program}, which the ${faults.join(", ")} fault starts the server with: use an image that has it (the images the harness builds do: their runtime base carries libfiu0 and fiu-utils) or another fault`,
          "environment",
        );
      }
      throw error;
    });
    return new StartedRedisReproContainer(started, {
      name: this.nodeName,
      limits,
      network: this.network,
      log,
      image: this.imageName.string,
      connectHost: engine.publishing.connectHost,
    });
  }
}

export class StartedRedisReproContainer extends AbstractStartedContainer implements FaultNode {
  readonly name: string;
  /** Where clients reach the published port: the engine's host as testcontainers gives it. */
  readonly host: string;
  readonly port: number;
  readonly limits: NodeLimits;
  /**
   * How fds and files are read (proc-reader.ts): this host's /proc where it shows the server, else
   * exec; while a fault leaves no room for an exec, this host's /proc or a sidecar. Chosen in the
   * background from the start.
   */
  private reader: Promise<ProcReader>;
  private readonly image: string;
  private kept: Redis | undefined;
  private connecting: Promise<Redis> | undefined;
  private readonly counters: ReturnType<typeof watchCounters>;
  private readonly network: { name: string; alias: string } | undefined;
  private readonly log: readonly string[];

  constructor(
    started: StartedTestContainer,
    node: {
      name: string;
      limits: Limits;
      network?: { name: string; alias: string } | undefined;
      log: readonly string[];
      image: string;
      /** Where clients connect (engine/locality.ts decides it with the port's binding). */
      connectHost: string;
    },
  ) {
    super(started);
    this.name = node.name;
    this.image = node.image;
    // Loopback as 127.0.0.1 (what the port is bound to), not a name that may resolve to ::1.
    this.host = node.connectHost;
    this.limits = { memory: node.limits.memory, pids: node.limits.pids, nofile: node.limits.nofile };
    this.network = node.network;
    this.log = node.log;
    this.port = started.getMappedPort(6379);
    this.reader = defaultReader(started, SERVER_USER);
    this.reader.catch(() => undefined);
    this.counters = watchCounters(started.getId());
  }

  getConnectionUrl(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** A client for the server; it reports failure at once instead of retrying (a probe, not an app). */
  client(options: RedisOptions = {}): Redis {
    const client = new Redis({ host: this.host, port: this.port, ...probeClientOptions, ...options });
    client.on("error", () => undefined);
    return client;
  }

  async taskCount(): Promise<number> {
    const current = (await containerCounters(this.getId())).tasks;
    if (!current)
      throw new Error("the engine reports no pids count for the container (no pids cgroup controller?)");
    return current;
  }

  setPidsLimit(limit: number): Promise<void> {
    return setPidsLimit(this.getId(), limit);
  }

  /**
   * Where no process can start in the container, fds and files are read from this host's /proc when
   * it shows the server (the engine is here, and we may read it), else by a sidecar container in the
   * server's PID namespace (a remote engine, a VM): chosen, and the sidecar started, before the fault
   * holds. Says how the node reads now. Unblocked, a sidecar is removed and exec serves again.
   */
  async execBlocked(blocked: boolean): Promise<string | undefined> {
    const current = await this.reader;
    if (blocked) {
      if (current.kind === "exec") {
        this.reader = readerWhenExecBlocked(this, this.image, SERVER_USER);
        // A failed choice leaves exec in place (the fault then sets no limit).
        const chosen = await this.reader.catch((error: unknown) => {
          this.reader = Promise.resolve(current);
          throw error;
        });
        return chosen.how;
      }
      return current.how;
    }
    if (current.kind === "sidecar") {
      this.reader = defaultReader(this, SERVER_USER);
      await current.close();
    }
    return undefined;
  }

  async disconnect(): Promise<void> {
    if (!this.network)
      throw new UserError(`node ${this.name} is on no run network: a link cut needs two nodes`);
    await disconnectFromNetwork(this.network.name, this.getId());
  }

  async reconnect(): Promise<void> {
    if (!this.network)
      throw new UserError(`node ${this.name} is on no run network: a link cut needs two nodes`);
    await connectToNetwork(this.network.name, this.getId(), this.network.alias);
  }

  /**
   * The server's open fds; the reader says how (an exec of one program as the server's user, this
   * host's /proc, a sidecar).
   */
  async fds(): Promise<FdEntry[] | undefined> {
    return (await this.reader).fds();
  }

  /** The regular files of a directory in the container (undefined: it does not exist yet). */
  async listDir(path: string): Promise<DirEntry[] | undefined> {
    return (await this.reader).listDir(path);
  }

  /**
   * The connection that stays open for the whole run: the workload's and INFO's. Once the event loop
   * is full it is the only way in, so nothing else should close it before the end.
   */
  connection(): Promise<Redis> {
    // One connect, however many callers ask at once (commands are not queued while it connects).
    this.connecting ??= (async () => {
      this.kept = this.client({ commandTimeout: 5_000 });
      await this.kept.connect();
      return this.kept;
    })();
    return this.connecting;
  }

  /** INFO (one section, or all) through the kept connection, as a flat map. */
  async info(section?: string): Promise<Record<string, string>> {
    const client = await this.connection();
    return parseInfo(section ? await client.info(section) : await client.info());
  }

  /**
   * Why the container stopped answering, or undefined while it runs: an OOM kill names the limit; a
   * removal, a stop from outside or an engine that went away are told apart (engine/failure.ts).
   */
  endState(): Promise<ContainerEnd | undefined> {
    return containerEnd(this.getId(), this.limits.memory, this.log);
  }

  /**
   * The peak memory the engine saw (null where it does not say). Read from the engine's stats stream,
   * watched since the start: one reading afterwards costs 1-2 s (the engine waits for a second sample).
   * A run shorter than the stream's first sample falls back to one reading.
   */
  async memoryPeak(): Promise<number | null> {
    const watched = this.counters.peakBytes();
    if (watched !== null) return watched;
    return containerCounters(this.getId()).then(
      (c) => c.memoryPeakBytes,
      () => null,
    );
  }

  protected override async containerStopping(): Promise<void> {
    this.kept?.disconnect();
    await (await this.reader.catch(() => undefined))?.close();
  }

  /**
   * Kills and removes it at once, whatever state it is in (a run's every ending calls this): the
   * evidence is read by then, and a graceful stop (Redis fsyncs or rewrites its AOF) checks nothing.
   */
  async discard(): Promise<void> {
    this.counters.stop();
    this.kept?.disconnect();
    await (await this.reader.catch(() => undefined))?.close();
    await removeContainer(this.getId()).catch(() => undefined);
  }
}
