import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectation, expectationFor } from "../../harness/catalogue/catalogue.js";
import { scenariosDir } from "../../harness/core/paths.js";
import { listScenarios, loadScenario, parseScenario, type Scenario } from "../../harness/scenario/index.js";
import { eventLoopSize, numericDirective } from "../../harness/targets/config.js";

async function rawScenario(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(scenariosDir, `${name}.json`), "utf8"));
}

async function allScenarios(): Promise<Scenario[]> {
  return Promise.all((await listScenarios()).map((name) => loadScenario(name)));
}

describe("every file in scenarios/", () => {
  it("is a JSON scenario (or a TypeScript script) that parses and is named after its file", async () => {
    const files = await readdir(scenariosDir);
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      expect(file).toMatch(/\.(json|ts)$/);
      if (file.endsWith(".ts")) {
        // A script: its own checker and steps, its verdicts in its own expect (the catalogue lists data).
        const script = await loadScenario(join(scenariosDir, file));
        expect(script.name).toBe(file.slice(0, -".ts".length));
        for (const target of script.targets) expect(script.expect[target], target).toBeDefined();
        continue;
      }
      const name = file.slice(0, -".json".length);
      const scenario = parseScenario(await rawScenario(name), file);
      expect(scenario.name).toBe(name);
      expect(await loadScenario(join(scenariosDir, file))).toEqual(scenario);
    }
  });

  it("names an expected verdict for every target it runs (catalogue first, then its own expect)", async () => {
    for (const scenario of await allScenarios()) {
      for (const target of scenario.targets)
        expect(expectation(scenario, target).expected, `${scenario.name} × ${target}`).not.toBe("unmeasured");
    }
  });

  it("states in expect only what the catalogue does not hold (one place per verdict)", async () => {
    for (const scenario of await allScenarios()) {
      for (const target of Object.keys(scenario.expect))
        expect(expectationFor(target, scenario.name), `${scenario.name} × ${target}`).toBe("unmeasured");
    }
  });
});

describe("workload", () => {
  const grow = [{ step: "grow-aof", valueBytes: 128, node: "main" }];
  const repeat = (args: string[]) => [
    { step: "fill", keys: 500, valueBytes: 64, node: "main" },
    { step: "command", args, everyMs: 100, node: "main" },
  ];
  it.each<[string, object[]]>([
    ["aof-auto-rewrite-enomem", grow],
    ["aof-dir-growth-enomem", grow],
    ["seed-fidelity-enomem", grow],
    ["bgrewriteaof-enomem", repeat(["BGREWRITEAOF"])],
    ["bgsave-enomem", repeat(["BGSAVE"])],
    ["config-set-appendonly-enomem", repeat(["CONFIG", "SET", "appendonly", "yes"])],
  ])("%s: %j", async (name, workload) => {
    expect((await loadScenario(name)).workload).toEqual(workload);
  });

  it("repeated commands with no automatic rewrite in the way; AOF growth with one", async () => {
    for (const scenario of await allScenarios()) {
      const auto = scenario.redis["auto-aof-rewrite-percentage"];
      const grows = scenario.workload.some((s) => typeof s !== "function" && s.step === "grow-aof");
      if (grows) expect(auto, scenario.name).toBeGreaterThan(0);
      else expect(auto, scenario.name).toBe(0);
    }
  });

  it("step defaults: 128-byte values to grow the AOF, 64-byte ones to fill, the main node, once", async () => {
    const data = await rawScenario("bgrewriteaof-enomem");
    const parsed = parseScenario(
      {
        ...data,
        workload: [
          { step: "grow-aof" },
          { step: "fill", bytes: "1m" },
          { step: "command", args: ["PING"] },
          { step: "wait", ms: 10 },
        ],
      },
      "x.json",
    );
    expect(parsed.workload).toEqual([
      { step: "grow-aof", valueBytes: 128, node: "main" },
      { step: "fill", bytes: 1024 ** 2, valueBytes: 64, node: "main" },
      { step: "command", args: ["PING"], node: "main" },
      { step: "wait", ms: 10 },
    ]);
  });

  it("refuses an unknown step, a fill with both keys and bytes, an empty command, naming the step", async () => {
    const data = await rawScenario("bgrewriteaof-enomem");
    const bad = (step: unknown) => () => parseScenario({ ...data, workload: [step] }, "x.json");
    expect(bad({ step: "debug-sleep" })).toThrow(/workload\.0\.step/);
    expect(bad({ step: "fill", keys: 1, bytes: 10 })).toThrow(/workload\.0: give keys or bytes, not both/);
    expect(bad({ step: "fill" })).toThrow(/workload\.0/);
    expect(bad({ step: "command", args: [] })).toThrow(/workload\.0\.args/);
    expect(bad({ step: "command", args: ["PING"], node: "replica" })).toThrow(
      /workload\.0\.node: no node "replica"/,
    );
    expect(() => parseScenario({ ...data, workload: [] }, "x.json")).toThrow(/workload/);
  });
});

describe("probes and checkers", () => {
  it("only the aof-dir-* scenarios watch the AOF directory (and judge by it); the sweep's finding judges leaks; the others judge fds", async () => {
    for (const name of await listScenarios()) {
      // Scripts (scenarios/NAME.ts) have no raw data to read; their own tests cover them.
      if (!existsSync(join(scenariosDir, `${name}.json`))) continue;
      const raw = await rawScenario(name);
      const scenario = await loadScenario(name);
      if (name === "aof-dir-growth-generic") {
        // The same bug with generic parts only: a dir probe and the growth checker on its series.
        expect(scenario.probes).toEqual([
          {
            probe: "dir",
            name: "incr",
            path: "/data/appendonlydir",
            pattern: "\\.incr\\.aof$",
            node: "main",
          },
        ]);
        expect(scenario.checker).toMatchObject({ checker: "growth", series: "incr.files" });
      } else if (name.startsWith("aof-dir-")) {
        expect(scenario.probes).toEqual([
          { probe: "aof-dir", name: "aofdir", path: "/data/appendonlydir", node: "main" },
          {
            probe: "info",
            name: "info",
            fields: ["aof_rewrites_consecutive_failures", "aof_last_bgrewrite_status"],
            node: "main",
          },
        ]);
        expect(scenario.checker).toEqual({ checker: "aof-dir", probe: "aofdir" });
      } else if (name === "repl-diskless-pipe-leak-enomem") {
        // Found by the sweep: judged on pipe fds per failed diskless sync, with a replica node.
        expect(scenario.checker).toMatchObject({ checker: "leaks" });
        expect(Object.keys(scenario.nodes)).toEqual(["replica"]);
      } else {
        expect(raw.probes).toBeUndefined();
        expect(scenario.probes).toEqual([]);
        expect(scenario.checker).toMatchObject({ checker: "fd-leak" });
      }
      // Every project scenario counts failed forks (the default).
      expect(scenario.attempt).toEqual({ event: "fork-failed" });
    }
  });

  it("refuses an unknown checker or probe kind, a probe name used twice, a bad pattern", async () => {
    const data = await rawScenario("aof-dir-growth-enomem");
    expect(() => parseScenario({ ...data, checker: { checker: "memory" } }, "x.json")).toThrow(
      /checker\.checker/,
    );
    expect(() => parseScenario({ ...data, probes: [{ probe: "memory", name: "m" }] }, "x.json")).toThrow(
      /probes\.0\.probe/,
    );
    expect(() => parseScenario({ ...data, probes: [{ probe: "fds", name: "fds" }] }, "x.json")).toThrow(
      /probe name "fds" is used twice/,
    );
    expect(() =>
      parseScenario(
        { ...data, probes: [...(data.probes as object[]), { probe: "log", name: "l", pattern: "(" }] },
        "x.json",
      ),
    ).toThrow(/not a regular expression: \(/);
    expect(() => parseScenario({ ...data, attempt: { pattern: "[" } }, "x.json")).toThrow(
      /not a regular expression: \[/,
    );
  });

  it("refuses a checker or attempt that names a probe the scenario does not have", async () => {
    const data = await rawScenario("aof-dir-growth-enomem");
    expect(() => parseScenario({ ...data, probes: [] }, "x.json")).toThrow(
      /checker\.probe: no probe "aofdir"/,
    );
    expect(() =>
      parseScenario({ ...data, checker: { checker: "growth", series: "disk.files" } }, "x.json"),
    ).toThrow(/checker\.series: no probe "disk"/);
    expect(() => parseScenario({ ...data, attempt: { series: "nodots" } }, "x.json")).toThrow(
      /attempt\.series: no probe "nodots"/,
    );
    expect(parseScenario({ ...data, attempt: { series: "fds.pipe" } }, "x.json").attempt).toEqual({
      series: "fds.pipe",
    });
  });

  it("growing is expected only where something other than a full fd table grows", async () => {
    for (const scenario of await allScenarios()) {
      const growing = Object.entries(scenario.expect).filter(([, verdict]) => verdict === "growing");
      if (growing.length)
        // repl-diskless-pipe-leak-enomem: its leaked pipe is never registered in the event loop, so
        // fds pass the loop's size while fresh clients still find a low slot.
        expect([
          "aof-dir-growth-enomem",
          "config-set-appendonly-enomem",
          "repl-diskless-pipe-leak-enomem",
          "aof-rewrite-enospc",
        ]).toContain(scenario.name);
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
    expect(eventLoopSize(numericDirective(scenario.redis, "maxclients", 10_000))).toBe(10128);
    expect(scenario.redis.maxclients).toBe(10000);
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
