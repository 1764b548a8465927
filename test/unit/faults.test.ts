import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerDir } from "../../harness/core/paths.js";
import { type ArmContext, FaultName, fault } from "../../harness/parts/faults/index.js";
import { recordedResult } from "../helpers/runs.js";
import { type SeccompProfile, verdictFor } from "../helpers/seccomp.js";

/** A stand-in for the running container: arming is pure logic over these two calls. */
function fakeContext(tasks: number | Error) {
  const calls: string[] = [];
  const limits: number[] = [];
  const context: ArmContext = {
    taskCount: async () => {
      calls.push("taskCount");
      if (tasks instanceof Error) throw tasks;
      return tasks;
    },
    setPidsLimit: async (limit) => {
      calls.push("setPidsLimit");
      limits.push(limit);
    },
  };
  return { context, calls, limits };
}

describe("fault pids-limit", () => {
  it.each([1, 7, 33])("arming with %i tasks sets the limit to exactly that and says so", async (tasks) => {
    const { context, calls, limits } = fakeContext(tasks);
    const arm = fault("pids-limit").arm;
    if (!arm) throw new Error("pids-limit has no arming step");
    const detail = await arm(context);
    expect(calls).toEqual(["taskCount", "setPidsLimit"]);
    expect(limits).toEqual([tasks]);
    expect(detail).toContain(`pids limit set to ${tasks}`);
  });

  it("sets no limit when the task count cannot be read", async () => {
    const { context, limits } = fakeContext(new Error("no pids cgroup controller"));
    await expect(fault("pids-limit").arm?.(context)).rejects.toThrow("no pids cgroup controller");
    expect(limits).toEqual([]);
  });

  it("blocks exec, adds no security option and expects EAGAIN", () => {
    const f = fault("pids-limit");
    expect(f.blocksExec).toBe(true);
    expect(f.securityOpt).toEqual([]);
    expect(f.expectedErrno).toBe("Resource temporarily unavailable");
  });
});

describe("every fault", () => {
  it.each(FaultName.options)("%s is named after itself and blocks exec only for pids-limit", (name) => {
    const f = fault(name);
    expect(f.name).toBe(name);
    expect(f.description.length).toBeGreaterThan(0);
    expect(f.blocksExec).toBe(name === "pids-limit");
    expect(f.arm === undefined).toBe(name !== "pids-limit");
  });

  it("none is a control: nothing to arm, no option, no errno expected", () => {
    expect(fault("none")).toMatchObject({ securityOpt: [], blocksExec: false });
    expect(fault("none").expectedErrno).toBeUndefined();
  });
});

const CLONE_THREAD = 0x10000;
const SIGCHLD = 17;
/** glibc fork(): clone(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD). */
const FORK_FLAGS = 0x01000000 | 0x00200000 | SIGCHLD;
/** glibc pthread_create: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID. */
const THREAD_FLAGS = 0x3d0f00;

describe("fault seccomp-enomem", () => {
  const f = fault("seccomp-enomem");
  const file = JSON.parse(readFileSync(join(dockerDir, "seccomp", "fork-enomem.json"), "utf8"));

  it("passes the profile's content (not its path) as one seccomp= option", () => {
    expect(f.securityOpt).toHaveLength(1);
    const option = f.securityOpt[0] ?? "";
    expect(option.startsWith("seccomp=")).toBe(true);
    const profile = JSON.parse(option.slice("seccomp=".length));
    expect(profile).toEqual(file);
    expect(f.blocksExec).toBe(false);
    expect(f.arm).toBeUndefined();
    expect(f.expectedErrno).toBe("Cannot allocate memory");
  });

  it("clone without CLONE_THREAD returns errno 12 (ENOMEM) through a masked compare on flags", () => {
    const profile = JSON.parse((f.securityOpt[0] ?? "").slice("seccomp=".length)) as SeccompProfile;
    const clone = profile.syscalls.find((r) => r.names.includes("clone"));
    expect(clone).toMatchObject({
      action: "SCMP_ACT_ERRNO",
      errnoRet: 12,
      args: [{ index: 0, value: CLONE_THREAD, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    });
    expect(verdictFor(profile, "clone", [FORK_FLAGS])).toBe("ERRNO 12");
    expect(verdictFor(profile, "clone", [SIGCHLD])).toBe("ERRNO 12");
  });

  it("threads still start: clone with CLONE_THREAD is allowed", () => {
    const profile = JSON.parse((f.securityOpt[0] ?? "").slice("seccomp=".length)) as SeccompProfile;
    expect(THREAD_FLAGS & CLONE_THREAD).toBe(CLONE_THREAD);
    expect(verdictFor(profile, "clone", [THREAD_FLAGS])).toBe("ALLOW");
  });

  it("clone3 returns errno 38 (ENOSYS), so glibc falls back to clone; fork and vfork get ENOMEM", () => {
    const profile = JSON.parse((f.securityOpt[0] ?? "").slice("seccomp=".length)) as SeccompProfile;
    expect(verdictFor(profile, "clone3", [FORK_FLAGS])).toBe("ERRNO 38");
    expect(verdictFor(profile, "clone3", [THREAD_FLAGS])).toBe("ERRNO 38");
    expect(verdictFor(profile, "fork")).toBe("ERRNO 12");
    expect(verdictFor(profile, "vfork")).toBe("ERRNO 12");
  });

  it("leaves alone what Redis and the probes need", () => {
    const profile = JSON.parse((f.securityOpt[0] ?? "").slice("seccomp=".length)) as SeccompProfile;
    expect(profile.defaultAction).toBe("SCMP_ACT_ALLOW");
    for (const call of ["execve", "pipe", "pipe2", "socket", "accept", "accept4", "epoll_wait", "open"])
      expect(verdictFor(profile, call)).toBe("ALLOW");
  });

  it("a recorded run under it logged the errno the fault expects", () => {
    const result = recordedResult("seed-fidelity-3.2.8.json.gz", "3.2.8");
    expect(result.fault).toBe("seccomp-enomem");
    expect(result.decision.evidence.errno).toBe(f.expectedErrno);
  });
});
