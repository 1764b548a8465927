import type { EngineLocality } from "../engine/locality.js";
import { UserError } from "../errors.js";
import type { Fault } from "../faults/index.js";
import type { Limits } from "../scenario/schema.js";

/**
 * A fault's security options as this engine takes them. Docker's API takes a seccomp profile's
 * content; Podman's compatible API (4.x) reads `seccomp=VALUE` as a file on the engine's host, so
 * for Podman on this host the profile's own file is named instead. Podman elsewhere cannot read
 * our file: one line saying so, and which fault still works.
 */
export function securityOptionsFor(
  fault: Fault,
  engine: Pick<EngineLocality, "kind" | "onThisHost">,
): string[] {
  if (engine.kind !== "podman") return fault.securityOpt;
  return fault.securityOpt.map((option) => {
    if (!option.startsWith("seccomp=") || option === "seccomp=unconfined") return option;
    if (!fault.seccompFile)
      throw new UserError(
        `fault ${fault.name}: Podman takes a seccomp profile as a file, and this fault has none`,
      );
    if (!engine.onThisHost)
      throw new UserError(
        `fault ${fault.name}: Podman reads a seccomp profile from a file on its own host, and this engine is not on this host: use --fault pids-limit, or run the harness on the engine's host`,
        "environment",
      );
    return `seccomp=${fault.seccompFile}`;
  });
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
