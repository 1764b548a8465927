import type { Readable } from "node:stream";
import { ImageName } from "testcontainers";
import { errorText } from "../core/errors.js";
import { dockerode, engine } from "./client.js";
import { LABEL_MANAGED } from "./labels.js";

/** A local image's id and labels, or undefined when it is not here. */
export async function localImage(
  ref: string,
): Promise<{ id: string; labels: Record<string, string> } | undefined> {
  const docker = await dockerode();
  try {
    const inspected = await docker.getImage(ref).inspect();
    return { id: inspected.Id, labels: inspected.Config.Labels ?? {} };
  } catch {
    return undefined;
  }
}

export async function localImageId(ref: string): Promise<string | undefined> {
  return (await localImage(ref))?.id;
}

/** Pulls an image; resolves to the failure's first line instead of throwing, so callers can fall back. */
export async function tryPull(ref: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await (await engine()).image.pull(ImageName.fromString(ref));
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: errorText(error).split("\n")[0] ?? "pull failed" };
  }
}

export interface BuildRequest {
  context: Readable;
  tag: string;
  /** Skip the layer cache (a cold build, for measuring one). */
  noCache?: boolean;
  buildargs: Record<string, string>;
  labels: Record<string, string>;
  /** Build only up to this stage (the classic builder's --target). */
  target?: string;
  /**
   * The engine's default network for RUN steps. Only for a base image's own packages (made once,
   * like a pull); a Redis build never has it.
   */
  network?: boolean;
  /** Each line of the builder's output, as it comes. */
  onLine: (line: string) => void;
}

/**
 * Builds with the engine's classic builder through the API: no CLI or buildx plugin needed, and
 * networkmode none, because a build must not need the network (a base's packages aside). Throws the builder's own error.
 */
export async function buildImage(request: BuildRequest): Promise<void> {
  const docker = await dockerode();
  const stream = await docker.buildImage(request.context, {
    t: request.tag,
    buildargs: request.buildargs,
    labels: { [LABEL_MANAGED]: "true", ...request.labels },
    networkmode: request.network ? "default" : "none",
    rm: true,
    forcerm: true,
    nocache: request.noCache === true,
    ...(request.target ? { target: request.target } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: { error?: string }[]) => {
        const failed = error?.message ?? output.find((o) => o.error)?.error;
        if (failed) reject(new Error(failed));
        else resolve();
      },
      (event: { stream?: string; error?: string }) => {
        const text = event.stream ?? (event.error ? `ERROR: ${event.error}` : "");
        for (const line of text.split("\n")) if (line.trim()) request.onLine(line.trimEnd());
      },
    );
  });
}

/** `docker import` of a root file system given as a tar stream. */
export async function importImage(tar: Readable, repo: string, tag: string, labels: Record<string, string>) {
  const docker = await dockerode();
  const changes = Object.entries({ [LABEL_MANAGED]: "true", ...labels }).map(
    ([k, v]) => `LABEL ${k}=${JSON.stringify(v)}`,
  );
  const stream = await docker.importImage(tar, { repo, tag, changes });
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

export async function removeImage(ref: string): Promise<void> {
  const docker = await dockerode();
  await docker
    .getImage(ref)
    .remove({ force: true })
    .catch(() => undefined);
}

export interface ManagedImage {
  tag: string;
  id: string;
  created: number;
  size: number;
  labels: Record<string, string>;
}

export async function listManagedImages(): Promise<ManagedImage[]> {
  const docker = await dockerode();
  const images = await docker.listImages({ filters: { label: [`${LABEL_MANAGED}=true`] } });
  // Untagged ones are the classic builder's intermediate stages: a build cache, not images to list.
  return images.flatMap((image) =>
    (image.RepoTags ?? [])
      .filter((tag) => tag !== "<none>:<none>")
      .map((tag) => ({
        tag,
        id: image.Id,
        created: image.Created,
        size: image.Size,
        labels: image.Labels ?? {},
      })),
  );
}
