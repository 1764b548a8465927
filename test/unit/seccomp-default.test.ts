import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerDir } from "../../harness/core/paths.js";
import { type SeccompProfile, verdictFor } from "../helpers/seccomp.js";

/**
 * The fault profile replaces the engine's default one, so it must refuse at least what the default
 * refuses to a container without capabilities (the harness drops them all). This list is the current
 * Docker default's refusals on x86_64 (docs/security.md: source, date and how it was derived); a call
 * here that the profile allows again fails the test.
 */
const REFUSED_BY_DOCKER_DEFAULT = [
  // io_uring: refused since Docker 25 because it can get around seccomp.
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  // Namespaces, mounts, modules, kernel state.
  "unshare",
  "setns",
  "mount",
  "umount2",
  "mount_setattr",
  "move_mount",
  "open_tree",
  "open_tree_attr",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "pivot_root",
  "chroot",
  "init_module",
  "finit_module",
  "delete_module",
  "create_module",
  "get_kernel_syms",
  "query_module",
  "kexec_load",
  "kexec_file_load",
  "reboot",
  "swapon",
  "swapoff",
  "acct",
  "quotactl",
  "quotactl_fd",
  "nfsservctl",
  "_sysctl",
  "sysfs",
  "ustat",
  "uselib",
  "lookup_dcookie",
  // Keys, tracing, BPF, other processes' memory and fds.
  "add_key",
  "request_key",
  "keyctl",
  "bpf",
  "perf_event_open",
  "fanotify_init",
  "userfaultfd",
  "kcmp",
  "pidfd_getfd",
  "process_madvise",
  "open_by_handle_at",
  // Clocks, host names, hardware, memory policy.
  "settimeofday",
  "clock_settime",
  "sethostname",
  "setdomainname",
  "syslog",
  "vhangup",
  "iopl",
  "ioperm",
  "mbind",
  "set_mempolicy",
  "get_mempolicy",
  "set_mempolicy_home_node",
  "migrate_pages",
  "move_pages",
  "lsm_get_self_attr",
  "lsm_set_self_attr",
  "lsm_list_modules",
  "file_getattr",
  "file_setattr",
  // Never implemented on x86_64, refused by the default's allowlist all the same.
  "getpmsg",
  "putpmsg",
  "afs_syscall",
  "tuxcall",
  "security",
  "vserver",
];

const AF_ALG = 38;
const AF_VSOCK = 40;
const AF_INET = 2;
const AF_UNIX = 1;
const ADDR_NO_RANDOMIZE = 0x0040000;

describe("the fault profile is no weaker than the Docker default", () => {
  const profile = JSON.parse(
    readFileSync(join(dockerDir, "seccomp", "fork-enomem.json"), "utf8"),
  ) as SeccompProfile;

  it.each(REFUSED_BY_DOCKER_DEFAULT)("%s is refused with EPERM", (call) => {
    expect(verdictFor(profile, call)).toBe("ERRNO 1");
  });

  it("refuses the socket families the default refuses (AF_ALG, AF_VSOCK), not the ones Redis uses", () => {
    expect(verdictFor(profile, "socket", [AF_ALG])).toBe("ERRNO 1");
    expect(verdictFor(profile, "socket", [AF_VSOCK])).toBe("ERRNO 1");
    expect(verdictFor(profile, "socket", [AF_INET])).toBe("ALLOW");
    expect(verdictFor(profile, "socket", [AF_UNIX])).toBe("ALLOW");
  });

  it("refuses personality changes such as turning off address randomisation", () => {
    expect(verdictFor(profile, "personality", [ADDR_NO_RANDOMIZE])).toBe("ERRNO 1");
  });

  it("keeps every refusal in rules that cannot be satisfied by a different argument", () => {
    // A refusal with argument filters only refuses some calls: the listed ones must have none.
    for (const call of REFUSED_BY_DOCKER_DEFAULT) {
      const rules = profile.syscalls.filter((r) => r.names.includes(call));
      expect(rules, call).toHaveLength(1);
      expect(rules[0]?.args ?? [], call).toEqual([]);
    }
  });
});
