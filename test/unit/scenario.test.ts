import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../harness/errors.js";
import { scenariosDir } from "../../harness/paths.js";
import {
  ByteSize,
  DEFAULT_SCENARIO,
  listScenarios,
  loadScenario,
  parseScenario,
} from "../../harness/scenario.js";
import { userError } from "../helpers/errors.js";

async function realScenario(name = DEFAULT_SCENARIO): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(scenariosDir, `${name}.json`), "utf8"));
}

describe("ByteSize", () => {
  it.each<[string | number, number]>([
    ["64m", 67108864],
    ["512k", 524288],
    ["1g", 1073741824],
    ["64M", 67108864],
    ["64mb", 67108864],
    ["64MiB", 67108864],
    ["64 m", 67108864],
    ["1000", 1000],
    [4096, 4096],
  ])("%j is %d bytes", (input, bytes) => {
    expect(ByteSize.parse(input)).toBe(bytes);
  });

  it.each<unknown>(["", "m", "64x", "-1m", "1.5g", "64 megabytes", 0, -5, 1.5, "0", "0m", null])(
    "refuses %j",
    (input) => {
      expect(ByteSize.safeParse(input).success).toBe(false);
    },
  );
});

describe("the real scenarios", () => {
  it("are all valid and named after their file", async () => {
    const names = await listScenarios();
    expect(names).toContain(DEFAULT_SCENARIO);
    for (const name of names) {
      const scenario = parseScenario(await realScenario(name), `${name}.json`);
      expect(scenario.name).toBe(name);
      expect(scenario.targets.length).toBeGreaterThan(0);
    }
  });

  it("the seed scenario reads as written, with defaults filled in", async () => {
    const scenario = await loadScenario();
    expect(scenario.limits.memory).toBe(64 * 1024 * 1024);
    expect(scenario.redis.save).toBe("");
    expect(scenario.redis.maxclients).toBe(64);
    expect(scenario.trigger).toEqual({ kind: "auto-growth", valueBytes: 128 });
    expect(scenario.budgets).toEqual({ attempts: 30, timeLimitSeconds: 60 });
    expect(scenario.checker).toEqual({ tolerance: 3, fdsPerAttempt: 6 });
    expect(scenario.expect["3.2.8"]).toBe("exhaustion");
    expect(scenario.expect["3.2.8+fix-aof-pipe-leak"]).toBe("stable");
  });

  it("loads by path as well as by name", async () => {
    const byPath = await loadScenario(join(scenariosDir, `${DEFAULT_SCENARIO}.json`));
    expect(byPath).toEqual(await loadScenario(DEFAULT_SCENARIO));
  });

  it("fills the checker and budget defaults when left out", async () => {
    const data = await realScenario();
    delete data.checker;
    data.budgets = { timeLimitSeconds: 10 };
    const scenario = parseScenario(data, "x.json");
    expect(scenario.checker).toEqual({ tolerance: 3, fdsPerAttempt: 6 });
    expect(scenario.budgets.attempts).toBe(30);
  });
});

describe("parseScenario errors", () => {
  it("names the file and the field path of a bad value", async () => {
    const data = await realScenario();
    data.limits = { ...(data.limits as object), memory: "lots" };
    const error = userError(() => parseScenario(data, "scenarios/broken.json"));
    expect(error.message).toContain("invalid scenario scenarios/broken.json");
    expect(error.message).toMatch(/: limits\.memory: .+; fix that field$/);
  });

  it("names nested paths in the redis config", async () => {
    const data = await realScenario();
    data.redis = { ...(data.redis as object), dir: "data" };
    expect(userError(() => parseScenario(data, "s.json")).message).toContain("redis.dir");
  });

  it("names a missing field", async () => {
    const data = await realScenario();
    delete data.fault;
    expect(userError(() => parseScenario(data, "s.json")).message).toMatch(/: fault: /);
  });

  it("refuses an unknown fault and an unknown verdict", async () => {
    const data = await realScenario();
    expect(userError(() => parseScenario({ ...data, fault: "oom-killer" }, "s.json")).message).toContain(
      "fault",
    );
    expect(
      userError(() => parseScenario({ ...data, expect: { "3.2.8": "crash" } }, "s.json")).message,
    ).toContain("expect.3.2.8");
  });

  it("refuses an unknown key at the top level and inside nested objects (strict)", async () => {
    const data = await realScenario();
    const top = userError(() => parseScenario({ ...data, extra: 1 }, "s.json"));
    expect(top.message).toContain("(top level)");
    expect(top.message).toContain("extra");
    const nested = userError(() =>
      parseScenario({ ...data, limits: { ...(data.limits as object), cpus: 2 } }, "s.json"),
    );
    expect(nested.message).toContain("limits");
    expect(nested.message).toContain("cpus");
    const redis = userError(() =>
      parseScenario({ ...data, redis: { ...(data.redis as object), "maxmemory-policy": "x" } }, "s.json"),
    );
    expect(redis.message).toContain("maxmemory-policy");
  });

  it("refuses a scenario that is not an object, in one line", () => {
    const error = userError(() => parseScenario([], "s.json"));
    expect(error.message).toContain("invalid scenario s.json: (top level)");
    expect(error.message).not.toContain("\n");
  });
});

describe("loadScenario", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "redis-repro-scenario-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses an unknown name, listing the known scenarios", async () => {
    const error = await loadScenario("nope").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain('scenario "nope" not found');
    expect((error as UserError).message).toContain(DEFAULT_SCENARIO);
  });

  it("refuses a file that is not JSON, naming it", async () => {
    const file = join(dir, "bad.json");
    await writeFile(file, "{ not json");
    await expect(loadScenario(file)).rejects.toThrow(UserError);
    await expect(loadScenario(file)).rejects.toThrow(`invalid scenario ${file}: not JSON`);
  });

  it("refuses an invalid file, naming it and the field", async () => {
    const data = await realScenario();
    data.limits = { ...(data.limits as object), memory: -1 };
    const file = join(dir, "invalid.json");
    await writeFile(file, JSON.stringify(data));
    await expect(loadScenario(file)).rejects.toThrow(new RegExp(`invalid scenario ${file}: limits\\.memory`));
  });
});
