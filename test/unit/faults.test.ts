import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../harness/core/errors.js";
import type { Fault } from "../../harness/core/fault.js";
import type { EndCause, ExecResult } from "../../harness/core/node.js";
import { dockerDir } from "../../harness/core/paths.js";
import {
  errnoOf,
  FaultName,
  FaultSpec,
  faultFrom,
  LIBFIU_POINTS,
  LIBFIU_PRELOAD,
  libfiuPoint,
  noFault,
  pidsLimit,
  seccompEnomem,
} from "../../harness/parts/faults/index.js";
import { fakeNode } from "../helpers/fake-node.js";
import { recordedResult } from "../helpers/runs.js";
import { type SeccompProfile, verdictFor } from "../helpers/seccomp.js";

/**
 * A node that records what a fault asks of it, in order, with scripted answers (over the shared fake
 * node, which fails loudly on anything not given). A fault's start and heal are pure logic over these
 * calls; what the engine does with them is tested on real containers (test/integration/faults.test.ts).
 */
function recordingNode(
  answers: {
    tasks?: number | Error;
    exec?: (command: string[]) => Partial<ExecResult>;
    ended?: { cause: EndCause; detail: string };
    execBlocked?: Error;
  } = {},
) {
  const calls: string[] = [];
  const node = fakeNode({
    limits: { memory: 64 * 1024 ** 2, pids: 64, nofile: 1024 },
    taskCount: async () => {
      calls.push("taskCount");
      if (answers.tasks instanceof Error) throw answers.tasks;
      return answers.tasks ?? 4;
    },
    setPidsLimit: async (limit) => {
      calls.push(`setPidsLimit ${limit}`);
    },
    execBlocked: async (blocked) => {
      calls.push(`execBlocked ${blocked}`);
      if (answers.execBlocked && blocked) throw answers.execBlocked;
      return blocked ? "the test's way" : undefined;
    },
    disconnect: async () => {
      calls.push("disconnect");
    },
    reconnect: async () => {
      calls.push("reconnect");
    },
    endState: async () => {
      calls.push("endState");
      return answers.ended;
    },
    exec: async (command) => {
      calls.push(`exec ${command.join(" ")}`);
      const answer = answers.exec?.(command) ?? {};
      const output = answer.output ?? "";
      return { exitCode: 0, stdout: output, stderr: "", ...answer, output };
    },
  });
  return { node, calls };
}

async function thrown(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  expect((error as UserError).message).not.toContain("\n");
  return error as UserError;
}

describe("fault pids-limit", () => {
  const threads = (n: number) => (c: string[]) =>
    c.join(" ") === "ls /proc/1/task"
      ? { output: Array.from({ length: n }, (_, i) => String(i + 1)).join("\n") }
      : {};

  it.each([1, 4, 33])(
    "with %i server threads: start sets the limit to that, heal sets the node's own back",
    async (n) => {
      // The cgroup holds one more task (a BGSAVE child, a probe): the limit is the server's own threads.
      const { node, calls } = recordingNode({ tasks: n + 1, exec: threads(n) });
      const f = faultFrom("pids-limit");
      expect(await f.start?.(node)).toBe(
        `pids limit set to ${n} (the server's tasks at start); fds read by the test's way`,
      );
      expect(await f.heal?.(node)).toBe("pids limit set back to 64");
      expect(calls).toEqual([
        "taskCount",
        "exec ls /proc/1/task",
        "execBlocked true",
        `setPidsLimit ${n}`,
        "setPidsLimit 64",
        "execBlocked false",
      ]);
    },
  );

  it("where /proc/1/task cannot be listed, the cgroup's count is the limit", async () => {
    const { node, calls } = recordingNode({ tasks: 5, exec: () => ({ exitCode: 1 }) });
    await faultFrom("pids-limit").start?.(node);
    expect(calls).toContain("setPidsLimit 5");
  });

  it("sets no limit when the node cannot be read another way (no exec would work after)", async () => {
    const refused = new Error("cannot read the engine host's /proc");
    const { node, calls } = recordingNode({ tasks: 5, exec: threads(3), execBlocked: refused });
    await expect(pidsLimit().start?.(node)).rejects.toBe(refused);
    expect(calls).toEqual(["taskCount", "exec ls /proc/1/task", "execBlocked true"]);
  });

  it("without a pids controller: an environment error naming the fix, and no limit set", async () => {
    const { node, calls } = recordingNode({ tasks: new Error("the engine reports no pids count") });
    const error = await thrown(faultFrom({ fault: "pids-limit" }).start?.(node) as Promise<string>);
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/pids-limit fault needs the engine's pids cgroup controller/);
    expect(error.message).toMatch(/libfiu.*fork/);
    expect(calls).toEqual(["taskCount"]);
  });
});

describe("every named fault", () => {
  it.each(FaultName.options)("%s is named after itself, as a name and as an object", (name) => {
    for (const spec of [name, { fault: name }] as const) {
      const f = faultFrom(spec);
      expect(f.name).toBe(name);
      expect(f.description.length).toBeGreaterThan(0);
    }
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
    expect(how(faultFrom({ fault: "libfiu", call: "fork", errno: "EAGAIN" }))).toEqual({
      container: true,
      start: true,
      heal: true,
    });
    expect(how(faultFrom({ fault: "seccomp", calls: ["pipe2"], errno: "EMFILE" }))).toEqual({
      container: true,
      start: false,
      heal: false,
    });
    expect(how(faultFrom({ fault: "network-cut" }))).toEqual({ container: false, start: true, heal: true });
  });

  it("none is a control: no option, nothing to start or heal, no errno expected", () => {
    const f = faultFrom("none");
    expect(f.container).toBeUndefined();
    expect(f.start).toBeUndefined();
    expect(f.expectedErrno).toBeUndefined();
  });

  it("an unknown name or kind is a usage error that lists the injectors", () => {
    for (const spec of ["bogus", { fault: "bogus" }]) {
      const error = (() => {
        try {
          faultFrom(spec as never);
        } catch (e) {
          return e as UserError;
        }
      })();
      expect(error).toBeInstanceOf(UserError);
      expect(error?.exitCode).toBe(2);
      expect(error?.message).toMatch(/seccomp-enomem, pids-limit, none/);
      expect(error?.message).toMatch(/"fault": "libfiu"/);
    }
  });
});

const CLONE_THREAD = 0x10000;
const SIGCHLD = 17;
/** glibc fork(): clone(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD). */
const FORK_FLAGS = 0x01000000 | 0x00200000 | SIGCHLD;
/** glibc pthread_create: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID. */
const THREAD_FLAGS = 0x3d0f00;

describe("fault seccomp-enomem", () => {
  const f = faultFrom("seccomp-enomem");
  const file = JSON.parse(readFileSync(join(dockerDir, "seccomp", "fork-enomem.json"), "utf8"));
  const option = f.container?.securityOpt?.[0] ?? "";
  const profile = JSON.parse(option.slice("seccomp=".length)) as SeccompProfile;

  it("passes fork-enomem.json's content (not its path) as one seccomp= option, from creation", () => {
    expect(f.container?.securityOpt).toHaveLength(1);
    expect(option.startsWith("seccomp=")).toBe(true);
    expect(profile).toEqual(file);
    expect(f.start).toBeUndefined();
    expect(f.heal).toBeUndefined();
    expect(f.expectedErrno).toBe("Cannot allocate memory");
  });

  it("clone without CLONE_THREAD returns errno 12 (ENOMEM) through a masked compare on flags", () => {
    expect(profile.syscalls.find((r) => r.names.includes("clone"))).toMatchObject({
      action: "SCMP_ACT_ERRNO",
      errnoRet: 12,
      args: [{ index: 0, value: CLONE_THREAD, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }],
    });
    expect(verdictFor(profile, "clone", [FORK_FLAGS])).toBe("ERRNO 12");
    expect(verdictFor(profile, "clone", [SIGCHLD])).toBe("ERRNO 12");
    expect(verdictFor(profile, "clone", [THREAD_FLAGS])).toBe("ALLOW");
  });

  it("clone3 returns ENOSYS so glibc falls back to clone; fork and vfork get ENOMEM; pipes and sockets work", () => {
    expect(verdictFor(profile, "clone3", [FORK_FLAGS])).toBe("ERRNO 38");
    expect(verdictFor(profile, "fork")).toBe("ERRNO 12");
    expect(verdictFor(profile, "vfork")).toBe("ERRNO 12");
    expect(profile.defaultAction).toBe("SCMP_ACT_ALLOW");
    for (const call of ["execve", "pipe", "pipe2", "socket", "accept", "accept4", "epoll_wait", "open"])
      expect(verdictFor(profile, call)).toBe("ALLOW");
  });

  it("replaces Docker's default profile and refuses what it refuses (seccomp-default.test.ts has the list)", () => {
    for (const call of ["mount", "unshare", "setns", "io_uring_setup", "bpf", "keyctl", "kexec_load"])
      expect(verdictFor(profile, call), call).toBe("ERRNO 1");
    expect(verdictFor(profile, "socket", [38])).toBe("ERRNO 1");
  });

  it("a recorded run under it logged the errno the fault expects", () => {
    const result = recordedResult("seed-fidelity-3.2.8.json.gz", "3.2.8");
    expect(result.faults).toEqual(["seccomp-enomem"]);
    const failed = result.history.events.filter((e) => e.kind === "fork-failed");
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((e) => e.errno))).toEqual(new Set([f.expectedErrno]));
  });
});

describe("fault libfiu", () => {
  it("maps calls to the failure points of libfiu 1.1's POSIX preload", () => {
    expect(libfiuPoint("fork")).toBe("posix/proc/fork");
    expect(libfiuPoint("open")).toBe("posix/io/oc/open");
    expect(libfiuPoint("write")).toBe("posix/io/rw/write");
    expect(libfiuPoint("accept")).toBe("posix/io/net/accept");
    expect(libfiuPoint("socket")).toBe("posix/io/net/socket");
    expect(libfiuPoint("close")).toBe("posix/io/oc/close");
    expect(libfiuPoint("malloc")).toBe("libc/mm/malloc");
    expect(libfiuPoint("posix/io/rw/writev")).toBe("posix/io/rw/writev");
    for (const unwrapped of [
      "pipe",
      "pipe2",
      "openat",
      "accept4",
      "dup2",
      "clone",
      "posix/io/rw/write/reduce",
    ])
      expect(libfiuPoint(unwrapped), unwrapped).toBeUndefined();
    expect(LIBFIU_POINTS.size).toBe(100);
  });

  it("starts the server under fiu-run -x; start enables the point with the errno as failinfo, heal disables it", async () => {
    const f = faultFrom({ fault: "libfiu", call: "write", errno: "EIO" });
    expect(f).toMatchObject({ name: "libfiu:write:EIO", expectedErrno: "Input/output error" });
    expect(f.container).toEqual({ wrap: ["fiu-run", "-x"] });
    const { node, calls } = recordingNode();
    await f.start?.(node);
    await f.heal?.(node);
    expect(calls).toEqual([
      "exec fiu-ctrl -c enable name=posix/io/rw/write,failnum=1,failinfo=5 1",
      "exec fiu-ctrl -c disable name=posix/io/rw/write 1",
    ]);
  });

  it("a probability below 1 uses enable_random; errno names are case-blind and numbers work", async () => {
    const f = faultFrom({ fault: "libfiu", call: "accept", errno: "emfile", probability: 0.25 });
    expect(f.name).toBe("libfiu:accept:EMFILE@0.25");
    const { node, calls } = recordingNode();
    await f.start?.(node);
    expect(calls.at(-1)).toBe(
      "exec fiu-ctrl -c enable_random name=posix/io/net/accept,failnum=1,failinfo=24,probability=0.25 1",
    );
    expect(faultFrom({ fault: "libfiu", call: "fork", errno: 12 }).name).toBe("libfiu:fork:ENOMEM");
  });

  it("an image without the preload: fiu-ctrl fails, and the error says the library is missing", async () => {
    const said = "Error: unknown pid or named pipe 1";
    const { node, calls } = recordingNode({
      exec: (c) => (c[0] === "test" ? { exitCode: 1 } : c[0] === "fiu-ctrl" ? { output: said } : {}),
    });
    const error = await thrown(
      faultFrom({ fault: "libfiu", call: "fork", errno: "ENOMEM" }).start?.(node) as Promise<string>,
    );
    expect(error.exitCode).toBe(3);
    expect(error.message).toMatch(/has no libfiu \(\/usr\/lib\/fiu\/fiu_posix_preload.so is missing\)/);
    expect(error.message).toMatch(/libfiu0 and fiu-utils/);
    expect(calls).toEqual([
      "exec fiu-ctrl -c enable name=posix/proc/fork,failnum=1,failinfo=12 1",
      "endState",
      `exec test -e ${LIBFIU_PRELOAD}`,
    ]);
  });

  it("a server that stops as the point takes effect (malloc aborts it): start says so, the run sees the end", async () => {
    const { node, calls } = recordingNode({
      exec: (c) => (c[0] === "fiu-ctrl" ? { exitCode: 1, output: "" } : {}),
      ended: { cause: "exited", detail: "exited with code 134" },
    });
    const said = await faultFrom({ fault: "libfiu", call: "malloc", errno: "ENOMEM" }).start?.(node);
    expect(said).toBe(
      "fiu-ctrl enable name=libc/mm/malloc,failnum=1,failinfo=12 (the server stopped: exited with code 134)",
    );
    expect(calls.some((c) => c.startsWith("exec test"))).toBe(false);
  });

  it("a server not started under fiu-run: the error names the missing control FIFO", async () => {
    const { node } = recordingNode({
      exec: (c) =>
        c.join(" ") === "test -p /tmp/fiu-ctrl-1.in"
          ? { exitCode: 1 }
          : c[0] === "fiu-ctrl"
            ? { output: "Error: unknown pid or named pipe 1" }
            : {},
    });
    const error = await thrown(
      faultFrom({ fault: "libfiu", call: "fork", errno: "ENOMEM" }).start?.(node) as Promise<string>,
    );
    expect(error.message).toMatch(/has no libfiu control FIFO \(\/tmp\/fiu-ctrl-1.in\)/);
  });

  it("fiu-ctrl exits 0 when it fails: anything it prints is an error, on start and on heal", async () => {
    const said = "/tmp/fiu-ctrl-1: Command 'disable name=posix/proc/fork' returned error (-1)";
    const { node } = recordingNode({ exec: (c) => (c[0] === "fiu-ctrl" ? { output: said } : {}) });
    const error = await thrown(
      faultFrom({ fault: "libfiu", call: "fork", errno: "ENOMEM" }).heal?.(node) as Promise<string>,
    );
    expect(error.message).toMatch(
      /fiu-ctrl could not tell node main's server to "disable name=posix\/proc\/fork" \(\/tmp\/fiu-ctrl-1: Command/,
    );
  });

  it("a call libfiu has no point for is a usage error naming the known calls and the seccomp way", () => {
    let error: UserError | undefined;
    try {
      faultFrom({ fault: "libfiu", call: "pipe2", errno: "EMFILE" });
    } catch (e) {
      error = e as UserError;
    }
    expect(error?.exitCode).toBe(2);
    expect(error?.message).toMatch(
      /call: libfiu 1.1 has no failure point for "pipe2": name one of accept, bind/,
    );
    expect(error?.message).toMatch(/fork.*malloc.*open.*socket.*write/);
    expect(error?.message).toMatch(/"fault": "seccomp"/);
  });

  it("probability must be in (0, 1]", () => {
    for (const probability of [0, 1.5, -1])
      expect(FaultSpec.safeParse({ fault: "libfiu", call: "fork", errno: "EIO", probability }).success).toBe(
        false,
      );
  });
});

describe("fault network-cut", () => {
  it("start leaves the run's network, heal joins it again", async () => {
    const f = faultFrom({ fault: "network-cut" });
    expect(f.name).toBe("network-cut");
    const { node, calls } = recordingNode();
    expect(await f.start?.(node)).toMatch(/disconnected/);
    expect(await f.heal?.(node)).toMatch(/connected .* again/);
    expect(calls).toEqual(["disconnect", "reconnect"]);
    expect(f.container).toBeUndefined();
  });
});

describe("errno names", () => {
  it.each([
    ["ENOMEM", 12, "Cannot allocate memory"],
    ["EAGAIN", 11, "Resource temporarily unavailable"],
    ["EWOULDBLOCK", 11, "Resource temporarily unavailable"],
    ["EMFILE", 24, "Too many open files"],
    ["ENOSPC", 28, "No space left on device"],
    ["EIO", 5, "Input/output error"],
    ["ECONNABORTED", 103, "Software caused connection abort"],
    ["EHWPOISON", 133, "Memory page has hardware error"],
  ])("%s is %i, logged as %s", (name, number, text) => {
    expect(errnoOf(name)).toMatchObject({ number, text });
    expect(errnoOf(number).text).toBe(text);
  });
});
