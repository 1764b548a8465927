import { z } from "zod";
import { type Event, seriesOf } from "../../core/history.js";
import type { Probe } from "../../core/probe.js";
import { NodeName, ProbeName } from "./spec.js";

/**
 * Log lines become events by their message, never by their prefix: the prefix changes across
 * releases ("[pid] date # " in 2.8, "1:M date # " in 3.0–4.0, with the year from 5.0). Valkey keeps
 * Redis's messages (read in 8.1.1 and 9.1.2: the fork, limiter, incr-file and ready lines are the
 * same text) except its start line, "Valkey version=X, …", which names the server.
 */
export const LogEventKind = z.enum([
  "started",
  "ready",
  "auto-rewrite",
  "rewrite-started",
  "fork-failed",
  "pipes-error",
  "register-error",
  "bgsave-started",
  "rewrite-limited",
  "incr-file",
]);
export type LogEventKind = z.infer<typeof LogEventKind>;

/** A log event: an event of the history with a parser's kind and its line. */
export type LogEvent = Event & { kind: LogEventKind; line: string };

const rules: { kind: LogEventKind; re: RegExp; pick?: (m: RegExpExecArray) => Partial<Event> }[] = [
  {
    kind: "fork-failed",
    re: /Can't rewrite append only file in background: fork: (.+)$/,
    pick: (m) => ({ what: "aof-rewrite", errno: m[1]?.trim() }),
  },
  {
    kind: "fork-failed",
    re: /Can't save in background: fork: (.+)$/,
    pick: (m) => ({ what: "bgsave", errno: m[1]?.trim() }),
  },
  {
    kind: "pipes-error",
    re: /Error opening \/setting AOF rewrite IPC pipes: (.+)$/,
    pick: (m) => ({ errno: m[1]?.trim() }),
  },
  {
    kind: "register-error",
    re: /Error registering fd event for the new client: (.+?) \(fd=\d+\)/,
    pick: (m) => ({ errno: m[1]?.trim() }),
  },
  { kind: "auto-rewrite", re: /Starting automatic rewriting of AOF on \d+% growth/ },
  { kind: "rewrite-started", re: /Background append only file rewriting started by pid/ },
  { kind: "bgsave-started", re: /Background saving started by pid/ },
  { kind: "rewrite-limited", re: /Background AOF rewrite has repeatedly failed/ },
  { kind: "incr-file", re: /Creating AOF incr file/ },
  { kind: "started", re: /Server started, Redis version (\S+)/, pick: (m) => ({ version: m[1] }) },
  { kind: "started", re: /Redis version=([^,\s]+)/, pick: (m) => ({ version: m[1] }) },
  { kind: "started", re: /Valkey version=([^,\s]+)/, pick: (m) => ({ version: m[1], server: "valkey" }) },
  { kind: "ready", re: /ready to accept connections/i },
];

export function parseLogLine(line: string, t: number, node = "main"): LogEvent | undefined {
  for (const rule of rules) {
    const match = rule.re.exec(line);
    if (match) return { t, node, line, ...(rule.pick?.(match) ?? {}), kind: rule.kind };
  }
  return undefined;
}

/** NAME.count: lines of its node's log matching `pattern` so far (each point carries its line). */
export const LogProbeSpec = z
  .object({ probe: z.literal("log"), name: ProbeName, pattern: z.string(), node: NodeName })
  .strict();

export function logProbe(spec: { name: string; pattern: string; node?: string }): Probe {
  const re = new RegExp(spec.pattern);
  const series = `${spec.name}.count`;
  return {
    name: spec.name,
    node: spec.node ?? "main",
    // Before any line the count is 0: the first matching line is a rise like any other. The run's
    // first reading comes after the node has started, so it only says 0 while no line has matched:
    // a startup line counted already must not be reset.
    once: true,
    due: (history) => seriesOf(history, series).length === 0,
    read: async () => ({ count: 0 }),
    onLog: (line, history) =>
      re.test(line)
        ? { count: { v: (seriesOf(history, series).at(-1)?.v ?? 0) + 1, text: line } }
        : undefined,
  };
}

/**
 * The server's own time of a log line, ms into its day ("… 17:29:44.719 # …"), or null. Every
 * release's prefix ends with the time and the level mark, with or without a year before it.
 */
export function logLineMs(line: string | null): number | null {
  const m = /(\d{2}):(\d{2}):(\d{2})\.(\d{3}) [#*.-] /.exec(line ?? "");
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) : null;
}
