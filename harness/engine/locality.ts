import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { progress } from "../core/progress.js";
import { engine } from "./client.js";

/**
 * Where the engine is, as far as a run cares: where its published ports are reached (and so which
 * address they are bound to), and whether its processes are this host's (so /proc can read them).
 * Redis runs with protected mode off, so a port is never published wider than needed.
 */
export interface EngineEndpoint {
  /** The engine's API socket, when it is reached through one (unix:// or a named pipe). */
  socketPath?: string;
  /** The engine's API host, when it is reached over TCP (tcp://HOST:PORT, DOCKER_HOST or the properties file). */
  host?: string;
}

export interface Publishing {
  /** The HostIp of the published port. */
  bindIp: string;
  /** Where a client connects to reach it. */
  connectHost: string;
  /** Why, in a few words (progress and doctor). */
  how: string;
}

const LOOPBACK_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost"]);

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (LOOPBACK_NAMES.has(bare)) return true;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1";
  return false;
}

/**
 * The engine runs on this host when it is reached through a local socket or a loopback address.
 * Anything else (tcp:// to another address, even one this kernel happens to serve, as the
 * remote-engine test's namespace does) is treated as another machine. A socket that leads into a VM
 * (Docker Desktop, podman machine, colima) passes this test; the /proc reader checks each pid's
 * cgroup for the container's id before trusting it (container/proc-reader.ts).
 */
export function engineOnThisHost(endpoint: EngineEndpoint): boolean {
  if (endpoint.socketPath) return true;
  return endpoint.host !== undefined && isLoopback(endpoint.host);
}

/** The addresses of this host's own interfaces (of this process's network namespace). */
export function ownAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
}

/**
 * Where a run's port is bound and reached, from the address testcontainers gives for the engine's
 * ports (DOCKER_HOST's host, TESTCONTAINERS_HOST_OVERRIDE, or localhost for a socket; the bridge's
 * gateway when this process seems to run in a container, i.e. /.dockerenv exists):
 * - a loopback address or name, or an address of this host's own interfaces (a sandbox that has
 *   /.dockerenv but runs the engine in its own network namespace gets docker0's 172.17.0.1): bound to
 *   127.0.0.1 and reached there (the engine publishes here: keep the server off every other
 *   interface, the bridge included);
 * - an IP address: bound to that address only (the interface through which this host reaches the
 *   engine), reached there;
 * - a host name: bound to every interface of the engine's host (a name may stand for addresses the
 *   engine cannot bind), reached by the name.
 */
export function decidePublishing(runtimeHost: string, own: readonly string[] = ownAddresses()): Publishing {
  const bare = runtimeHost.replace(/^\[|\]$/g, "");
  if (isLoopback(runtimeHost) || (isIP(bare) && own.includes(bare)))
    return { bindIp: "127.0.0.1", connectHost: "127.0.0.1", how: "loopback only (local engine)" };
  if (isIP(bare)) return { bindIp: bare, connectHost: bare, how: `bound to the engine's address ${bare}` };
  return {
    bindIp: "0.0.0.0",
    connectHost: runtimeHost,
    how: `every interface of ${runtimeHost} (a name, not an address: give DOCKER_HOST an IP to bind to one)`,
  };
}

export interface EngineLocality {
  endpoint: EngineEndpoint;
  onThisHost: boolean;
  publishing: Publishing;
  /** Podman's Docker-compatible service differs in a few ways a run must know (docs/engines.md). */
  kind: "docker" | "podman";
  /** The engine's own version (Podman's libpod API paths carry it). */
  version: string;
}

/** Podman's service names itself in the version's components ("Podman Engine"). */
export function engineKind(version: { Components?: { Name?: string }[] }): "docker" | "podman" {
  return version.Components?.some((c) => /podman/i.test(c.Name ?? "")) ? "podman" : "docker";
}

let decided: Promise<EngineLocality> | undefined;

/** The engine testcontainers uses, placed: once per process (the engine does not move mid-run). */
export function engineLocality(): Promise<EngineLocality> {
  decided ??= (async () => {
    const runtime = await engine();
    const modem = runtime.container.dockerode.modem as { socketPath?: unknown; host?: unknown };
    const endpoint: EngineEndpoint = {
      ...(typeof modem.socketPath === "string" ? { socketPath: modem.socketPath } : {}),
      ...(typeof modem.host === "string" ? { host: modem.host } : {}),
    };
    const publishing = decidePublishing(runtime.info.containerRuntime.host);
    const onThisHost = engineOnThisHost(endpoint);
    const version = await runtime.container.dockerode.version();
    const kind = engineKind(version);
    if (!onThisHost || publishing.bindIp !== "127.0.0.1")
      progress(
        `[engine] ${endpoint.host ?? endpoint.socketPath} is ${onThisHost ? "local" : "not local"}: ports ${publishing.how}`,
      );
    return { endpoint, onThisHost, publishing, kind, version: version.Version };
  })();
  return decided;
}
