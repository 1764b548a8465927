import { readFile } from "node:fs/promises";
import { GenericContainer, type StartedTestContainer } from "testcontainers";
import { errorText, UserError } from "../../core/errors.js";
import type { DirEntry, FdEntry } from "../../core/node.js";
import { prepareReaper } from "../../engine/client.js";
import { containerState, removeContainer } from "../../engine/containers.js";
import { LABEL_NODE } from "../../engine/labels.js";
import { engineLocality } from "../../engine/locality.js";
import { listDirFromHost, onlyVanished, parseDirListing } from "../probes/dir.js";
import { fdsFromHost, hostProcReadable, parseFdListing } from "../probes/fds.js";
import { ulimitsFor } from "./engine-options.js";

/**
 * How the server's open fds and a directory of its file system are read. Three ways, one interface:
 * - exec: `ls` exec'd in the server's own container, as its user (the usual way);
 * - host /proc: /proc/PID/fd and /proc/PID/root of the engine's host, when no process can start in
 *   the server's container (a pids limit) and the engine is this host;
 * - sidecar: `ls` exec'd in a small container that shares the server's PID namespace, when no process
 *   can start in the server's container and /proc of this host is not the engine's (a remote engine,
 *   a VM behind a socket, or no right to read it).
 */
export interface ProcReader {
  readonly kind: "exec" | "host" | "sidecar";
  /** Words for the report: how fds are read. */
  readonly how: string;
  fds(): Promise<FdEntry[] | undefined>;
  /** The regular files of a directory (undefined: it does not exist yet). */
  listDir(path: string): Promise<DirEntry[] | undefined>;
  close(): Promise<void>;
}

/**
 * One exec of one program (no shell: where fork fails none can run) as the server's own user, since
 * reading another user's /proc/PID/fd needs CAP_SYS_PTRACE. `root` is the path of the server's file
 * system as the exec sees it: "" in the server's own container, /proc/1/root from a sidecar.
 */
export function execReader(
  container: StartedTestContainer,
  user: string,
  root = "",
  how = "exec",
): ProcReader {
  return {
    kind: "exec",
    how,
    async fds() {
      const result = await container.exec(["ls", "-l", "/proc/1/fd"], { user });
      return result.exitCode === 0 ? parseFdListing(result.stdout) : undefined;
    },
    async listDir(path) {
      const seen = `${root}${path}`;
      const result = await container.exec(["ls", "-ln", seen], { user });
      return result.exitCode === 0 || onlyVanished(result.stderr, seen)
        ? parseDirListing(result.stdout)
        : undefined;
    },
    close: async () => undefined,
  };
}

function hostProcReader(pid: number): ProcReader {
  return {
    kind: "host",
    how: "this host's /proc (the engine is here)",
    fds: () => fdsFromHost(pid),
    listDir: (path) => listDirFromHost(pid, path),
    close: async () => undefined,
  };
}

/**
 * Is /proc/PID of this host the container's server? The pid comes from the engine; on another kernel
 * (a VM behind a socket) it names some unrelated process here, or none. Its cgroup path names the
 * container's id on every engine we know (docker: /docker/ID or docker-ID.scope; podman: libpod-ID).
 */
export async function hostProcIsContainers(pid: number, containerId: string): Promise<boolean> {
  if (!(pid > 0)) return false;
  const cgroup = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
  return cgroup.includes(containerId) && (await hostProcReadable(pid));
}

/**
 * A container that joins the server's PID namespace (PidMode container:ID), so its /proc/1 is the
 * server: fds and files are read by exec in it. It is a container of its own, so the server's pids
 * limit does not bind it (the limit is per cgroup), and it runs the server's image as the server's
 * user (reading /proc/1/fd needs the same uid). No network, no capabilities, a few pids and a little
 * memory; the run's labels, so every cleanup finds it.
 */
class ProcSidecar extends GenericContainer {
  constructor(
    image: string,
    private readonly serverId: string,
  ) {
    super(image);
  }

  protected override async beforeContainerCreated(): Promise<void> {
    this.hostConfig.PidMode = `container:${this.serverId}`;
    this.hostConfig.NetworkMode = "none";
    this.hostConfig.Memory = 32 * 1024 ** 2;
    this.hostConfig.MemorySwap = 32 * 1024 ** 2;
    this.hostConfig.PidsLimit = 16;
    this.hostConfig.CapDrop = ["ALL"];
    this.hostConfig.Privileged = false;
  }
}

export async function startSidecarReader(
  server: StartedTestContainer,
  image: string,
  user: string,
): Promise<ProcReader> {
  const labels = server.getLabels();
  const node = labels[LABEL_NODE] ?? "main";
  const started = await new ProcSidecar(image, server.getId())
    .withUlimits(ulimitsFor({ nofile: 1024 }, await engineLocality()))
    .withEntrypoint(["sleep"])
    .withCommand(["infinity"])
    .withUser(user)
    .withLabels({ ...labels, [LABEL_NODE]: `${node}.procs` })
    .withSecurityOpt("no-new-privileges")
    .withAutoCleanup((await prepareReaper()) === "ryuk")
    .start();
  const reader = execReader(
    started,
    user,
    "/proc/1/root",
    `exec in a sidecar container in the server's PID namespace (${started.getId().slice(0, 12)})`,
  );
  return { ...reader, kind: "sidecar", close: () => removeContainer(started.getId()).catch(() => undefined) };
}

/** This host's /proc for the server, when the engine is here and its pid is the container's (and readable). */
async function hostReaderFor(server: StartedTestContainer): Promise<ProcReader | undefined> {
  if (!(await engineLocality()).onThisHost) return undefined;
  const pid = (await containerState(server.getId())).Pid;
  return (await hostProcIsContainers(pid, server.getId())) ? hostProcReader(pid) : undefined;
}

/**
 * The usual reader: this host's /proc where it shows the server (a read of a folder instead of an
 * exec, whose setup costs the engine a process start and 0.1-0.5 s each, four times a second), else
 * `ls` exec'd in the server's container.
 */
export async function defaultReader(server: StartedTestContainer, user: string): Promise<ProcReader> {
  return (await hostReaderFor(server).catch(() => undefined)) ?? execReader(server, user);
}

/**
 * The reader for a fault under which no process can start in the server's container: this host's
 * /proc when the engine is here and the pid is the container's, else a sidecar. Chosen (and the
 * sidecar started) before the fault is armed: afterwards the server's container admits nothing.
 */
export async function readerWhenExecBlocked(
  server: StartedTestContainer,
  image: string,
  user: string,
): Promise<ProcReader> {
  const { onThisHost } = await engineLocality();
  const host = await hostReaderFor(server);
  if (host) return host;
  try {
    return await startSidecarReader(server, image, user);
  } catch (error) {
    throw new UserError(
      `no way to read the server's fds under a fault that blocks exec: ${onThisHost ? "this host's /proc does not show the container (not root, or the engine runs in a VM), and " : ""}a sidecar in its PID namespace did not start (${errorText(error).split("\n")[0]}): use --fault seccomp-enomem`,
      "environment",
    );
  }
}
