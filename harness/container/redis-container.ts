import type { Readable } from "node:stream";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { LABEL_MANAGED, LABEL_RUN, LABEL_TARGET } from "../engine/labels.js";

export interface ContainerSpec {
  image: string;
  /** Our images start redis-server as their entrypoint; brought ones get it set (no shell may run). */
  brought: boolean;
  args: string[];
  runId: string;
  target: string;
  memoryBytes: number;
  pids: number;
  nofile: number;
  securityOpt: string[];
  onLogLine: (line: string) => void;
  startupTimeoutMs?: number;
}

/**
 * One Redis in a container with its limits. testcontainers has no setters for PidsLimit, MemorySwap
 * or the host IP of a published port, so (like its own modules) this subclass sets them on the
 * protected hostConfig before the container is created.
 */
class LimitedRedisContainer extends GenericContainer {
  constructor(private readonly spec: ContainerSpec) {
    super(spec.image);
  }

  protected override async beforeContainerCreated(): Promise<void> {
    const { spec } = this;
    this.hostConfig.Memory = spec.memoryBytes;
    // Equal to Memory: no swap, so the limit means what it says.
    this.hostConfig.MemorySwap = spec.memoryBytes;
    this.hostConfig.PidsLimit = spec.pids;
    // Protected mode is off for clients through the port: publish on loopback only.
    this.hostConfig.PortBindings = { "6379/tcp": [{ HostIp: "127.0.0.1", HostPort: "0" }] };
    this.hostConfig.CapDrop = ["ALL"];
    this.hostConfig.Privileged = false;
  }
}

export async function startRedisContainer(spec: ContainerSpec): Promise<StartedTestContainer> {
  let container = new LimitedRedisContainer(spec)
    .withCommand(spec.args)
    .withExposedPorts(6379)
    .withLabels({ [LABEL_MANAGED]: "true", [LABEL_RUN]: spec.runId, [LABEL_TARGET]: spec.target })
    .withUlimits({ nofile: { soft: spec.nofile, hard: spec.nofile } })
    .withSecurityOpt("no-new-privileges", ...spec.securityOpt)
    .withLogConsumer((stream: Readable) => {
      let rest = "";
      stream.on("data", (chunk: Buffer | string) => {
        const lines = (rest + chunk.toString()).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) spec.onLogLine(line.trimEnd());
      });
    })
    // No shell can run where fork fails, so readiness comes from the log, never an exec.
    .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/i))
    .withStartupTimeout(spec.startupTimeoutMs ?? 30_000)
    // Without Ryuk (the harness removes its own containers by run id) there is nothing to register
    // with, and registering takes testcontainers' machine-wide file lock, which it retries every
    // 0.5-3 s: the second of two containers started together waited for the first, and every run for
    // other processes' runs.
    .withAutoCleanup(process.env.TESTCONTAINERS_RYUK_DISABLED !== "true");
  if (spec.brought)
    container = container.withEntrypoint(["redis-server"]).withUser("redis").withWorkingDir("/data");
  return container.start();
}
