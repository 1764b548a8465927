import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { dockerDir } from "../paths.js";

/**
 * A fault is a set of container options plus words for the report. It knows nothing of Redis
 * versions: it makes fork() fail, and the scenario decides what that should do to a server.
 */
export const FaultName = z.enum(["seccomp-enomem", "none"]);
export type FaultName = z.infer<typeof FaultName>;

export interface Fault {
  name: FaultName;
  description: string;
  /** The errno text a failed fork() should log under this fault (undefined: fork should succeed). */
  expectedErrno?: string;
  securityOpt: string[];
}

function seccompOpt(file: string): string {
  // The engine API takes the profile's content, not a path (the docker CLI reads the file for you).
  const profile = JSON.parse(readFileSync(join(dockerDir, "seccomp", file), "utf8"));
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
      };
    case "none":
      return { name, description: "no fault: fork() works (control)", securityOpt: [] };
  }
}
