import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { LABEL_OWNER_BOOT, LABEL_OWNER_HOST, LABEL_OWNER_PID, LABEL_OWNER_START } from "./labels.js";

/**
 * Which process owns a container, so that a cleanup can tell a killed run's leftovers from a live
 * concurrent run's containers. A pid alone is not enough: pids are reused, and another machine (or a
 * reboot) has its own. So the labels also hold the process's start time (in clock ticks since boot),
 * the host name and the kernel's boot id.
 */
export interface Owner {
  pid: number;
  start: string;
  host: string;
  boot: string;
}

function readOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return fallback;
  }
}

/** Field 22 of /proc/PID/stat: when the process started. The command name (field 2) may hold spaces. */
export function processStart(pid: number): string | undefined {
  const stat = readOr(`/proc/${pid}/stat`, "");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

export function currentOwner(): Owner {
  return {
    pid: process.pid,
    start: processStart(process.pid) ?? "unknown",
    host: hostname(),
    boot: readOr("/proc/sys/kernel/random/boot_id", "unknown"),
  };
}

export function ownerLabels(owner: Owner = currentOwner()): Record<string, string> {
  return {
    [LABEL_OWNER_PID]: String(owner.pid),
    [LABEL_OWNER_START]: owner.start,
    [LABEL_OWNER_HOST]: owner.host,
    [LABEL_OWNER_BOOT]: owner.boot,
  };
}

export type Liveness = "alive" | "dead" | "unknown";

/**
 * "dead" only when certain: same host and boot, and no process with that pid and start time.
 * Another host, another boot we cannot see into, or labels missing (an older harness, an image
 * build's container): "unknown", which cleanup leaves alone.
 */
export function ownerLiveness(labels: Record<string, string>, here: Owner = currentOwner()): Liveness {
  const pid = Number(labels[LABEL_OWNER_PID]);
  const start = labels[LABEL_OWNER_START];
  const host = labels[LABEL_OWNER_HOST];
  const boot = labels[LABEL_OWNER_BOOT];
  if (!Number.isInteger(pid) || pid <= 0 || !start || !host || !boot) return "unknown";
  if (host !== here.host) return "unknown";
  // The same host after a reboot: every process of the old boot is gone.
  if (boot !== here.boot) return here.boot === "unknown" ? "unknown" : "dead";
  if (pid === here.pid) return start === here.start ? "alive" : "dead";
  const now = processStart(pid);
  if (now === undefined) return "dead";
  return now === start ? "alive" : "dead";
}
