import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { expectation, expectationFor } from "../../harness/catalogue/catalogue.js";
import { LIMIT } from "../../harness/core/history.js";
import { Outcome } from "../../harness/core/outcome.js";
import { scenariosDir } from "../../harness/core/paths.js";
import { ceilingOf, RECOVERY_LABELS, RESOURCE_LABELS } from "../../harness/parts/checkers/index.js";
import { StepSpec } from "../../harness/parts/workload/index.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import {
  listScenarios,
  loadScenario,
  parseScenario,
  type Scenario,
  ScenarioData,
} from "../../harness/scenario/index.js";

async function rawScenario(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(scenariosDir, `${name}.json`), "utf8"));
}

async function allScenarios(): Promise<Scenario[]> {
  return Promise.all((await listScenarios()).map((name) => loadScenario(name)));
}

/** The project's data scenarios (scenarios/NAME.json), by name. */
async function dataScenarios(): Promise<string[]> {
  return (await listScenarios()).filter((name) => existsSync(join(scenariosDir, `${name}.json`)));
}

/** Every label a checker's data names in its `labels`, at any depth of all/any. */
function labelsIn(spec: unknown): string[] {
  if (typeof spec !== "object" || spec === null) return [];
  const { labels, of } = spec as { labels?: Record<string, string>; of?: unknown[] };
  return [...Object.values(labels ?? {}), ...(of ?? []).flatMap(labelsIn)];
}

/** The words an expectation may use: an outcome, or a label the built-in checkers name. */
const WORDS = [
  ...Outcome.options,
  ...Object.keys(RESOURCE_LABELS),
  ...Object.values(RECOVERY_LABELS),
  "inconclusive",
];

describe("every file in scenarios/", () => {
  it("is a JSON scenario (or a TypeScript script) that parses and is named after its file", async () => {
    const files = await readdir(scenariosDir);
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const file of files) {
      expect(file).toMatch(/\.(json|ts)$/);
      if (file.endsWith(".ts")) {
        // A script: its own checker and steps, its outcomes in the catalogue or its own expect.
        const script = await loadScenario(join(scenariosDir, file));
        expect(script.name).toBe(file.slice(0, -".ts".length));
        expect(script.source.kind).toBe("script");
        for (const target of script.targets)
          expect(expectation(script, target).expected, target).not.toBe("unmeasured");
        continue;
      }
      const name = file.slice(0, -".json".length);
      const raw = await rawScenario(name);
      // Data files are data only: the JSON Schema's form, with no script's object needed.
      expect(ScenarioData.safeParse(raw).success, file).toBe(true);
      const scenario = await loadScenario(join(scenariosDir, file));
      expect(scenario.name).toBe(name);
      // Kept as written, for the report's scenario.json (only the probe list's default filled in).
      expect(scenario.data).toEqual({ ...raw, probes: raw.probes ?? [] });
    }
  });

  it("states expectations as outcomes or labels, never the old verdict type's other words", async () => {
    for (const scenario of await allScenarios()) {
      // Labels a data checker names itself (assert, within, all/any: `labels`), besides the built-ins'.
      const words = [...WORDS, ...labelsIn(scenario.data.checker)];
      for (const [target, expected] of Object.entries(scenario.expect))
        expect(words, `${scenario.name} × ${target}: ${expected}`).toContain(expected);
    }
  });

  it("names an expected outcome or label for every target it runs: the catalogue's, else its own", async () => {
    for (const scenario of await allScenarios()) {
      const words = [...WORDS, ...labelsIn(scenario.data.checker)];
      for (const target of scenario.targets) {
        const { expected } = expectation(scenario, target);
        expect(expected, `${scenario.name} × ${target}`).not.toBe("unmeasured");
        // Composition labels join their parts' ("setting-lost+never-reported").
        for (const word of expected.split("+"))
          expect(words, `${scenario.name} × ${target}: ${expected}`).toContain(word);
      }
    }
  });

  it("states in expect only what the catalogue does not hold (one place per measured result)", async () => {
    for (const scenario of await allScenarios()) {
      for (const target of Object.keys(scenario.expect))
        expect(expectationFor(target, scenario.name), `${scenario.name} × ${target}`).toBe("unmeasured");
    }
  });

  it("growing is expected only where something other than a full fd table grows", async () => {
    for (const scenario of await allScenarios()) {
      const growing = Object.entries(scenario.expect).filter(([, expected]) => expected === "growing");
      if (growing.length)
        // repl-diskless-pipe-leak-enomem: its leaked pipe is never registered in the event loop, so
        // fds pass the loop's size while fresh clients still find a low slot.
        expect(["repl-diskless-pipe-leak-enomem", "aof-rewrite-enospc"]).toContain(scenario.name);
    }
  });
});

describe("workload", () => {
  const grow = [{ step: "grow-aof", valueBytes: 128, node: "main" }];
  const repeat = (args: string[]) => [
    { step: "fill", keys: 500, valueBytes: 64, node: "main" },
    { step: "command", args, everyMs: 100, node: "main" },
  ];
  it.each<[string, object[], string[]]>([
    ["aof-auto-rewrite-enomem", grow, ["grow-aof"]],
    ["aof-dir-growth-enomem", grow, ["grow-aof"]],
    ["seed-fidelity-enomem", grow, ["grow-aof"]],
    ["bgrewriteaof-enomem", repeat(["BGREWRITEAOF"]), ["fill", "command BGREWRITEAOF"]],
    ["bgsave-enomem", repeat(["BGSAVE"]), ["fill", "command BGSAVE"]],
    [
      "config-set-appendonly-enomem",
      repeat(["CONFIG", "SET", "appendonly", "yes"]),
      ["fill", "command CONFIG"],
    ],
  ])("%s: %j", async (name, steps, names) => {
    const raw = await rawScenario(name);
    expect((raw.workload as unknown[]).map((s) => StepSpec.parse(s))).toEqual(steps);
    expect((await loadScenario(name)).workload.map((s) => s.name)).toEqual(names);
  });

  it("AOF scenarios: repeated commands with no automatic rewrite in the way; AOF growth with one", async () => {
    for (const scenario of await allScenarios()) {
      // A scenario that says nothing of the AOF (a status bug in scripting) is none of these.
      if (!Object.hasOwn(scenario.redis, "appendonly")) continue;
      const auto = scenario.redis["auto-aof-rewrite-percentage"];
      const grows = scenario.workload.some((s) => s.name === "grow-aof");
      if (grows) expect(auto, scenario.name).toBeGreaterThan(0);
      else expect(auto, scenario.name).toBe(0);
    }
  });

  it("step defaults: 128-byte values to grow the AOF, 64-byte ones to fill, the main node, once", () => {
    const steps = [
      { step: "grow-aof" },
      { step: "fill", bytes: "1m" },
      { step: "command", args: ["PING"] },
      { step: "wait", ms: 10 },
      { step: "mark", name: "phase" },
    ].map((s) => StepSpec.parse(s));
    expect(steps).toEqual([
      { step: "grow-aof", valueBytes: 128, node: "main" },
      { step: "fill", bytes: 1024 ** 2, valueBytes: 64, node: "main" },
      { step: "command", args: ["PING"], node: "main" },
      { step: "wait", ms: 10 },
      { step: "mark", name: "phase" },
    ]);
  });

  it("refuses a fill with both keys and bytes or neither, an empty command, a nameless mark, naming the step", async () => {
    const data = await rawScenario("bgrewriteaof-enomem");
    const bad = (step: unknown) => () => parseScenario({ ...data, workload: [step] }, "x.json");
    expect(bad({ step: "fill", keys: 1, bytes: 10 })).toThrow(
      /: workload\.0: give keys or bytes, not both; /,
    );
    expect(bad({ step: "fill" })).toThrow(/: workload\.0: give keys or bytes, not both; /);
    expect(bad({ step: "command", args: [] })).toThrow(/: workload\.0\.args: /);
    expect(bad({ step: "mark", name: "" })).toThrow(/: workload\.0\.name: /);
    expect(bad({ step: "mark", name: "m", value: { a: 1 } })).toThrow(/: workload\.0\.value: /);
    expect(() => parseScenario({ ...data, workload: [] }, "x.json")).toThrow(/: workload: /);
  });
});

describe("probes and checkers", () => {
  it("each data scenario reads what its checker judges: fds for fd-leak, the AOF directory for aof-dir, a dir probe for growth, a replica for leaks, CONFIG GET for the status bug", async () => {
    const kinds = new Set<string>();
    for (const name of await dataScenarios()) {
      const raw = await rawScenario(name);
      const scenario = await loadScenario(name);
      const kind = (raw.checker as { checker: string }).checker;
      kinds.add(kind);
      const probes = scenario.probes.map((p) => `${p.node}:${p.name}`);
      expect(scenario.checker.name, name).toBe(kind);
      if (kind === "fd-leak") {
        expect(raw.probes, name).toBeUndefined();
        // What fd-leak needs it asks for itself: the fds, maxclients and hz, a fresh client.
        expect(scenario.checker.probes?.map((p) => p.name)).toEqual(["fds", "config", "connect"]);
      } else if (kind === "aof-dir") {
        expect(probes, name).toEqual(["main:aofdir", "main:info"]);
      } else if (kind === "growth") {
        // The same AOF directory bug with generic parts only: a dir probe and growth on its series.
        expect(name).toBe("aof-dir-growth-generic");
        expect(raw.probes).toEqual([
          { probe: "dir", name: "incr", path: "/data/appendonlydir", pattern: "\\.incr\\.aof$" },
        ]);
        expect(raw.checker).toMatchObject({ series: "incr.files" });
      } else if (kind === "leaks") {
        // Found by the sweep: pipe fds per failed diskless sync. The replica becomes one by the
        // workload's SLAVEOF, so that the sync starts once the data is in.
        expect(name).toBe("repl-diskless-pipe-leak-enomem");
        expect(Object.keys(scenario.nodes)).toEqual(["replica"]);
        expect(scenario.nodes.replica?.replicaOf).toBeUndefined();
        expect(scenario.workload.map((s) => s.name)).toEqual(["fill", "command SLAVEOF"]);
      } else if (kind === "recovery") {
        // Episodes: a fault that heals, judged by what the server is left with. Its own probes it
        // asks for itself (fds, fresh clients, the replica's link, log lines), so none in the file.
        expect(name).toMatch(/^(seed-episode-|repl-sync-fork-heal$)/);
        expect(raw.probes, name).toBeUndefined();
        expect((raw.faults as unknown[]).length, name).toBe(1);
      } else if (name === "repl-network-cut") {
        // The link seen going down in the cut (its info probe on the replica), then recovery.
        expect(kind).toBe("any");
        expect(probes).toEqual(["replica:link"]);
      } else if (kind === "within") {
        // A liveness bug (redis/redis#13863): fresh clients must be answered after the RANDOMKEY.
        expect(name).toBe("randomkey-hang-during-pause");
        expect(probes).toEqual(["main:connect"]);
        expect(raw.checker).toMatchObject({ happens: { succeeds: "connect" }, from: { mark: "randomkey" } });
      } else {
        // A status bug (redis/redis#3703): the setting as CONFIG GET reads it, and the slow-script line.
        expect([name, kind]).toEqual(["lua-time-limit-ignored", "any"]);
        expect(probes).toEqual(["main:config"]);
      }
      // Every project data scenario counts failed forks on main (the default).
      expect(scenario.attempt).toEqual({ event: "fork-failed", node: "main" });
    }
    expect([...kinds].sort()).toEqual(["any", "aof-dir", "fd-leak", "growth", "leaks", "recovery", "within"]);
  });
});

describe("predict", () => {
  it("is set only on seed-fidelity-enomem, inside its fd-leak checker, with a 15 % tolerance", async () => {
    for (const name of await dataScenarios()) {
      const raw = await rawScenario(name);
      expect(raw.predict, name).toBeUndefined();
      const checker = raw.checker as { checker: string; predict?: unknown };
      if (name === "seed-fidelity-enomem")
        expect(checker).toMatchObject({ checker: "fd-leak", predict: { tolerance: 0.15 } });
      else expect(checker.predict, name).toBeUndefined();
    }
  });

  it("seed-fidelity-enomem runs at production settings: ceiling 10128 within nofile, and time for it", async () => {
    const scenario = await loadScenario("seed-fidelity-enomem");
    expect(scenario.redis.maxclients).toBe(10000);
    expect(scenario.redis.hz).toBe(10);
    // The ceiling as the checker computes it from what the run records: maxclients read, the nofile limit.
    const recorder = new HistoryRecorder(scenario.attempt);
    recorder.reading("config", 0, {
      maxclients: Number(scenario.redis.maxclients),
      hz: Number(scenario.redis.hz),
    });
    recorder.event({ t: 0, kind: LIMIT, name: "nofile", value: scenario.limits.nofile });
    expect(ceilingOf(recorder.history)).toEqual({ ceiling: 10128, maxclients: 10000, nofile: 10240 });
    // (10128 − 8) / 60 ≈ 169 s must fit in the time limit, with the tolerance.
    expect(scenario.budgets.timeLimitSeconds).toBeGreaterThan(169 * 1.15);
  });
});
