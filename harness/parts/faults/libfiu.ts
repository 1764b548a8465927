import { z } from "zod";
import { UserError } from "../../core/errors.js";
import type { Fault } from "../../core/fault.js";
import type { FaultNode } from "../../core/node.js";
import { ErrnoSpec, errnoOf } from "./errno.js";

/** Where Debian's libfiu0 puts the POSIX preload; `fiu-run -x` preloads it. */
export const LIBFIU_PRELOAD = "/usr/lib/fiu/fiu_posix_preload.so";
/**
 * The server's control FIFOs: fiu-run's preload makes `/tmp/fiu-ctrl-PID.in/.out` (mode 0600, the
 * server's user) and fiu-ctrl addresses a process by its pid, 1 in the container (fiu-run execs the
 * server in place of itself).
 */
const SERVER_PID = "1";
const CONTROL_FIFO = `/tmp/fiu-ctrl-${SERVER_PID}.in`;

/**
 * The failure points of Debian bookworm's libfiu 1.1 POSIX preload that fail their call with the
 * errno given as failinfo (read from fiu_posix_preload.so's strings and the 1.1 sources' modules;
 * test/integration/faults.test.ts reads them again from the library in the image). Left out: the
 * `…/reduce` points (they shorten a read or write, they fail nothing) and the five that ignore the
 * errno (readdir_r, tmpnam, ungetc, ftrylockfile, ferror). One point may cover several symbols:
 * posix/io/oc/open is open and open64, posix/mm/mmap is mmap and mmap64.
 *
 * Not wrapped at all, so out of libfiu's reach (use the seccomp fault): pipe, pipe2, openat,
 * accept4 (what Redis 7.0 accepts with on Linux), dup, dup2, epoll_*, clone, execve.
 */
const POINTS = [
  "libc/mm/calloc libc/mm/malloc libc/mm/realloc libc/str/strdup libc/str/strndup",
  "linux/io/sync_file_range",
  "posix/io/dir/closedir posix/io/dir/fdopendir posix/io/dir/opendir posix/io/dir/readdir",
  "posix/io/dir/rename posix/io/dir/unlink",
  "posix/io/net/accept posix/io/net/bind posix/io/net/connect posix/io/net/listen posix/io/net/poll",
  "posix/io/net/pselect posix/io/net/recv posix/io/net/recvfrom posix/io/net/recvmsg",
  "posix/io/net/select posix/io/net/send posix/io/net/sendmsg posix/io/net/sendto",
  "posix/io/net/shutdown posix/io/net/socket",
  "posix/io/oc/close posix/io/oc/open",
  "posix/io/rw/ftruncate posix/io/rw/pread posix/io/rw/preadv posix/io/rw/pwrite posix/io/rw/pwritev",
  "posix/io/rw/read posix/io/rw/readv posix/io/rw/truncate posix/io/rw/write posix/io/rw/writev",
  "posix/io/sync/fdatasync posix/io/sync/fsync",
  "posix/mm/madvise posix/mm/mlock posix/mm/mlockall posix/mm/mmap posix/mm/mprotect posix/mm/msync",
  "posix/mm/munlock posix/mm/munlockall posix/mm/munmap",
  "posix/proc/fork posix/proc/kill posix/proc/sigaction posix/proc/signal posix/proc/wait",
  "posix/proc/waitid posix/proc/waitpid",
  "posix/stdio/fflush posix/stdio/gp/fgetc posix/stdio/gp/fgets posix/stdio/gp/fputc",
  "posix/stdio/gp/fputs posix/stdio/gp/getc posix/stdio/gp/getchar posix/stdio/gp/getdelim",
  "posix/stdio/gp/getline posix/stdio/gp/gets posix/stdio/gp/putc posix/stdio/gp/putchar",
  "posix/stdio/gp/puts posix/stdio/oc/fclose posix/stdio/oc/fdopen posix/stdio/oc/fmemopen",
  "posix/stdio/oc/fopen posix/stdio/oc/freopen posix/stdio/oc/open_memstream posix/stdio/oc/pclose",
  "posix/stdio/oc/popen posix/stdio/remove posix/stdio/rw/fread posix/stdio/rw/fwrite",
  "posix/stdio/seek/fgetpos posix/stdio/seek/fseek posix/stdio/seek/fseeko posix/stdio/seek/fsetpos",
  "posix/stdio/seek/ftell posix/stdio/seek/ftello posix/stdio/setvbuf posix/stdio/sp/dprintf",
  "posix/stdio/sp/fprintf posix/stdio/sp/fscanf posix/stdio/sp/printf posix/stdio/sp/scanf",
  "posix/stdio/sp/vdprintf posix/stdio/sp/vfprintf posix/stdio/sp/vfscanf posix/stdio/sp/vprintf",
  "posix/stdio/sp/vscanf posix/stdio/tmp/tempnam posix/stdio/tmp/tmpfile",
]
  .join(" ")
  .split(" ");

/** Each point by the call it fails (its last part, unique across the list): "write" → posix/io/rw/write. */
export const LIBFIU_POINTS: ReadonlyMap<string, string> = new Map(
  POINTS.map((point) => [point.slice(point.lastIndexOf("/") + 1), point]),
);

/** A call's failure point: its short name or the point's own name; undefined if libfiu has none. */
export function libfiuPoint(call: string): string | undefined {
  return LIBFIU_POINTS.get(call) ?? (POINTS.includes(call) ? call : undefined);
}

const CALL_HELP = `name one of ${[...LIBFIU_POINTS.keys()].sort().join(", ")} (or its point, e.g. posix/io/rw/write); for a call libfiu does not wrap (pipe, pipe2, openat, accept4…) use {"fault": "seccomp", "calls": […]}`;

/** The data form: which call fails, with which errno, how often. */
export const LibfiuSpec = z
  .object({
    fault: z.literal("libfiu"),
    /** The call (fork, open, write, accept, socket, malloc, close…) or its libfiu point name. */
    call: z.string().refine((c) => libfiuPoint(c) !== undefined, {
      error: (issue) => `libfiu 1.1 has no failure point for ${JSON.stringify(issue.input)}: ${CALL_HELP}`,
    }),
    /** The errno the call fails with (name or number); libfiu takes it as failinfo. */
    errno: ErrnoSpec,
    /** Of each call, the share that fails (libfiu's enable_random); 1: every one. */
    probability: z.number().gt(0).max(1).default(1),
  })
  .strict();
export type LibfiuSpec = z.infer<typeof LibfiuSpec>;

/** Whether fiu-ctrl reached the server: it exits 0 even when it fails, and only prints why. */
async function fiuCtrl(node: FaultNode, command: string): Promise<string | undefined> {
  // As the container's own user, the server's: the FIFOs are 0600.
  const result = await node.exec(["fiu-ctrl", "-c", command, SERVER_PID]);
  const said = result.output.trim();
  return result.exitCode !== 0 || said ? said.split("\n")[0] || `exit ${result.exitCode}` : undefined;
}

/**
 * Sends one command; says what it did. A server that stopped as the command took effect (a failed
 * malloc aborts it) is the fault's effect, not the fault's failure: the run sees the end itself.
 */
async function control(node: FaultNode, command: string): Promise<string> {
  const failed = await fiuCtrl(node, command);
  if (failed === undefined) return `fiu-ctrl ${command}`;
  const end = await node.endState().catch(() => undefined);
  if (end) return `fiu-ctrl ${command} (the server stopped: ${end.detail})`;
  throw await whyNot(node, command, failed);
}

/** Why fiu-ctrl failed, in words a user can act on: no preload in the image, or no control FIFO. */
async function whyNot(node: FaultNode, command: string, said: string): Promise<UserError> {
  if ((await node.exec(["test", "-e", LIBFIU_PRELOAD])).exitCode !== 0) {
    return new UserError(
      `node ${node.name}'s image has no libfiu (${LIBFIU_PRELOAD} is missing), so the libfiu fault cannot work there: use an image the harness built (its bases carry libfiu0 and fiu-utils), install those packages in yours, or use the seccomp fault`,
      "environment",
    );
  }
  if ((await node.exec(["test", "-p", CONTROL_FIFO])).exitCode !== 0) {
    return new UserError(
      `node ${node.name}'s server has no libfiu control FIFO (${CONTROL_FIFO}): it did not start under fiu-run -x, or /tmp is not writable to it; give the node the libfiu fault from its creation`,
      "environment",
    );
  }
  return new UserError(
    `fiu-ctrl could not tell node ${node.name}'s server to "${command}" (${said}): check that the image's fiu-ctrl is libfiu's (Debian's fiu-utils)`,
    "environment",
  );
}

/**
 * libfiu: the server starts under `fiu-run -x` (its POSIX preload wraps the libc calls); `start`
 * enables one failure point in the running server with fiu-ctrl, `heal` disables it. Only the
 * server's process is preloaded (and the children it forks), so probes exec in the container as
 * usual even when fork fails.
 */
export function libfiu(spec: Omit<z.input<typeof LibfiuSpec>, "fault">): Fault {
  const { call, errno, probability } = LibfiuSpec.parse({ ...spec, fault: "libfiu" });
  const point = libfiuPoint(call) as string;
  const e = errnoOf(errno);
  const short = point.slice(point.lastIndexOf("/") + 1);
  const share = probability < 1 ? `@${probability}` : "";
  // failnum is what fiu_fail() returns (any non-zero fails); the wrappers set errno from failinfo.
  const params = `name=${point},failnum=1,failinfo=${e.number}`;
  const enable = probability < 1 ? `enable_random ${params},probability=${probability}` : `enable ${params}`;
  return {
    name: `libfiu:${short}:${e.name}${share}`,
    description: `libfiu: ${short}() fails with ${e.name} (${e.text})${probability < 1 ? ` in ${probability * 100}% of calls` : ""}, in the server's process only`,
    expectedErrno: e.text,
    container: { wrap: ["fiu-run", "-x"] },
    // One exec each (the checks run only to say why fiu-ctrl failed): start and heal cost one round trip.
    async start(node) {
      return control(node, enable);
    },
    async heal(node) {
      return control(node, `disable name=${point}`);
    },
  };
}
