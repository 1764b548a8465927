import { describe, expect, it } from "vitest";
import type { CheckContext } from "../../harness/core/checker.js";
import { type Event, FAULT_HEAL, type History, MARK, type Point } from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import type { Probe } from "../../harness/core/probe.js";
import { checkerFrom } from "../../harness/parts/checkers/index.js";
import {
  WITHIN_LABELS,
  WithinEvidence,
  WithinSpec,
  type WithinSpecInput,
  withinChecker,
  withinLogProbeName,
} from "../../harness/parts/checkers/within.js";
import { HistoryRecorder } from "../../harness/run/recorder.js";
import { contextFor, historyFrom, oomKilled, timeLimit } from "../helpers/runs.js";

/**
 * A replica that is cut off until a fault heals at 2 s: its master_link_status (read every 250 ms
 * from t = 100 by an info probe named "rinfo") says down, then up `upAfter` ms after the heal.
 */
function linkHistory(upAfter: number | null, until = 10_000): History {
  const status: Point[] = [];
  for (let t = 100; t <= until; t += 250) {
    const up = upAfter !== null && t >= 2_000 + upAfter;
    status.push(up ? { t, v: 1, text: "up" } : { t, v: 0, text: "down" });
  }
  const events: Event[] = [
    { t: 2_000, node: "replica", kind: FAULT_HEAL, name: "link-cut", line: "reconnected" },
    { t: 500, node: "main", kind: MARK, name: "load done" },
  ];
  return historyFrom({ series: { "rinfo.master_link_status": status }, events });
}

const linkUp = {
  checker: "within",
  from: { fault: "heal", name: "link-cut" },
  ms: 5_000,
  happens: { series: "rinfo.master_link_status", condition: { equals: "up" } },
} as const satisfies WithinSpecInput;

function decide(
  spec: Omit<WithinSpecInput, "checker"> & { checker?: "within" },
  history: History,
  context: Partial<CheckContext> = {},
) {
  const decision = withinChecker(spec).decide(history, { ...contextFor(history), ...context });
  if (decision) {
    expect(() => Decision.parse(decision)).not.toThrow();
    expect(() => WithinEvidence.parse(decision.evidence)).not.toThrow();
  }
  return decision;
}

describe("within: a series reaches a condition within T of a moment", () => {
  it("up 1.1 s after the heal, within 5 s: happened (no bug), with how long it took", () => {
    const h = linkHistory(1_000);
    const d = decide(linkUp, h);
    expect(d).toMatchObject({ checker: "within", outcome: "no-bug", label: WITHIN_LABELS.noBug });
    expect(d?.evidence).toMatchObject({ from: 2_000, happened: { t: 3_100, seen: "1 (up)" }, tookMs: 1_100 });
    expect(d?.reason).toBe(
      "rinfo.master_link_status equals 'up' happened 1.1 s after the link-cut's heal (within 5.0 s): 1 (up)",
    );
    expect(d?.facts).toEqual([
      { name: "must happen", value: "rinfo.master_link_status equals 'up'" },
      { name: "within", value: "5.0 s of the link-cut's heal (at 2.0 s)" },
      { name: "happened", value: "after 1.1 s: 1 (up)" },
    ]);
    expect(d?.plot).toMatchObject({
      series: "rinfo.master_link_status",
      marks: [
        { t: 2_000, label: "the link-cut's heal" },
        { t: 7_000, label: "deadline" },
      ],
    });
  });

  it("decides as soon as it happened, before the deadline", () => {
    const h = linkHistory(1_000, 3_200);
    expect(decide(linkUp, h, { now: 3_200 })?.label).toBe("happened");
  });

  it("never up: nothing before the deadline, timeout (bug) once it has passed", () => {
    const h = linkHistory(null, 6_900);
    expect(decide(linkUp, h, { now: 6_999 })).toBeUndefined();
    const d = decide(linkUp, h, { now: 7_000 });
    expect(d).toMatchObject({ outcome: "bug", label: WITHIN_LABELS.bug });
    expect(d?.reason).toBe(
      "rinfo.master_link_status equals 'up' did not happen within 5.0 s of the link-cut's heal (at 2.0 s); not by 7.0 s",
    );
  });

  it("up, but later than T: timeout, saying when it came", () => {
    const d = decide(linkUp, linkHistory(6_000));
    expect(d?.label).toBe("timeout");
    expect(d?.reason).toMatch(/; it came after 6\.1 s$/);
  });

  it("a status that already held at the moment counts at its first reading after it", () => {
    const d = decide(
      {
        ...linkUp,
        from: { mark: "load done" },
        happens: { series: "rinfo.master_link_status", condition: { equals: "down" } },
      },
      linkHistory(1_000),
    );
    expect(d?.evidence).toMatchObject({ happened: { t: 600 }, tookMs: 100 });
  });

  it("own labels", () => {
    const labels = { bug: "never-synced", noBug: "synced" };
    expect(decide({ ...linkUp, labels }, linkHistory(1_000))?.label).toBe("synced");
    expect(decide({ ...linkUp, labels }, linkHistory(null))?.label).toBe("never-synced");
  });
});

describe("within: when it cannot tell", () => {
  it("the moment never came: nothing while running, unknown once ended", () => {
    const h = linkHistory(1_000);
    const never = { ...linkUp, from: { fault: "heal", name: "other" } } as const;
    expect(decide(never, h)).toBeUndefined();
    expect(decide(never, h, { ended: timeLimit })).toMatchObject({
      outcome: "unknown",
      label: "inconclusive",
    });
    expect(decide(never, h, { ended: timeLimit })?.reason).toBe(
      "the other's heal never came before the run ended (time limit 60 s)",
    );
  });

  it("the run ended before T had passed: unknown", () => {
    const h = linkHistory(null, 4_000);
    const d = decide(linkUp, h, { now: 4_000, ended: timeLimit });
    expect(d?.outcome).toBe("unknown");
    expect(d?.reason).toBe(
      "the run ended 2.0 s after the link-cut's heal, before 5.0 s had passed, and rinfo.master_link_status equals 'up' had not happened (time limit 60 s)",
    );
  });

  it("the server died before it happened and before the deadline: unknown; after the deadline the timeout stands", () => {
    const h = linkHistory(null, 4_000);
    expect(decide(linkUp, h, { now: 4_000, ended: oomKilled })?.reason).toMatch(
      /^container died: exit code 137 \(OOM killed\)/,
    );
    expect(decide(linkUp, linkHistory(null), { ended: oomKilled })?.label).toBe("timeout");
  });
});

describe("within: a command succeeds, a log line appears, an event happens", () => {
  it("succeeds: PROBE.ok = 1 (a fresh client's PONG)", () => {
    const h = historyFrom({
      connect: [
        { t: 1_000, ok: false, error: "Connection is closed." },
        { t: 2_000, ok: false, error: "Connection is closed." },
        { t: 3_000, ok: true },
      ],
    });
    expect(decide({ from: "start", ms: 5_000, happens: { succeeds: "connect" } }, h)?.evidence.tookMs).toBe(
      3_000,
    );
    expect(decide({ from: "start", ms: 2_500, happens: { succeeds: "connect" } }, h)?.label).toBe("timeout");
    // At the deadline itself is within it.
    expect(decide({ from: "start", ms: 3_000, happens: { succeeds: "connect" } }, h)?.label).toBe("happened");
    expect(decide({ from: "start", ms: 2_999, happens: { succeeds: "connect" } }, h)?.label).toBe("timeout");
  });

  it("log: the checker brings its own log probe; the first matching line after the moment counts", () => {
    const spec = {
      from: { attempts: 2 },
      ms: 1_000,
      happens: { log: "MASTER <-> REPLICA sync: Finished", node: "replica" },
    } as const;
    const checker = withinChecker(spec);
    const probe = checker.probes?.[0] as Probe;
    expect(probe).toMatchObject({
      name: withinLogProbeName("replica", spec.happens.log),
      node: "replica",
      once: true,
    });
    // What a run records from this probe: its first reading, then a point per matching line of the replica's log.
    const recorder = new HistoryRecorder({ event: "fork-failed", node: "main" }, [probe]);
    recorder.reading(probe.name, 0, { count: 0 });
    const lines: [number, string][] = [
      [100, "1:M 01 Jan 2026 00:00:00.100 # Can't save in background: fork: Cannot allocate memory"],
      [300, "1:S 01 Jan 2026 00:00:00.300 * MASTER <-> REPLICA sync: Finished with success"],
      [400, "1:M 01 Jan 2026 00:00:00.400 # Can't save in background: fork: Cannot allocate memory"],
      [900, "1:S 01 Jan 2026 00:00:00.900 * Connecting to MASTER main:6379"],
      [1_300, "1:S 01 Jan 2026 00:00:01.300 * MASTER <-> REPLICA sync: Finished with success"],
    ];
    for (const [t, line] of lines) recorder.logLine(line.startsWith("1:S") ? "replica" : "main", line, t);
    const h = recorder.history;
    const series = `${probe.name}.count`;
    expect(h.series[series]?.map((p) => p.v)).toEqual([0, 1, 2]);
    // The line at 300 came before the moment (the 2nd attempt, 400): the one at 1300 is the first after it.
    const d = checker.decide(h, contextFor(h));
    expect(d).toMatchObject({ outcome: "no-bug", evidence: { happened: { t: 1_300 }, tookMs: 900 } });
    expect(d?.evidence.happened?.seen).toContain("sync: Finished");
    expect(d?.plot?.series).toBe(series);
  });

  it("the log probe's name depends on the node and the pattern only", () => {
    expect(withinLogProbeName("replica", "a")).toBe(withinLogProbeName("replica", "a"));
    expect(withinLogProbeName("replica", "a")).not.toBe(withinLogProbeName("main", "a"));
    expect(withinLogProbeName("replica", "a")).not.toBe(withinLogProbeName("replica", "b"));
    expect(withinLogProbeName("replica", "a")).toMatch(/^within-[0-9a-f]{8}$/);
  });

  it("event: a parsed log line on a node (the replica's ready), by kind", () => {
    const h = historyFrom({
      lines: [
        { t: 200, line: "1:M 01 Jan 2026 00:00:00.200 * Ready to accept connections", node: "main" },
        { t: 1_700, line: "1:S 01 Jan 2026 00:00:01.700 * Ready to accept connections", node: "replica" },
      ],
    });
    const d = decide({ from: "start", ms: 2_000, happens: { event: "ready", node: "replica" } }, h);
    expect(d?.evidence).toMatchObject({ happened: { t: 1_700 }, tookMs: 1_700 });
    expect(d?.plot).toBeUndefined();
    expect(decide({ from: "start", ms: 1_000, happens: { event: "ready", node: "replica" } }, h)?.label).toBe(
      "timeout",
    );
  });
});

describe("the data form", () => {
  it("parses with the run's start as the default moment, through checkerFrom too", () => {
    expect(WithinSpec.parse({ checker: "within", ms: 100, happens: { succeeds: "connect" } }).from).toBe(
      "start",
    );
    expect(
      checkerFrom({ checker: "within", name: "synced", ms: 100, happens: { succeeds: "connect" } }).name,
    ).toBe("synced");
  });

  it("refuses the end as a moment, a pattern that does not compile, a zero T", () => {
    const ok = { checker: "within", ms: 100, happens: { succeeds: "connect" } };
    expect(WithinSpec.safeParse({ ...ok, from: "end" }).success).toBe(false);
    expect(WithinSpec.safeParse({ ...ok, happens: { log: "(" } }).success).toBe(false);
    expect(WithinSpec.safeParse({ ...ok, ms: 0 }).success).toBe(false);
  });
});

describe("within, must not happen: a window that must stay quiet", () => {
  /** The main node exits (the run records it as an event) at `exitAt`, or never; a fault starts at 1 s. */
  const exitHistory = (exitAt: number | null) =>
    historyFrom({
      events: [
        { t: 1_000, node: "main", kind: "fault-start", name: "pids-limit" },
        ...(exitAt === null
          ? []
          : [{ t: exitAt, node: "main", kind: "exited", name: "oom", line: "OOM killed" }]),
      ],
    });
  const survives = {
    from: { fault: "start" },
    ms: 10_000,
    happens: { event: "exited", node: "main" },
    must: "not-happen",
  } as const;

  it("the server exits 2 s into the fault: happened (bug), at once, even with the run over", () => {
    const h = exitHistory(3_000);
    const d = decide(survives, h, { now: 3_001 });
    expect(d).toMatchObject({
      outcome: "bug",
      label: "happened",
      evidence: { must: "not-happen", tookMs: 2_000 },
    });
    expect(d?.reason).toBe(
      "an exited event on main happened 2.0 s after the fault's start, where it must not within 10.0 s: OOM killed",
    );
    expect(decide(survives, h, { now: 3_001, ended: oomKilled })?.label).toBe("happened");
  });

  it("no exit by the deadline: did-not-happen (no bug); before it, nothing; ended before it, unknown", () => {
    const h = exitHistory(null);
    expect(decide(survives, h, { now: 10_999 })).toBeUndefined();
    expect(decide(survives, h, { now: 11_000 })).toMatchObject({
      outcome: "no-bug",
      label: "did-not-happen",
    });
    expect(decide(survives, h, { now: 5_000, ended: timeLimit })?.outcome).toBe("unknown");
    // An exit after the window is not in it.
    expect(decide(survives, exitHistory(12_000), { now: 12_001 })?.label).toBe("did-not-happen");
    expect(decide(survives, h, { now: 11_000 })?.facts[0]).toEqual({
      name: "must not happen",
      value: "an exited event on main",
    });
  });

  it("swapping must happen / must not happen swaps bug and no-bug on a decided window", () => {
    for (const exitAt of [null, 3_000, 10_999, 11_001]) {
      const h = exitHistory(exitAt);
      const ctx = { now: 20_000 };
      const quiet = decide(survives, h, ctx)?.outcome;
      const live = decide({ ...survives, must: "happen" }, h, ctx)?.outcome;
      expect([quiet, live].sort()).toEqual(["bug", "no-bug"]);
    }
  });
});
