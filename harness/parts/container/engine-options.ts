import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../../core/errors.js";
import { cacheRoot } from "../../core/paths.js";
import type { EngineLocality } from "../../engine/locality.js";
import type { Limits } from "./limits.js";

/** Where profiles given to Podman by file are kept: named by their content, so written once and reused. */
export function seccompProfileDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), "seccomp");
}

/**
 * The faults' security options as this engine takes them. Docker's API takes a seccomp profile's
 * content (`seccomp={…}`); Podman's compatible API (4.x) reads `seccomp=VALUE` as a file on the
 * engine's host, so for Podman on this host each profile is written to a file named by its content
 * hash in the cache (seccompProfileDir) and the file is named instead. Podman elsewhere cannot read a
 * file of ours: one line saying so, and which fault still works. `faults` names them for that line.
 */
export async function securityOptionsFor(
  securityOpt: readonly string[],
  engine: Pick<EngineLocality, "kind" | "onThisHost">,
  faults: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string[]> {
  if (engine.kind !== "podman") return [...securityOpt];
  return Promise.all(
    securityOpt.map(async (option) => {
      if (!option.startsWith("seccomp={")) return option;
      if (!engine.onThisHost)
        throw new UserError(
          `fault ${faults.join(", ") || "seccomp"}: Podman reads a seccomp profile from a file on its own host, and this engine is not on this host: use --fault pids-limit, or run the harness on the engine's host`,
          "environment",
        );
      const content = option.slice("seccomp=".length);
      const dir = seccompProfileDir(env);
      const file = join(dir, `${createHash("sha256").update(content).digest("hex").slice(0, 16)}.json`);
      // Written once; aside and renamed, under a name no other writer (a target started beside this
      // one, another process) uses, so nobody reads a half-written profile.
      if ((await readFile(file, "utf8").catch(() => undefined)) !== content) {
        await mkdir(dir, { recursive: true });
        const part = `${file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
        await writeFile(part, content);
        await rename(part, file);
      }
      return `seccomp=${file}`;
    }),
  );
}

/**
 * Podman (4.x, rootful) sets RLIMIT_NPROC to 1048576 unless told otherwise, and a request that names
 * any ulimit gets none of its configured defaults; raising a hard limit that far needs
 * CAP_SYS_RESOURCE on the engine's host, which sandboxed hosts (CI runners, this project's machine)
 * lack: the container then fails to start ("error setting rlimit type 6"). So for Podman the limit
 * is named, at a value any host allows and no run comes near (it counts the server user's processes
 * on the whole host). Docker leaves it as the engine has it, as before.
 */
export const PODMAN_NPROC = 4096;

export function ulimitsFor(
  limits: Pick<Limits, "nofile">,
  engine: Pick<EngineLocality, "kind">,
): Record<string, { soft: number; hard: number }> {
  const nofile = { soft: limits.nofile, hard: limits.nofile };
  return engine.kind === "podman"
    ? { nofile, nproc: { soft: PODMAN_NPROC, hard: PODMAN_NPROC } }
    : { nofile };
}
