import { describe, expect, it } from "vitest";
import type { Checker } from "../../harness/core/checker.js";
import type { Fault } from "../../harness/core/fault.js";
import { EXITED, FAULT_START, seriesOf } from "../../harness/core/history.js";
import type { Probe } from "../../harness/core/probe.js";
import { noFault, pidsLimit, seccompEnomem } from "../../harness/parts/faults/index.js";
import { logProbe } from "../../harness/parts/probes/log.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { type RunOptions, rerunCommand } from "../../harness/run/scenario.js";
import { faultsByNode, probesOf, readProbes, startFaults } from "../../harness/run/target.js";
import type { Scenario, ScenarioNode } from "../../harness/scenario/index.js";
import { fakeClock } from "../helpers/fake-clock.js";
import { fakeNode, fakeNodes } from "../helpers/fake-node.js";

const probe = (name: string, node = "main", extra: Partial<Probe> = {}): Probe => ({
  name,
  node,
  read: async () => ({ n: 1 }),
  ...extra,
});
const checkerWith = (probes: Probe[]): Checker => ({ name: "c", probes, decide: () => undefined });
const recorder = (probes: Probe[] = []) =>
  new HistoryRecorder({ event: "fork-failed", node: "main" }, probes);

describe("probesOf", () => {
  it("the scenario's probes, then those its checker asks for, one per node and name", () => {
    const mine = probe("fds");
    const info = probe("info");
    const checker = checkerWith([probe("fds"), probe("config"), probe("fds", "replica")]);
    const probes = probesOf({ probes: [mine, info], checker });
    expect(probes.map((p) => `${p.node}:${p.name}`)).toEqual([
      "main:fds",
      "main:info",
      "main:config",
      "replica:fds",
    ]);
    // Read once: the scenario's own object stands for both.
    expect(probes[0]).toBe(mine);
  });

  it("one probe both ask for reads when both timings agree (the fd checkers hold clients back near a full table)", () => {
    const history = recorder().history;
    const context = { now: 0, attemptsNeeded: 30 };
    let scenarioDue = true;
    let checkerDue = true;
    const mine = probe("connect", "main", { due: () => scenarioDue });
    const theirs = probe("connect", "main", { due: () => checkerDue });
    const [merged, ...rest] = probesOf({ probes: [mine], checker: checkerWith([theirs]) });
    expect(rest).toEqual([]);
    expect(merged?.due?.(history, context)).toBe(true);
    checkerDue = false;
    expect(merged?.due?.(history, context)).toBe(false);
    checkerDue = true;
    scenarioDue = false;
    expect(merged?.due?.(history, context)).toBe(false);
  });

  it("a checker that asks for nothing adds nothing; one that asks twice gets one", () => {
    expect(
      probesOf({ probes: [probe("a")], checker: { name: "c", decide: () => undefined } }).map((p) => p.name),
    ).toEqual(["a"]);
    const twice = checkerWith([probe("fds"), probe("fds")]);
    expect(probesOf({ probes: [], checker: twice }).map((p) => p.name)).toEqual(["fds"]);
  });
});

describe("faultsByNode", () => {
  const replica: ScenarioNode = { fault: pidsLimit(), redis: {} };
  const scenario = { fault: seccompEnomem(), nodes: { replica, other: { fault: noFault(), redis: {} } } };

  it("the main node's fault, and each other node's own", () => {
    const faults = faultsByNode(scenario, undefined);
    expect([...faults].map(([node, list]) => [node, list.map((f) => f.name)])).toEqual([
      ["main", ["seccomp-enomem"]],
      ["replica", ["pids-limit"]],
      ["other", ["none"]],
    ]);
  });

  it("--fault replaces the main node's fault only", () => {
    const faults = faultsByNode(scenario, noFault());
    expect(faults.get("main")?.map((f) => f.name)).toEqual(["none"]);
    expect(faults.get("replica")?.map((f) => f.name)).toEqual(["pids-limit"]);
  });
});

describe("startFaults", () => {
  it("starts each fault on its node and records the start with what it did; one on from creation is recorded as on", async () => {
    const time = fakeClock();
    const started: string[] = [];
    const cut: Fault = {
      name: "link-cut",
      description: "the replica leaves the run's network",
      start: async (node) => {
        started.push(node.name);
        time.advance(30);
        return `${node.name} disconnected`;
      },
    };
    const r = recorder();
    time.advance(100);
    await startFaults(
      fakeNodes(fakeNode(), fakeNode({ name: "replica" })),
      new Map([
        ["main", [seccompEnomem()]],
        ["replica", [cut, noFault()]],
      ]),
      r,
      time.clock,
    );
    expect(started).toEqual(["replica"]);
    expect(r.history.events.map((e) => [e.t, e.node, e.kind, e.name, e.line])).toEqual([
      [100, "main", FAULT_START, "seccomp-enomem", seccompEnomem().description],
      // Stamped when the start returned.
      [130, "replica", FAULT_START, "link-cut", "replica disconnected"],
    ]);
  });

  it("a start that fails ends the run's setup with its error, and is not recorded as started", async () => {
    const broken: Fault = {
      name: "broken",
      description: "x",
      start: async () => {
        throw new Error("no pids cgroup controller");
      },
    };
    const r = recorder();
    await expect(
      startFaults(fakeNodes(fakeNode()), new Map([["main", [broken]]]), r, fakeClock().clock),
    ).rejects.toThrow("no pids cgroup controller");
    expect(r.history.events).toEqual([]);
  });
});

describe("readProbes", () => {
  const read = (
    probes: Probe[],
    r: HistoryRecorder,
    nodes = fakeNodes(fakeNode(), fakeNode({ name: "replica" })),
    which: (p: Probe) => boolean = () => true,
    time = fakeClock(),
  ) => readProbes(probes, nodes, r, time.clock, 30, which);

  it("reads the probes that pass `which` and are due, each reading stamped when it returned", async () => {
    const time = fakeClock();
    time.advance(1_000);
    const slow = probe("slow", "main", {
      read: async () => {
        // Its exec takes 40 ms, while the other probes start theirs.
        await Promise.resolve();
        time.advance(40);
        return { n: 2 };
      },
    });
    const dueAsked: unknown[] = [];
    const notDue = probe("later", "main", {
      due: (_h, context) => {
        dueAsked.push(context);
        return false;
      },
    });
    const once = probe("config", "main", { once: true });
    const r = recorder();
    const ended = await read(
      [slow, notDue, once, probe("replica", "replica")],
      r,
      undefined,
      (p) => !p.once,
      time,
    );
    expect(ended).toBeUndefined();
    expect(seriesOf(r.history, "slow.n")).toEqual([{ t: 1_040, v: 2 }]);
    expect(seriesOf(r.history, "replica.n")).toHaveLength(1);
    expect(seriesOf(r.history, "later.n")).toEqual([]);
    expect(seriesOf(r.history, "config.n")).toEqual([]);
    expect(dueAsked).toEqual([{ now: 1_000, attemptsNeeded: 30 }]);
  });

  it("a probe that throws is recorded once as a probe-error event, not as an empty series", async () => {
    const broken = probe("tmp", "main", {
      read: async () => {
        throw new Error("ls: cannot access '/data/x'");
      },
    });
    const r = recorder();
    await read([broken, probe("ok")], r);
    await read([broken, probe("ok")], r);
    expect(r.history.events.map((e) => [e.kind, e.node, e.name, e.line])).toEqual([
      ["probe-error", "main", "tmp", "ls: cannot access '/data/x'"],
    ]);
    expect(seriesOf(r.history, "ok.n")).toHaveLength(2);
  });

  it("a node none of whose probes answered is asked whether it still runs: gone, it is an event and the run is over", async () => {
    const gone = fakeNode({
      name: "replica",
      endState: async () => ({ cause: "oom", detail: "killed by the kernel: out of memory (limit 64 MiB)" }),
    });
    const nothing = probe("fds", "replica", { read: async () => undefined });
    const r = recorder();
    expect(await read([probe("info"), nothing], r, fakeNodes(fakeNode(), gone))).toEqual({
      reason: "container-exited",
      cause: "oom",
      detail: "node replica: killed by the kernel: out of memory (limit 64 MiB)",
    });
    expect(r.history.events.map((e) => [e.node, e.kind, e.name, e.line])).toEqual([
      ["replica", EXITED, "oom", "killed by the kernel: out of memory (limit 64 MiB)"],
    ]);
    const mainGone = fakeNode({ endState: async () => ({ cause: "exited", detail: "exited with code 1" }) });
    const failing = probe("fds", "main", {
      read: async () => {
        throw new Error("container not running");
      },
    });
    expect(await read([failing], recorder(), fakeNodes(mainGone))).toEqual({
      reason: "container-exited",
      cause: "exited",
      detail: "exited with code 1",
    });
  });

  it("a node nothing reads is asked too: a crash there ends the run", async () => {
    const replica = fakeNode({
      name: "replica",
      endState: async () => ({ cause: "exited", detail: "exited with code 139" }),
    });
    const r = recorder();
    expect(await read([probe("info")], r, fakeNodes(fakeNode(), replica))).toMatchObject({
      reason: "container-exited",
      detail: "node replica: exited with code 139",
    });
  });

  it("a node whose reads failed but that still runs goes on; one that answered is not asked", async () => {
    let asked = 0;
    const main = fakeNode({
      endState: async () => {
        asked++;
        return undefined;
      },
    });
    const nothing = probe("fds", "main", { read: async () => undefined });
    expect(await read([nothing], recorder(), fakeNodes(main))).toBeUndefined();
    expect(asked).toBe(1);
    expect(await read([nothing, probe("info")], recorder(), fakeNodes(main))).toBeUndefined();
    expect(asked).toBe(1);
  });

  it("the run's first reading does not reset a log probe that already counted a startup line", async () => {
    // Lines arrive while the node starts, before the run reads its probes for the first time.
    const started = logProbe({ name: "started", pattern: "Ready to accept connections" });
    const r = recorder([started]);
    r.logLine("main", "1:M 27 Nov 2026 17:56:36.337 * Ready to accept connections", 80);
    await read([started], r);
    expect(seriesOf(r.history, "started.count").map((p) => p.v)).toEqual([1]);
    // And where nothing matched yet, that first reading is the count's 0.
    const quiet = logProbe({ name: "errors", pattern: "IPC pipes" });
    const q = recorder([quiet]);
    await read([quiet], q);
    expect(seriesOf(q.history, "errors.count")).toEqual([{ t: 0, v: 0 }]);
  });
});

describe("rerunCommand", () => {
  const scenario = (source: Scenario["source"]) => ({ name: "my-bug", source }) as Scenario;
  const options = (change: Partial<RunOptions> = {}): RunOptions => ({ bases: "auto", ...change });

  it("names a project scenario by its name, a file or script by the path the user gave", () => {
    expect(rerunCommand(scenario({ kind: "name", ref: "bgsave-enomem" }), ["3.2.8"], options())).toBe(
      "npx redis-repro run --scenario bgsave-enomem --target 3.2.8",
    );
    expect(
      rerunCommand(
        scenario({ kind: "script", ref: "bugs/status.ts", file: "bugs/status.ts", sha256: "ab" }),
        ["7.0.15"],
        options(),
      ),
    ).toBe("npx redis-repro run --scenario bugs/status.ts --target 7.0.15");
    // A scenario made in code has no file: its name is all there is.
    expect(rerunCommand(scenario({ kind: "object", ref: "x" }), ["7.0.15"], options())).toBe(
      "npx redis-repro run --scenario my-bug --target 7.0.15",
    );
  });

  it("spells out every target, the fault override, and the git directory only for git targets", () => {
    const s = scenario({ kind: "name", ref: "bgsave-enomem" });
    expect(
      rerunCommand(s, ["3.2.8", "3.2.9"], options({ faultOverride: "pids-limit", gitDir: "/src/redis" })),
    ).toBe("npx redis-repro run --scenario bgsave-enomem --target 3.2.8 --target 3.2.9 --fault pids-limit");
    expect(rerunCommand(s, ["git:abc123"], options({ gitDir: "/src/redis" }))).toBe(
      "npx redis-repro run --scenario bgsave-enomem --target git:abc123 --git-dir /src/redis",
    );
  });
});
