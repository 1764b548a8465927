import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Fault } from "../../harness/core/fault.js";
import { dockerDir } from "../../harness/core/paths.js";
import { FaultName, faultFrom, noFault, pidsLimit, seccompEnomem } from "../../harness/parts/faults/index.js";
import { fakeNode } from "../helpers/fake-node.js";
import { recordedResult } from "../helpers/runs.js";
import { type SeccompProfile, verdictFor } from "../helpers/seccomp.js";

/**
 * A node that records what a fault asks of it, in order. A fault's start and heal are pure logic over
 * these calls; what the engine does with them is the integration suite's (real containers).
 */
function recordingNode(tasks: number | Error, fail: { execBlocked?: Error } = {}) {
  const calls: string[] = [];
  const node = fakeNode({
    limits: { memory: 64 * 1024 ** 2, pids: 64, nofile: 1024 },
    taskCount: async () => {
      calls.push("taskCount");
      if (tasks instanceof Error) throw tasks;
      return tasks;
    },
    setPidsLimit: async (limit) => {
      calls.push(`setPidsLimit ${limit}`);
    },
    execBlocked: async (blocked) => {
      calls.push(`execBlocked ${blocked}`);
      if (fail.execBlocked && blocked) throw fail.execBlocked;
    },
  });
  return { node, calls };
}

describe("fault pids-limit", () => {
  it.each([1, 7, 33])(
    "starts with %i tasks: reads, blocks exec, then sets the limit to exactly that",
    async (tasks) => {
      const { node, calls } = recordingNode(tasks);
      const said = await pidsLimit().start?.(node);
      // Exec is blocked before the limit holds: a probe's exec must never be the process that cannot start.
      expect(calls).toEqual(["taskCount", "execBlocked true", `setPidsLimit ${tasks}`]);
      expect(said).toBe(`pids limit set to ${tasks} (the server's tasks at start)`);
    },
  );

  it("heals by setting the node's own limit back, then lets exec run again", async () => {
    const { node, calls } = recordingNode(5);
    const said = await pidsLimit().heal?.(node);
    expect(calls).toEqual(["setPidsLimit 64", "execBlocked false"]);
    expect(said).toBe("pids limit set back to 64");
  });

  it("sets no limit when the task count cannot be read", async () => {
    const { node, calls } = recordingNode(new Error("no pids cgroup controller"));
    await expect(pidsLimit().start?.(node)).rejects.toThrow("no pids cgroup controller");
    expect(calls).toEqual(["taskCount"]);
  });

  it("sets no limit when the node cannot be read another way (no exec would work after)", async () => {
    const refused = new Error("cannot read the engine host's /proc");
    const { node, calls } = recordingNode(5, { execBlocked: refused });
    await expect(pidsLimit().start?.(node)).rejects.toBe(refused);
    expect(calls).toEqual(["taskCount", "execBlocked true"]);
  });

  it("adds no container option and expects EAGAIN", () => {
    const f = pidsLimit();
    expect(f.container).toBeUndefined();
    expect(f.expectedErrno).toBe("Resource temporarily unavailable");
  });
});

describe("every built-in fault", () => {
  it.each(FaultName.options)("%s is named after itself and says what it does", (name) => {
    const f = faultFrom(name);
    expect(f.name).toBe(name);
    expect(f.description.length).toBeGreaterThan(10);
  });

  it("how each is on: seccomp from the node's creation, pids-limit started and healed on a running node", () => {
    const how = (f: Fault) => ({
      container: f.container !== undefined,
      start: f.start !== undefined,
      heal: f.heal !== undefined,
    });
    expect(how(seccompEnomem())).toEqual({ container: true, start: false, heal: false });
    expect(how(pidsLimit())).toEqual({ container: false, start: true, heal: true });
    expect(how(noFault())).toEqual({ container: false, start: false, heal: false });
  });

  it("none is a control: nothing fails, so no errno is expected", () => {
    expect(noFault().expectedErrno).toBeUndefined();
  });
});

const CLONE_THREAD = 0x10000;
const SIGCHLD = 17;
/** glibc fork(): clone(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD). */
const FORK_FLAGS = 0x01000000 | 0x00200000 | SIGCHLD;
/** glibc pthread_create: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID. */
const THREAD_FLAGS = 0x3d0f00;
const AF_ALG = 38;

describe("fault seccomp-enomem", () => {
  const f = seccompEnomem();
  const file = JSON.parse(readFileSync(join(dockerDir, "seccomp", "fork-enomem.json"), "utf8"));
  /** The profile the node's container is created with: what the option carries, not the file. */
  const profile = (): SeccompProfile => {
    const options = f.container?.securityOpt ?? [];
    expect(options).toHaveLength(1);
    const option = options[0] ?? "";
    expect(option.startsWith("seccomp=")).toBe(true);
    return JSON.parse(option.slice("seccomp=".length)) as SeccompProfile;
  };

  it("passes the profile's content (not its path) as one seccomp= option, nothing else", () => {
    expect(profile()).toEqual(file);
    expect(f.container?.env).toBeUndefined();
    expect(f.container?.wrap).toBeUndefined();
    expect(f.expectedErrno).toBe("Cannot allocate memory");
  });

  it("clone without CLONE_THREAD returns errno 12 (ENOMEM) through a masked compare on flags", () => {
    const clone = profile().syscalls.find((r) => r.names.includes("clone"));
    expect(clone).toMatchObject({
      action: "SCMP_ACT_ERRNO",
      errnoRet: 12,
      args: [{ index: 0, value: CLONE_THREAD, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    });
    expect(verdictFor(profile(), "clone", [FORK_FLAGS])).toBe("ERRNO 12");
    expect(verdictFor(profile(), "clone", [SIGCHLD])).toBe("ERRNO 12");
  });

  it("threads still start: clone with CLONE_THREAD is allowed", () => {
    expect(THREAD_FLAGS & CLONE_THREAD).toBe(CLONE_THREAD);
    expect(verdictFor(profile(), "clone", [THREAD_FLAGS])).toBe("ALLOW");
  });

  it("clone3 returns errno 38 (ENOSYS), so glibc falls back to clone; fork and vfork get ENOMEM", () => {
    expect(verdictFor(profile(), "clone3", [FORK_FLAGS])).toBe("ERRNO 38");
    expect(verdictFor(profile(), "clone3", [THREAD_FLAGS])).toBe("ERRNO 38");
    expect(verdictFor(profile(), "fork")).toBe("ERRNO 12");
    expect(verdictFor(profile(), "vfork")).toBe("ERRNO 12");
  });

  it("replaces Docker's default profile and refuses what it refuses (seccomp-default.test.ts has the list)", () => {
    // The option is the file: the full list is checked on the file; here, a few through the option.
    for (const call of ["mount", "unshare", "setns", "io_uring_setup", "bpf", "keyctl", "kexec_load"])
      expect(verdictFor(profile(), call), call).toBe("ERRNO 1");
    expect(verdictFor(profile(), "socket", [AF_ALG])).toBe("ERRNO 1");
  });

  it("leaves alone what Redis and the probes need", () => {
    expect(profile().defaultAction).toBe("SCMP_ACT_ALLOW");
    for (const call of ["execve", "pipe", "pipe2", "socket", "accept", "accept4", "epoll_wait", "open"])
      expect(verdictFor(profile(), call)).toBe("ALLOW");
  });

  it("a recorded run under it logged the errno the fault expects", () => {
    const result = recordedResult("seed-fidelity-3.2.8.json.gz", "3.2.8");
    expect(result.faults).toEqual(["seccomp-enomem"]);
    const failed = result.history.events.filter((e) => e.kind === "fork-failed");
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((e) => e.errno))).toEqual(new Set([f.expectedErrno]));
  });
});
