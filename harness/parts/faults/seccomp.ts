import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { Fault } from "../../core/fault.js";
import { dockerDir } from "../../core/paths.js";
import { ErrnoSpec, errnoOf } from "./errno.js";
import { SYSCALLS } from "./syscalls.js";

/** The parts of a seccomp profile the harness writes (the engine's JSON format). */
export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
  comment?: string;
}
export interface SeccompProfile {
  comment?: string;
  defaultAction: string;
  syscalls: SeccompRule[];
}

function profileFile(file: string): SeccompProfile {
  return JSON.parse(readFileSync(join(dockerDir, "seccomp", file), "utf8")) as SeccompProfile;
}

/**
 * The base every data-made profile starts from (docker/seccomp/base.json): allow by default, refuse
 * what Docker's default refuses a container without capabilities. A container has one profile, so a
 * fault's replaces the engine's default: this keeps it no weaker (docs/security.md).
 */
export function baseProfile(): SeccompProfile {
  return profileFile("base.json");
}

/**
 * The base with a fault's rules put first. A call the fault names is taken out of the base's rules
 * (libseccomp refuses two unconditional rules for one call, and a base rule on some arguments, such
 * as socket(AF_ALG), would let the fault's errno answer only the others): it stays refused either
 * way, with the fault's errno for every argument.
 */
export function profileWith(rules: SeccompRule[], comment: string): SeccompProfile {
  const base = baseProfile();
  const named = new Set(rules.flatMap((r) => r.names));
  const kept = base.syscalls
    .map((rule) => ({ ...rule, names: rule.names.filter((n) => !named.has(n)) }))
    .filter((rule) => rule.names.length > 0);
  return { comment, defaultAction: base.defaultAction, syscalls: [...rules, ...kept] };
}

/** The engine API takes the profile's content, not a path (the docker CLI reads the file for you). */
export function seccompOption(profile: SeccompProfile): string {
  return `seccomp=${JSON.stringify(profile)}`;
}

/** The data form: these calls fail with this errno from the node's creation to its end. */
export const SeccompSpec = z
  .object({
    fault: z.literal("seccomp"),
    /** System call names as the kernel names them (pipe2, accept4, openat…). */
    calls: z
      .array(
        z.string().refine((c) => SYSCALLS.has(c), {
          error: (issue) =>
            `${JSON.stringify(issue.input)} is not an x86_64 system call seccomp knows: name it as the kernel does (pipe2, accept4, openat, write, clone…; see \`man 2 syscalls\`)`,
        }),
      )
      .min(1),
    errno: ErrnoSpec,
  })
  .strict();
export type SeccompSpec = z.infer<typeof SeccompSpec>;

/**
 * seccomp: the listed calls fail with the errno in every process of the container (the server, its
 * children, and the probes exec'd there), from creation to the end: a filter cannot be lifted.
 */
export function seccomp(spec: Omit<z.input<typeof SeccompSpec>, "fault">): Fault {
  const { calls, errno } = SeccompSpec.parse({ ...spec, fault: "seccomp" });
  const e = errnoOf(errno);
  const list = [...new Set(calls)];
  const profile = profileWith(
    [{ names: list, action: "SCMP_ACT_ERRNO", errnoRet: e.number, comment: `the fault: ${e.name}` }],
    `fault profile of redis-repro: ${list.join(", ")} fail with ${e.name}; the rest is docker/seccomp/base.json`,
  );
  return {
    name: `seccomp:${list.join(",")}:${e.name}`,
    description: `seccomp: ${list.join(", ")} fail with ${e.name} (${e.text}) in every process of the container, from its start`,
    expectedErrno: e.text,
    container: { securityOpt: [seccompOption(profile)] },
  };
}

/**
 * seccomp-enomem: clone() without CLONE_THREAD, fork and vfork fail with ENOMEM from the node's
 * start; clone3 answers ENOSYS so glibc starts threads with clone(CLONE_THREAD). Its profile is the
 * file docker/seccomp/fork-enomem.json (also used outside the harness); it is the base plus those
 * rules (test/unit/seccomp-default.test.ts keeps the two the same).
 */
export function seccompEnomem(): Fault {
  return {
    name: "seccomp-enomem",
    description: "seccomp: clone() without CLONE_THREAD, fork and vfork fail with ENOMEM; clone3 ENOSYS",
    expectedErrno: "Cannot allocate memory",
    container: { securityOpt: [seccompOption(profileFile("fork-enomem.json"))] },
  };
}
