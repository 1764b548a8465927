import { describe, expect, it } from "vitest";
import type { MatrixCell } from "../../harness/campaigns/matrix.js";
import {
  DEFAULT_FAULTS,
  pathApplies,
  renderSweep,
  renderSweepJunit,
  SWEEP_PATHS,
  type SweepResult,
  selectPaths,
  sweepScenario,
  toSweepCell,
} from "../../harness/campaigns/sweep.js";
import { UserError } from "../../harness/core/errors.js";

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
    verdict: "exhaustion",
    expected: "unmeasured",
    expectedFrom: null,
    status: "unmeasured",
    reason: "6 fd/attempt (pipe) over 31 attempts, and a fresh client was refused",
    evidence: {
      attempts: 31,
      fdsPerAttempt: 6,
      baseline: 8,
      peak: 191,
      growth: [growth("fds.pipe", 6.1, true), growth("fds.total", 6.1, true), growth("fds.socket", 0, false)],
    },
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
        expect(scenario.fault).toBe(fault);
        expect(scenario.name).toBe(`sweep-${path.name}-${fault}`);
        expect(scenario.checker).toMatchObject({ checker: "leaks" });
        expect(scenario.probes.map((p) => p.name)).toEqual(["dir", "aofdir", "info"]);
      }
    }
  });

  it("replication paths put the fault on the master only, and start the replica as a plain server", () => {
    for (const path of SWEEP_PATHS.filter((p) => p.name.startsWith("repl-"))) {
      const scenario = sweepScenario(path, "pids-limit");
      expect(scenario.nodes.replica?.fault).toBe("none");
      // No replicaOf: a sync before a pids limit is armed would succeed and hide the path.
      expect(scenario.nodes.replica?.replicaOf).toBeUndefined();
      const checker = scenario.checker as { series?: { series: string; perAttempt: number }[] };
      expect(checker.series?.find((s) => s.series === "info.used_memory")?.perAttempt).toBe(65_536);
      expect(
        scenario.workload.some(
          (s) => typeof s !== "function" && s.step === "command" && s.node === "replica",
        ),
      ).toBe(true);
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
    const cell = toSweepCell("aof-rewrite-auto", "seccomp-enomem", matrixCell({}), undefined);
    expect(cell.text).toBe("6 fd/attempt (pipe); refused");
    expect(cell.command).toBe("npx redis-repro sweep 3.2.8 --path aof-rewrite-auto --fault seccomp-enomem");
    const clean = toSweepCell(
      "rdb-bgsave",
      "pids-limit",
      matrixCell({
        verdict: "stable",
        evidence: {
          attempts: 30,
          fdsPerAttempt: 0,
          baseline: 7,
          peak: 7,
          growth: [growth("fds.pipe", 0, false)],
        },
      }),
      undefined,
    );
    expect(clean.text).toBe("clean");
    const failed = toSweepCell(
      "rdb-bgsave",
      "pids-limit",
      matrixCell({ verdict: null, evidence: null }),
      undefined,
    );
    expect(failed.text).toBe("error");
  });

  it("renders a table per fault and JUnit where a leak fails and an undecided cell is skipped", () => {
    const leak = toSweepCell("aof-rewrite-auto", "seccomp-enomem", matrixCell({}), undefined);
    const undecided = toSweepCell(
      "rdb-save-point",
      "seccomp-enomem",
      matrixCell({ verdict: "inconclusive", reason: "too few attempts: 2 of 3" }),
      undefined,
    );
    const result: SweepResult = {
      harness: { name: "redis-repro", version: "0.1.0" },
      startedAt: "2026-11-27T17:00:00.000Z",
      targets: ["3.2.8"],
      faults: ["seccomp-enomem"],
      paths: ["aof-rewrite-auto", "rdb-save-point", "rdb-bgsave"],
      concurrency: 6,
      environment: {} as SweepResult["environment"],
      builds: [],
      runWallMs: 10_000,
      wallMs: 11_000,
      clean: false,
      cells: [leak, undecided],
    };
    const table = renderSweep(result);
    expect(table).toMatch(/aof-rewrite-auto\s+6 fd\/attempt \(pipe\); refused \[31\]/);
    expect(table).toMatch(/rdb-bgsave\s+n\/a/);
    expect(table).toContain(
      "rerun: npx redis-repro sweep 3.2.8 --path rdb-save-point --fault seccomp-enomem",
    );
    const junit = renderSweepJunit(result);
    expect(junit).toContain('tests="2" failures="1" errors="0" skipped="1"');
    expect(junit).toContain('<failure type="leak" message="6 fd/attempt (pipe); refused">');
    expect(junit).toContain('<skipped message="too few attempts: 2 of 3"/>');
  });
});
