import { randomBytes } from "node:crypto";
import { accessSync, constants, existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type ResultPromise } from "execa";

/**
 * The pieces of host state the private engines (private-engine.ts: dockerd; private-podman.ts:
 * podman's service) make, each made through a Teardown that undoes it, in reverse order, in every
 * ending. Names carry a six-hex-digit id, so hostTraces(id) can say what is left of one.
 */

/** The tools they need, and the Debian package that has each. */
export const TOOLS = {
  dockerd: "docker.io",
  ip: "iproute2",
  nsenter: "util-linux",
  unshare: "util-linux",
  podman: "podman",
} as const;
export type Tool = keyof typeof TOOLS;

/**
 * A tool's absolute path: PATH first, then the sbin folders a user's PATH often lacks. Daemons are
 * then started from the very file that was checked (not whatever PATH finds at that moment).
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

/** Why these tools cannot run here (one line naming what to install), or undefined. */
export function toolsMissing(
  tools: Tool[],
  what: string,
  find: (name: string) => string | undefined = findTool,
  uid = process.getuid?.(),
): string | undefined {
  if (uid !== 0) return `needs root to start ${what} (run the suite as root)`;
  for (const name of tools)
    if (!find(name)) return `needs ${name} to start ${what}: install Debian's ${TOOLS[name]} package`;
  return undefined;
}

export function tool(name: Tool): string {
  const file = findTool(name);
  if (!file) throw new Error(`no ${name}: install Debian's ${TOOLS[name]} package`);
  return file;
}

export function newId(): string {
  return randomBytes(3).toString("hex");
}

/** Undo steps, run last-made first; each one's failure is kept and reported after all have run. */
export class Teardown {
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
    if (failed.length) throw new Error(`cleanup failed: ${failed.join("; ")}`);
  }
}

/** Runs `make` with a new Teardown; if it throws, everything made so far is undone before the error goes on. */
export async function madeOrUndone<T>(make: (teardown: Teardown) => Promise<T>): Promise<T> {
  const teardown = new Teardown();
  try {
    return await make(teardown);
  } catch (error) {
    try {
      await teardown.run();
    } catch (cleanup) {
      throw new Error(`${(error as Error).message}; ${(cleanup as Error).message}`);
    }
    throw error;
  }
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

/**
 * A new folder under the system's temp dir named `rr-KIND-ID-…`, removed with whatever is mounted in
 * it. Not under the test run's own TMPDIR (global-setup.ts): engines limit their paths' length (podman's
 * runroot: 50 characters), and .ci/run looks for leftovers of these by name in the system's temp dir.
 */
export async function tempFolder(kind: string, id: string, teardown: Teardown): Promise<string> {
  const dir = await mkdtemp(join(process.env.REDIS_REPRO_SYSTEM_TMPDIR ?? tmpdir(), `rr-${kind}-${id}-`));
  teardown.add(`remove ${dir}`, async () => {
    for (const point of await mountsUnder(dir)) await execa("umount", ["-l", point], { reject: false });
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A /24 (or /30) under 10.253/16 that no interface of the host uses yet. */
export async function freeOctet(): Promise<number> {
  const used = (await execa(tool("ip"), ["-4", "addr"])).stdout;
  for (let tries = 0; tries < 100; tries++) {
    const octet = 100 + Math.floor(Math.random() * 150);
    if (!used.includes(`10.253.${octet}.`)) return octet;
  }
  throw new Error("no free 10.253.x.0/24 subnet");
}

export interface Netns {
  name: string;
  /** The namespace's end of the veth pair: how the host reaches what listens in it. */
  address: string;
  /** Prefix of a command that runs in it (the network namespace only). */
  enter: string[];
  /** Processes left in it (by pid), for a teardown to end: ones its daemon started and left. */
  pids(): Promise<number[]>;
}

/**
 * A network namespace of its own, joined to the host by a veth pair: 10.253.OCTET.1 on the host's
 * end, .2 on the namespace's, loopback up. Whatever runs in it (a daemon, its bridges, firewall
 * rules, port forwarders) stays out of the host's network.
 */
export async function netnsWithVeth(id: string, octet: number, teardown: Teardown): Promise<Netns> {
  const ip = tool("ip");
  const name = `rrns${id}`;
  const hostEnd = `rrv${id}h`;
  const nsEnd = `rrv${id}n`;
  await execa(ip, ["netns", "add", name]);
  teardown.add(`delete netns ${name}`, () => execa(ip, ["netns", "del", name]));
  await execa(ip, ["link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd]);
  // Deleting either end deletes the pair; the namespace's deletion would too, this is for the order.
  teardown.add(`delete veth ${hostEnd}`, () => execa(ip, ["link", "del", hostEnd], { reject: false }));
  await execa(ip, ["link", "set", nsEnd, "netns", name]);
  await execa(ip, ["addr", "add", `10.253.${octet}.1/30`, "dev", hostEnd]);
  await execa(ip, ["link", "set", hostEnd, "up"]);
  const address = `10.253.${octet}.2`;
  await execa(ip, ["-n", name, "addr", "add", `${address}/30`, "dev", nsEnd]);
  await execa(ip, ["-n", name, "link", "set", nsEnd, "up"]);
  await execa(ip, ["-n", name, "link", "set", "lo", "up"]);
  return {
    name,
    address,
    // nsenter joins the network namespace only: `ip netns exec` would also remount /sys, hiding the
    // cgroup mounts under /sys/fs/cgroup that daemons need ("Devices cgroup isn't mounted").
    enter: [tool("nsenter"), `--net=/run/netns/${name}`],
    pids: async () =>
      (await execa(ip, ["netns", "pids", name], { reject: false })).stdout
        .split("\n")
        .map(Number)
        .filter((pid) => pid > 0),
  };
}

/** Ends processes by pid (SIGKILL); one already gone is the outcome wanted. */
export function killPids(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }
}

/**
 * Removes the cgroup folders named NAME under each hierarchy (children first); absent ones are fine.
 * A folder still in use (EBUSY: another engine's) is left to its owner when `shared` says so.
 */
export async function removeCgroups(name: string, shared = false): Promise<void> {
  const root = "/sys/fs/cgroup";
  const tops = existsSync(join(root, "cgroup.controllers"))
    ? [root]
    : (await readdir(root).catch(() => [])).map((h) => join(root, h));
  const removeTree = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await removeTree(join(dir, e.name));
    await rmdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || (shared && error.code === "EBUSY")) return;
      throw error;
    });
  };
  for (const top of tops) if (existsSync(join(top, name))) await removeTree(join(top, name));
}

/** The daemon's log, last lines, for an error that says why it did not come up. */
async function logTail(file: string): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trim().split("\n").slice(-5).join(" | ") || "(empty log)";
}

/** A daemon this process started: up once `ready` answers, or an error with its log's reason at once if it exits. */
export class Daemon {
  private child: ResultPromise | undefined;

  constructor(
    private readonly name: string,
    private readonly command: string[],
    private readonly logFile: string,
    private readonly ready: () => Promise<unknown>,
  ) {}

  /** Its pid while it runs (every command in the chain execs the next: this is the daemon's). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    const [file, ...args] = this.command;
    const child = execa(file as string, args, {
      reject: false,
      stdout: "ignore",
      stderr: { file: this.logFile },
    });
    this.child = child;
    const exited = child.then((r) => r);
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (
        await this.ready().then(
          () => true,
          () => false,
        )
      )
        return;
      // A daemon that exits does not come back: say why at once, not after the timeout.
      const ended = await Promise.race([exited, sleep(200).then(() => undefined)]);
      if (ended)
        throw new Error(
          `${this.name} exited (${ended.exitCode ?? ended.signal}) before answering: ${await logTail(this.logFile)}`,
        );
    }
    throw new Error(`${this.name}: no answer within ${timeoutMs / 1000} s: ${await logTail(this.logFile)}`);
  }

  /** SIGTERM by its pid (never a name), SIGKILL after 30 s; resolves once it has exited. */
  async stop(): Promise<void> {
    const running = this.child;
    this.child = undefined;
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
  }
}

/** Every trace a private engine with this id could leave on the host: what its stop() must remove. */
export async function hostTraces(id: string): Promise<string[]> {
  const ip = tool("ip");
  const links = (await execa(ip, ["-o", "link"])).stdout.split("\n");
  const netns = (await execa(ip, ["netns", "list"])).stdout.split("\n");
  const folders = (await readdir(tmpdir())).filter((f) => /^rr-[a-z]+-/.test(f) && f.includes(`-${id}-`));
  const cgroups = (await readdir("/sys/fs/cgroup")).flatMap((h) =>
    existsSync(join("/sys/fs/cgroup", h, `rr${id}`)) ? [`cgroup ${h}/rr${id}`] : [],
  );
  const processes = (await execa("ps", ["-eo", "pid,args"])).stdout
    .split("\n")
    .filter((p) => p.includes(`/rr-engine-${id}-`) || p.includes(`/rr-podman-${id}-`));
  return [
    ...links.filter((l) => l.includes(`rr${id}`) || l.includes(`rrv${id}`)),
    ...netns.filter((n) => n.includes(`rrns${id}`)),
    ...folders,
    ...cgroups,
    ...processes,
  ];
}
