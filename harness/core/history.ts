import { z } from "zod";
import { ConnectProbe } from "../parts/probes/connect.js";
import { FdSample } from "../parts/probes/fds.js";
import { LogEvent, parseLogLine } from "../parts/probes/log.js";
import type { AttemptSpec } from "../scenario/schema.js";

/**
 * Everything a run saw, each with its time (ms since the run's clock started): the main node's fd
 * samples, every other probe's numeric series, the parsed log events, the attempts, the fresh-client
 * probes and the raw log. Checkers, the report, the chart and the catalogue all read this one record.
 */
export const Point = z.object({ t: z.number(), v: z.number() });
export type Point = z.infer<typeof Point>;

export const Attempt = z.object({ t: z.number(), line: z.string().nullable() });
export type Attempt = z.infer<typeof Attempt>;

export const History = z.object({
  /** The main node's fds (series fds.FIELD are read from here). */
  samples: z.array(FdSample),
  /** Other probes' series by name, "NAME.FIELD". */
  series: z.record(z.string(), z.array(Point)).default({}),
  events: z.array(LogEvent),
  attempts: z.array(Attempt).default([]),
  probes: z.array(ConnectProbe),
  log: z.array(z.string()),
});
export type History = z.infer<typeof History>;

export function emptyHistory(): History {
  return { samples: [], series: {}, events: [], attempts: [], probes: [], log: [] };
}

const FD_FIELDS = ["total", "maxFd", "pipe", "socket", "file", "eventpoll", "other"] as const;

/** A series by name; fds.FIELD comes from the fd samples. */
export function seriesOf(history: History, name: string): Point[] {
  const [probe, field] = [name.slice(0, name.indexOf(".")), name.slice(name.indexOf(".") + 1)];
  if (probe === "fds" && (FD_FIELDS as readonly string[]).includes(field)) {
    const key = field as (typeof FD_FIELDS)[number];
    return history.samples.map((s) => ({ t: s.t, v: s[key] }));
  }
  return history.series[name] ?? [];
}

/** Every series name the history holds, fds first. */
export function seriesNames(history: History): string[] {
  return [
    ...(history.samples.length ? FD_FIELDS.map((f) => `fds.${f}`) : []),
    ...Object.keys(history.series),
  ];
}

export function attemptsUntil(attempts: Attempt[], until = Number.POSITIVE_INFINITY): Attempt[] {
  return attempts.filter((a) => a.t <= until);
}

/**
 * Appends to a history as a run goes: log lines become events, and whatever the scenario counts as
 * an attempt (an event, a matching line, an increase of a series) is recorded when it arrives.
 */
export class HistoryRecorder {
  readonly history: History = emptyHistory();
  private readonly pattern: RegExp | undefined;
  private readonly replyPattern: RegExp | undefined;
  private readonly logProbes: { name: string; re: RegExp; count: number }[];

  constructor(
    private readonly attempt: AttemptSpec,
    logProbes: { name: string; pattern: string }[] = [],
  ) {
    this.pattern = "pattern" in attempt ? new RegExp(attempt.pattern) : undefined;
    this.replyPattern = "reply" in attempt ? new RegExp(attempt.reply) : undefined;
    this.logProbes = logProbes.map((p) => ({ name: p.name, re: new RegExp(p.pattern), count: 0 }));
    // A count starts at 0 before any line: the first matching line is a rise like any other.
    for (const probe of this.logProbes) this.history.series[`${probe.name}.count`] = [{ t: 0, v: 0 }];
  }

  /** A line of the main node's log. */
  logLine(line: string, t: number): void {
    this.history.log.push(line);
    const event = parseLogLine(line, t);
    if (event) this.history.events.push(event);
    if ("event" in this.attempt && event?.kind === this.attempt.event) this.attemptAt(t, line);
    if (this.pattern?.test(line)) this.attemptAt(t, line);
    for (const probe of this.logProbes) {
      if (probe.re.test(line)) this.point(`${probe.name}.count`, { t, v: ++probe.count });
    }
  }

  /** A reply to one of the workload's commands (the text of an error reply included). */
  reply(text: string, t: number): void {
    if (this.replyPattern?.test(text)) this.attemptAt(t, text);
  }

  fds(sample: FdSample): void {
    this.history.samples.push(sample);
    if ("series" in this.attempt) this.seriesAttempts(this.attempt.series, "fds.", sample);
  }

  /** One reading of a probe: its fields become NAME.FIELD series. */
  reading(name: string, t: number, values: Record<string, number>): void {
    for (const [field, v] of Object.entries(values)) this.point(`${name}.${field}`, { t, v });
  }

  connect(probe: ConnectProbe): void {
    this.history.probes.push(probe);
  }

  private point(name: string, point: Point): void {
    const series = this.history.series[name] ?? [];
    const before = series.at(-1);
    series.push(point);
    this.history.series[name] = series;
    if ("series" in this.attempt && this.attempt.series === name && before && point.v > before.v) {
      for (let i = before.v; i < point.v; i++) this.attemptAt(point.t, null);
    }
  }

  private seriesAttempts(name: string, prefix: string, sample: FdSample): void {
    if (!name.startsWith(prefix)) return;
    const field = name.slice(prefix.length) as keyof FdSample;
    const previous = this.history.samples.at(-2);
    if (previous && sample[field] > previous[field]) {
      for (let i = previous[field]; i < sample[field]; i++) this.attemptAt(sample.t, null);
    }
  }

  private attemptAt(t: number, line: string | null): void {
    this.history.attempts.push({ t, line });
  }
}
