import { z } from "zod";

/**
 * Everything a run saw, each with its time (ms on the run's clock). Like Jepsen's history, it is the
 * one record the checkers decide on and the report, the chart and the catalogue are made from:
 * - series: every probe's readings, by name "PROBE.FIELD" (fds.total, info.aof_last_bgrewrite_status,
 *   connect.ok, tmp.files…); a point may carry a text (a refused client's error, a matched log line);
 * - events: what happened, by kind: a log line the parser recognised (fork-failed, pipes-error…), a
 *   mark a workload step set (`context.mark`), a fault's start and heal, the limits a node ran under;
 * - attempts: what the scenario counts as one try of the failing operation;
 * - logs: every node's raw log lines.
 */
export const Point = z.object({ t: z.number(), v: z.number(), text: z.string().optional() });
export type Point = z.infer<typeof Point>;

export const Attempt = z.object({ t: z.number(), line: z.string().nullable() });
export type Attempt = z.infer<typeof Attempt>;

export const EventValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type EventValue = z.infer<typeof EventValue>;

/** Kinds the run itself writes; log events use the parser's kinds (probes/log.ts). Open: any string. */
export const MARK = "mark";
export const FAULT_START = "fault-start";
export const FAULT_HEAL = "fault-heal";
export const LIMIT = "limit";
/** A node's container stopped (name: the cause, line: the detail): a crash is an event like any other. */
export const EXITED = "exited";

export const Event = z.object({
  t: z.number(),
  node: z.string().default("main"),
  kind: z.string(),
  /** A mark's, a fault's or a limit's name. */
  name: z.string().optional(),
  value: EventValue.optional(),
  /** The log line a log event came from, or words for a fault event. */
  line: z.string().optional(),
  /** Log events: what forked (aof-rewrite, bgsave) and the errno text; the version a server reports. */
  what: z.string().optional(),
  errno: z.string().optional(),
  version: z.string().optional(),
  /** started: "valkey" where Valkey logged it (absent: Redis, as in every run recorded before). */
  server: z.string().optional(),
});
export type Event = z.infer<typeof Event>;
export type EventInput = z.input<typeof Event>;

export const History = z.object({
  series: z.record(z.string(), z.array(Point)).default({}),
  events: z.array(Event).default([]),
  attempts: z.array(Attempt).default([]),
  logs: z.record(z.string(), z.array(z.string())).default({}),
});
export type History = z.infer<typeof History>;

export function emptyHistory(): History {
  return { series: {}, events: [], attempts: [], logs: {} };
}

/** A series by name, "PROBE.FIELD"; empty when nothing was read. */
export function seriesOf(history: History, name: string): Point[] {
  return history.series[name] ?? [];
}

export function seriesNames(history: History): string[] {
  return Object.keys(history.series);
}

/** The last point at or before t (undefined before the first). */
export function valueAt(points: readonly Point[], t: number): Point | undefined {
  let found: Point | undefined;
  for (const p of points) {
    if (p.t > t) break;
    found = p;
  }
  return found;
}

/** The history as it stood at t: readings, events and attempts up to it (logs, which carry no times, whole). */
export function historyUntil(history: History, t: number): History {
  return {
    series: Object.fromEntries(
      Object.entries(history.series).map(([name, points]) => [name, points.filter((p) => p.t <= t)]),
    ),
    events: history.events.filter((e) => e.t <= t),
    attempts: attemptsUntil(history.attempts, t),
    logs: history.logs,
  };
}

export function attemptsUntil(attempts: Attempt[], until = Number.POSITIVE_INFINITY): Attempt[] {
  return attempts.filter((a) => a.t <= until);
}

/** Events of a kind, optionally of one node and one name. */
export function eventsOf(
  history: History,
  kind: string,
  filter: { node?: string; name?: string } = {},
): Event[] {
  return history.events.filter(
    (e) =>
      e.kind === kind &&
      (filter.node === undefined || e.node === filter.node) &&
      (filter.name === undefined || e.name === filter.name),
  );
}

/** A node's log (main's by default). */
export function logOf(history: History, node = "main"): string[] {
  return history.logs[node] ?? [];
}

/** The value of a limit the run recorded for a node (nofile, pids, memory), if it did. */
export function limitOf(history: History, name: string, node = "main"): number | undefined {
  const value = eventsOf(history, LIMIT, { node, name }).at(-1)?.value;
  return typeof value === "number" ? value : undefined;
}

/** Fault windows on a node (or any): each start with its heal, or null while it lasts. */
export function faultWindows(
  history: History,
  node?: string,
): { name: string; node: string; start: number; heal: number | null }[] {
  const windows: { name: string; node: string; start: number; heal: number | null }[] = [];
  for (const e of history.events) {
    if (node !== undefined && e.node !== node) continue;
    if (e.kind === FAULT_START)
      windows.push({ name: e.name ?? "fault", node: e.node, start: e.t, heal: null });
    if (e.kind === FAULT_HEAL) {
      const open = windows.findLast(
        (w) => w.heal === null && w.node === e.node && w.name === (e.name ?? "fault"),
      );
      if (open) open.heal = e.t;
    }
  }
  return windows;
}
