import { describe, expect, it } from "vitest";
import { RedisConfig as ScenarioRedisConfig } from "../../harness/scenario/index.js";
import { DirectiveValue, RedisConfig, redisArgs, rejectedDirective } from "../../harness/targets/config.js";

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

  it('turns snapshots off with --save "" by default: one empty argument, not none', () => {
    expect(config.save).toBeUndefined();
    const args = redisArgs("3.2.8", config);
    const at = args.indexOf("--save");
    expect(args.slice(at, at + 2)).toEqual(["--save", ""]);
    expect(args.filter((a) => a === "--save")).toHaveLength(1);
    expect(option(args, "dir")).toBe("/data");
    // Every option here has exactly one value: the empty save must be a separate argument, not dropped.
    expect(args.length % 2).toBe(0);
    for (let i = 0; i < args.length; i += 2) expect(args[i]).toMatch(/^--[a-z-]+$/);
  });

  it("an explicit empty save stays one empty argument", () => {
    const args = redisArgs("3.2.8", { ...config, save: "" });
    expect(args.slice(args.indexOf("--save"), args.indexOf("--save") + 2)).toEqual(["--save", ""]);
    expect(args.filter((a) => a === "")).toHaveLength(1);
  });

  it("splits a value into words, as a redis.conf line is: save 900 1", () => {
    const args = redisArgs("3.2.8", { ...config, save: "900 1" });
    const at = args.indexOf("--save");
    expect(args.slice(at, at + 4)).toEqual(["--save", "900", "1", args[at + 3]]);
    expect(args[at + 3]).toMatch(/^--/);
    expect(args.filter((a) => a === "--save")).toHaveLength(1);
    const spaced = redisArgs("7.0.15", { "client-output-buffer-limit": "  replica 256mb   64mb 60 " });
    const i = spaced.indexOf("--client-output-buffer-limit");
    expect(spaced.slice(i, i + 5)).toEqual([
      "--client-output-buffer-limit",
      "replica",
      "256mb",
      "64mb",
      "60",
    ]);
  });

  it("repeats the directive for each line of a list: several save schedules", () => {
    const args = redisArgs("3.2.8", { ...config, save: ["900 1", "300 10"] });
    const saves = args.flatMap((a, i) => (a === "--save" ? [args.slice(i, i + 3)] : []));
    expect(saves).toEqual([
      ["--save", "900", "1"],
      ["--save", "300", "10"],
    ]);
  });

  it("booleans are yes/no, numbers their decimal text, any directive passed by its own name", () => {
    const args = redisArgs("7.0.15", {
      "aof-use-rdb-preamble": false,
      "lazyfree-lazy-eviction": true,
      maxmemory: 1048576,
      "maxmemory-policy": "allkeys-lru",
    });
    expect(option(args, "aof-use-rdb-preamble")).toBe("no");
    expect(option(args, "lazyfree-lazy-eviction")).toBe("yes");
    expect(option(args, "maxmemory")).toBe("1048576");
    expect(option(args, "maxmemory-policy")).toBe("allkeys-lru");
  });

  it("the scenario's dir and save win over the harness defaults, each passed once", () => {
    const args = redisArgs("3.2.8", { dir: "/tmp", save: "60 1" });
    expect(args.filter((a) => a === "--dir")).toHaveLength(1);
    expect(option(args, "dir")).toBe("/tmp");
    expect(args.filter((a) => a === "--save")).toHaveLength(1);
    expect(option(args, "save")).toBe("60");
  });
});

describe("RedisConfig (the open directive map)", () => {
  it("is the one schema the scenario layer composes (no second copy)", () => {
    expect(ScenarioRedisConfig).toBe(RedisConfig);
  });

  it("a list's lines are words, not numbers or lists", () => {
    expect(DirectiveValue.safeParse(["900 1", "300 10"]).success).toBe(true);
    expect(DirectiveValue.safeParse([900]).success).toBe(false);
    expect(DirectiveValue.safeParse([["900 1"]]).success).toBe(false);
  });

  it("accepts any directive name and the value kinds redis.conf has", () => {
    const parsed = RedisConfig.parse({
      "maxmemory-policy": "noeviction",
      appendonly: true,
      hz: 10,
      save: ["900 1"],
    });
    expect(parsed).toEqual({ "maxmemory-policy": "noeviction", appendonly: true, hz: 10, save: ["900 1"] });
  });

  it.each(["port", "protected-mode", "daemonize"])("refuses %s: the harness owns it", (name) => {
    const result = RedisConfig.safeParse({ [name]: "yes" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([name]);
    expect(result.error?.issues[0]?.message).toBe(`${name} is set by the harness; remove it`);
  });

  it.each(["Dir", "max memory", "--hz", "", "1hz"])("refuses %j as a directive name", (name) => {
    expect(RedisConfig.safeParse({ [name]: "x" }).success).toBe(false);
  });

  it.each([null, { a: 1 }, [1, 2]])("refuses the value %j", (value) => {
    expect(RedisConfig.safeParse({ hz: value }).success).toBe(false);
  });
});

describe("rejectedDirective", () => {
  it("reads the directive and the reason from a 3.2 FATAL CONFIG FILE ERROR block", () => {
    const log = [
      "",
      "*** FATAL CONFIG FILE ERROR ***",
      "Reading the configuration file, at line 2",
      `>>> 'foo "bar"'`,
      "Bad directive or wrong number of arguments",
    ];
    expect(rejectedDirective(log)).toEqual({
      directive: "foo",
      why: "Bad directive or wrong number of arguments",
    });
  });

  it("and from 7.x's, whose first line names the release", () => {
    const log = [
      "1:C 27 Nov 2026 16:58:10.001 # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
      "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***",
      "Reading the configuration file, at line 3",
      `>>> 'appendfsync "sometimes"'`,
      "argument(s) must be one of the following: always, everysec, no",
    ];
    expect(rejectedDirective(log)).toEqual({
      directive: "appendfsync",
      why: "argument(s) must be one of the following: always, everysec, no",
    });
  });

  it("is undefined for a log without the block", () => {
    expect(rejectedDirective([])).toBeUndefined();
    expect(
      rejectedDirective(["1:M 27 Nov 2026 16:58:10.300 * Ready to accept connections", "Bad directive"]),
    ).toBeUndefined();
  });
});
