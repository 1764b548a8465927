import { type Checker, type Decision, defineScenario, type History, Probes, seriesOf } from "redis-repro";

/**
 * "New clients could not get in any more" asked directly, with a checker of our own instead of the
 * fd-leak one: a probe opens a fresh connection (and PINGs) every 500 ms while fork() fails, and the
 * checker asks only whether those clients keep being served. It knows nothing of fds.
 */

/** What our checker saw: its own shape, nothing the built-in checkers carry. */
export interface FreshClientsEvidence {
  /** Failed forks (the scenario's attempts). */
  attempts: number;
  /** Fresh clients tried since the first failed fork, served (PONG) and refused. */
  tried: number;
  served: number;
  refused: number;
  /** The longest run of refusals in a row, and the first refusal with its error. */
  longestRefusedRun: number;
  firstRefused: { t: number; error: string } | null;
}

/** Refusals in a row that make the bug: one could be a slow connect on a busy host. */
const REFUSED_IN_A_ROW = 3;
/** Clients served after the attempt budget that make "no bug". */
const SERVED_AFTER_BUDGET = 3;

const clients = Probes.connect({ name: "clients", everyMs: 500 });

function evidenceOf(history: History): FreshClientsEvidence {
  const firstAttempt = history.attempts[0]?.t ?? Number.POSITIVE_INFINITY;
  const tried = seriesOf(history, "clients.ok").filter((p) => p.t >= firstAttempt);
  let run = 0;
  let longest = 0;
  for (const p of tried) {
    run = p.v === 1 ? 0 : run + 1;
    longest = Math.max(longest, run);
  }
  const refused = tried.filter((p) => p.v !== 1);
  const first = refused[0];
  return {
    attempts: history.attempts.length,
    tried: tried.length,
    served: tried.length - refused.length,
    refused: refused.length,
    longestRefusedRun: longest,
    firstRefused: first ? { t: first.t, error: first.text ?? "refused" } : null,
  };
}

export const freshClientsChecker: Checker<FreshClientsEvidence> = {
  name: "fresh-clients",
  probes: [clients],
  decide(history, context): Decision<FreshClientsEvidence> | undefined {
    const e = evidenceOf(history);
    const decided = (
      outcome: Decision["outcome"],
      label: string,
      reason: string,
    ): Decision<FreshClientsEvidence> => ({
      checker: "fresh-clients",
      outcome,
      label,
      reason,
      summary: `${e.served}/${e.tried} fresh clients served over ${e.attempts} failed forks`,
      facts: [
        { name: "failed forks", value: String(e.attempts) },
        { name: "fresh clients served", value: `${e.served} of ${e.tried}` },
        { name: "refused in a row (longest)", value: String(e.longestRefusedRun) },
        { name: "first refusal", value: e.firstRefused ? e.firstRefused.error : "none" },
      ],
      evidence: e,
      plot: {
        series: "clients.ok",
        title: "fresh clients served (1) or refused (0)",
        axis: "served",
        ceiling: null,
        marks: e.firstRefused ? [{ t: e.firstRefused.t, label: "first refusal" }] : [],
      },
    });
    if (e.longestRefusedRun >= REFUSED_IN_A_ROW)
      return decided(
        "bug",
        "refused",
        `${e.longestRefusedRun} fresh clients in a row were refused after ${e.attempts} failed forks (${e.firstRefused?.error})`,
      );
    const enough = history.attempts[context.attemptsNeeded - 1]?.t;
    const servedAfter = seriesOf(history, "clients.ok").filter(
      (p) => enough !== undefined && p.t >= enough && p.v === 1,
    ).length;
    if (enough !== undefined && servedAfter >= SERVED_AFTER_BUDGET && e.longestRefusedRun === 0)
      return decided(
        "no-bug",
        "served",
        `every one of ${e.tried} fresh clients was served over ${e.attempts} failed forks`,
      );
    if (!context.ended) return undefined;
    return decided(
      "unknown",
      "undecided",
      `${e.attempts} failed forks, ${e.served}/${e.tried} fresh clients served, longest refusal run ${e.longestRefusedRun}: neither (${context.ended.detail})`,
    );
  },
};

/** The seed's settings: the AOF grown past its rewrite size, serverCron retrying a failing fork every tick. */
export default defineScenario({
  name: "fresh-clients-enomem",
  description:
    "Fresh clients while every AOF rewrite fork fails (the seed's settings): are they still served?",
  redis: {
    appendonly: true,
    "auto-aof-rewrite-percentage": 100,
    "auto-aof-rewrite-min-size": "64kb",
    maxclients: 64,
    hz: 10,
  },
  limits: { memory: "64m", pids: 64, nofile: 1024 },
  fault: "seccomp-enomem",
  workload: [{ step: "grow-aof", valueBytes: 128 }],
  checker: freshClientsChecker,
  budgets: { attempts: 30, timeLimitSeconds: 60 },
  targets: ["3.2.8", "3.2.8+fix-aof-pipe-leak"],
  expect: { "3.2.8": "bug", "3.2.8+fix-aof-pipe-leak": "no-bug" },
});
