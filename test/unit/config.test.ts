import { describe, expect, it } from "vitest";
import { RedisConfig } from "../../harness/scenario.js";
import { eventLoopSize, redisArgs } from "../../harness/targets/config.js";

const config = RedisConfig.parse({
  appendonly: true,
  "auto-aof-rewrite-percentage": 100,
  "auto-aof-rewrite-min-size": "64kb",
  maxclients: 64,
  hz: 10,
  dir: "/data",
});

/** The value following `--name`, or undefined when the option is absent. */
const option = (args: string[], name: string) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
};

describe("redisArgs", () => {
  it.each(["3.2.0", "3.2.8", "3.2.9", "7.0.15", "8.0-m01"])("turns protected-mode off on %s", (version) => {
    expect(option(redisArgs(version, config), "protected-mode")).toBe("no");
  });

  it("turns protected-mode off for an unknown version (brought image)", () => {
    expect(option(redisArgs(undefined, config), "protected-mode")).toBe("no");
    expect(option(redisArgs("", config), "protected-mode")).toBe("no");
  });

  it.each(["3.0.7", "2.8.24", "3.2.0-rc3"])(
    "does not pass protected-mode to %s (no such option there)",
    (version) => {
      const args = redisArgs(version, config);
      expect(args).not.toContain("--protected-mode");
      expect(args.some((a) => a.includes("protected"))).toBe(false);
    },
  );

  it("passes the scenario's config", () => {
    const args = redisArgs("3.2.8", config);
    expect(args.slice(0, 2)).toEqual(["--port", "6379"]);
    expect(option(args, "appendonly")).toBe("yes");
    expect(option(args, "auto-aof-rewrite-percentage")).toBe("100");
    expect(option(args, "auto-aof-rewrite-min-size")).toBe("64kb");
    expect(option(args, "maxclients")).toBe("64");
    expect(option(args, "hz")).toBe("10");
    expect(option(args, "dir")).toBe("/data");
    expect(option(redisArgs("3.2.8", { ...config, appendonly: false }), "appendonly")).toBe("no");
  });

  it('turns snapshots off with --save "" by default', () => {
    expect(config.save).toBe("");
    const args = redisArgs("3.2.8", config);
    expect(option(args, "save")).toBe("");
    // Every option has exactly one value: the empty save must be a separate argument, not dropped.
    expect(args.length % 2).toBe(0);
    for (let i = 0; i < args.length; i += 2) expect(args[i]).toMatch(/^--[a-z-]+$/);
  });

  it("passes an explicit save schedule", () => {
    expect(option(redisArgs("3.2.8", { ...config, save: "900 1" }), "save")).toBe("900 1");
  });
});

describe("eventLoopSize", () => {
  it("is maxclients + 128 (32 reserved + 96 CONFIG_FDSET_INCR)", () => {
    expect(eventLoopSize(64)).toBe(192);
    expect(eventLoopSize(10000)).toBe(10128);
  });
});
