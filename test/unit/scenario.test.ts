import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectation } from "../../harness/catalogue/catalogue.js";
import { UserError } from "../../harness/core/errors.js";
import { scenariosDir } from "../../harness/core/paths.js";
import type { Checker } from "../../harness/parts/checkers/index.js";
import {
  ByteSize,
  DEFAULT_SCENARIO,
  listScenarios,
  loadScenario,
  parseScenario,
  scenarioData,
} from "../../harness/scenario/index.js";
import { directive } from "../../harness/targets/config.js";
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
      const scenario = (await loadScenario(name)) as { name: string; targets: string[] };
      expect(scenario.name).toBe(name);
      expect(scenario.targets.length).toBeGreaterThan(0);
    }
  });

  it("the seed scenario reads as written, with defaults filled in", async () => {
    const scenario = await loadScenario();
    expect(scenario.limits.memory).toBe(64 * 1024 * 1024);
    // The harness's defaults (save "", dir /data) are applied when the arguments are made, not here.
    expect(scenario.redis.save).toBeUndefined();
    expect(directive(scenario.redis, "save")).toBe("");
    expect(scenario.redis.maxclients).toBe(64);
    expect(scenario.workload).toEqual([{ step: "grow-aof", valueBytes: 128, node: "main" }]);
    expect(scenario.budgets).toEqual({ attempts: 30, timeLimitSeconds: 60 });
    expect(scenario.checker).toEqual({ checker: "fd-leak", tolerance: 3, fdsPerAttempt: 6 });
    expect(scenario.attempt).toEqual({ event: "fork-failed" });
    expect(scenario.probes).toEqual([]);
    expect(scenario.nodes).toEqual({});
    // Both verdicts live in the catalogue (the patched build's under 3.2.8's builds), none in the file.
    expect(scenario.expect).toEqual({});
    expect(expectation(scenario, "3.2.8")).toEqual({ expected: "exhaustion", from: "catalogue" });
    expect(expectation(scenario, "3.2.8+fix-aof-pipe-leak")).toEqual({
      expected: "stable",
      from: "catalogue",
    });
  });

  it("loads by path as well as by name", async () => {
    const byPath = await loadScenario(join(scenariosDir, `${DEFAULT_SCENARIO}.json`));
    expect(byPath).toEqual(await loadScenario(DEFAULT_SCENARIO));
  });

  it("fills the checker and budget defaults when left out", async () => {
    const data = await realScenario();
    data.checker = { checker: "fd-leak" };
    data.budgets = { timeLimitSeconds: 10 };
    const scenario = parseScenario(data, "x.json");
    expect(scenario.checker).toEqual({ checker: "fd-leak", tolerance: 3, fdsPerAttempt: 6 });
    expect(scenario.budgets.attempts).toBe(30);
    const growth = parseScenario(
      {
        ...data,
        probes: [{ probe: "info", fields: ["used_memory"] }],
        checker: { checker: "growth", series: "info.used_memory" },
      },
      "x.json",
    );
    expect(growth.checker).toEqual({
      checker: "growth",
      series: "info.used_memory",
      perAttempt: 0.8,
      tolerance: 1,
      minAttempts: 10,
    });
    const aofDir = { ...data, probes: [{ probe: "aof-dir" }], checker: { checker: "aof-dir" } };
    expect(parseScenario(aofDir, "x.json").checker).toEqual({
      checker: "aof-dir",
      probe: "aofdir",
    });
  });

  it("the checker itself has no default: leaving it out names it", async () => {
    const data = await realScenario();
    delete data.checker;
    expect(userError(() => parseScenario(data, "x.json")).message).toMatch(/: checker: /);
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
    const owned = userError(() =>
      parseScenario({ ...data, redis: { ...(data.redis as object), port: 7000 } }, "s.json"),
    );
    expect(owned.message).toContain("redis.port: port is set by the harness; remove it");
    const value = userError(() =>
      parseScenario({ ...data, redis: { ...(data.redis as object), hz: null } }, "s.json"),
    );
    expect(value.message).toContain("redis.hz");
  });

  it("names nested paths in nodes, probes and the workload", async () => {
    const data = await realScenario();
    expect(
      userError(() => parseScenario({ ...data, nodes: { replica: { replicaOf: "primary" } } }, "s.json"))
        .message,
    ).toContain('nodes.replica.replicaOf: no node "primary"');
    expect(userError(() => parseScenario({ ...data, nodes: { main: {} } }, "s.json")).message).toContain(
      "nodes.main: main is the scenario's own node",
    );
    expect(
      userError(() =>
        parseScenario({ ...data, probes: [{ probe: "info", fields: ["used_memory"], node: "r" }] }, "s.json"),
      ).message,
    ).toContain('probes.0.node: no node "r"');
    expect(
      userError(() => parseScenario({ ...data, probes: [{ probe: "dir", path: "data" }] }, "s.json")).message,
    ).toContain("probes.0.path");
  });

  it("a replica node on a known node, with its own fault (none by default), parses", async () => {
    const data = await realScenario();
    const scenario = parseScenario(
      { ...data, nodes: { replica: { replicaOf: "main", redis: { "replica-read-only": true } } } },
      "s.json",
    );
    expect(scenario.nodes).toEqual({
      replica: { replicaOf: "main", fault: "none", redis: { "replica-read-only": true } },
    });
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
    const checker = userError(() =>
      parseScenario({ ...data, checker: { checker: "fd-leak", tolerence: 3 } }, "s.json"),
    );
    expect(checker.message).toContain("checker");
    expect(checker.message).toContain("tolerence");
    // The redis map is open: Redis itself judges an unknown directive when it starts.
    expect(
      parseScenario({ ...data, redis: { ...(data.redis as object), "maxmemory-policy": "x" } }, "s.json")
        .redis["maxmemory-policy"],
    ).toBe("x");
  });

  it.each<unknown>(["a string", 42, null, []])(
    "refuses a scenario that is not an object (%j), in one line",
    (input) => {
      const error = userError(() => parseScenario(input, "s.json"));
      expect(error.message).toContain("invalid scenario s.json: (top level)");
      expect(error.message).not.toContain("\n");
    },
  );
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

describe("scenario scripts", () => {
  const custom: Checker = {
    name: "my-checker",
    decide: () => ({
      verdict: "stable",
      reason: "always",
      evidence: {
        attempts: 0,
        fdsPerAttempt: null,
        baseline: null,
        baselinePipes: null,
        peak: null,
        peakMaxFd: null,
        ceiling: 0,
        firstFailureMs: null,
        exhaustedMs: null,
        refusedProbe: null,
        errno: null,
        logLines: [],
        growth: [],
      },
    }),
  };
  const step = async function setUp() {
    return undefined;
  };

  it("keeps function steps in place and a custom checker object, validating the rest", async () => {
    const data = await realScenario();
    const scenario = parseScenario(
      { ...data, workload: [{ step: "fill", keys: 10 }, step, { step: "wait", ms: 5 }], checker: custom },
      "my-bug.ts",
    );
    expect(scenario.workload[0]).toEqual({ step: "fill", keys: 10, valueBytes: 64, node: "main" });
    expect(scenario.workload[1]).toBe(step);
    expect(scenario.workload[2]).toEqual({ step: "wait", ms: 5 });
    expect(scenario.checker).toBe(custom);
    // Defaults are filled around the code as for data.
    expect(scenario.attempt).toEqual({ event: "fork-failed" });
  });

  it("still validates the data around the code, naming the script", async () => {
    const data = await realScenario();
    const error = userError(() =>
      parseScenario({ ...data, workload: [step, { step: "nope" }], checker: custom }, "my-bug.ts"),
    );
    expect(error.message).toMatch(/^invalid scenario my-bug\.ts: workload\.1\.step: /);
    expect(
      userError(() => parseScenario({ ...data, limits: { memory: 0 }, checker: custom }, "my-bug.ts"))
        .message,
    ).toContain("limits.memory");
  });

  it("does not mistake a data checker or a plain object for code", async () => {
    const data = await realScenario();
    expect(() =>
      parseScenario({ ...data, checker: { name: "x", decide: "not a function" } }, "s.ts"),
    ).toThrow(UserError);
  });

  it("scenarioData names the code instead of serialising it", async () => {
    const data = await realScenario();
    const scenario = parseScenario(
      { ...data, workload: [step, async () => undefined], checker: custom },
      "s.ts",
    );
    const shown = scenarioData(scenario);
    expect(shown.workload).toEqual([
      { step: "script", name: "setUp" },
      { step: "script", name: expect.any(String) },
    ]);
    expect(shown.checker).toEqual({ checker: "my-checker" });
    expect(JSON.parse(JSON.stringify(shown)).name).toBe(scenario.name);
  });

  describe("loadScenario on a script file", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "redis-repro-script-"));
      // A user's ESM project, as the README's example is.
      await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("runs a TypeScript script through tsx: its default export, steps as functions", async () => {
      const data = await realScenario();
      const file = join(dir, "my-bug.ts");
      const body = { ...data, name: "my-bug", expect: { "3.2.8": "exhaustion" } };
      await writeFile(
        file,
        [
          `const wait: number = 1;`,
          `async function prime(client: { set(k: string, v: string): Promise<unknown> }): Promise<void> {`,
          `  await client.set("k", "v");`,
          `}`,
          `const data = ${JSON.stringify(body)};`,
          `export default { ...data, workload: [prime, { step: "wait", ms: wait }] };`,
        ].join("\n"),
      );
      const scenario = await loadScenario(file);
      expect(scenario.name).toBe("my-bug");
      expect(typeof scenario.workload[0]).toBe("function");
      expect(scenario.workload[1]).toEqual({ step: "wait", ms: 1 });
      expect(expectation(scenario, "3.2.8+fix-aof-pipe-leak").expected).toBe("unmeasured");
    });

    it("finds the default export of a script outside an ESM package too (tsx compiles it as CommonJS)", async () => {
      const data = await realScenario();
      const plain = await mkdtemp(join(tmpdir(), "redis-repro-cjs-"));
      try {
        const file = join(plain, "plain.ts");
        await writeFile(
          file,
          `export const other = 1;\nexport default ${JSON.stringify({ ...data, name: "plain-bug" })};\n`,
        );
        expect((await loadScenario(file)).name).toBe("plain-bug");
        const none = join(plain, "none.ts");
        await writeFile(none, "export const other = 1;\n");
        await expect(loadScenario(none)).rejects.toThrow(`scenario script ${none} exports no scenario`);
      } finally {
        await rm(plain, { recursive: true, force: true });
      }
    });

    it("refuses a script with no export, and one that does not load, in one line naming it", async () => {
      const none = join(dir, "none.ts");
      await writeFile(none, "export const other = 1;\n");
      await expect(loadScenario(none)).rejects.toThrow(`scenario script ${none} exports no scenario`);
      const broken = join(dir, "broken.mjs");
      await writeFile(broken, "throw new Error('boom');\n");
      const error = await loadScenario(broken).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toMatch(
        /^scenario script .*broken\.mjs failed to load: .*boom; fix the script$/,
      );
      expect((error as UserError).message).not.toContain("\n");
    });
  });
});
