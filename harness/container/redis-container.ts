import type { Readable } from "node:stream";
import { Redis, type RedisOptions } from "ioredis";
import { AbstractStartedContainer, GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { containerCounters, removeContainer, setPidsLimit, watchCounters } from "../engine/containers.js";
import { containerEnd } from "../engine/failure.js";
import { LABEL_MANAGED, LABEL_NODE, LABEL_RUN, LABEL_TARGET } from "../engine/labels.js";
import { decidePublishing, engineLocality } from "../engine/locality.js";
import { ownerLabels } from "../engine/owner.js";
import { type Fault, fault as makeFault } from "../faults/index.js";
import { probeClientOptions } from "../probes/connect.js";
import type { DirEntry } from "../probes/dir.js";
import type { FdSample } from "../probes/fds.js";
import { parseInfo } from "../probes/info.js";
import type { Limits } from "../scenario/schema.js";
import { securityOptionsFor, ulimitsFor } from "./engine-options.js";
import { defaultReader, type ProcReader, readerWhenExecBlocked } from "./proc-reader.js";

/** The server's user in our images and in the official ones. */
const SERVER_USER = "redis";
/** Its uid and gid (999 in our images and the official ones). */
const SERVER_UID = 999;
const DEFAULT_LIMITS: Limits = { memory: 64 * 1024 ** 2, pids: 64, nofile: 1024 };

/**
 * One Redis in a container, in the style of testcontainers' own modules: a builder with the few
 * settings a reproduction needs (fault, limits, server arguments, labels), and a started form with
 * the methods a run or a test uses. testcontainers has no setters for PidsLimit, MemorySwap or the
 * host IP of a published port, so this subclass sets them on the protected hostConfig.
 */
export class RedisReproContainer extends GenericContainer {
  private fault: Fault = makeFault("none");
  private limits: Limits = DEFAULT_LIMITS;
  private args: string[] = [];
  private brought = false;
  private lineHandlers: ((line: string) => void)[] = [];

  constructor(image: string) {
    super(image);
    this.withExposedPorts(6379)
      .withLabels({ [LABEL_MANAGED]: "true" })
      // No shell can run where fork fails, so readiness comes from the log, never an exec.
      .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/i))
      .withStartupTimeout(30_000);
  }

  withFault(fault: Fault): this {
    this.fault = fault;
    return this;
  }

  withLimits(limits: Limits): this {
    this.limits = limits;
    return this;
  }

  /** redis-server's arguments (targets/config.ts makes them from a scenario's directives). */
  withServerArgs(args: string[]): this {
    this.args = args;
    return this;
  }

  /** Which run, target and node this is: labels, so any leftover can be found and removed. */
  withRun(runId: string, target: string, node = "main"): this {
    return this.withLabels({
      [LABEL_MANAGED]: "true",
      [LABEL_RUN]: runId,
      [LABEL_TARGET]: target,
      [LABEL_NODE]: node,
      // Which process started it, so cleanup can tell a killed run's leftovers from a live run's.
      ...ownerLabels(),
    });
  }

  /** An image the user brought: its entrypoint may be a shell script, which cannot run under the fault. */
  asBroughtImage(): this {
    this.brought = true;
    return this;
  }

  /** Every line the server logs, as it comes. */
  withLogLines(handler: (line: string) => void): this {
    this.lineHandlers.push(handler);
    return this;
  }

  /** Joins a network by name under an alias (how other nodes reach it: a replica's `slaveof main`). */
  withNetworkAlias(network: string, alias: string): this {
    return this.withNetworkMode(network).withNetworkAliases(alias);
  }

  protected override async beforeContainerCreated(): Promise<void> {
    const { limits } = this;
    this.hostConfig.Memory = limits.memory;
    // Equal to Memory: no swap, so the limit means what it says.
    this.hostConfig.MemorySwap = limits.memory;
    this.hostConfig.PidsLimit = limits.pids;
    this.hostConfig.PortBindings = { "6379/tcp": [{ HostIp: await this.bindIp(), HostPort: "0" }] };
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

  /**
   * Protected mode is off for clients through the port, so it is published no wider than needed:
   * on loopback where the engine is local, else on the address this host reaches the engine at
   * (engine/locality.ts says how that is decided).
   */
  private async bindIp(): Promise<string> {
    return (await engineLocality()).publishing.bindIp;
  }

  /** The fault's options as this engine takes them (Podman: a seccomp profile by path). */
  private async securityOptions(): Promise<string[]> {
    return securityOptionsFor(this.fault, await engineLocality());
  }

  override async start(): Promise<StartedRedisReproContainer> {
    const { limits } = this;
    this.withCommand(this.args)
      .withUlimits(ulimitsFor(limits, await engineLocality()))
      .withSecurityOpt("no-new-privileges", ...(await this.securityOptions()))
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
    if (this.brought) this.withEntrypoint(["redis-server"]).withUser(SERVER_USER).withWorkingDir("/data");
    // Without Ryuk (the harness removes its own containers by run id) there is nothing to register
    // with, and registering takes testcontainers' machine-wide file lock, which it retries every
    // 0.5-3 s: the second of two containers started together waited for the first, and every run
    // for other processes' runs.
    this.withAutoCleanup(process.env.TESTCONTAINERS_RYUK_DISABLED !== "true");
    return new StartedRedisReproContainer(await super.start(), this.fault, limits, this.imageName.string);
  }
}

export class StartedRedisReproContainer extends AbstractStartedContainer {
  /** Where clients reach the published port: the engine's host as testcontainers gives it. */
  readonly host: string;
  readonly port: number;
  /**
   * How fds and files are read (proc-reader.ts): this host's /proc where it shows the server, else
   * exec; a fault that blocks exec may change it when armed. Chosen in the background from the start.
   */
  private reader: Promise<ProcReader>;
  private kept: Redis | undefined;
  private connecting: Promise<Redis> | undefined;
  private readonly counters: ReturnType<typeof watchCounters>;

  constructor(
    started: StartedTestContainer,
    readonly fault: Fault,
    readonly limits: Limits,
    private readonly image: string,
  ) {
    super(started);
    // Loopback as 127.0.0.1 (what the port is bound to), not a name that may resolve to ::1.
    this.host = decidePublishing(started.getHost()).connectHost;
    this.port = started.getMappedPort(6379);
    this.reader = defaultReader(started, SERVER_USER);
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

  /**
   * Arms the fault (a pids limit is set once the server runs) and says what it did. Under a fault
   * that leaves no room for a probe process, fds and files are read another way, chosen first.
   */
  async arm(): Promise<string | null> {
    const id = this.getId();
    // This host's /proc works whatever the container admits; an exec would not, once armed.
    if (this.fault.blocksExec && (await this.reader).kind === "exec") {
      this.reader = this.readerWhenExecBlocked();
      await this.reader;
    }
    const detail = this.fault.arm
      ? await this.fault.arm({
          taskCount: async () => {
            const current = (await containerCounters(id)).tasks;
            if (!current)
              throw new Error(
                "the engine reports no pids count for the container (no pids cgroup controller?)",
              );
            return current;
          },
          setPidsLimit: (limit) => setPidsLimit(id, limit),
        })
      : null;
    return detail && this.fault.blocksExec ? `${detail}; fds read by ${(await this.reader).how}` : detail;
  }

  /** This host's /proc where it shows the server, else a sidecar in the server's PID namespace. */
  private readerWhenExecBlocked(): Promise<ProcReader> {
    return readerWhenExecBlocked(this, this.image, SERVER_USER);
  }

  /** The server's open fds by kind (the reader says how: an exec as the server's user, /proc, a sidecar). */
  async fds(t: number): Promise<FdSample | undefined> {
    return (await this.reader).fds(t);
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
  async endState(log: readonly string[] = []): Promise<string | undefined> {
    return (await containerEnd(this.getId(), this.limits.memory, log))?.detail;
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
