import { afterAll, describe, expect, it } from "vitest";
import { execReader, hostProcIsContainers, startSidecarReader } from "../../harness/container/proc-reader.js";
import { RedisReproContainer } from "../../harness/container/redis-container.js";
import { removeContainers } from "../../harness/engine/cleanup.js";
import { prepareReaper } from "../../harness/engine/client.js";
import { containerCounters, containerState, setPidsLimit } from "../../harness/engine/containers.js";
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
    const image = (await ensureImage(parseTarget("3.2.8"), { bases: "auto" })).image;
    const server = await new RedisReproContainer(image)
      .withRun(runId, "3.2.8")
      .withServerArgs(["--appendonly", "yes", "--dir", "/data"])
      .start();
    try {
      const exec = execReader(server, "redis");
      const byExec = await exec.fds(0);
      expect(byExec?.total).toBeGreaterThanOrEqual(5);
      const pid = (await containerState(server.getId())).Pid;
      expect(await hostProcIsContainers(pid, server.getId())).toBe(true);
      // A pid whose cgroup does not name the container (as on another kernel) is not taken.
      expect(await hostProcIsContainers(process.pid, server.getId())).toBe(false);
      expect(await hostProcIsContainers(pid, "0123456789ab".repeat(5))).toBe(false);

      const sidecar = await startSidecarReader(server, image, "redis");
      expect(sidecar.how).toMatch(/sidecar container in the server's PID namespace/);
      expect(await countContainers(runId)).toBe(2);
      const bySidecar = await sidecar.fds(0);
      expect(bySidecar && { ...bySidecar, t: 0 }).toEqual({ ...byExec, t: 0 });
      const files = await sidecar.listDir("/data");
      expect(files?.map((f) => f.name)).toContain("appendonly.aof");
      expect(files).toEqual(await exec.listDir("/data"));
      expect(await sidecar.listDir("/data/no-such-dir")).toBeUndefined();

      // The server's pids cgroup is now full: no exec starts in it, the sidecar (its own cgroup) reads on.
      await setPidsLimit(server.getId(), (await containerCounters(server.getId())).tasks ?? 3);
      const blocked = await exec.fds(0).then(
        (s) => s,
        () => undefined,
      );
      expect(blocked).toBeUndefined();
      expect((await sidecar.fds(0))?.total).toBe(byExec?.total);
      await sidecar.close();
      expect(await countContainers(runId)).toBe(1);
    } finally {
      await server.discard();
    }
    expect(await countContainers(runId)).toBe(0);
  }, 120_000);
});
