import { describe, expect, it } from "vitest";
import type { Checker } from "../../harness/core/checker.js";
import type { Episode, Fault } from "../../harness/core/fault.js";
import { EXITED, FAULT_HEAL, FAULT_START, faultWindows, MARK, seriesOf } from "../../harness/core/history.js";
import type { Probe } from "../../harness/core/probe.js";
import { noFault, pidsLimit, seccompEnomem } from "../../harness/parts/faults/index.js";
import { logProbe } from "../../harness/parts/probes/log.js";
import { LOADED, Nemesis } from "../../harness/run/nemesis.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { type RunOptions, rerunCommand } from "../../harness/run/scenario.js";
import { episodesOf, faultsByNode, probesOf, readProbes } from "../../harness/run/target.js";
import type { Scenario } from "../../harness/scenario/index.js";
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

/** A fault that starts and heals on a running node, saying what it did (as pids-limit does). */
function cutFault(name = "link-cut"): Fault & { calls: string[] } {
  const calls: string[] = [];
  return {
    name,
    description: "the node leaves the run's network",
    calls,
    start: async (node) => {
      calls.push(`start ${node.name}`);
      return `${node.name} disconnected`;
    },
    heal: async (node) => {
      calls.push(`heal ${node.name}`);
      return `${node.name} reconnected`;
    },
  };
}

const whole = (fault: Fault, node = "main"): Episode => ({ fault, node, start: "start", heal: "never" });

describe("episodesOf and faultsByNode", () => {
  const episodes = [whole(seccompEnomem()), whole(pidsLimit(), "replica"), whole(noFault(), "other")];

  it("each node's faults, whenever their episodes start: their container options apply from creation", () => {
    const cut = cutFault();
    const faults = faultsByNode([
      ...episodes,
      { fault: cut, node: "replica", start: { afterMs: 5 }, heal: "never" },
    ]);
    expect([...faults].map(([node, list]) => [node, list.map((f) => f.name)])).toEqual([
      ["main", ["seccomp-enomem"]],
      ["replica", ["pids-limit", "link-cut"]],
      ["other", ["none"]],
    ]);
  });

  it("--fault replaces the main node's whole-run fault only", () => {
    const replaced = episodesOf({ episodes }, noFault());
    expect(replaced.map((e) => [e.node, e.fault.name])).toEqual([
      ["main", "none"],
      ["replica", "pids-limit"],
      ["other", "none"],
    ]);
    expect(episodesOf({ episodes }, undefined)).toBe(episodes);
  });
});

describe("Nemesis", () => {
  function setup(episodes: Episode[]) {
    const time = fakeClock();
    const r = recorder();
    const nodes = fakeNodes(fakeNode(), fakeNode({ name: "replica" }));
    return { time, r, nemesis: new Nemesis(episodes, nodes.get, r, time.clock) };
  }
  const faultEvents = (r: HistoryRecorder) =>
    r.history.events
      .filter((e) => e.kind === FAULT_START || e.kind === FAULT_HEAL)
      .map((e) => [e.t, e.node, e.kind, e.name, e.line]);

  it("begins the episodes that start at the start: one on from creation is recorded as on, none is no fault", async () => {
    const cut = cutFault();
    const { time, r, nemesis } = setup([whole(seccompEnomem()), whole(cut, "replica"), whole(noFault())]);
    time.advance(100);
    await nemesis.begin();
    expect(cut.calls).toEqual(["start replica"]);
    expect(faultEvents(r)).toEqual([
      [100, "main", FAULT_START, "seccomp-enomem", seccompEnomem().description],
      [100, "replica", FAULT_START, "link-cut", "replica disconnected"],
    ]);
  });

  it("starts a window a time after the workload loaded, heals it a time after its own start", async () => {
    const cut = cutFault();
    const { time, r, nemesis } = setup([
      { fault: cut, node: "replica", start: { afterMs: 500 }, heal: { afterMs: 200 } },
    ]);
    await nemesis.begin();
    time.advance(1_000);
    await nemesis.tick();
    // Not loaded yet: the clock of "afterMs" has not started.
    expect(cut.calls).toEqual([]);
    r.event({ t: 1_000, kind: LOADED });
    time.advance(499);
    await nemesis.tick();
    expect(cut.calls).toEqual([]);
    time.advance(1);
    await nemesis.tick();
    time.advance(199);
    await nemesis.tick();
    time.advance(1);
    await nemesis.tick();
    expect(cut.calls).toEqual(["start replica", "heal replica"]);
    expect(faultEvents(r)).toEqual([
      [1_500, "replica", FAULT_START, "link-cut", "replica disconnected"],
      [1_700, "replica", FAULT_HEAL, "link-cut", "replica reconnected"],
    ]);
    expect(faultWindows(r.history)).toEqual([
      { name: "link-cut", node: "replica", start: 1_500, heal: 1_700 },
    ]);
  });

  it("starts at the Nth attempt or a mark, and another episode at this one's heal", async () => {
    const first = cutFault("first");
    const second = cutFault("second");
    const { time, r, nemesis } = setup([
      { fault: first, node: "main", start: { attempts: 2 }, heal: { mark: "enough" } },
      { fault: second, node: "replica", start: { fault: "heal", name: "first", afterMs: 50 }, heal: "never" },
    ]);
    time.advance(10);
    r.history.attempts.push({ t: 10, line: null });
    await nemesis.tick();
    expect(first.calls).toEqual([]);
    time.advance(10);
    r.history.attempts.push({ t: 20, line: null });
    await nemesis.tick();
    expect(first.calls).toEqual(["start main"]);
    time.advance(10);
    r.event({ t: 30, kind: MARK, name: "enough" });
    await nemesis.tick();
    expect(first.calls).toEqual(["start main", "heal main"]);
    time.advance(49);
    await nemesis.tick();
    expect(second.calls).toEqual([]);
    time.advance(1);
    await nemesis.tick();
    expect(second.calls).toEqual(["start replica"]);
  });

  it("a repeated episode's next window waits for the one before it to heal", async () => {
    const cut = cutFault();
    const { time, r, nemesis } = setup([
      {
        fault: cut,
        node: "main",
        start: { afterMs: 0 },
        heal: { afterMs: 300 },
        repeat: { times: 2, everyMs: 200 },
      },
    ]);
    r.event({ t: 0, kind: LOADED });
    for (let i = 0; i < 10; i++) {
      await nemesis.tick();
      time.advance(100);
    }
    // The second window was due at 200, but the first healed only at 300.
    expect(faultWindows(r.history)).toEqual([
      { name: "link-cut", node: "main", start: 0, heal: 300 },
      { name: "link-cut", node: "main", start: 300, heal: 600 },
    ]);
    // Each heal says how many windows of its episode are still to come: 0 is its last heal.
    expect(r.history.events.filter((e) => e.kind === FAULT_HEAL).map((e) => [e.t, e.value])).toEqual([
      [300, 1],
      [600, 0],
    ]);
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
