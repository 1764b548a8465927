import { describe, expect, it } from "vitest";
import type { CheckContext } from "../../harness/core/checker.js";
import { FAULT_HEAL, FAULT_START, type History, MARK, type Point } from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import {
  ASSERT_LABELS,
  AssertEvidence,
  AssertSpec,
  type AssertSpecInput,
  assertChecker,
} from "../../harness/parts/checkers/assert.js";
import { checkerFrom } from "../../harness/parts/checkers/index.js";
import { holds } from "../../harness/parts/checkers/moment.js";
import { contextFor, historyFrom, oomKilled, recordedResult, timeLimit } from "../helpers/runs.js";

/**
 * A synthetic history: INFO's aof_last_bgrewrite_status read every 500 ms from t = 250 (ok until
 * 2 s, err after), a failed fork every 300 ms from t = 1000, a fault started at 900 and healed at
 * 4000 on main, a mark "flood" at 3000.
 */
function statusHistory(until = 6_000): History {
  const status: Point[] = [];
  for (let t = 250; t <= until; t += 500)
    status.push(t < 2_000 ? { t, v: 1, text: "ok" } : { t, v: 0, text: "err" });
  const attempts = [];
  for (let t = 1_000; t <= until; t += 300) attempts.push({ t, line: null });
  return historyFrom({
    series: { "info.aof_last_bgrewrite_status": status },
    attempts,
    events: [
      { t: 900, node: "main", kind: FAULT_START, name: "seccomp-enomem", line: "fork fails with ENOMEM" },
      { t: 3_000, node: "main", kind: MARK, name: "flood", value: "on" },
      { t: 4_000, node: "main", kind: FAULT_HEAL, name: "seccomp-enomem", line: "healed" },
    ].filter((e) => e.t <= until),
  });
}

const base = {
  checker: "assert",
  series: "info.aof_last_bgrewrite_status",
  condition: { equals: "err" },
  bug: "if-false",
} as const satisfies Partial<AssertSpecInput>;

function decide(
  spec: Omit<AssertSpecInput, "checker"> & { checker?: "assert" },
  history: History,
  context: Partial<CheckContext> = {},
) {
  const decision = assertChecker(spec).decide(history, { ...contextFor(history), ...context });
  if (decision) {
    expect(() => Decision.parse(decision)).not.toThrow();
    expect(() => AssertEvidence.parse(decision.evidence)).not.toThrow();
  }
  return decision;
}

describe("assert: the first reading at or after a moment", () => {
  const h = statusHistory();

  it("after N attempts: the first reading at or after the Nth attempt (the 5th at 2200 → the reading at 2250, err)", () => {
    const d = decide({ ...base, at: { attempts: 5 } }, h);
    expect(d).toMatchObject({ checker: "assert", outcome: "no-bug", label: ASSERT_LABELS.noBug });
    expect(d?.evidence).toMatchObject({ at: 2_200, reading: { t: 2_250, v: 0, text: "err" }, held: true });
    expect(d?.reason).toBe(
      "info.aof_last_bgrewrite_status read 0 (err) at 2.3 s (the first reading at or after the 5th attempt): equals 'err' holds, which is no bug (bug if it does not)",
    );
  });

  it("after 1 attempt the status still said ok: the condition does not hold, which is the bug when bug is if-false", () => {
    const d = decide({ ...base, at: { attempts: 1 } }, h);
    expect(d).toMatchObject({ outcome: "bug", label: "violated" });
    expect(d?.evidence).toMatchObject({ reading: { t: 1_250, text: "ok" }, held: false });
    expect(d?.facts).toEqual([
      { name: "series", value: "info.aof_last_bgrewrite_status" },
      { name: "moment", value: "the 1st attempt at 1.0 s" },
      { name: "reading", value: "1 (ok) at 1.3 s" },
      { name: "condition", value: "equals 'err': does not hold (bug if it does not)" },
    ]);
    expect(d?.summary).toBe(
      "info.aof_last_bgrewrite_status = 1 (ok) after the 1st attempt: equals 'err' does not hold",
    );
    expect(d?.plot).toMatchObject({
      series: "info.aof_last_bgrewrite_status",
      marks: [{ t: 1_000 }, { t: 1_250 }],
    });
  });

  it("bug: if-true states the symptom: the same reading is then the other outcome", () => {
    const symptom = { ...base, condition: { equals: "ok" }, bug: "if-true" } as const;
    expect(decide({ ...symptom, at: { attempts: 1 } }, h)?.outcome).toBe("bug");
    expect(decide({ ...symptom, at: { attempts: 5 } }, h)?.outcome).toBe("no-bug");
  });

  it("own labels replace violated and held", () => {
    const labels = { bug: "status-stuck-ok", noBug: "status-err" };
    expect(decide({ ...base, at: { attempts: 1 }, labels }, h)?.label).toBe("status-stuck-ok");
    expect(decide({ ...base, at: { attempts: 5 }, labels }, h)?.label).toBe("status-err");
  });

  it("T ms after a mark, or after a fault's start or heal (by name and node), or at the run's start", () => {
    expect(decide({ ...base, at: { mark: "flood", afterMs: 1_100 } }, h)?.evidence.reading?.t).toBe(4_250);
    expect(decide({ ...base, at: { mark: "flood", value: "on" } }, h)?.evidence.reading?.t).toBe(3_250);
    expect(decide({ ...base, at: { fault: "start" } }, h)?.evidence).toMatchObject({
      at: 900,
      reading: { t: 1_250 },
    });
    expect(
      decide({ ...base, at: { fault: "heal", name: "seccomp-enomem", node: "main" } }, h)?.evidence.at,
    ).toBe(4_000);
    expect(decide({ ...base, at: "start" }, h)?.evidence.reading?.t).toBe(250);
  });

  it("a reading at the moment itself is the one judged (at or after)", () => {
    expect(decide({ ...base, at: { mark: "flood", afterMs: 250 } }, h)?.evidence.reading?.t).toBe(3_250);
    expect(decide({ ...base, at: { mark: "flood", afterMs: 251 } }, h)?.evidence.reading?.t).toBe(3_750);
  });

  it("a moment that never comes: nothing while running, unknown once ended, with why", () => {
    for (const at of [
      { mark: "flood", value: "off" },
      { fault: "heal", node: "replica" },
      { attempts: 99 },
    ] as const) {
      expect(decide({ ...base, at }, h)).toBeUndefined();
      const d = decide({ ...base, at }, h, { ended: timeLimit });
      expect(d).toMatchObject({ outcome: "unknown", label: "inconclusive" });
      expect(d?.reason).toMatch(/ never came before the run ended \(time limit 60 s\)$/);
    }
  });

  it("a moment with no reading after it: nothing while running, unknown once ended", () => {
    const d = decide({ ...base, at: { mark: "flood", afterMs: 60_000 } }, h, { ended: timeLimit });
    expect(d?.outcome).toBe("unknown");
    expect(d?.reason).toBe(
      'no reading of info.aof_last_bgrewrite_status at or after 60.0 s after mark "flood" (63.0 s) before the run ended (time limit 60 s)',
    );
    expect(decide({ ...base, at: { mark: "flood", afterMs: 60_000 } }, h)).toBeUndefined();
  });

  it("a decided assertion holds once the server died afterwards: the reading was taken", () => {
    expect(decide({ ...base, at: { attempts: 1 } }, h, { ended: oomKilled })?.label).toBe("violated");
  });
});

describe("assert at the end: the last reading, once the run has ended", () => {
  const h = statusHistory();

  it("waits for the end, then judges the last reading", () => {
    expect(decide({ ...base, at: "end" }, h)).toBeUndefined();
    const d = decide({ ...base, at: "end" }, h, { ended: timeLimit });
    expect(d).toMatchObject({ outcome: "no-bug", label: "held" });
    expect(d?.evidence.reading?.t).toBe(5_750);
    expect(d?.reason).toContain("(the last reading)");
  });

  it("no reading at all, or the server died first: unknown, with why", () => {
    const none = historyFrom({});
    expect(decide({ ...base, at: "end" }, none, { ended: timeLimit })?.reason).toBe(
      "no reading of info.aof_last_bgrewrite_status before the run ended (time limit 60 s)",
    );
    expect(decide({ ...base, at: "end" }, h, { ended: oomKilled })?.reason).toBe(
      "container died: exit code 137 (OOM killed): the last reading of info.aof_last_bgrewrite_status is not the end state",
    );
  });
});

describe("conditions", () => {
  const p = (v: number, text?: string): Point => ({ t: 0, v, ...(text === undefined ? {} : { text }) });
  it("equals / not: a number against the value, a word against the text (or the number written out)", () => {
    expect(holds({ equals: 0 }, p(0, "err"))).toBe(true);
    expect(holds({ equals: "err" }, p(0, "err"))).toBe(true);
    expect(holds({ equals: "0" }, p(0))).toBe(true);
    expect(holds({ equals: "0" }, p(0, "err"))).toBe(false);
    expect(holds({ not: 1 }, p(0, "err"))).toBe(true);
    expect(holds({ not: "err" }, p(0, "err"))).toBe(false);
  });

  it("atMost / atLeast on the value, bounds included", () => {
    expect(holds({ atMost: 3 }, p(3))).toBe(true);
    expect(holds({ atMost: 3 }, p(3.01))).toBe(false);
    expect(holds({ atLeast: 3 }, p(3))).toBe(true);
    expect(holds({ atLeast: 3 }, p(2.99))).toBe(false);
  });

  it("matches: a regular expression on the text, or on the number written out", () => {
    expect(holds({ matches: "err" }, p(0, "err"))).toBe(true);
    expect(holds({ matches: "^Connection" }, p(0, "Connection is closed."))).toBe(true);
    expect(holds({ matches: "err" }, p(0, "ok"))).toBe(false);
    expect(holds({ matches: "^1\\d$" }, p(12))).toBe(true);
  });
});

describe("assert on recorded runs: the 7.x rewrite limiter's count of failed forks", () => {
  // After 3 failed forks a build that counts them shows aof_rewrites_consecutive_failures ≥ 1; 7.0.15 never counts.
  const spec = {
    checker: "assert",
    name: "counts-failures",
    series: "info.aof_rewrites_consecutive_failures",
    at: { attempts: 3 },
    condition: { atLeast: 1 },
    bug: "if-false",
  } as const;
  const PAIR = "aof-dir-7.0.15-vs-count-failed-aof-fork.json";

  it("7.0.15: violated (bug); the patched build: held (no bug)", () => {
    const plain = recordedResult(PAIR, "7.0.15").history;
    const patched = recordedResult(PAIR, "7.0.15+count-failed-aof-fork").history;
    const checker = checkerFrom(spec);
    expect(checker.name).toBe("counts-failures");
    expect(checker.decide(plain, contextFor(plain))).toMatchObject({
      checker: "counts-failures",
      outcome: "bug",
      label: "violated",
    });
    expect(checker.decide(patched, contextFor(patched))).toMatchObject({ outcome: "no-bug", label: "held" });
    expect(checker.decide(patched, contextFor(patched))?.evidence).toMatchObject({
      reading: { v: 3 },
      held: true,
    });
  });

  it("the data form parses with the schema the scenario uses", () => {
    expect(AssertSpec.parse(spec)).toEqual({ ...spec, at: { attempts: 3, afterMs: 0 } });
  });
});
