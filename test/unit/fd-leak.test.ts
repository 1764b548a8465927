import { describe, expect, it } from "vitest";
import type { CheckContext } from "../../harness/core/checker.js";
import type { History } from "../../harness/core/history.js";
import { Decision } from "../../harness/core/outcome.js";
import {
  decideFdLeak,
  type FdLeakEvidence,
  FdLeakEvidence as FdLeakEvidenceSchema,
  FdLeakSpec,
  fdLeakChecker,
  fdLeakEvidence,
  persistentGrowth,
  pipesPerAttempt,
  SETTLE_MS,
} from "../../harness/parts/checkers/fd-leak.js";
import {
  attemptsOf,
  connectResults,
  contextFor,
  edited,
  fdSamples,
  oomKilled,
  recordedBefore,
  recordedResult,
  timeLimit,
} from "../helpers/runs.js";

const FILE = "seed-3.2.8-vs-fix.json";
const leaky = recordedResult(FILE, "3.2.8").history;
const fixed = recordedResult(FILE, "3.2.8+fix-aof-pipe-leak").history;
const spec = FdLeakSpec.parse({ checker: "fd-leak" });

function decided(
  history: History,
  context: CheckContext = contextFor(history),
): Decision & { evidence: FdLeakEvidence } {
  const decision = decideFdLeak(history, context);
  if (!decision) throw new Error("expected a decision, got undefined");
  expect(() => Decision.parse(decision)).not.toThrow();
  expect(() => FdLeakEvidenceSchema.parse(decision.evidence)).not.toThrow();
  return decision;
}
const undecided = (history: History, context: CheckContext = contextFor(history)) =>
  decideFdLeak(history, context);

describe("the recorded data is what these tests assume", () => {
  it("3.2.8 leaked into its ceiling; the fix stayed flat", () => {
    expect(fdSamples(leaky)[0]).toMatchObject({ total: 8, pipe: 2, maxFd: 7 });
    expect(connectResults(leaky).some((p) => !p.ok)).toBe(true);
    expect(leaky.attempts.length).toBe(31);
    expect(connectResults(fixed).every((p) => p.ok)).toBe(true);
    expect(fixed.attempts.length).toBeGreaterThanOrEqual(30);
  });

  it("the ceiling comes from the history: maxclients 64 + 128 under nofile 1024", () => {
    const e = fdLeakEvidence(leaky, spec);
    expect(e).toMatchObject({ ceiling: 192, maxclients: 64, nofile: 1024 });
  });
});

describe("pipesPerAttempt on the recorded run", () => {
  it("is 6 for 3.2.8 (3 pipes per failed fork) and 0 for the fix", () => {
    expect(pipesPerAttempt(fdSamples(leaky), leaky.attempts, 192, 6)).toBe(6);
    expect(pipesPerAttempt(fdSamples(fixed), fixed.attempts, 192, 6)).toBe(0);
  });

  it("only counts samples below the ceiling", () => {
    const samples = fdSamples(leaky);
    const bent = samples.filter((s) => s.maxFd >= 192 - 6);
    expect(bent.length).toBeGreaterThan(0);
    // Dropping the samples at the ceiling changes nothing: they were never used.
    expect(
      pipesPerAttempt(
        samples.filter((s) => !bent.includes(s)),
        leaky.attempts,
        192,
        6,
      ),
    ).toBe(6);
  });

  it("is null without a baseline or before 3 failed forks", () => {
    expect(pipesPerAttempt([], leaky.attempts, 192, 6)).toBeNull();
    const third = leaky.attempts[2]?.t ?? 0;
    const cut = recordedBefore(leaky, third);
    expect(pipesPerAttempt(fdSamples(cut), cut.attempts, 192, 6)).toBeNull();
  });
});

describe("the fd-leak checker on the recorded run", () => {
  it("3.2.8: exhaustion (bug), 6 fds per failed fork, the recorded reason", () => {
    const decision = decided(leaky);
    expect(decision).toMatchObject({ checker: "fd-leak", outcome: "bug", label: "exhaustion" });
    expect(decision.reason).toBe(recordedResult(FILE, "3.2.8").decision.reason);
    expect(decision.evidence).toMatchObject({
      fdsPerAttempt: 6,
      baseline: 8,
      ceiling: 192,
      attempts: 31,
      refused: { error: "Connection is closed." },
      errno: "Cannot allocate memory",
    });
    expect(decision.evidence.logLines).toHaveLength(3);
  });

  it("3.2.8: facts a reader needs, a summary line and a plot of fds.total with the ceiling and the refusal", () => {
    const decision = decided(leaky);
    const fact = (name: string) => decision.facts.find((f) => f.name === name)?.value;
    expect(fact("failed forks")).toBe("31");
    expect(fact("fds per failed fork")).toBe("6 (a leak leaves 6)");
    expect(fact("fds baseline → peak")).toMatch(/^8 → \d+$/);
    expect(fact("event loop ceiling")).toBe("192 (maxclients 64 + 128)");
    expect(fact("time to exhaustion")).toMatch(/^\d+\.\d s after the first failed fork$/);
    expect(fact("fresh client")).toMatch(/^refused at \d+\.\d s: Connection is closed\.$/);
    expect(fact("fork error")).toBe("Cannot allocate memory");
    expect(decision.summary).toMatch(
      /^6 fd\/failed fork, fds 8 → \d+ \(ceiling 192\), 31 failed forks, client refused$/,
    );
    expect(decision.plot).toMatchObject({ series: "fds.total", ceiling: 192 });
    expect(decision.plot?.marks).toEqual([{ t: decision.evidence.refused?.t, label: "client refused" }]);
  });

  it("3.2.8+fix-aof-pipe-leak: stable (no bug)", () => {
    const decision = decided(fixed);
    expect(decision).toMatchObject({ outcome: "no-bug", label: "stable" });
    expect(decision.reason).toMatch(/^fds stayed within 0 of the baseline 8 over \d+ failed forks/);
    expect(decision.evidence).toMatchObject({
      fdsPerAttempt: 0,
      baseline: 8,
      peak: 8,
      exhaustedMs: null,
      refused: null,
      errno: "Cannot allocate memory",
    });
    expect(decision.plot?.marks).toEqual([]);
  });

  it("a stable build's peak caught in the instant its six pipes were open is shown beside the lasting one", () => {
    // One sample in the middle lands between pipe() and the close after the failed fork: +6 once.
    const samples = fdSamples(fixed);
    const mid = Math.floor(samples.length / 2);
    const blip = samples.map((s, i) => (i === mid ? { ...s, total: s.total + 6, pipe: s.pipe + 6 } : s));
    const decision = decided(edited(fixed, { fds: blip }));
    expect(decision).toMatchObject({ outcome: "no-bug", label: "stable" });
    expect(decision.evidence).toMatchObject({ peak: 14, lastingPeak: 8 });
    expect(decision.reason).toMatch(/within 0 of the baseline 8/);
    expect(decision.facts.find((f) => f.name === "fds baseline → peak")?.value).toBe("8 → 14 (8 lasting)");
    expect(decision.summary).toMatch(/fds 8 → 14 \(8 lasting\)/);
    // A leak's peak is its peak: no lasting figure beside it.
    expect(decided(leaky).facts.find((f) => f.name === "fds baseline → peak")?.value).toMatch(/^8 → \d+$/);
  });

  it("the outcomes do not change once the run has ended", () => {
    expect(decided(leaky, contextFor(leaky, { ended: timeLimit })).label).toBe("exhaustion");
    expect(decided(fixed, contextFor(fixed, { ended: timeLimit })).label).toBe("stable");
  });

  it("the checker object names itself and asks for fds, maxclients and hz, and a fresh client", () => {
    const checker = fdLeakChecker();
    expect(checker.name).toBe("fd-leak");
    expect(checker.probes?.map((p) => p.name)).toEqual(["fds", "config", "connect"]);
    expect(checker.decide(leaky, contextFor(leaky))?.label).toBe("exhaustion");
  });
});

describe("the exhaustion settle: the refused client's own log line may still be on its way", () => {
  const refusedAt = decided(leaky).evidence.refused?.t ?? 0;
  const noRegisterError = edited(leaky, { events: leaky.events.filter((e) => e.kind !== "register-error") });

  it("without a register-error line, waits SETTLE_MS after the refusal, then decides without it", () => {
    expect(
      undecided(noRegisterError, contextFor(noRegisterError, { now: refusedAt + SETTLE_MS - 1 })),
    ).toBeUndefined();
    const late = decided(noRegisterError, contextFor(noRegisterError, { now: refusedAt + SETTLE_MS }));
    expect(late.label).toBe("exhaustion");
    expect(late.evidence.logLines).toHaveLength(2);
  });

  it("with the line in, or once the run has ended, does not wait", () => {
    expect(decided(leaky, contextFor(leaky, { now: refusedAt })).label).toBe("exhaustion");
    expect(
      decided(noRegisterError, contextFor(noRegisterError, { now: refusedAt, ended: timeLimit })).label,
    ).toBe("exhaustion");
  });
});

describe("the fd-leak checker on cases derived from the recorded run", () => {
  const exhaustedMs = decided(leaky).evidence.exhaustedMs ?? 0;

  it("3.2.8 cut before the ceiling: undecided while running", () => {
    expect(exhaustedMs).toBeGreaterThan(0);
    expect(undecided(recordedBefore(leaky, exhaustedMs))).toBeUndefined();
  });

  it("3.2.8 cut before the ceiling: inconclusive (unknown) once the time limit ends the run", () => {
    const cut = recordedBefore(leaky, exhaustedMs);
    const decision = decided(cut, contextFor(cut, { ended: timeLimit }));
    expect(decision).toMatchObject({ outcome: "unknown", label: "inconclusive" });
    expect(decision.reason).toContain("fds grew by 6 per failed fork");
    expect(decision.reason).toContain("exhaustion was not shown (time limit 60 s)");
    expect(decision.evidence.exhaustedMs).toBeNull();
  });

  it("3.2.8 without the refused probe: not exhaustion", () => {
    const probes = edited(leaky, { connect: connectResults(leaky).filter((p) => p.ok) });
    expect(undecided(probes)).toBeUndefined();
    const ended = decided(probes, contextFor(probes, { ended: timeLimit }));
    expect(ended.label).toBe("inconclusive");
    expect(ended.evidence.refused).toBeNull();
    // The ceiling was still reached: the evidence says so, the label does not claim it.
    expect(ended.evidence.exhaustedMs).toBe(exhaustedMs);
  });

  it("3.2.8 with a refusal only before the ceiling: not exhaustion (the refusal must follow it)", () => {
    const connect = [
      ...connectResults(leaky).filter((p) => p.ok),
      { t: exhaustedMs - 1, ok: false, error: "Connection is closed." },
    ].sort((a, b) => a.t - b.t);
    expect(decideFdLeak(edited(leaky, { connect }), contextFor(leaky))?.label).not.toBe("exhaustion");
  });

  it("3.2.8 checked against another leak rate: not exhaustion", () => {
    expect(decideFdLeak(leaky, contextFor(leaky), { checker: "fd-leak", fdsPerAttempt: 2 })?.label).not.toBe(
      "exhaustion",
    );
  });

  it.each([
    ["3.2.8", leaky],
    ["fix", fixed],
  ])("%s without any fork-failed event: inconclusive, no fork failure", (_, history) => {
    const none = edited(history, { events: history.events.filter((e) => e.kind !== "fork-failed") });
    expect(none.attempts).toEqual([]);
    expect(undecided(none)).toBeUndefined();
    const decision = decided(none, contextFor(none, { ended: timeLimit }));
    expect(decision.label).toBe("inconclusive");
    expect(decision.reason).toBe("no fork failure seen before the run ended (time limit 60 s)");
    expect(decision.evidence.attempts).toBe(0);
  });

  it("the fix cut after 10 failed forks: inconclusive, too few failed forks", () => {
    const tenth = fixed.attempts[9]?.t ?? 0;
    const cut = recordedBefore(fixed, tenth + 1);
    expect(cut.attempts).toHaveLength(10);
    expect(undecided(cut)).toBeUndefined();
    const decision = decided(cut, contextFor(cut, { ended: timeLimit }));
    expect(decision.label).toBe("inconclusive");
    expect(decision.reason).toBe("too few failed forks: 10 of 30 (time limit 60 s)");
  });

  it("the fix needs a probe after the 30th failed fork before it is stable", () => {
    const thirtieth = fixed.attempts[29]?.t ?? 0;
    const cut = recordedBefore(fixed, thirtieth + 1);
    const probes = connectResults(cut).filter((p) => p.t <= thirtieth);
    expect(undecided(edited(cut, { connect: probes }))).toBeUndefined();
    const probed = edited(cut, { connect: [...probes, { t: thirtieth + 1, ok: true }] });
    expect(decideFdLeak(probed, contextFor(probed))?.label).toBe("stable");
  });

  it.each([
    ["3.2.8", leaky],
    ["fix", fixed],
  ])("%s whose container exited: inconclusive, container died", (_, history) => {
    const decision = decided(history, contextFor(history, { ended: oomKilled }));
    expect(decision).toMatchObject({ outcome: "unknown", label: "inconclusive" });
    expect(decision.reason).toBe("container died: exit code 137 (OOM killed)");
  });

  it("the fix with one refused probe after the first failure: not stable", () => {
    const first = fixed.attempts[0]?.t ?? 0;
    const results = connectResults(fixed);
    const after = results.findIndex((p) => p.t >= first);
    expect(after).toBeGreaterThanOrEqual(0);
    const connect = results.map((p, i) =>
      i === after ? { t: p.t, ok: false, error: "Connection is closed." } : p,
    );
    const decision = decided(edited(fixed, { connect }));
    expect(decision.label).toBe("inconclusive");
    expect(decision.reason).toBe("fds stayed flat but a fresh client was refused (Connection is closed.)");
  });

  it("the fix with a refused probe before the first failure is still stable", () => {
    const first = fixed.attempts[0]?.t ?? 0;
    const connect = [{ t: first - 1, ok: false, error: "starting" }, ...connectResults(fixed)].sort(
      (a, b) => a.t - b.t,
    );
    expect(decided(edited(fixed, { connect })).label).toBe("stable");
  });

  it("the fix growing past the tolerance in two samples running: not stable", () => {
    const samples = fdSamples(fixed);
    const last = samples.at(-1);
    if (!last) throw new Error("no samples");
    const grown = (dt: number, by: number) => ({
      ...last,
      t: last.t + dt,
      total: last.total + by,
      socket: last.socket + by,
      maxFd: last.maxFd + by,
    });
    const four = edited(fixed, { fds: [...samples, grown(100, 4), grown(200, 4)] });
    expect(undecided(four)).toBeUndefined();
    const three = edited(fixed, { fds: [...samples, grown(100, 3), grown(200, 3)] });
    expect(decideFdLeak(three, contextFor(three))?.label).toBe("stable");
  });

  it("a single sample that caught the fix's six pipes between open and close is not growth", () => {
    const samples = fdSamples(fixed);
    const last = samples.at(-1);
    if (!last) throw new Error("no samples");
    const spike = {
      ...last,
      t: last.t + 100,
      total: last.total + 6,
      pipe: last.pipe + 6,
      maxFd: last.maxFd + 6,
    };
    const after = { ...last, t: last.t + 200 };
    expect(persistentGrowth([...samples, spike, after], last.total)).toBe(0);
    const history = edited(fixed, { fds: [...samples, spike, after] });
    expect(decideFdLeak(history, contextFor(history))?.label).toBe("stable");
  });

  it("an ended run with enough flat failures but no probe after the budget: inconclusive", () => {
    const first = fixed.attempts[0]?.t ?? 0;
    const history = edited(fixed, { connect: connectResults(fixed).filter((p) => p.t < first) });
    const decision = decided(history, contextFor(history, { ended: timeLimit }));
    expect(decision.label).toBe("inconclusive");
    expect(decision.reason).toMatch(
      /^neither stable nor exhausted after \d+ failed forks \(time limit 60 s\)$/,
    );
  });

  it("no maxclients and no nofile recorded: no ceiling, so no exhaustion", () => {
    const bare = {
      ...leaky,
      series: Object.fromEntries(Object.entries(leaky.series).filter(([k]) => k !== "config.maxclients")),
      events: leaky.events.filter((e) => e.kind !== "limit"),
    };
    const ended = decided(bare, contextFor(bare, { ended: timeLimit }));
    expect(ended.evidence.ceiling).toBeNull();
    expect(ended.facts.find((f) => f.name === "event loop ceiling")?.value).toMatch(/^unknown/);
    // The pipes-error line still says the table was full: the refusal after it still counts.
    expect(ended.label).toBe("exhaustion");
  });

  it("fresh attempts counted by the parser are the recorded attempts", () => {
    expect(attemptsOf(leaky.events)).toEqual(leaky.attempts);
  });
});
