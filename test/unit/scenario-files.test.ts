import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { scenariosDir } from "../../harness/paths.js";
import { listScenarios, loadScenario, parseScenario, type Scenario } from "../../harness/scenario.js";
import { eventLoopSize } from "../../harness/targets/config.js";

async function rawScenario(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(scenariosDir, `${name}.json`), "utf8"));
}

async function allScenarios(): Promise<Scenario[]> {
  return Promise.all((await listScenarios()).map((name) => loadScenario(name)));
}

describe("every file in scenarios/", () => {
  it("is a JSON scenario that parses and is named after its file", async () => {
    const files = await readdir(scenariosDir);
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      expect(file).toMatch(/\.json$/);
      const name = file.slice(0, -".json".length);
      const scenario = parseScenario(await rawScenario(name), file);
      expect(scenario.name).toBe(name);
      expect(await loadScenario(join(scenariosDir, file))).toEqual(scenario);
    }
  });

  it("names an expected verdict for every target it runs", async () => {
    for (const scenario of await allScenarios()) {
      for (const target of scenario.targets) expect(Object.keys(scenario.expect)).toContain(target);
    }
  });
});

describe("triggers", () => {
  it.each([
    ["aof-auto-rewrite-enomem", { kind: "auto-growth", valueBytes: 128 }],
    ["aof-dir-growth-enomem", { kind: "auto-growth", valueBytes: 128 }],
    ["seed-fidelity-enomem", { kind: "auto-growth", valueBytes: 128 }],
    ["bgrewriteaof-enomem", { kind: "command", command: "bgrewriteaof", intervalMs: 100, preloadKeys: 500 }],
    ["bgsave-enomem", { kind: "command", command: "bgsave", intervalMs: 100, preloadKeys: 500 }],
    [
      "config-set-appendonly-enomem",
      { kind: "command", command: "config-set-appendonly", intervalMs: 100, preloadKeys: 500 },
    ],
  ])("%s: %j", async (name, trigger) => {
    expect((await loadScenario(name)).trigger).toMatchObject(trigger);
  });

  it("every scenario's trigger is one of the two kinds", async () => {
    for (const scenario of await allScenarios())
      expect(["auto-growth", "command"]).toContain(scenario.trigger.kind);
  });

  it("command triggers with no automatic rewrite in the way; auto-growth with one", async () => {
    for (const scenario of await allScenarios()) {
      const auto = scenario.redis["auto-aof-rewrite-percentage"];
      if (scenario.trigger.kind === "auto-growth") expect(auto).toBeGreaterThan(0);
      else expect(auto).toBe(0);
    }
  });

  it("command trigger defaults: 100 ms apart, 500 keys preloaded; auto-growth 128-byte values", async () => {
    const command = await rawScenario("bgrewriteaof-enomem");
    command.trigger = { kind: "command", command: "bgsave" };
    expect(parseScenario(command, "x.json").trigger).toMatchObject({
      kind: "command",
      command: "bgsave",
      intervalMs: 100,
      preloadKeys: 500,
    });
    const auto = await rawScenario("aof-auto-rewrite-enomem");
    auto.trigger = { kind: "auto-growth" };
    expect(parseScenario(auto, "x.json").trigger).toEqual({ kind: "auto-growth", valueBytes: 128 });
  });

  it("refuses an unknown trigger kind or command, naming the trigger", async () => {
    const data = await rawScenario("bgrewriteaof-enomem");
    expect(() => parseScenario({ ...data, trigger: { kind: "debug-sleep" } }, "x.json")).toThrow(/trigger/);
    expect(() =>
      parseScenario({ ...data, trigger: { kind: "command", command: "flushall" } }, "x.json"),
    ).toThrow(/trigger\.command/);
  });
});

describe("resource", () => {
  it('defaults to "fds": only aof-dir-growth-enomem watches the AOF directory', async () => {
    for (const name of await listScenarios()) {
      const raw = await rawScenario(name);
      const scenario = await loadScenario(name);
      if (name === "aof-dir-growth-enomem") {
        expect(scenario.resource).toBe("aof-dir");
      } else {
        expect(raw.resource).toBeUndefined();
        expect(scenario.resource).toBe("fds");
      }
    }
  });

  it("leaving resource out of the AOF-directory scenario makes it an fds scenario", async () => {
    const data = await rawScenario("aof-dir-growth-enomem");
    delete data.resource;
    expect(parseScenario(data, "x.json").resource).toBe("fds");
    expect(() => parseScenario({ ...data, resource: "memory" }, "x.json")).toThrow(/resource/);
  });

  it("growing is expected only where something other than a full fd table grows", async () => {
    for (const scenario of await allScenarios()) {
      const growing = Object.entries(scenario.expect).filter(([, verdict]) => verdict === "growing");
      if (growing.length)
        expect(["aof-dir-growth-enomem", "config-set-appendonly-enomem"]).toContain(scenario.name);
    }
  });
});

describe("predict", () => {
  it("is set only on seed-fidelity-enomem, with a 15 % tolerance", async () => {
    const predicting = (await allScenarios()).filter((s) => s.predict !== undefined);
    expect(predicting.map((s) => s.name)).toEqual(["seed-fidelity-enomem"]);
    expect(predicting[0]?.predict).toEqual({ tolerance: 0.15 });
  });

  it("seed-fidelity-enomem runs at production settings: ceiling 10128 within nofile", async () => {
    const scenario = await loadScenario("seed-fidelity-enomem");
    expect(eventLoopSize(scenario.redis.maxclients)).toBe(10128);
    expect(scenario.limits.nofile).toBeGreaterThanOrEqual(10128);
    expect(scenario.redis.hz).toBe(10);
    // (10128 − 8) / 60 ≈ 169 s must fit in the time limit.
    expect(scenario.budgets.timeLimitSeconds).toBeGreaterThan(169 * 1.15);
  });

  it("refuses a tolerance of 0 or above 1", async () => {
    const data = await rawScenario("seed-fidelity-enomem");
    expect(() => parseScenario({ ...data, predict: { tolerance: 0 } }, "x.json")).toThrow(
      /predict\.tolerance/,
    );
    expect(() => parseScenario({ ...data, predict: { tolerance: 1.5 } }, "x.json")).toThrow(
      /predict\.tolerance/,
    );
  });
});
