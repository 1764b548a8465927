import { expect } from "vitest";

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}
export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}
export interface SeccompProfile {
  defaultAction: string;
  syscalls: SeccompRule[];
}

function compare(arg: SeccompArg, actual: number): boolean {
  switch (arg.op) {
    case "SCMP_CMP_MASKED_EQ":
      return (actual & arg.value) === arg.valueTwo;
    case "SCMP_CMP_EQ":
      return actual === arg.value;
    default:
      throw new Error(`unexpected op ${arg.op}`);
  }
}

/** What the profile does to one call: "ALLOW" or "ERRNO n" (only the comparisons the profile uses). */
export function verdictFor(profile: SeccompProfile, name: string, args: number[] = []): string {
  const matching = profile.syscalls.filter(
    (rule) =>
      rule.names.includes(name) && (rule.args ?? []).every((arg) => compare(arg, args[arg.index] ?? 0)),
  );
  expect(matching.length).toBeLessThanOrEqual(1);
  const rule = matching[0];
  if (!rule) return profile.defaultAction === "SCMP_ACT_ALLOW" ? "ALLOW" : profile.defaultAction;
  return rule.action === "SCMP_ACT_ERRNO" ? `ERRNO ${rule.errnoRet}` : rule.action;
}

/**
 * The fault profile replaces the engine's default one, so it must refuse at least what the default
 * refuses to a container without capabilities (the harness drops them all). This list is the current
 * Docker default's refusals on x86_64 (docs/security.md: source, date and how it was derived); a call
 * here that the profile allows again fails the test.
 */
export const REFUSED_BY_DOCKER_DEFAULT = [
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
