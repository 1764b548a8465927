import { afterAll, describe, expect, it } from "vitest";
import type { FdEntry } from "../../harness/core/node.js";
import { removeContainers } from "../../harness/engine/cleanup.js";
import { prepareReaper } from "../../harness/engine/client.js";
import { containerCounters, containerState, setPidsLimit } from "../../harness/engine/containers.js";
import {
  execReader,
  hostProcIsContainers,
  startSidecarReader,
} from "../../harness/parts/container/proc-reader.js";
import { RedisReproContainer } from "../../harness/parts/container/redis-container.js";
import { fdsFromHost } from "../../harness/parts/probes/fds.js";
import { ensureImage } from "../../harness/targets/build.js";
import { parseTarget } from "../../harness/targets/spec.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/**
 * The ways fds and files are read (harness/container/proc-reader.ts), on the local engine: exec in
 * the server's container, this host's /proc (only where its cgroup names the container), and a
 * sidecar in the server's PID namespace, which still reads once the pids limit admits no exec.
 */
const missing = await missingSource("3.2.8");
const runId = `proc-reader-${process.pid}`;

afterAll(async () => {
  await removeContainers(runId);
});

describe.skipIf(missing)(skipTitle("fd readers on a real server", missing), () => {
  it("exec, host /proc and a sidecar read the same fds and files; the sidecar outlives the pids limit", async () => {
    await prepareReaper();
    const built = await ensureImage(parseTarget("3.2.8"), { bases: "auto" });
    const image = built.image;
    const server = await new RedisReproContainer(built)
      .withRun(runId, "3.2.8")
      .withConfig({ appendonly: true })
      .start();
    try {
      const exec = execReader(server, "redis");
      const byExec = await exec.fds();
      expect(byExec?.length).toBeGreaterThanOrEqual(5);
      const pid = (await containerState(server.getId())).Pid;
      expect(await hostProcIsContainers(pid, server.getId())).toBe(true);
      // A pid whose cgroup does not name the container (as on another kernel) is not taken.
      expect(await hostProcIsContainers(process.pid, server.getId())).toBe(false);
      expect(await hostProcIsContainers(pid, "0123456789ab".repeat(5))).toBe(false);
      // This host's /proc sees the same table (in fd order; ls sorts by name).
      const byFd = (l: FdEntry[] | undefined) => [...(l ?? [])].sort((x, y) => x.fd - y.fd);
      expect(byFd(await fdsFromHost(pid))).toEqual(byFd(byExec));

      const sidecar = await startSidecarReader(server, image, "redis");
      expect(sidecar.how).toMatch(/sidecar container in the server's PID namespace/);
      expect(await countContainers(runId)).toBe(2);
      expect(await sidecar.fds()).toEqual(byExec);
      const files = await sidecar.listDir("/data");
      expect(files?.map((f) => f.name)).toContain("appendonly.aof");
      expect(files).toEqual(await exec.listDir("/data"));
      expect(await sidecar.listDir("/data/no-such-dir")).toBeUndefined();

      // The server's pids cgroup is now full: no exec starts in it, the sidecar (its own cgroup) reads on.
      await setPidsLimit(server.getId(), (await containerCounters(server.getId())).tasks ?? 3);
      const blocked = await exec.fds().then(
        (s) => s,
        () => undefined,
      );
      expect(blocked).toBeUndefined();
      expect(await sidecar.fds()).toEqual(byExec);
      await sidecar.close();
      expect(await countContainers(runId)).toBe(1);
    } finally {
      await server.discard();
    }
    expect(await countContainers(runId)).toBe(0);
  }, 120_000);
});
