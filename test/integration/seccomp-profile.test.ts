import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fault } from "../../harness/core/fault.js";
import { removeContainers } from "../../harness/engine/cleanup.js";
import { dockerode, prepareReaper } from "../../harness/engine/client.js";
import {
  RedisReproContainer,
  type StartedRedisReproContainer,
} from "../../harness/parts/container/redis-container.js";
import { faultFrom } from "../../harness/parts/faults/index.js";
import { ensureImage } from "../../harness/targets/build.js";
import { parseTarget } from "../../harness/targets/spec.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/**
 * The fault profile replaces the engine's default one: in a real container it must refuse what the
 * default refuses (io_uring_setup is one that this kernel allows an unprivileged process, shown by
 * the unconfined control), while Redis still serves and fork still fails with ENOMEM.
 */
const missing = await missingSource("3.2.8");
const runId = `seccomp-${process.pid}`;

beforeAll(async () => {
  await prepareReaper();
});

afterAll(async () => {
  await removeContainers(runId);
});

async function start(fault: Fault, lines: string[] = []): Promise<StartedRedisReproContainer> {
  const image = await ensureImage(parseTarget("3.2.8"), { bases: "auto" });
  return new RedisReproContainer(image)
    .withRun(runId, "3.2.8")
    .withFault(fault)
    .withLimits({ memory: 256 * 1024 ** 2, pids: 64, nofile: 1024 })
    .withConfig({ appendonly: "no", save: "" })
    .withLogLines((line) => lines.push(line))
    .start();
}

/** The probe runs as one exec'd program (no shell: under the fault nothing can fork). */
async function probe(container: StartedRedisReproContainer) {
  const result = await container.exec(["syscall-probe", "io_uring_setup"]);
  return { exitCode: result.exitCode, output: result.output.trim() };
}

async function waitForLine(lines: string[], pattern: RegExp, ms: number): Promise<string | undefined> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

describe.skipIf(missing)(skipTitle("the seccomp fault in a real container", missing), () => {
  it("control: without any profile this kernel lets an unprivileged process set up io_uring", async () => {
    const container = await start({
      ...faultFrom("none"),
      container: { securityOpt: ["seccomp=unconfined"] },
    });
    try {
      const result = await probe(container);
      expect(result.output).toBe("io_uring_setup: allowed");
      expect(result.exitCode).toBe(0);
    } finally {
      await container.stop({ remove: true, timeout: 1 });
    }
  }, 60_000);

  it("under the fault: io_uring_setup gets EPERM, Redis answers, a fork fails with ENOMEM", async () => {
    const lines: string[] = [];
    const container = await start(faultFrom("seccomp-enomem"), lines);
    const client = container.client();
    try {
      const result = await probe(container);
      expect(result.output).toBe("io_uring_setup: refused errno=1 (Operation not permitted)");
      expect(result.exitCode).toBe(1);
      await client.connect();
      expect(await client.ping()).toBe("PONG");
      await client.set("k", "v");
      await client.bgsave().catch(() => undefined);
      const failed = await waitForLine(
        lines,
        /Can't save in background: fork: Cannot allocate memory/,
        5_000,
      );
      expect(failed, lines.slice(-5).join("\n")).toBeDefined();
      expect(await client.get("k")).toBe("v");
    } finally {
      client.disconnect();
      await container.stop({ remove: true, timeout: 1 });
    }
  }, 60_000);

  it("the pids-limit fault keeps the engine's default profile (a filter, no seccomp option of ours)", async () => {
    const f = faultFrom("pids-limit");
    const container = await start(f);
    try {
      const inspected = await (await dockerode()).getContainer(container.getId()).inspect();
      const options: string[] = inspected.HostConfig.SecurityOpt ?? [];
      expect(options.filter((o) => o.startsWith("seccomp"))).toEqual([]);
      expect(options).toContain("no-new-privileges");
      // Mode 2 is a seccomp filter: the engine applied its default profile (unconfined would be 0).
      const status = await container.exec(["cat", "/proc/1/status"]);
      expect(status.output).toMatch(/^Seccomp:\s+2$/m);
    } finally {
      await container.stop({ remove: true, timeout: 1 });
    }
    expect(await countContainers(runId)).toBe(0);
  }, 60_000);
});
