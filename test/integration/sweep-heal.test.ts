import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CONCURRENCY } from "../../harness/campaigns/matrix.js";
import { runSweep, type SweepCell, SweepResult } from "../../harness/campaigns/sweep.js";
import { cellFile, writeSweepReport } from "../../harness/report/sweep.js";
import type { RunResult } from "../../harness/run/result.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/**
 * `sweep --heal` on the releases CI has: each fault an episode healed after the path's failed
 * attempts, then judged for recovery. What is asserted is what was measured (docs/sweep.md, "Episodes
 * and recovery"): 3.2.8 keeps the pipes of its failed rewrites after the heal, 3.2.9 is back at once,
 * 7.0.15 gives its AOF directory's extra files back with the next rewrite but never the pipe each
 * failed diskless sync leaked, and where open() fails instead of fork() everything comes back.
 */
const releases = ["3.2.8", "3.2.9", "7.0.15"];
const missing = new Map<string, string | undefined>();
for (const v of releases) missing.set(v, await missingSource(v));
const present = releases.filter((v) => !missing.get(v));
const FORK = "libfiu:fork:ENOMEM";
const OPEN = "libfiu:open:EACCES";

let result: SweepResult | undefined;
let openResult: SweepResult | undefined;
const runs = new Map<string, RunResult>();
const dir = await mkdtemp(join(tmpdir(), "redis-repro-sweep-heal-"));

beforeAll(async () => {
  if (present.length === 0) return;
  const options = {
    heal: {},
    bases: "auto" as const,
    concurrency: Math.min(4, MAX_CONCURRENCY),
    retries: 1,
    onRun: (cell: { path: string; target: string; fault: string }, run: RunResult) =>
      runs.set(cellFile(cell), run),
  };
  result = SweepResult.parse(
    await runSweep(present, {
      ...options,
      faults: [FORK],
      paths: ["aof-rewrite-bgrewriteaof", "rdb-bgsave", "repl-sync-diskless"],
    }),
  );
  openResult = SweepResult.parse(
    await runSweep(present, { ...options, faults: [OPEN], paths: ["aof-rewrite-bgrewriteaof"] }),
  );
}, 900_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cellOf = (target: string, path: string, fault = FORK): SweepCell => {
  const cells = [...(result?.cells ?? []), ...(openResult?.cells ?? [])];
  const cell = cells.find((c) => c.target === target && c.path === path && c.fault === fault);
  if (!cell) throw new Error(`no cell ${target} × ${path} × ${fault}`);
  return cell;
};
/** Each recovery requirement by the start of its words ("fds.total", "fresh clients", "an AOF rewrite"…). */
const requirement = (cell: SweepCell, what: string) => {
  const found = cell.recovery?.requirements.find((r) => r.what.startsWith(what));
  if (!found) throw new Error(`${cell.target} × ${cell.path}: no requirement "${what}" in ${cell.reason}`);
  return found;
};
const why = (cell: SweepCell) => `${cell.text}\n${cell.reason}\n${cell.command}`;

describe("redis-repro sweep --heal on the real engine", () => {
  const skip = (release: string) => missing.get(release);

  it.skipIf(skip("3.2.8"))(
    skipTitle(
      "3.2.8 × BGREWRITEAOF: 6 pipe fds per failed fork, and after the heal they stay",
      skip("3.2.8"),
    ),
    () => {
      const cell = cellOf("3.2.8", "aof-rewrite-bgrewriteaof");
      expect(cell.outcome, why(cell)).toBe("bug");
      const pipe = cell.growth.find((g) => g.series === "fds.pipe");
      expect(pipe?.leaking).toBe(true);
      expect(pipe?.perAttempt).toBeGreaterThanOrEqual(5);
      expect(pipe?.perAttempt).toBeLessThanOrEqual(7);
      expect(cell.recovery?.outcome, why(cell)).toBe("bug");
      expect(requirement(cell, "fds.total").held).toBe(false);
      // Fork works again, yet a table filled during the window stays full: no fresh client, no rewrite.
      if (cell.label?.startsWith("exhaustion")) {
        expect(requirement(cell, "fresh clients").held, why(cell)).toBe(false);
        expect(requirement(cell, "an AOF rewrite").held, why(cell)).toBe(false);
      }
    },
  );

  it.skipIf(skip("3.2.9"))(
    skipTitle(
      "3.2.9 × BGREWRITEAOF: nothing leaks, and every requirement holds soon after the heal",
      skip("3.2.9"),
    ),
    () => {
      const cell = cellOf("3.2.9", "aof-rewrite-bgrewriteaof");
      expect(cell.outcome, why(cell)).toBe("no-bug");
      expect(cell.label).toBe("stable+recovered");
      expect(cell.recovery?.requirements.every((r) => r.held)).toBe(true);
      // The rewrites after the heal leave the data directory as it was (the AOF, a temp file at most).
      expect(requirement(cell, "dir.files").held).toBe(true);
      expect(requirement(cell, "an AOF rewrite").tookMs).toBeLessThan(5_000);
      expect(cell.text).toMatch(/^clean; recovered \+\d+\.\d s$/);
    },
  );

  it.skipIf(skip("7.0.15"))(
    skipTitle(
      "7.0.15 × BGREWRITEAOF: a file per failed rewrite during the fault, given back by the next rewrite",
      skip("7.0.15"),
    ),
    () => {
      const cell = cellOf("7.0.15", "aof-rewrite-bgrewriteaof");
      expect(cell.outcome, why(cell)).toBe("bug");
      const files = cell.growth.find((g) => g.series === "aofdir.files");
      expect(files?.leaking).toBe(true);
      expect(files?.perAttempt).toBeGreaterThanOrEqual(0.7);
      expect(files?.perAttempt).toBeLessThanOrEqual(1.3);
      expect(cell.recovery?.outcome, why(cell)).toBe("no-bug");
      expect(requirement(cell, "aofdir.files").held).toBe(true);
      expect(requirement(cell, "an AOF rewrite").held).toBe(true);
    },
  );

  it.skipIf(skip("7.0.15"))(
    skipTitle(
      "7.0.15 × diskless sync: a pipe per failed fork, never given back after the heal",
      skip("7.0.15"),
    ),
    () => {
      const cell = cellOf("7.0.15", "repl-sync-diskless");
      expect(cell.outcome, why(cell)).toBe("bug");
      const pipe = cell.growth.find((g) => g.series === "fds.pipe");
      expect(pipe?.leaking, why(cell)).toBe(true);
      expect(pipe?.perAttempt).toBeGreaterThanOrEqual(0.8);
      expect(pipe?.perAttempt).toBeLessThanOrEqual(2);
      expect(cell.recovery?.outcome, why(cell)).toBe("bug");
      expect(requirement(cell, "fds.total").held).toBe(false);
    },
  );

  for (const release of releases) {
    const paths = release === "7.0.15" ? ["rdb-bgsave"] : ["rdb-bgsave", "repl-sync-diskless"];
    for (const path of paths)
      it.skipIf(skip(release))(
        skipTitle(`${release} × ${path}: clean, and its own fork works again after the heal`, skip(release)),
        () => {
          const cell = cellOf(release, path);
          expect(cell.outcome, why(cell)).toBe("no-bug");
          expect(cell.recovery?.outcome).toBe("no-bug");
          const own = path === "rdb-bgsave" ? "a BGSAVE" : "a line matching /Synchronization";
          expect(requirement(cell, own).held).toBe(true);
        },
      );
    it.skipIf(skip(release))(
      skipTitle(`${release} × BGREWRITEAOF under ${OPEN}: nothing leaks, and it recovers`, skip(release)),
      () => {
        const cell = cellOf(release, "aof-rewrite-bgrewriteaof", OPEN);
        // The failed open()s are the attempts: "Permission denied" in the log.
        expect(cell.attempts, why(cell)).toBeGreaterThanOrEqual(15);
        expect(cell.outcome, why(cell)).toBe("no-bug");
        expect(cell.recovery?.requirements.every((r) => r.held)).toBe(true);
      },
    );
  }

  it.skipIf(present.length === 0)(
    "writes a report whose charts shade the fault's window, and leaves no container",
    async () => {
      if (!result) throw new Error("no sweep result");
      expect(result.heal).toEqual({ attempts: 15, withinMs: 10_000 });
      await writeSweepReport(join(dir, "report"), result, runs);
      const md = await readFile(join(dir, "report", "sweep.md"), "utf8");
      expect(md).toContain("each fault healed 1.5 s after 15 failed attempts");
      const bad = result.cells.find((c) => c.outcome === "bug");
      if (!bad) throw new Error("no cell that leaks");
      const svg = await readFile(join(dir, "report", "charts", `${cellFile(bad)}.svg`), "utf8");
      expect(svg).toContain(FORK);
      for (const c of [...result.cells, ...(openResult?.cells ?? [])])
        if (c.runId) expect(await countContainers(c.runId), c.runId).toBe(0);
    },
  );
});
