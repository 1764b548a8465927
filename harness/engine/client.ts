import type Dockerode from "dockerode";
import { type ContainerRuntimeClient, getContainerRuntimeClient, ImageName } from "testcontainers";
import { errorText, UserError } from "../core/errors.js";
import { progress } from "../core/progress.js";

/** Ryuk's image, as testcontainers names it (it reads the same variable). */
const ryukImage = process.env.RYUK_CONTAINER_IMAGE ?? "testcontainers/ryuk:0.14.0";

let client: Promise<ContainerRuntimeClient> | undefined;

function engineAddress(): string {
  return process.env.DOCKER_HOST
    ? `DOCKER_HOST=${process.env.DOCKER_HOST}`
    : "the socket /var/run/docker.sock (or DOCKER_HOST)";
}

/**
 * The engine testcontainers finds (TESTCONTAINERS_HOST_OVERRIDE, ~/.testcontainers.properties,
 * DOCKER_HOST, the socket). Every part talks to this one client, so builds, runs and cleanup agree.
 * An engine that does not answer is a one-line error within 5 s.
 */
export function engine(): Promise<ContainerRuntimeClient> {
  if (!client) {
    const attempt = getContainerRuntimeClient();
    const timeout = new Promise<never>((_, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer within 5 s")), 5_000);
      attempt.finally(() => clearTimeout(timer)).catch(() => undefined);
    });
    client = Promise.race([attempt, timeout]).catch((error: unknown) => {
      client = undefined;
      throw new UserError(
        `no container engine answers at ${engineAddress()} (${errorText(error)}): start one (scripts/ensure-engine.sh on Debian/Ubuntu as root) or point DOCKER_HOST at it`,
        "environment",
      );
    });
  }
  return client;
}

export async function dockerode(): Promise<Dockerode> {
  return (await engine()).container.dockerode;
}

let reaper: Promise<"ryuk" | "harness"> | undefined;

/**
 * Ryuk removes a dead process's containers, but its image must be pullable. Where it is not (offline
 * machines), the harness's own cleanup is all there is, and its containers are started without
 * registering with a reaper (autoCleanup off). Decided once per process; an explicit
 * TESTCONTAINERS_RYUK_DISABLED from the user always wins. The environment is read, never written.
 */
export function prepareReaper(): Promise<"ryuk" | "harness"> {
  reaper ??= (async () => {
    if (process.env.TESTCONTAINERS_RYUK_DISABLED !== undefined) {
      return process.env.TESTCONTAINERS_RYUK_DISABLED === "true" ? "harness" : "ryuk";
    }
    const runtime = await engine();
    const image = ImageName.fromString(ryukImage);
    if (await runtime.image.exists(image)) return "ryuk";
    try {
      await runtime.image.pull(image);
      return "ryuk";
    } catch (error) {
      progress(
        `[engine] Ryuk unavailable (${errorText(error).split("\n")[0]}); the harness removes its own containers`,
      );
      return "harness";
    }
  })();
  reaper.catch(() => {
    reaper = undefined;
  });
  return reaper;
}

/** The engine's version and info, in one place for the report's environment and for doctor. */
export async function engineFacts(): Promise<{
  version: Dockerode.DockerVersion;
  info: Awaited<ReturnType<Dockerode["info"]>>;
}> {
  const docker = await dockerode();
  const [version, info] = await Promise.all([docker.version(), docker.info()]);
  return { version, info };
}
