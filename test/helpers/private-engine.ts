import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Dockerode from "dockerode";
import { execa, type ResultPromise } from "execa";

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
 * Every piece of host state is recorded as it is made and undone in reverse order, in every ending:
 * a daemon that cannot start, a test that throws, stop().
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

/** The tools a private engine needs, and the Debian package that has each. */
const TOOLS = { dockerd: "docker.io", ip: "iproute2", nsenter: "util-linux" } as const;
type Tool = keyof typeof TOOLS;

/**
 * A tool's absolute path: PATH first, then the sbin folders a user's PATH often lacks. The daemon is
 * then started from the very file that was checked (not whatever `dockerd` PATH finds).
 */
export function findTool(name: string, path = process.env.PATH ?? ""): string | undefined {
  const dirs = [...path.split(delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
  for (const dir of dirs.filter(Boolean)) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here: the next folder.
    }
  }
  return undefined;
}

/** Why this machine cannot run a private engine (one line naming what to install), or undefined. */
export function privateEngineMissing(
  find: (name: string) => string | undefined = findTool,
  uid = process.getuid?.(),
): string | undefined {
  if (uid !== 0) return "needs root to start a private dockerd (run the suite as root)";
  for (const [tool, pkg] of Object.entries(TOOLS))
    if (!find(tool)) return `needs ${tool} to start a private engine: install Debian's ${pkg} package`;
  return undefined;
}

function tool(name: Tool): string {
  const file = findTool(name);
  if (!file) throw new Error(`private engine: no ${name}: install Debian's ${TOOLS[name]} package`);
  return file;
}

/** Undo steps, run last-made first; each one's failure is kept and reported after all have run. */
class Teardown {
  private steps: { what: string; undo: () => Promise<unknown> }[] = [];
  add(what: string, undo: () => Promise<unknown>): void {
    this.steps.push({ what, undo });
  }
  async run(): Promise<void> {
    const failed: string[] = [];
    for (const step of this.steps.reverse()) {
      try {
        await step.undo();
      } catch (error) {
        failed.push(`${step.what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.steps = [];
    if (failed.length) throw new Error(`private engine: cleanup failed: ${failed.join("; ")}`);
  }
}

/** A /24 (or /30) under 10.253/16 that no interface of the host uses yet. */
async function freeOctet(ip: string): Promise<number> {
  const used = (await execa(ip, ["-4", "addr"])).stdout;
  for (let tries = 0; tries < 100; tries++) {
    const octet = 100 + Math.floor(Math.random() * 150);
    if (!used.includes(`10.253.${octet}.`)) return octet;
  }
  throw new Error("private engine: no free 10.253.x.0/24 subnet");
}

/** Mount points under a folder, deepest first (a killed daemon can leave overlay and netns mounts). */
async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .map((line) => line.split(" ")[4] ?? "")
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** The daemon's log, last lines, for an error that says why it did not come up. */
async function logTail(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trim().split("\n").slice(-5).join(" | ") || "(empty log)";
}

export async function startPrivateEngine(options: PrivateEngineOptions = {}): Promise<PrivateEngine> {
  const reach = options.reach ?? "socket";
  const ip = tool("ip");
  const dockerd = tool("dockerd");
  const teardown = new Teardown();
  try {
    const id = options.id ?? randomBytes(3).toString("hex");
    return await build(reach, id, ip, dockerd, options.daemonArgs ?? [], teardown);
  } catch (error) {
    // Whatever was made before the failure goes, then the failure is reported (with the cleanup's).
    try {
      await teardown.run();
    } catch (cleanup) {
      throw new Error(`${(error as Error).message}; ${(cleanup as Error).message}`);
    }
    throw error;
  }
}

async function build(
  reach: "socket" | "tcp",
  id: string,
  ip: string,
  dockerd: string,
  daemonArgs: string[],
  teardown: Teardown,
): Promise<PrivateEngine> {
  const dir = await mkdtemp(join(tmpdir(), `rr-engine-${id}-`));
  teardown.add(`remove ${dir}`, async () => {
    // Mounts a killed daemon left (overlay layers, netns files) first: rm cannot cross them.
    for (const point of await mountsUnder(dir)) await execa("umount", ["-l", point], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  const bridge = `rr${id}`;
  const socket = join(dir, "docker.sock");
  const pidFile = join(dir, "dockerd.pid");
  const logFile = join(dir, "dockerd.log");
  const octet = await freeOctet(ip);

  // Where the daemon runs: the host's network namespace, or one of its own joined by a veth pair.
  let inNs: string[] = [];
  let nsName: string | undefined;
  let address: string | undefined;
  if (reach === "tcp") {
    const ns = `rrns${id}`;
    const hostEnd = `rrv${id}h`;
    const nsEnd = `rrv${id}n`;
    await execa(ip, ["netns", "add", ns]);
    teardown.add(`delete netns ${ns}`, () => execa(ip, ["netns", "del", ns]));
    await execa(ip, ["link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd]);
    // Deleting either end deletes the pair; the namespace's deletion would too, this is for the order.
    teardown.add(`delete veth ${hostEnd}`, () => execa(ip, ["link", "del", hostEnd], { reject: false }));
    await execa(ip, ["link", "set", nsEnd, "netns", ns]);
    await execa(ip, ["addr", "add", `10.253.${octet}.1/30`, "dev", hostEnd]);
    await execa(ip, ["link", "set", hostEnd, "up"]);
    // nsenter joins the network namespace only: `ip netns exec` would also remount /sys, hiding the
    // cgroup mounts under /sys/fs/cgroup that dockerd needs ("Devices cgroup isn't mounted").
    inNs = [tool("nsenter"), `--net=/run/netns/${ns}`];
    nsName = ns;
    address = `10.253.${octet}.2`;
    await execa(ip, ["-n", ns, "addr", "add", `${address}/30`, "dev", nsEnd]);
    await execa(ip, ["-n", ns, "link", "set", nsEnd, "up"]);
    await execa(ip, ["-n", ns, "link", "set", "lo", "up"]);
  }
  // The containers' bridge, beside the daemon (in its namespace, when it has one).
  const netns = nsName ? ["-n", nsName] : [];
  const subnet = reach === "tcp" ? `10.254.${octet}.1/24` : `10.253.${octet}.1/24`;
  await execa(ip, [...netns, "link", "add", bridge, "type", "bridge"]);
  teardown.add(`delete bridge ${bridge}`, () =>
    execa(ip, [...netns, "link", "del", bridge], { reject: false }),
  );
  await execa(ip, [...netns, "addr", "add", subnet, "dev", bridge]);
  await execa(ip, [...netns, "link", "set", bridge, "up"]);
  // Containers' cgroups go under /BRIDGE in each v1 hierarchy (or the v2 tree): empty folders that
  // outlive the daemon unless removed.
  teardown.add(`remove cgroup /${bridge}`, () => removeCgroups(bridge));

  const host = reach === "tcp" ? `tcp://${address}:2375` : `unix://${socket}`;
  const docker = new Dockerode(reach === "tcp" ? { host: address, port: 2375 } : { socketPath: socket });
  let daemon: ResultPromise | undefined;

  const launch = async () => {
    const listen = ["-H", `unix://${socket}`, ...(reach === "tcp" ? ["-H", host, "--tls=false"] : [])];
    daemon = execa(
      inNs[0] ?? dockerd,
      [
        ...inNs.slice(1),
        ...(inNs.length ? [dockerd] : []),
        ...["--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", pidFile],
        ...listen,
        ...["--bridge", bridge],
        ...["--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false"],
        ...["--cgroup-parent", `/${bridge}`, "--containerd-namespace", bridge],
        ...["--containerd-plugins-namespace", `${bridge}-plugins`],
        ...daemonArgs,
      ],
      { reject: false, stdout: "ignore", stderr: { file: logFile } },
    );
    const exited = daemon.then((r) => r);
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      if (
        await docker.ping().then(
          () => true,
          () => false,
        )
      )
        return;
      // A daemon that exits does not come back: say why at once, not after the timeout.
      const ended = await Promise.race([exited, sleep(200).then(() => undefined)]);
      if (ended)
        throw new Error(
          `private engine: ${dockerd} exited (${ended.exitCode ?? ended.signal}) before answering: ${await logTail(logFile)}`,
        );
    }
    throw new Error(`private engine: no answer within 60 s: ${await logTail(logFile)}`);
  };
  /** SIGTERM to the daemon we started (by its pid, never a name), SIGKILL after 30 s; waits for its exit. */
  const shutdown = async () => {
    const running = daemon;
    daemon = undefined;
    if (!running) return;
    const signal = (name: NodeJS.Signals) => {
      try {
        if (running.pid && running.exitCode === null) process.kill(running.pid, name);
      } catch (error) {
        // Already gone between the check and the signal: the outcome we want.
        if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
      }
    };
    signal("SIGTERM");
    const grace = sleep(30_000, false, { ref: false });
    if (!(await Promise.race([running.then(() => true), grace]))) {
      signal("SIGKILL");
      await running;
    }
    // It removes its pid file last; a restart must not find the old one.
    const until = Date.now() + 10_000;
    while (existsSync(pidFile) && Date.now() < until) await sleep(100);
  };
  /** Every container on the private engine (all are the test's) before the daemon stops. */
  const removeAll = async () => {
    const all = await docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(
      all.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
  };

  teardown.add("stop dockerd", async () => {
    await removeAll();
    await shutdown();
  });
  await launch();
  return {
    id,
    host,
    ...(address ? { address } : {}),
    docker,
    async restart() {
      const t0 = Date.now();
      await shutdown();
      const downMs = Date.now() - t0;
      await launch();
      return { downMs };
    },
    stop: () => teardown.run(),
  };
}

/** Removes the cgroup folders named NAME under each hierarchy (children first); absent ones are fine. */
async function removeCgroups(name: string): Promise<void> {
  const root = "/sys/fs/cgroup";
  const tops = existsSync(join(root, "cgroup.controllers"))
    ? [root]
    : (await readdir(root).catch(() => [])).map((h) => join(root, h));
  const removeTree = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name));
    await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  };
  for (const top of tops) if (existsSync(join(top, name))) await removeTree(join(top, name));
}

/** Every trace a private engine with this id could leave on the host: what stop() must remove. */
export async function hostTraces(id: string): Promise<string[]> {
  const ip = tool("ip");
  const links = (await execa(ip, ["-o", "link"])).stdout.split("\n");
  const netns = (await execa(ip, ["netns", "list"])).stdout.split("\n");
  const folders = (await readdir(tmpdir())).filter((f) => f.startsWith(`rr-engine-${id}-`));
  const cgroups = (await readdir("/sys/fs/cgroup")).flatMap((h) =>
    existsSync(join("/sys/fs/cgroup", h, `rr${id}`)) ? [`cgroup ${h}/rr${id}`] : [],
  );
  const processes = (await execa("ps", ["-eo", "args"])).stdout
    .split("\n")
    .filter((p) => p.includes(`rr-engine-${id}-`));
  return [
    ...links.filter((l) => l.includes(`rr${id}`) || l.includes(`rrv${id}`)),
    ...netns.filter((n) => n.includes(`rrns${id}`)),
    ...folders,
    ...cgroups,
    ...processes,
  ];
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
