import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UserError } from "../../harness/core/errors.js";
import { dockerDir } from "../../harness/core/paths.js";
import { baseProfile, faultFrom, seccomp } from "../../harness/parts/faults/index.js";
import { SYSCALLS } from "../../harness/parts/faults/syscalls.js";
import { REFUSED_BY_DOCKER_DEFAULT, type SeccompProfile, verdictFor } from "../helpers/seccomp.js";

const AF_ALG = 38;
const AF_VSOCK = 40;
const AF_INET = 2;

function profileOf(option: string | undefined): SeccompProfile {
  expect(option?.startsWith("seccomp=")).toBe(true);
  return JSON.parse((option ?? "").slice("seccomp=".length)) as SeccompProfile;
}

describe("the base profile every data-made seccomp fault starts from", () => {
  const base = baseProfile() as SeccompProfile;

  it.each(REFUSED_BY_DOCKER_DEFAULT)("refuses %s with EPERM", (call) => {
    expect(verdictFor(base, call)).toBe("ERRNO 1");
  });

  it("refuses AF_ALG and AF_VSOCK sockets, allows the rest, and fails nothing else Redis uses", () => {
    expect(verdictFor(base, "socket", [AF_ALG])).toBe("ERRNO 1");
    expect(verdictFor(base, "socket", [AF_VSOCK])).toBe("ERRNO 1");
    expect(verdictFor(base, "socket", [AF_INET])).toBe("ALLOW");
    for (const call of ["clone", "fork", "pipe", "pipe2", "accept4", "openat", "write", "execve"])
      expect(verdictFor(base, call)).toBe("ALLOW");
  });

  it("is what fork-enomem.json refuses besides its fork rules (the two cannot drift apart)", () => {
    const forkEnomem = JSON.parse(
      readFileSync(join(dockerDir, "seccomp", "fork-enomem.json"), "utf8"),
    ) as SeccompProfile;
    const forkRules = forkEnomem.syscalls.filter((r) =>
      r.names.some((n) => ["clone", "clone3", "fork", "vfork"].includes(n)),
    );
    expect(forkRules.flatMap((r) => r.names).sort()).toEqual(["clone", "clone3", "fork", "vfork"]);
    expect(forkEnomem.defaultAction).toBe(base.defaultAction);
    expect(forkEnomem.syscalls).toEqual([...forkRules, ...base.syscalls]);
  });

  it("names only calls the kernel has", () => {
    for (const rule of base.syscalls)
      for (const name of rule.names) expect(SYSCALLS.has(name), name).toBe(true);
  });
});

describe("seccomp from data: any calls, one errno", () => {
  it("pipe2 and pipe fail with EMFILE; the base's refusals stay; everything else is allowed", () => {
    const f = faultFrom({ fault: "seccomp", calls: ["pipe2", "pipe"], errno: "EMFILE" });
    const profile = profileOf(f.container?.securityOpt?.[0]);
    expect(verdictFor(profile, "pipe2")).toBe("ERRNO 24");
    expect(verdictFor(profile, "pipe")).toBe("ERRNO 24");
    for (const call of REFUSED_BY_DOCKER_DEFAULT) expect(verdictFor(profile, call)).toBe("ERRNO 1");
    expect(verdictFor(profile, "clone", [0x11])).toBe("ALLOW");
    expect(verdictFor(profile, "read")).toBe("ALLOW");
    expect(f).toMatchObject({ name: "seccomp:pipe2,pipe:EMFILE", expectedErrno: "Too many open files" });
    expect(f.start).toBeUndefined();
    expect(f.heal).toBeUndefined();
  });

  it("a listed call the base refuses on some arguments fails for every argument, AF_ALG still refused", () => {
    const profile = profileOf(seccomp({ calls: ["socket"], errno: "ENFILE" }).container?.securityOpt?.[0]);
    expect(verdictFor(profile, "socket", [AF_INET])).toBe("ERRNO 23");
    expect(verdictFor(profile, "socket", [AF_ALG])).toBe("ERRNO 23");
  });

  it("for any calls and errno: listed calls fail with it, Docker's refusals stay refused, one rule per call", () => {
    const names = [...SYSCALLS];
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 133 }).filter((n) => n !== 41 && n !== 58),
        (calls, errno) => {
          const profile = profileOf(seccomp({ calls, errno }).container?.securityOpt?.[0]);
          for (const call of calls) expect(verdictFor(profile, call, [AF_ALG])).toBe(`ERRNO ${errno}`);
          for (const call of REFUSED_BY_DOCKER_DEFAULT)
            expect(verdictFor(profile, call)).toMatch(calls.includes(call) ? `ERRNO ${errno}` : "ERRNO 1");
          expect(verdictFor(profile, "socket", [AF_VSOCK])).toMatch(/^ERRNO /);
          if (!calls.includes("read")) expect(verdictFor(profile, "read")).toBe("ALLOW");
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    [
      { fault: "seccomp", calls: ["pipe3"], errno: "EMFILE" },
      /calls\.0: "pipe3" is not an x86_64 system call/,
    ],
    [
      { fault: "seccomp", calls: ["pipe2"], errno: "EBOGUS" },
      /errno: "EBOGUS" is not a Linux errno: name one/,
    ],
    [{ fault: "seccomp", calls: ["pipe2"], errno: 41 }, /errno: 41 is not a Linux errno/],
    [{ fault: "seccomp", calls: [], errno: "EIO" }, /calls/],
  ])("%j is a one-line usage error naming the field", (spec, message) => {
    let error: unknown;
    try {
      faultFrom(spec as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    expect((error as UserError).message).toMatch(message);
    expect((error as UserError).message).not.toContain("\n");
  });
});
