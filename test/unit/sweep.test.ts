import { describe, expect, it } from "vitest";
import type { MatrixCell } from "../../harness/campaigns/matrix.js";
import {
  DEFAULT_FAULTS,
  DEFAULT_RECOVERY_MS,
  HEAL_ATTEMPTS,
  HEAL_FAULTS,
  HEAL_SETTLE_MS,
  pathApplies,
  runSweep,
  SWEEP_PATHS,
  type SweepResult,
  selectPaths,
  sweepScenario,
  sweepText,
  toSweepCell,
} from "../../harness/campaigns/sweep.js";
import { UserError } from "../../harness/core/errors.js";
import { leaksChecker } from "../../harness/parts/checkers/leaks.js";
import { renderSweep, sweepJunit } from "../../harness/report/sweep.js";
import { decidedRun } from "../helpers/decided.js";

const growth = (series: string, perAttempt: number, leaking: boolean) => ({
  series,
  before: 0,
  after: perAttempt * 30,
  attempts: 30,
  perAttempt,
  leaking,
});

function matrixCell(change: Partial<MatrixCell>): MatrixCell {
  return {
    scenario: "sweep-aof-rewrite-auto-seccomp-enomem",
    target: "3.2.8",
    version: "3.2.8",
    checker: "leaks",
    outcome: "bug",
    label: "exhaustion",
    summary: "31 attempts, 6 fd/attempt (pipe)",
    expected: "unmeasured",
    expectedFrom: null,
    status: "unmeasured",
    reason: "6 fd/attempt (pipe) over 31 attempts, and a fresh client was refused",
    seconds: 6.2,
    runId: "20261127T000000-abcdef",
    command: null,
    earlier: [],
    ...change,
  };
}

describe("the sweep's paths", () => {
  it("every path makes a valid scenario under each fault, judged by the leaks checker", () => {
    for (const path of SWEEP_PATHS) {
      for (const fault of DEFAULT_FAULTS) {
        const scenario = sweepScenario(path, fault);
        // The whole run, on the main node (other nodes run under no fault).
        const failing = scenario.episodes.filter((e) => e.fault.name !== "none");
        expect(failing.map((e) => [e.fault.name, e.node, e.start, e.heal])).toEqual([
          [fault, "main", "start", "never"],
        ]);
        expect(scenario.name).toBe(`sweep-${path.name}-${fault}`);
        expect(scenario.checker.name).toBe("leaks");
        expect(scenario.probes.map((p) => p.name)).toEqual(["dir", "aofdir", "info"]);
      }
    }
  });

  it("any injector and call by its history name: attempts are the errno's log lines, fork faults keep the path's own", () => {
    const path = selectPaths(["aof-rewrite-config-set"])[0];
    const lua = selectPaths(["lua-debug-fork"])[0];
    if (!path || !lua) throw new Error("no path");
    const open = sweepScenario(path, "libfiu:open:EACCES");
    expect(open.name).toBe("sweep-aof-rewrite-config-set-libfiu-open-eacces");
    expect(open.episodes[0]?.fault.name).toBe("libfiu:open:EACCES");
    expect(open.attempt).toEqual({ pattern: "Permission denied", node: "main" });
    const pipe = sweepScenario(path, "seccomp:pipe2,pipe:EMFILE");
    expect(pipe.episodes[0]?.fault.name).toBe("seccomp:pipe2,pipe:EMFILE");
    expect(pipe.attempt).toEqual({ pattern: "Too many open files", node: "main" });
    const share = sweepScenario(path, "libfiu:write:EIO@0.5");
    expect(share.episodes[0]?.fault.name).toBe("libfiu:write:EIO@0.5");
    // A fork failure through libfiu counts failed forks, as the other fork faults do.
    expect(sweepScenario(path, "libfiu:fork:ENOMEM").attempt).toEqual({ event: "fork-failed", node: "main" });
    expect(sweepScenario(lua, "libfiu:fork:ENOMEM").attempt).toEqual({
      reply: "Fork\\(\\) failed",
      node: "main",
    });
  });

  it("a fault that cannot be swept is one line naming the forms", async () => {
    const refused = async (fault: string) => {
      try {
        await runSweep(["3.2.8"], {
          faults: [fault],
          paths: ["rdb-bgsave"],
          bases: "auto",
          concurrency: 1,
          retries: 0,
        });
      } catch (error) {
        expect(error).toBeInstanceOf(UserError);
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(await refused("cosmic-ray")).toMatch(
      /^no fault "cosmic-ray": name one as seccomp-enomem, pids-limit, libfiu:CALL:ERRNO\[@P\] \(e\.g\. libfiu:open:EACCES/,
    );
    expect(await refused("none")).toMatch(
      /^no fault "none" to sweep under: a sweep needs one that makes a call fail: /,
    );
    expect(await refused("network-cut")).toMatch(/^no fault "network-cut" to sweep under/);
    expect(await refused("libfiu:pipe2:EMFILE")).toMatch(/libfiu 1\.1 has no failure point for "pipe2"/);
    expect(await refused("seccomp:pipe3:EMFILE")).toMatch(/"pipe3" is not an x86_64 system call/);
  });

  it("--heal: the fault is an episode healed after the path's attempts, judged by leaks on its window and recovery after it", () => {
    const heal = { attempts: HEAL_ATTEMPTS, withinMs: 7_000 };
    for (const path of SWEEP_PATHS) {
      for (const fault of HEAL_FAULTS) {
        const scenario = sweepScenario(path, fault, heal);
        const budget = path.scenario.budgets ?? { attempts: 30, timeLimitSeconds: 20 };
        const attempts = Math.min(budget.attempts, HEAL_ATTEMPTS);
        expect(scenario.name).toMatch(/-healed$/);
        const failing = scenario.episodes.filter((e) => e.fault.name !== "none");
        expect(failing.map((e) => [e.fault.name, e.node, e.start, e.heal])).toEqual([
          [fault, "main", "start", { attempts, afterMs: HEAL_SETTLE_MS }],
        ]);
        expect(scenario.budgets.attempts).toBe(attempts);
        // The window and the settle come on top of the path's own limit: the recovery checker is
        // refused at load when its window cannot end before the time limit.
        expect(scenario.budgets.timeLimitSeconds).toBeGreaterThanOrEqual(
          budget.timeLimitSeconds + (HEAL_SETTLE_MS + heal.withinMs) / 1000,
        );
        const data = scenario.data.checker as {
          checker: string;
          of: { checker: string; until?: string; ms?: number; requires?: { require: string }[] }[];
        };
        expect(data.checker).toBe("any");
        expect(data.of.map((c) => c.checker)).toEqual(["leaks", "recovery"]);
        expect(data.of[0]?.until).toBe("heal");
        expect(data.of[1]?.ms).toBe(7_000);
        expect(data.of[1]?.requires?.map((r) => r.require)).toEqual([
          "baseline",
          "baseline",
          "baseline",
          "clients",
          "writes",
          path.succeeds.require,
        ]);
      }
    }
  });

  it("--heal refuses a fault that cannot be lifted while the server runs, in one line naming what can", async () => {
    const path = selectPaths(["rdb-bgsave"])[0];
    if (!path) throw new Error("no path");
    // A failing accept or reply write starts once the workload has loaded (its connections are made
    // by then) and is not judged by the path's own fork; open fails from the start, as fork does.
    const episodeOf = (fault: string) => {
      const scenario = sweepScenario(path, fault, { attempts: 15, withinMs: 10_000 });
      const data = scenario.data.checker as { of: { requires?: { require: string }[] }[] };
      return {
        start: scenario.episodes.find((e) => e.fault.name !== "none")?.start,
        requires: data.of[1]?.requires?.map((r) => r.require),
      };
    };
    expect(episodeOf("libfiu:accept:ECONNABORTED")).toEqual({
      start: { afterMs: 0 },
      requires: ["baseline", "baseline", "baseline", "clients", "writes"],
    });
    expect(episodeOf("libfiu:write:EIO").start).toEqual({ afterMs: 0 });
    expect(episodeOf("libfiu:open:EACCES")).toEqual({
      start: "start",
      requires: ["baseline", "baseline", "baseline", "clients", "writes", "save"],
    });
    expect(() => sweepScenario(path, "seccomp-enomem", { attempts: 15, withinMs: 10_000 })).toThrow(
      /^--heal: seccomp-enomem cannot be lifted while the server runs .*use libfiu:CALL:ERRNO or pids-limit$/,
    );
    await expect(
      runSweep(["3.2.8"], {
        faults: ["seccomp:pipe2,pipe:EMFILE"],
        paths: ["rdb-bgsave"],
        heal: {},
        bases: "auto",
        concurrency: 1,
        retries: 0,
      }),
    ).rejects.toThrow(/^--heal: seccomp:pipe2,pipe:EMFILE cannot be lifted/);
  });

  it("replication paths put the fault on the master only, and start the replica as a plain server", () => {
    for (const path of SWEEP_PATHS.filter((p) => p.name.startsWith("repl-"))) {
      const scenario = sweepScenario(path, "pids-limit");
      // The fault is on the master only: the replica's episode is no fault.
      expect(scenario.episodes.map((e) => [e.node, e.fault.name])).toEqual([
        ["main", "pids-limit"],
        ["replica", "none"],
      ]);
      expect(scenario.nodes.replica).toBeDefined();
      // No replicaOf: a sync before a pids limit is armed would succeed and hide the path.
      expect(scenario.nodes.replica?.replicaOf).toBeUndefined();
      const checker = scenario.data.checker as { series?: { series: string; perAttempt: number }[] };
      expect(checker.series?.find((s) => s.series === "info.used_memory")?.perAttempt).toBe(65_536);
      const workload = scenario.data.workload as { step: string; node?: string }[];
      expect(workload.some((s) => s.step === "command" && s.node === "replica")).toBe(true);
    }
  });

  it("a path a release lacks gets no cell (Lua debugging from 3.2.0); patched builds and images keep them", () => {
    const lua = selectPaths(["lua-debug-fork"])[0];
    if (!lua) throw new Error("no lua path");
    expect(pathApplies(lua, "3.0.7")).toBe(false);
    expect(pathApplies(lua, "3.2.0")).toBe(true);
    expect(pathApplies(lua, "3.2.8+fix-aof-pipe-leak")).toBe(true);
    expect(pathApplies(lua, "image:redis:7")).toBe(true);
    expect(() => selectPaths(["no-such-path"])).toThrow(UserError);
  });
});

describe("sweep cells and output", () => {
  it("a cell's few words come from the leaking series, the kind before the total", () => {
    const leaking = [
      growth("fds.pipe", 6.1, true),
      growth("fds.total", 6.1, true),
      growth("fds.socket", 0, false),
    ];
    expect(sweepText({ outcome: "bug", label: "exhaustion", summary: "" }, leaking, 31)).toBe(
      "6 fd/attempt (pipe); refused",
    );
    expect(sweepText({ outcome: "bug", label: "growing", summary: "" }, leaking, 31)).toBe(
      "6 fd/attempt (pipe)",
    );
    expect(
      sweepText({ outcome: "no-bug", label: "stable", summary: "" }, [growth("fds.pipe", 0, false)], 30),
    ).toBe("clean");
    expect(sweepText({ outcome: "unknown", label: "inconclusive", summary: "" }, [], 2)).toBe(
      "inconclusive (2 attempts)",
    );
    expect(sweepText(null, [], null)).toBe("error");
    expect(sweepText({ outcome: "unknown", label: "inconclusive", summary: "" }, [], 4, true)).toBe(
      "crashed (4 attempts)",
    );
    // A bug decided on something other than a leaking series keeps its own words.
    expect(sweepText({ outcome: "bug", label: "died", summary: "server gone after 3 attempts" }, [], 3)).toBe(
      "server gone after 3 attempts",
    );
  });

  it("from a recorded run (7.0.15's diskless sync under pids-limit): the decision's growth, attempts, probes, log", () => {
    // The scenario's own settings for the leaks checker (scenarios/repl-diskless-pipe-leak-enomem.json).
    const checker = leaksChecker({
      series: [
        { series: "fds.pipe", perAttempt: 0.5 },
        { series: "fds.total", perAttempt: 0.5 },
      ],
      minAttempts: 5,
    });
    const result = decidedRun("repl-diskless-7.0.15.json.gz", checker, 6).results[0];
    if (!result) throw new Error("the fixture has no result");
    const cell = toSweepCell(
      "repl-sync-diskless",
      "pids-limit",
      matrixCell({ target: "7.0.15", version: "7.0.15", label: "growing", reason: result.decision.reason }),
      result,
    );
    expect(cell).toMatchObject({
      outcome: "bug",
      label: "growing",
      text: "1 fd/attempt (pipe)",
      attempts: 497,
      errno: "Resource temporarily unavailable",
      command: "npx redis-repro sweep 7.0.15 --path repl-sync-diskless --fault pids-limit",
    });
    expect(cell.growth.map((g) => [g.series, g.leaking])).toEqual([
      ["fds.pipe", true],
      ["fds.total", true],
    ]);
    expect(cell.logLines).toHaveLength(3);
    expect(cell.logLines[0]).toContain("Can't save in background: fork: Resource temporarily unavailable");
    expect(cell.probes?.total).toBeGreaterThan(0);
    expect(cell.probes?.refused).toBe(0);
  });

  it("from recorded healed runs (--heal, 3.2.8 and 3.2.9): the window's leak and what the heal left, in the cell's words", () => {
    // Recorded: sweep 3.2.8 3.2.9 --heal --path aof-rewrite-bgrewriteaof --fault libfiu:fork:ENOMEM.
    const path = selectPaths(["aof-rewrite-bgrewriteaof"])[0];
    if (!path) throw new Error("no path");
    const heal = { attempts: HEAL_ATTEMPTS, withinMs: DEFAULT_RECOVERY_MS };
    const fault = "libfiu:fork:ENOMEM";
    const scenario = sweepScenario(path, fault, heal);
    const run = decidedRun("sweep-healed-bgrewriteaof.json.gz", scenario.checker, scenario.budgets.attempts);
    const cellFor = (target: string) => {
      const result = run.results.find((r) => r.target === target);
      if (!result) throw new Error(`no ${target}`);
      const { outcome, label, summary, reason } = result.decision;
      return toSweepCell(
        path.name,
        fault,
        matrixCell({ target, version: target, outcome, label, summary, reason }),
        result,
        heal,
      );
    };
    const leaked = cellFor("3.2.8");
    // The leaks part judged the window only: the heal is where it stopped counting.
    expect(leaked.outcome).toBe("bug");
    expect(leaked.label).toMatch(/^(exhaustion|growing)\+not-recovered$/);
    expect(leaked.growth.find((g) => g.series === "fds.pipe")?.leaking).toBe(true);
    expect(leaked.text).toMatch(/^6 fd\/attempt \(pipe\); (refused; )?not recovered: fds\.total/);
    expect(leaked.recovery?.outcome).toBe("bug");
    expect(leaked.recovery?.requirements.find((r) => r.what.startsWith("fds.total"))?.held).toBe(false);
    // 3.2 has no appendonlydir: never read, that requirement holds.
    expect(leaked.recovery?.requirements.find((r) => r.what.startsWith("aofdir.files"))?.held).toBe(true);
    expect(leaked.command).toBe(
      "npx redis-repro sweep 3.2.8 --path aof-rewrite-bgrewriteaof --fault libfiu:fork:ENOMEM --heal",
    );
    const fixed = cellFor("3.2.9");
    expect(fixed.outcome).toBe("no-bug");
    expect(fixed.label).toBe("stable+recovered");
    expect(fixed.text).toMatch(/^clean; recovered \+\d+\.\d s$/);
    expect(fixed.recovery?.requirements.map((r) => r.held)).toEqual([true, true, true, true, true, true]);
    expect(fixed.recovery?.requirements.map((r) => r.what)).toContain("dir.files back to its baseline");
    // A recovery window other than the default is part of the rerun command.
    const { command } = toSweepCell(path.name, fault, matrixCell({ target: "3.2.9" }), undefined, {
      ...heal,
      withinMs: 5_000,
    });
    expect(command).toMatch(/--heal --recover-within 5$/);
  });

  it("a cell whose run failed has no run: error, nothing judged", () => {
    const failed = toSweepCell(
      "rdb-bgsave",
      "pids-limit",
      matrixCell({ outcome: null, label: null, summary: "", status: "error", reason: "no engine" }),
      undefined,
    );
    expect(failed).toMatchObject({ text: "error", attempts: null, probes: null, growth: [], logLines: [] });
  });

  it("renders a table per fault and JUnit where a leak fails and an undecided cell is skipped", () => {
    const leak = {
      ...toSweepCell("aof-rewrite-auto", "seccomp-enomem", matrixCell({}), undefined),
      text: "6 fd/attempt (pipe); refused",
      attempts: 31,
    };
    const undecided = {
      ...toSweepCell(
        "rdb-save-point",
        "seccomp-enomem",
        matrixCell({ outcome: "unknown", label: "inconclusive", reason: "too few attempts: 2 of 3" }),
        undefined,
      ),
      text: "inconclusive (2 attempts)",
      attempts: 2,
    };
    const clean = {
      ...toSweepCell(
        "rdb-bgsave",
        "seccomp-enomem",
        matrixCell({ outcome: "no-bug", label: "stable", reason: "nothing grew" }),
        undefined,
      ),
      text: "clean",
      attempts: 30,
    };
    const result: SweepResult = {
      harness: { name: "redis-repro", version: "0.1.0" },
      startedAt: "2026-11-27T17:00:00.000Z",
      targets: ["3.2.8"],
      faults: ["seccomp-enomem"],
      paths: ["aof-rewrite-auto", "rdb-save-point", "rdb-bgsave", "lua-debug-fork"],
      concurrency: 6,
      environment: {} as SweepResult["environment"],
      builds: [],
      runWallMs: 10_000,
      wallMs: 11_000,
      heal: null,
      clean: false,
      cells: [leak, undecided, clean],
    };
    const table = renderSweep(result);
    expect(table).toMatch(/aof-rewrite-auto\s+6 fd\/attempt \(pipe\); refused \[31\]/);
    expect(table).toMatch(/rdb-save-point\s+inconclusive \(2 attempts\) \[2\]/);
    expect(table).toMatch(/rdb-bgsave\s+clean \[30\]/);
    expect(table).toMatch(/lua-debug-fork\s+n\/a/);
    expect(table).toContain(
      "3.2.8 × rdb-save-point × seccomp-enomem: inconclusive (unknown): too few attempts: 2 of 3",
    );
    expect(table).toContain(
      "rerun: npx redis-repro sweep 3.2.8 --path rdb-save-point --fault seccomp-enomem",
    );
    expect(table).not.toContain("3.2.8 × rdb-bgsave");
    expect(table.trimEnd().endsWith("something leaks or could not be decided (see above)")).toBe(true);
    const junit = sweepJunit(result);
    expect(junit).toMatch(
      /<testsuites name="redis-repro sweep" tests="3" failures="1" errors="0" skipped="1"/,
    );
    expect(junit).toContain(
      '<testsuite name="3.2.8 seccomp-enomem" tests="3" failures="1" errors="0" skipped="1"',
    );
    expect(junit).toContain('<failure type="leak" message="6 fd/attempt (pipe); refused">');
    expect(junit).toContain('<skipped message="too few attempts: 2 of 3"/>');
    expect(junit).toMatch(/name="rdb-bgsave" time="[\d.]+"><system-out>stable \(no-bug\)/);
  });
});
