import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { dockerDir } from "../paths.js";

/**
 * A fault is a set of container options, optionally an arming step once the server runs, plus words
 * for the report. It knows nothing of Redis versions: it makes fork() fail, and the scenario says
 * what that should do to a server.
 */
export const FaultName = z.enum(["seccomp-enomem", "pids-limit", "none"]);
export type FaultName = z.infer<typeof FaultName>;

/** What an arming step may do to the running container; provided by the run, so faults stay engine-free. */
export interface ArmContext {
  /** Tasks (processes + threads) in the container's pids cgroup now. */
  taskCount(): Promise<number>;
  setPidsLimit(limit: number): Promise<void>;
}

export interface Fault {
  name: FaultName;
  description: string;
  /** The errno text a failed fork() logs under this fault (undefined: fork should succeed). */
  expectedErrno?: string;
  securityOpt: string[];
  /**
   * The seccomp profile's file, for an engine that takes a path where Docker takes the content
   * (Podman's compatible API reads seccomp=VALUE as a file name on its own host).
   */
  seccompFile?: string;
  /** Runs once the server is ready, before the workload; returns what it did, for the report. */
  arm?: (context: ArmContext) => Promise<string>;
  /**
   * No process can be started in the container once armed, not even the fd probe's exec: fds must
   * then be read from the engine host's /proc.
   */
  blocksExec: boolean;
}

function seccompFile(file: string): string {
  return join(dockerDir, "seccomp", file);
}

function seccompOpt(file: string): string {
  // The engine API takes the profile's content, not a path (the docker CLI reads the file for you).
  const profile = JSON.parse(readFileSync(seccompFile(file), "utf8"));
  return `seccomp=${JSON.stringify(profile)}`;
}

export function fault(name: FaultName): Fault {
  switch (name) {
    case "seccomp-enomem":
      return {
        name,
        description: "seccomp: clone() without CLONE_THREAD, fork and vfork fail with ENOMEM; clone3 ENOSYS",
        expectedErrno: "Cannot allocate memory",
        securityOpt: [seccompOpt("fork-enomem.json")],
        seccompFile: seccompFile("fork-enomem.json"),
        blocksExec: false,
      };
    case "pids-limit":
      return {
        name,
        description:
          "pids cgroup limit set to the server's own task count once it runs: fork fails with EAGAIN",
        expectedErrno: "Resource temporarily unavailable",
        securityOpt: [],
        // Threads count against the limit too, so the limit is read, not assumed.
        arm: async (context) => {
          const tasks = await context.taskCount();
          await context.setPidsLimit(tasks);
          return `pids limit set to ${tasks} (the server's tasks at start)`;
        },
        blocksExec: true,
      };
    case "none":
      return { name, description: "no fault: fork() works (control)", securityOpt: [], blocksExec: false };
  }
}
