import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import { execa } from "execa";
import {
  Daemon,
  freeOctet,
  madeOrUndone,
  netnsWithVeth,
  newId,
  removeCgroups,
  type Teardown,
  tempFolder,
  tool,
  toolsMissing,
} from "./host-state.js";

export { findTool, hostTraces } from "./host-state.js";

/**
 * A second, private Docker engine for tests that must stop or restart an engine, or reach one that
 * is not on the host's sockets: the shared one runs other people's containers and is never touched.
 * Everything of its own: data and exec roots, pid file and socket under a new temporary folder, its
 * own containerd (dockerd starts one under the exec root), its own bridge and subnet, no iptables or
 * ip-forward changes, a containerd namespace and cgroup parent of its own.
 *
 * `reach: "tcp"` puts it in a network namespace of its own, joined to the host by a veth pair: the
 * engine listens on the namespace's end of the pair (a non-loopback address) over TCP, and its
 * published ports are reachable from the host only at that address, as a remote engine's would be.
 *
 * Every piece of host state is made through a Teardown (host-state.ts) and undone in reverse order,
 * in every ending: a daemon that cannot start, a test that throws, stop().
 */
export interface PrivateEngine {
  /** In every name it made (hostTraces(id) lists what is left of it). */
  id: string;
  /** DOCKER_HOST for the harness: unix://… or tcp://ADDRESS:2375. */
  host: string;
  /** With reach "tcp": the engine's address on the veth pair (not loopback, not on the host). */
  address?: string;
  docker: Dockerode;
  restart(): Promise<{ downMs: number }>;
  stop(): Promise<void>;
}

export interface PrivateEngineOptions {
  reach?: "socket" | "tcp";
  /** More dockerd flags (a test of the cleanup passes one dockerd refuses). */
  daemonArgs?: string[];
  /** Six hex digits in every name it makes (default random): a test can then look for them. */
  id?: string;
}

/** Why this machine cannot run a private engine (one line naming what to install), or undefined. */
export function privateEngineMissing(
  find?: (name: string) => string | undefined,
  uid = process.getuid?.(),
): string | undefined {
  return toolsMissing(["dockerd", "ip", "nsenter"], "a private dockerd", find, uid);
}

export function startPrivateEngine(options: PrivateEngineOptions = {}): Promise<PrivateEngine> {
  const id = options.id ?? newId();
  return madeOrUndone((teardown) => build(options.reach ?? "socket", id, options.daemonArgs ?? [], teardown));
}

async function build(
  reach: "socket" | "tcp",
  id: string,
  daemonArgs: string[],
  teardown: Teardown,
): Promise<PrivateEngine> {
  const ip = tool("ip");
  const dockerd = tool("dockerd");
  const dir = await tempFolder("engine", id, teardown);
  const bridge = `rr${id}`;
  const socket = join(dir, "docker.sock");
  const pidFile = join(dir, "dockerd.pid");
  const octet = await freeOctet();
  // Where the daemon runs: the host's network namespace, or one of its own joined by a veth pair.
  const netns = reach === "tcp" ? await netnsWithVeth(id, octet, teardown) : undefined;
  const address = netns?.address;

  // The containers' bridge, beside the daemon (in its namespace, when it has one).
  const inNs = netns ? ["-n", netns.name] : [];
  const subnet = netns ? `10.254.${octet}.1/24` : `10.253.${octet}.1/24`;
  await execa(ip, [...inNs, "link", "add", bridge, "type", "bridge"]);
  teardown.add(`delete bridge ${bridge}`, () =>
    execa(ip, [...inNs, "link", "del", bridge], { reject: false }),
  );
  await execa(ip, [...inNs, "addr", "add", subnet, "dev", bridge]);
  await execa(ip, [...inNs, "link", "set", bridge, "up"]);
  // Containers' cgroups go under /BRIDGE in each v1 hierarchy (or the v2 tree): empty folders that
  // outlive the daemon unless removed.
  teardown.add(`remove cgroup /${bridge}`, () => removeCgroups(bridge));

  const host = netns ? `tcp://${address}:2375` : `unix://${socket}`;
  const docker = new Dockerode(netns ? { host: address, port: 2375 } : { socketPath: socket });
  const daemon = new Daemon(
    dockerd,
    [
      ...(netns?.enter ?? []),
      dockerd,
      ...["--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", pidFile],
      ...["-H", `unix://${socket}`, ...(netns ? ["-H", host, "--tls=false"] : [])],
      ...["--bridge", bridge],
      ...["--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false"],
      ...["--cgroup-parent", `/${bridge}`, "--containerd-namespace", bridge],
      ...["--containerd-plugins-namespace", `${bridge}-plugins`],
      ...daemonArgs,
    ],
    join(dir, "dockerd.log"),
    () => docker.ping(),
  );
  const shutdown = async () => {
    await daemon.stop();
    // It removes its pid file last; a restart must not find the old one.
    const until = Date.now() + 10_000;
    while (existsSync(pidFile) && Date.now() < until) await sleep(100);
  };
  teardown.add("stop dockerd", async () => {
    // Every container on it is the test's: removed before the daemon stops (their shims outlive it).
    const all = await docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(
      all.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    await shutdown();
  });
  await daemon.start();
  return {
    id,
    host,
    ...(address ? { address } : {}),
    docker,
    async restart() {
      const t0 = Date.now();
      await shutdown();
      const downMs = Date.now() - t0;
      await daemon.start();
      return { downMs };
    },
    stop: () => teardown.run(),
  };
}

/**
 * Copies images from one engine into another (docker save | docker load, by API), in one archive so
 * the layers they share travel once.
 */
export async function copyImages(from: Dockerode, to: Dockerode, refs: string[]): Promise<void> {
  // GET /images/get?names=…: dockerode has it (getImages), its types do not.
  const save = from as unknown as { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> };
  const tar = await save.getImages({ names: refs });
  const stream = await to.loadImage(tar);
  await new Promise<void>((resolve, reject) =>
    to.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

export function copyImage(from: Dockerode, to: Dockerode, ref: string): Promise<void> {
  return copyImages(from, to, [ref]);
}
