import { z } from "zod";
import { errorText, UserError } from "../../core/errors.js";
import type { Fault } from "../../core/fault.js";
import { LibfiuSpec, libfiu } from "./libfiu.js";
import { NetworkCutSpec, networkCut } from "./network.js";
import { SeccompSpec, seccomp, seccompEnomem } from "./seccomp.js";

export { type Errno, errnoOf, findErrno } from "./errno.js";
export { LIBFIU_POINTS, LIBFIU_PRELOAD, LibfiuSpec, libfiu, libfiuPoint } from "./libfiu.js";
export { NetworkCutSpec, networkCut } from "./network.js";
export { baseProfile, profileWith, SeccompSpec, seccomp, seccompEnomem } from "./seccomp.js";

/**
 * The built-in injectors. Each is a set of container options or an action on the running node (or
 * both), plus words for the report; none knows Redis versions or what the failure should do to a
 * server (the scenario says that). docs/faults.md describes each, with measured latencies.
 */

/** The injectors a name alone stands for (the shorthand of the data form, and `--fault`'s choices). */
export const FaultName = z.enum(["seccomp-enomem", "pids-limit", "none"]);
export type FaultName = z.infer<typeof FaultName>;

/** What a fault's data form may be, for messages. */
export const FAULT_HELP = `name a fault (${FaultName.options.join(", ")}) or give one as an object: {"fault": "libfiu", "call", "errno", "probability"?}, {"fault": "seccomp", "calls", "errno"}, {"fault": "network-cut"}`;

/**
 * A fault in a scenario's data: a name, or an object whose `fault` names the injector, with its
 * parameters: {"fault": "libfiu", "call": "write", "errno": "EIO", "probability": 0.5},
 * {"fault": "seccomp", "calls": ["pipe2", "pipe"], "errno": "EMFILE"}, {"fault": "network-cut"}.
 */
export const FaultObjectSpec = z.discriminatedUnion(
  "fault",
  [
    LibfiuSpec,
    SeccompSpec,
    NetworkCutSpec,
    z.object({ fault: z.literal("seccomp-enomem") }).strict(),
    z.object({ fault: z.literal("pids-limit") }).strict(),
    z.object({ fault: z.literal("none") }).strict(),
  ],
  { error: () => FAULT_HELP },
);
export const FaultSpec = z.union([FaultName, FaultObjectSpec], { error: () => FAULT_HELP });
export type FaultSpec = z.input<typeof FaultSpec>;

/**
 * The pids cgroup limit set to the server's own task count (its threads: they count against the
 * limit too, so they are read, not assumed): fork fails with EAGAIN. Read from /proc/1/task, not
 * the cgroup's count, which also holds whatever else runs at that moment (a BGSAVE child, a probe)
 * and would leave room for one fork once that ends. Healed by setting the node's own limit back.
 * While it holds, no process can start in the container (the node reads another way).
 */
export function pidsLimit(): Fault {
  return {
    name: "pids-limit",
    description: "pids cgroup limit set to the server's own task count once it runs: fork fails with EAGAIN",
    expectedErrno: "Resource temporarily unavailable",
    async start(node) {
      // The engine's count doubles as the check that a pids controller is there at all.
      const inCgroup = await node.taskCount().catch((error: unknown) => {
        throw new UserError(
          `the pids-limit fault needs the engine's pids cgroup controller, which gives no task count for node ${node.name} (${errorText(error)}): enable the pids controller, or make fork fail another way ({"fault": "libfiu", "call": "fork", "errno": "EAGAIN"} or seccomp-enomem)`,
          "environment",
        );
      });
      const threads = await node.exec(["ls", "/proc/1/task"]);
      const own = threads.exitCode === 0 ? threads.stdout.split(/\s+/).filter(Boolean).length : 0;
      const tasks = own > 0 ? own : inCgroup;
      const how = await node.execBlocked(true);
      await node.setPidsLimit(tasks);
      return `pids limit set to ${tasks} (the server's tasks at start)${how ? `; fds read by ${how}` : ""}`;
    },
    async heal(node) {
      await node.setPidsLimit(node.limits.pids);
      await node.execBlocked(false);
      return `pids limit set back to ${node.limits.pids}`;
    },
  };
}

export function noFault(): Fault {
  return { name: "none", description: "no fault: every call works (control)" };
}

/** The fault a name or a data form stands for; a usage error naming the field where the data is wrong. */
export function faultFrom(spec: FaultSpec): Fault {
  const parsed = FaultSpec.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? `${issue.path.map(String).join(".")}: ` : "";
    throw new UserError(`invalid fault ${JSON.stringify(spec)}: ${path}${issue?.message ?? "invalid"}`);
  }
  const data = parsed.data;
  if (typeof data === "string") return named(data);
  switch (data.fault) {
    case "libfiu":
      return libfiu(data);
    case "seccomp":
      return seccomp(data);
    case "network-cut":
      return networkCut();
    default:
      return named(data.fault);
  }
}

/** How `sweep --fault` and the history name an injector: `libfiu:CALL:ERRNO[@P]`, `seccomp:CALL[,CALL]:ERRNO`. */
export const FAULT_NAME_HELP =
  "seccomp-enomem, pids-limit, libfiu:CALL:ERRNO[@P] (e.g. libfiu:open:EACCES, libfiu:write:EIO@0.5) or seccomp:CALL[,CALL]:ERRNO (e.g. seccomp:pipe2,pipe:EMFILE)";

/**
 * A fault from the name the history gives it (the inverse of each injector's `name`), so a command
 * line can name any injector and call: "libfiu:open:EACCES", "seccomp:pipe2,pipe:EMFILE",
 * "libfiu:write:EIO@0.25", or one of the three names. Checked as the data form is.
 */
export function faultSpecFromName(text: string): FaultSpec {
  if (FaultName.safeParse(text).success) return text as FaultName;
  if (text === "network-cut") return { fault: "network-cut" };
  const fiu = /^libfiu:([^:@]+):([^:@]+)(?:@(\d*\.?\d+))?$/.exec(text);
  if (fiu) {
    const [, call = "", errno = "", share] = fiu;
    return { fault: "libfiu", call, errno, ...(share !== undefined ? { probability: Number(share) } : {}) };
  }
  const sec = /^seccomp:([^:]+):([^:]+)$/.exec(text);
  if (sec) {
    const [, calls = "", errno = ""] = sec;
    return { fault: "seccomp", calls: calls.split(","), errno };
  }
  throw new UserError(`no fault "${text}": name one as ${FAULT_NAME_HELP}`);
}

function named(name: FaultName): Fault {
  switch (name) {
    case "seccomp-enomem":
      return seccompEnomem();
    case "pids-limit":
      return pidsLimit();
    case "none":
      return noFault();
  }
}
