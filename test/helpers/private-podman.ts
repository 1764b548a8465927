import { readdir, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Dockerode from "dockerode";
import {
  Daemon,
  freeOctet,
  killPids,
  madeOrUndone,
  netnsWithVeth,
  newId,
  removeCgroups,
  type Teardown,
  tempFolder,
  tool,
  toolsMissing,
} from "./host-state.js";

/**
 * Podman (Debian's package) as a Docker-compatible engine: `podman system service` on a socket of
 * its own, for the integration tests that run the harness against it. Rootful podman keeps state
 * in fixed places (/run/containers/networks for its IP allocations, /run/netns for containers'
 * namespaces, /run/libpod), so the service runs in a mount namespace of its own with a fresh tmpfs
 * on /run, and in a network namespace of its own (joined to the host by a veth pair) so that its
 * bridges, firewall rules and port forwarders stay off the host. Storage, run root, temp folder and
 * network configs live under a new temporary folder. The shared engine's socket is never touched.
 *
 * Its published ports are reachable from the host at the namespace's address, which the harness
 * learns from TESTCONTAINERS_HOST_OVERRIDE (testcontainers' own setting for where ports are).
 */
export interface PrivatePodman {
  id: string;
  /** DOCKER_HOST for the harness: unix:///…/podman.sock. */
  host: string;
  /** Where its published ports are reached from the host (TESTCONTAINERS_HOST_OVERRIDE). */
  address: string;
  docker: Dockerode;
  /** The environment a CLI run against it needs. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export function privatePodmanMissing(
  find?: (name: string) => string | undefined,
  uid = process.getuid?.(),
): string | undefined {
  return toolsMissing(["podman", "ip", "nsenter", "unshare"], "podman's service", find, uid);
}

export function startPrivatePodman(options: { id?: string } = {}): Promise<PrivatePodman> {
  const id = options.id ?? newId();
  return madeOrUndone((teardown) => build(id, teardown));
}

async function build(id: string, teardown: Teardown): Promise<PrivatePodman> {
  const podman = tool("podman");
  const dir = await tempFolder("podman", id, teardown);
  const netns = await netnsWithVeth(id, await freeOctet(), teardown);
  const socket = join(dir, "podman.sock");
  const storage = join(dir, "storage.conf");
  await writeFile(
    storage,
    `[storage]\ndriver = "overlay"\nrunroot = "${join(dir, "run")}"\ngraphroot = "${join(dir, "root")}"\n`,
  );
  const conf = join(dir, "containers.conf");
  // cgroupfs: no systemd here to ask for scopes; file events: no journald. Containers' cgroups go
  // under /libpod_parent (podman's fixed parent under cgroupfs), removed when empty.
  await writeFile(
    conf,
    `[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nimage_copy_tmp_dir = "${join(dir, "tmp")}"\n[network]\nnetwork_config_dir = "${join(dir, "networks")}"\n`,
  );
  const global = [
    ...["--root", join(dir, "root"), "--runroot", join(dir, "run"), "--tmpdir", join(dir, "libpod")],
    ...["--network-config-dir", join(dir, "networks")],
  ];
  const docker = new Dockerode({ socketPath: socket });
  const env = {
    CONTAINERS_CONF: conf,
    CONTAINERS_STORAGE_CONF: storage,
    TMPDIR: join(dir, "tmp"),
  };
  // A fresh tmpfs on /run and on /var/lib, seen by the service and what it starts (conmon, runc, netavark) only.
  // The script's text is fixed; everything variable is an argument ("$@"), never part of it.
  const unshare = [tool("unshare"), "--mount", "--propagation", "private"];
  // /var/lib too: the image library writes its blob cache to /var/lib/containers/cache whatever the
  // storage root is.
  const script =
    'mount -t tmpfs -o mode=0755 rr-podman-run /run && mount -t tmpfs -o mode=0755 rr-podman-lib /var/lib && mkdir -p "$TMPDIR" && exec "$@"';
  const service = new Daemon(
    "podman system service",
    [
      "/usr/bin/env",
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...netns.enter,
      ...unshare,
      "/bin/sh",
      "-c",
      script,
      "sh",
      podman,
      ...global,
      ...["system", "service", "--time", "0", `unix://${socket}`],
    ],
    join(dir, "podman.log"),
    () => docker.ping(),
  );
  let mountNs: string | undefined;
  teardown.add("stop podman's service and what it started", async () => {
    // Its containers first (conmon and the containers outlive the service otherwise).
    const all = await docker.listContainers({ all: true }).catch(() => []);
    await Promise.all(
      all.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true, v: true })
          .catch(() => undefined),
      ),
    );
    await service.stop();
    // What it started and left (conmon, aardvark-dns): in its network namespace or its mount namespace.
    killPids([...(await netns.pids()), ...(mountNs ? await pidsInMountNs(mountNs) : [])]);
    await removeCgroups("libpod_parent", true);
  });
  await service.start();
  mountNs = await readlink(`/proc/${service.pid}/ns/mnt`).catch(() => undefined);
  return {
    id,
    host: `unix://${socket}`,
    address: netns.address,
    docker,
    env: {
      ...env,
      DOCKER_HOST: `unix://${socket}`,
      TESTCONTAINERS_HOST_OVERRIDE: netns.address,
      TESTCONTAINERS_RYUK_DISABLED: "true",
    },
    stop: () => teardown.run(),
  };
}

/** Processes in a mount namespace (by /proc/PID/ns/mnt), other than this one. */
async function pidsInMountNs(ns: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await readdir("/proc")) {
    if (/^\d+$/.test(pid) && (await readlink(`/proc/${pid}/ns/mnt`).catch(() => "")) === ns)
      pids.push(Number(pid));
  }
  return pids;
}
