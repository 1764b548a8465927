import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findTool, hostTraces, privateEngineMissing, startPrivateEngine } from "../helpers/private-engine.js";
import { skipTitle } from "./support.js";

/**
 * The private-engine helper (test/helpers/private-engine.ts) changes the host: interfaces, a network
 * namespace, cgroups, a daemon, a folder. Whatever ending, none of it may stay. Here the daemon
 * cannot start (dockerd refuses a flag it does not know), which once left a bridge and a folder.
 */
const missing = privateEngineMissing();
if (missing) console.warn(`[skip] ${missing}`);

describe("private engine helper: tools", () => {
  it("finds a tool by absolute path, in PATH or the sbin folders, and only if executable", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-tools-"));
    await writeFile(join(dir, "rr-tool"), "#!/bin/sh\n");
    expect(findTool("rr-tool", dir)).toBeUndefined();
    await chmod(join(dir, "rr-tool"), 0o755);
    expect(findTool("rr-tool", dir)).toBe(join(dir, "rr-tool"));
    expect(findTool("rr-no-such-tool", dir)).toBeUndefined();
  });

  it("a missing tool is a skip reason naming the Debian package, not a timeout", () => {
    const without = (name: string) => (tool: string) => (tool === name ? undefined : `/usr/sbin/${tool}`);
    expect(privateEngineMissing(without("dockerd"), 0)).toBe(
      "needs dockerd to start a private dockerd: install Debian's docker.io package",
    );
    expect(privateEngineMissing(without("ip"), 0)).toMatch(/install Debian's iproute2 package$/);
    expect(privateEngineMissing(without("nsenter"), 0)).toMatch(/install Debian's util-linux package$/);
    expect(privateEngineMissing(without("none"), 1000)).toMatch(/^needs root/);
    expect(privateEngineMissing(without("none"), 0)).toBeUndefined();
  });
});

describe.skipIf(missing)(skipTitle("private engine helper: a daemon that cannot start", missing), () => {
  for (const reach of ["socket", "tcp"] as const) {
    it(`reach ${reach}: fails at once with the daemon's reason and leaves nothing on the host`, async () => {
      const id = Math.floor(Math.random() * 0xffffff)
        .toString(16)
        .padStart(6, "0");
      const started = Date.now();
      const error = await startPrivateEngine({ reach, id, daemonArgs: ["--no-such-flag"] }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/dockerd exited \(1\) before answering: .*no-such-flag/);
      // Not the 60 s wait for an answer that never comes.
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(await hostTraces(id)).toEqual([]);
    }, 60_000);
  }

  it("a daemon that started and stopped leaves nothing either (tcp: namespace, veth, bridge)", async () => {
    const id = "a1b2c3";
    const engine = await startPrivateEngine({ reach: "tcp", id });
    try {
      expect(engine.address).toMatch(/^10\.253\.\d+\.2$/);
      expect((await engine.docker.version()).ApiVersion).toBeTruthy();
      expect((await hostTraces(id)).length).toBeGreaterThan(0);
    } finally {
      await engine.stop();
    }
    expect(await hostTraces(id)).toEqual([]);
  }, 120_000);
});
