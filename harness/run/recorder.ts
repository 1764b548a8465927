import {
  type EventInput,
  Event as EventSchema,
  emptyHistory,
  type History,
  type Point,
} from "../core/history.js";
import type { Probe, Reading } from "../core/probe.js";
import { parseLogLine } from "../parts/probes/log.js";
import type { AttemptSpec } from "../scenario/schema.js";

/**
 * Appends to a history as a run goes: every node's log lines become events (and feed that node's log
 * probes), readings become series, and whatever the scenario counts as an attempt (an event, a
 * matching line or reply, an increase of a series) is recorded when it arrives.
 */
export class HistoryRecorder {
  readonly history: History = emptyHistory();
  private readonly pattern: RegExp | undefined;
  private readonly replyPattern: RegExp | undefined;
  private readonly attemptNode: string;

  constructor(
    private readonly attempt: AttemptSpec,
    private readonly probes: readonly Probe[] = [],
  ) {
    this.pattern = "pattern" in attempt ? new RegExp(attempt.pattern) : undefined;
    this.replyPattern = "reply" in attempt ? new RegExp(attempt.reply) : undefined;
    this.attemptNode = "node" in attempt ? attempt.node : "main";
  }

  /** A line of a node's log. */
  logLine(node: string, line: string, t: number): void {
    const logs = this.history.logs[node] ?? [];
    logs.push(line);
    this.history.logs[node] = logs;
    const event = parseLogLine(line, t, node);
    if (event) this.history.events.push(event);
    if (node === this.attemptNode) {
      if ("event" in this.attempt && event?.kind === this.attempt.event) this.attemptAt(t, line);
      if (this.pattern?.test(line)) this.attemptAt(t, line);
    }
    for (const probe of this.probes) {
      if (probe.node !== node || !probe.onLog) continue;
      const reading = probe.onLog(line, this.history);
      if (reading) this.reading(probe.name, t, reading);
    }
  }

  /** A reply to one of the workload's commands (the text of an error reply included). */
  reply(node: string, text: string, t: number, reply?: { ok: boolean; series?: string | undefined }): void {
    if (node === this.attemptNode && this.replyPattern?.test(text)) this.attemptAt(t, text);
    if (reply?.series) this.point(`${reply.series}.ok`, { t, v: reply.ok ? 1 : 0, text });
  }

  /** One reading of a probe: its fields become NAME.FIELD series. */
  reading(name: string, t: number, values: Reading): void {
    for (const [field, value] of Object.entries(values)) {
      const point = typeof value === "number" ? { t, v: value } : { t, ...value };
      this.point(`${name}.${field}`, point);
    }
  }

  /** A mark, a fault's start or heal, a limit: anything the run or a step wants the checker to see. */
  event(event: EventInput): void {
    this.history.events.push(EventSchema.parse(event));
  }

  private point(name: string, point: Point): void {
    const series = this.history.series[name] ?? [];
    this.history.series[name] = series;
    const before = series.at(-1);
    series.push(point);
    if ("series" in this.attempt && this.attempt.series === name && before && point.v > before.v) {
      for (let i = before.v; i < point.v; i++) this.attemptAt(point.t, null);
    }
  }

  private attemptAt(t: number, line: string | null): void {
    this.history.attempts.push({ t, line });
  }
}
