import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import { execa, type ResultPromise } from "execa";

/**
 * A second, private Docker engine for tests that must stop or restart an engine: the shared one runs
 * other people's containers and is never touched. Everything of its own: data and exec roots, pid
 * file and socket under a new temporary folder, its own containerd (started by dockerd under the
 * exec root), its own bridge interface and subnet, no iptables or ip-forward changes, a containerd
 * namespace and cgroup parent of its own.
 */
export interface PrivateEngine {
  host: string;
  docker: Dockerode;
  restart(): Promise<{ downMs: number }>;
  stop(): Promise<void>;
}

/** Why this machine cannot run a private engine, or undefined when it can. */
export function privateEngineMissing(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root to start a private dockerd";
  for (const tool of ["/usr/sbin/dockerd", "/usr/sbin/ip"])
    if (!existsSync(tool)) return `needs ${tool} to start a private engine`;
  return undefined;
}

async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`private engine: ${what} within ${ms} ms`);
}

export async function startPrivateEngine(): Promise<PrivateEngine> {
  const dir = await mkdtemp(join(tmpdir(), "rr-engine-"));
  const socket = join(dir, "docker.sock");
  const pidFile = join(dir, "dockerd.pid");
  const bridge = `rr${randomBytes(3).toString("hex")}`;
  const used = (await execa("ip", ["-4", "addr"])).stdout;
  let octet = 0;
  do octet = 100 + Math.floor(Math.random() * 150);
  while (used.includes(`10.253.${octet}.`));
  await execa("ip", ["link", "add", bridge, "type", "bridge"]);
  await execa("ip", ["addr", "add", `10.253.${octet}.1/24`, "dev", bridge]);
  await execa("ip", ["link", "set", bridge, "up"]);
  const docker = new Dockerode({ socketPath: socket });
  let daemon: ResultPromise | undefined;

  const launch = async () => {
    daemon = execa(
      "dockerd",
      [
        ...["--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", pidFile],
        ...["-H", `unix://${socket}`, "--bridge", bridge],
        ...["--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false"],
        ...["--cgroup-parent", `/${bridge}`, "--containerd-namespace", bridge],
        ...["--containerd-plugins-namespace", `${bridge}-plugins`],
      ],
      { reject: false, stdout: "ignore", stderr: { file: join(dir, "dockerd.log") } },
    );
    await waitFor(async () => (await docker.ping()) !== undefined, 30_000, "no answer");
  };
  /** SIGTERM to the daemon we started (by its pid), then wait until it has exited. */
  const shutdown = async () => {
    const pid = daemon?.pid ?? Number(await readFile(pidFile, "utf8").catch(() => "0"));
    if (pid > 0) process.kill(pid, "SIGTERM");
    await daemon;
    await waitFor(async () => !existsSync(pidFile), 30_000, "pid file still there after exit");
  };

  await launch();
  return {
    host: `unix://${socket}`,
    docker,
    async restart() {
      const t0 = Date.now();
      await shutdown();
      const downMs = Date.now() - t0;
      await launch();
      return { downMs };
    },
    async stop() {
      await shutdown().catch(() => undefined);
      await execa("ip", ["link", "del", bridge], { reject: false });
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

/** Copies an image from the shared engine into the private one (docker save | docker load, by API). */
export async function copyImage(from: Dockerode, to: Dockerode, ref: string): Promise<void> {
  const tar = await from.getImage(ref).get();
  const stream = await to.loadImage(tar);
  await new Promise<void>((resolve, reject) =>
    to.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}
