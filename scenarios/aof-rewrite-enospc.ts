import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
// In a project of your own: import { Checkers, eventsOf, seriesOf, … } from "redis-repro".
import {
  type Checker,
  Checkers,
  eventsOf,
  type History,
  type Point,
  type ScenarioDefinition,
  type StepContext,
  seriesOf,
} from "../harness/index.js";

/**
 * A disk that fills instead of a fork that fails. /data is a 6 MiB tmpfs; a spacer file takes 2.5 MiB
 * of it and the dataset makes a 2.1 MiB AOF, so an AOF rewrite (which writes the whole dataset again
 * before it replaces the old file) runs out of space while the server's own appends still fit.
 * BGREWRITEAOF is sent every 250 ms: each rewrite that ends in error is an attempt. Then, in phases:
 *   FLOOD_AT_MS  (mark "flood") the same keys are written again until the appends fail too (the disk
 *                is full; the dataset, and so the size a rewrite needs, stays the same);
 *   FREE_AT_MS   (mark "freed") the spacer is removed: now both the appends and a rewrite fit again.
 * The checker judges the files each failed rewrite leaves behind, over the attempts before the flood:
 * temp files in `dir` (temp-rewriteaof-*.aof, every release) plus incr files in appendonlydir/ (7.0
 * on); then it waits for the server to recover by itself (a rewrite succeeds, writes are accepted)
 * and says how long that took. Measured on 3.2.8, 3.2.9 (stable) and 7.0.15 (growing): see
 * docs/findings-enospc.md.
 */

const SPACER_KIB = 2560;
const KEYS = 3_000;
/** From the end of the fill (the run's watch starts then). */
const FLOOD_AT_MS = 12_000;
const FREE_AT_MS = 17_000;
/** How long after the spacer is gone the server has to recover to count as recovered. */
const RECOVERY_MS = 8_000;

/** Random values, so that 7.x's RDB-preamble base file is as large as the AOF (no LZF win). */
const value = () => randomBytes(525).toString("base64");

/** Temp files in dir plus incr files in appendonlydir/, as read in the same tick (their samplers start together). */
function leftoverFiles(history: History): Point[] {
  const incr = seriesOf(history, "incr.files");
  const incrAt = (t: number) => [...incr].reverse().find((p) => p.t <= t + 150)?.v ?? 0;
  return seriesOf(history, "tmp.files").map((p) => ({ t: p.t, v: p.v + incrAt(p.t) }));
}

/** The phases, from the marks the workload wrote into the history. */
function phaseTimes(history: History): { floodAt?: number; freedAt?: number } {
  const at = (name: string) => eventsOf(history, "mark", { name })[0]?.t;
  return { floodAt: at("flood"), freedAt: at("freed") };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const growth = Checkers.growth({
  series: "leftover.files",
  // One file per two failed rewrites at least: the log that counts attempts arrives late on a busy
  // host while the files are read at once, which flattens the measured slope (1.0 on a quiet one).
  perAttempt: 0.5,
  tolerance: 1,
  minAttempts: 10,
});

/**
 * The generic growth checker on leftover files, judged over the failed rewrites before the flood
 * (when only the rewrites lack room); it answers once the disk was freed and the server recovered
 * (a rewrite succeeded and appends work again), or RECOVERY_MS passed without, and says which.
 */
const leftoversChecker: Checker = {
  name: "enospc-leftovers",
  probes: growth.probes ?? [],
  decide(history, context) {
    const { floodAt, freedAt } = phaseTimes(history);
    const cut = floodAt ?? freedAt ?? Number.POSITIVE_INFINITY;
    const failing: History = {
      ...history,
      attempts: history.attempts.filter((a) => a.t < cut),
      series: { ...history.series, "leftover.files": leftoverFiles(history).filter((p) => p.t < cut) },
    };
    if (freedAt === undefined) return context.ended ? growth.decide(failing, context) : undefined;
    const now = context.now;
    // The first reading that saw the spacer gone may already see the recovery: the tick is the resolution.
    const okAfter = (series: string) =>
      seriesOf(history, `info.${series}`).find((p) => p.t >= freedAt && p.v === 1)?.t;
    const rewriteOk = okAfter("aof_last_bgrewrite_status");
    const writeOk = okAfter("aof_last_write_status");
    const recovered = rewriteOk !== undefined && writeOk !== undefined;
    if (!recovered && now - freedAt < RECOVERY_MS && !context.ended) return undefined;
    const decision = growth.decide(failing, {
      ...context,
      ended: context.ended ?? { reason: "time-limit", detail: "the flood began before a decision" },
    });
    if (!decision) return undefined;
    const writes = seriesOf(history, "info.aof_last_write_status");
    const writeErr = writes.find((p) => p.t >= (floodAt ?? 0) && p.v === 0)?.t;
    const failingWhenFreed = [...writes].reverse().find((p) => p.t < freedAt)?.v === 0;
    const full =
      writeErr === undefined
        ? "the flood never made an append fail"
        : `appends failed ${seconds(writeErr - (floodAt ?? 0))} into the flood (aof_last_write_status err)${failingWhenFreed ? " and still did when the disk was freed" : ", not when the disk was freed"}`;
    const after = (t: number | undefined, what: string) =>
      t === undefined
        ? `${what} not within ${seconds(RECOVERY_MS)}`
        : `${what} after ${seconds(t - freedAt)}`;
    return {
      ...decision,
      checker: "enospc-leftovers",
      reason: `${decision.reason}; ${full}; once freed: ${after(writeOk, "aof_last_write_status ok")}, ${after(rewriteOk, "a rewrite succeeded")}, ${leftoverFiles(history).at(-1)?.v ?? "?"} temp and incr files in the last reading`,
      facts: [
        ...decision.facts,
        { name: "appends during the flood", value: full },
        { name: "writes ok after freeing", value: after(writeOk, "ok") },
        { name: "rewrite ok after freeing", value: after(rewriteOk, "ok") },
      ],
    };
  },
};

/** The flood, then freeing the disk; each phase's start is a mark in the history. */
async function phases(client: Redis, context: StepContext): Promise<void> {
  const { signal } = context;
  const node = context.node();
  try {
    await context.sleep(FLOOD_AT_MS);
    if (signal.aborted) return;
    context.mark("flood");
    // The same keys again, until the disk is freed: the AOF grows until it fills the disk for good
    // (a failing rewrite's temp file frees room for a moment when it is removed), the dataset does not.
    const freeAt = context.t() + FREE_AT_MS - FLOOD_AT_MS;
    let refused = 0;
    for (let from = 0; !signal.aborted && context.t() < freeAt; from = (from + 50) % KEYS) {
      const pipeline = client.pipeline();
      for (let i = from; i < from + 50; i++) pipeline.set(`k:${i}`, value());
      const replies = (await pipeline.exec()) ?? [];
      if (replies.some(([error]) => error)) {
        refused++;
        await context.sleep(100);
      }
    }
    context.log(`flood: ${refused} batches refused`);
    await node.exec(["rm", "-f", "/data/spacer"], { user: "redis" });
    context.mark("freed");
    context.log(`spacer removed at ${seconds(context.t())}`);
  } catch (error) {
    if (!signal.aborted) context.log(`phases stopped: ${String(error)}`);
  }
}

const scenario: ScenarioDefinition = {
  name: "aof-rewrite-enospc",
  description:
    "ENOSPC instead of a failing fork: /data is a 6 MiB tmpfs, a spacer file leaves less room than an AOF rewrite needs; BGREWRITEAOF every 250 ms fails with 'No space left on device'. Judged: files left behind per failed rewrite (temp files, 7.x incr files). Then the same keys are written again until appends fail (MISCONF), the spacer is removed, and recovery is watched.",
  redis: {
    appendonly: true,
    // Rewrites only when the workload asks: the fill must not start its own (they would fail early).
    "auto-aof-rewrite-percentage": 0,
    hz: 10,
    maxclients: 64,
  },
  limits: { memory: "64m", pids: 64, nofile: 1024, tmpfs: { "/data": "6m" } },
  fault: "none",
  workload: [
    async function spacer(_client, context) {
      // As the server's user: the same owner as the AOF, on the same filesystem.
      const made = await context
        .node()
        .exec(["dd", "if=/dev/zero", "of=/data/spacer", "bs=1024", `count=${SPACER_KIB}`], { user: "redis" });
      if (made.exitCode !== 0) throw new Error(`dd failed: ${made.output.trim()}`);
    },
    async function fill(client, context) {
      for (let from = 0; from < KEYS; from += 100) {
        const pipeline = client.pipeline();
        for (let i = from; i < from + 100; i++) pipeline.set(`k:${i}`, value());
        await pipeline.exec();
      }
      // The later phases run while the watch loop does (the workload is over by then).
      context.background(phases(client, context));
    },
    { step: "command", args: ["BGREWRITEAOF"], everyMs: 250 },
    // Writes keep coming: their replies (OK, or MISCONF) are counted in the result's workload.
    { step: "command", args: ["SET", "heartbeat", "1"], everyMs: 200 },
  ],
  probes: [
    { probe: "dir", name: "tmp", path: "/data", pattern: "^temp-" },
    { probe: "dir", name: "incr", path: "/data/appendonlydir", pattern: "\\.incr\\.aof$" },
    {
      probe: "info",
      fields: [
        "aof_last_write_status",
        "aof_last_bgrewrite_status",
        "aof_rewrites_consecutive_failures",
        "aof_delayed_fsync",
        "aof_current_size",
      ],
    },
  ],
  attempt: { pattern: "Background AOF rewrite terminated with error" },
  checker: leftoversChecker,
  budgets: { attempts: 15, timeLimitSeconds: 50 },
  targets: ["3.2.8", "3.2.9", "7.0.15"],
  expect: { "3.2.8": "stable", "3.2.9": "stable", "7.0.15": "growing" },
};

export default scenario;
