import type { RedisConfig } from "../scenario.js";
import { compareVersions } from "./spec.js";

/**
 * redis-server arguments for a scenario's config on a given release. What differs by release lives
 * here: `protected-mode` does not exist before 3.2 (a fatal config error there) and must be `no` from
 * 3.2 on, or clients coming through a published port are refused. Unknown versions (brought images
 * without our labels) are treated as modern.
 */
export function redisArgs(version: string | undefined, config: RedisConfig): string[] {
  const args: string[] = ["--port", "6379"];
  if (!version || compareVersions(version, "3.2.0") >= 0) args.push("--protected-mode", "no");
  args.push(
    "--appendonly",
    config.appendonly ? "yes" : "no",
    "--auto-aof-rewrite-percentage",
    String(config["auto-aof-rewrite-percentage"]),
    "--auto-aof-rewrite-min-size",
    config["auto-aof-rewrite-min-size"],
    "--maxclients",
    String(config.maxclients),
    "--hz",
    String(config.hz),
    "--dir",
    config.dir,
    "--save",
    config.save,
  );
  return args;
}

/** Event loop size: fds at or above it get ERANGE (maxclients + CONFIG_FDSET_INCR, 32 + 96). */
export function eventLoopSize(maxclients: number): number {
  return maxclients + 128;
}
