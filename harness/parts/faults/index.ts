import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { Fault } from "../../core/fault.js";
import { dockerDir } from "../../core/paths.js";

/**
 * The built-in fork-failure injectors. Each is a set of container options or an action on the
 * running node, plus words for the report; none knows Redis versions or what the failure should do
 * to a server (the scenario says that).
 */
export const FaultName = z.enum(["seccomp-enomem", "pids-limit", "none"]);
export type FaultName = z.infer<typeof FaultName>;

function seccompOpt(file: string): string {
  // The engine API takes the profile's content, not a path (the docker CLI reads the file for you).
  const profile = JSON.parse(readFileSync(join(dockerDir, "seccomp", file), "utf8"));
  return `seccomp=${JSON.stringify(profile)}`;
}

/** seccomp: clone() without CLONE_THREAD, fork and vfork fail with ENOMEM from the node's start. */
export function seccompEnomem(): Fault {
  return {
    name: "seccomp-enomem",
    description: "seccomp: clone() without CLONE_THREAD, fork and vfork fail with ENOMEM; clone3 ENOSYS",
    expectedErrno: "Cannot allocate memory",
    container: { securityOpt: [seccompOpt("fork-enomem.json")] },
  };
}

/**
 * The pids cgroup limit set to the server's own task count: fork fails with EAGAIN. Threads count
 * against the limit too, so the limit is read, not assumed. Healed by setting the node's own limit
 * back. While it holds, no process can start in the container (the node reads another way).
 */
export function pidsLimit(): Fault {
  return {
    name: "pids-limit",
    description: "pids cgroup limit set to the server's own task count once it runs: fork fails with EAGAIN",
    expectedErrno: "Resource temporarily unavailable",
    async start(node) {
      const tasks = await node.taskCount();
      await node.execBlocked(true);
      await node.setPidsLimit(tasks);
      return `pids limit set to ${tasks} (the server's tasks at start)`;
    },
    async heal(node) {
      await node.setPidsLimit(node.limits.pids);
      await node.execBlocked(false);
      return `pids limit set back to ${node.limits.pids}`;
    },
  };
}

export function noFault(): Fault {
  return { name: "none", description: "no fault: fork() works (control)" };
}

/** The fault a name stands for. */
export function faultFrom(name: FaultName): Fault {
  switch (name) {
    case "seccomp-enomem":
      return seccompEnomem();
    case "pids-limit":
      return pidsLimit();
    case "none":
      return noFault();
  }
}
