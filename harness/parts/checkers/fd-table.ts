import { z } from "zod";
import { type History, limitOf, seriesOf } from "../../core/history.js";
import type { Probe } from "../../core/probe.js";
import { configProbe } from "../probes/config.js";
import { type ConnectResult, connectProbe } from "../probes/connect.js";
import { fdsProbe } from "../probes/fds.js";
import { nodeEvents, seconds } from "./common.js";

/**
 * What the fd checkers (fd-leak, leaks) know of the server's fd table and ask the run to record:
 * the fds, a fresh client now and then, and maxclients (for the event loop's size).
 */

/** The event loop has room for maxclients + 128 fds (CONFIG_FDSET_INCR in 3.2–8.x); fds at or above fail with ERANGE. */
export const EVENT_LOOP_EXTRA = 128;

export const Ceiling = z.object({
  /** min(maxclients + 128, nofile): null when neither was recorded. */
  ceiling: z.number().nullable(),
  maxclients: z.number().nullable(),
  nofile: z.number().nullable(),
});
export type Ceiling = z.infer<typeof Ceiling>;

/** The main node's fd ceiling from the history: the config probe's maxclients and the nofile limit. */
export function ceilingOf(history: History): Ceiling {
  const maxclients = seriesOf(history, "config.maxclients").at(-1)?.v ?? null;
  const nofile = limitOf(history, "nofile") ?? null;
  const loop = maxclients === null ? null : maxclients + EVENT_LOOP_EXTRA;
  const known = [loop, nofile].filter((n): n is number => n !== null);
  return { ceiling: known.length ? Math.min(...known) : null, maxclients, nofile };
}

/** "192 (maxclients 64 + 128)", "1024 (nofile)", or "unknown (maxclients not read)". */
export function ceilingText(c: Ceiling): string {
  if (c.ceiling === null) return "unknown (maxclients not read, no nofile limit recorded)";
  if (c.maxclients !== null && c.ceiling === c.maxclients + EVENT_LOOP_EXTRA)
    return `${c.ceiling} (maxclients ${c.maxclients} + ${EVENT_LOOP_EXTRA})`;
  return `${c.ceiling} (nofile)`;
}

/** Highest fd in the last reading of the main node's fds. */
function lastMaxFd(history: History): number | undefined {
  return seriesOf(history, "fds.maxFd").at(-1)?.v;
}

/** An attempt failed for want of a slot (pipe() got ERANGE or EMFILE): the table is full. */
export function pipesErrorAt(history: History): number | undefined {
  return nodeEvents(history).find((e) => e.kind === "pipes-error")?.t;
}

/**
 * The probes an fd checker asks for: the main node's fds, maxclients and hz once, and the fresh
 * client on a timing of its own. A probe's own connection, open while serverCron's last leaking tick
 * runs, leaves a hole below the ceiling once it closes, and later clients get in through it. So
 * within `margin` fds of the ceiling the probe waits; once the table is `full` it probes every tick;
 * otherwise it probes when its interval has passed, and at once (every tick) when the scenario's
 * attempt budget has been reached, so that a decision waits for no interval.
 */
export function fdCheckerProbes(options: {
  margin: number;
  full: (history: History, ceiling: number | null) => boolean;
}): Probe[] {
  return [
    fdsProbe(),
    configProbe({ parameters: ["maxclients", "hz"] }),
    connectProbe({
      due(history, context) {
        const { ceiling } = ceilingOf(history);
        const maxFd = lastMaxFd(history);
        const near = ceiling !== null && maxFd !== undefined && maxFd >= ceiling - options.margin;
        const due = context.interval || history.attempts.length >= context.attemptsNeeded;
        return options.full(history, ceiling) || (due && !near);
      },
    }),
  ];
}

/** Fresh clients that got in with the table full: how many probes, over how long. */
export const ClientsWhenFull = z.object({ probes: z.number(), spanMs: z.number() });
export type ClientsWhenFull = z.infer<typeof ClientsWhenFull>;

/** Probes needed, and the time they must span, to call a full table still open to clients. */
export const HOLE_PROBES = 3;
export const HOLE_SPAN_MS = 1_000;

/**
 * A full table with a hole that fresh clients still find: every attempt leaked, but the trigger frees
 * one slot between attempts (CONFIG SET appendonly closes the AOF it opened). "Full" is the caller's
 * (a failed attempt for want of a slot, or the highest fd at the table's end); the hole is at least
 * 3 probes from then on, over at least a second, every one of them answered. Null otherwise.
 */
export function clientsWhenFull(probes: ConnectResult[], fullAt: number | undefined): ClientsWhenFull | null {
  if (fullAt === undefined || !Number.isFinite(fullAt)) return null;
  const after = probes.filter((p) => p.t >= fullAt);
  const spanMs = (after.at(-1)?.t ?? 0) - (after[0]?.t ?? 0);
  if (after.length < HOLE_PROBES || spanMs < HOLE_SPAN_MS || !after.every((p) => p.ok)) return null;
  return { probes: after.length, spanMs };
}

/** "6 probes over 1.0 s with the table full", as both fd checkers' reasons say it. */
export function holeText(hole: ClientsWhenFull): string {
  return `${hole.probes} probes over ${seconds(hole.spanMs)} with the table full`;
}
