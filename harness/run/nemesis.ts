import type { Clock } from "../core/clock.js";
import type { Episode, EpisodeHeal, EpisodeStart } from "../core/fault.js";
import { eventsOf, FAULT_HEAL, FAULT_START, type History, MARK } from "../core/history.js";
import type { FaultNode } from "../core/node.js";
import type { HistoryRecorder } from "./recorder.js";

/** The workload's end of loading, in the history: episodes timed "afterMs" count from it. */
export const LOADED = "loaded";

interface Window {
  episode: Episode;
  index: number;
  started?: number;
  healed?: number;
}

const after = (t: number | undefined, ms = 0) => (t === undefined ? undefined : t + ms);

/** The time a start moment came, in the history (undefined: not yet). */
function startTime(history: History, start: EpisodeStart): number | undefined {
  if (start === "start") return 0;
  if ("attempts" in start) return after(history.attempts[start.attempts - 1]?.t, start.afterMs);
  if ("mark" in start) return after(eventsOf(history, MARK, { name: start.mark })[0]?.t, start.afterMs);
  if ("fault" in start) {
    const kind = start.fault === "start" ? FAULT_START : FAULT_HEAL;
    const filter = {
      ...(start.name !== undefined ? { name: start.name } : {}),
      ...(start.node !== undefined ? { node: start.node } : {}),
    };
    return after(eventsOf(history, kind, filter)[0]?.t, start.afterMs);
  }
  return after(eventsOf(history, LOADED)[0]?.t, start.afterMs);
}

/** The time a window heals (undefined: not yet known, or never). */
function healTime(history: History, heal: EpisodeHeal, started: number): number | undefined {
  if (heal === "never") return undefined;
  // Counted from the window's own start, as a mark is: each window of a repeated episode heals on its own.
  if ("attempts" in heal)
    return after(history.attempts.filter((a) => a.t >= started)[heal.attempts - 1]?.t, heal.afterMs);
  if ("mark" in heal)
    return after(eventsOf(history, MARK, { name: heal.mark }).find((e) => e.t >= started)?.t, heal.afterMs);
  return started + heal.afterMs;
}

/**
 * Starts and heals faults on schedule, each start and heal an event of the history (what it did in
 * its line), so checkers can ask what happened during a fault and after it. Asked every tick.
 */
export class Nemesis {
  private readonly windows: Window[];

  constructor(
    episodes: readonly Episode[],
    private readonly node: (name: string) => FaultNode,
    private readonly recorder: HistoryRecorder,
    private readonly clock: Clock,
    /** A line per fault started or healed, for the run's progress (what it did: a remote engine's sidecar…). */
    private readonly log: (line: string) => void = () => undefined,
  ) {
    this.windows = episodes.flatMap((episode) =>
      Array.from({ length: episode.repeat?.times ?? 1 }, (_, index) => ({ episode, index })),
    );
  }

  /** Episodes that begin at "start": before the workload (a fault on from creation is recorded so). */
  async begin(): Promise<void> {
    for (const w of this.windows) if (w.episode.start === "start" && w.index === 0) await this.start(w);
  }

  /** Starts and heals what is due now. */
  async tick(): Promise<void> {
    const history = this.recorder.history;
    const now = this.clock.now();
    for (const w of this.windows) {
      if (w.started === undefined) {
        const first = startTime(history, w.episode.start);
        const at = after(first, w.index * (w.episode.repeat?.everyMs ?? 0));
        // A repeat waits for the window before it to heal.
        const previous = this.windows.find((o) => o.episode === w.episode && o.index === w.index - 1);
        if (at !== undefined && now >= at && (!previous || previous.healed !== undefined))
          await this.start(w);
      } else if (w.healed === undefined) {
        const at = healTime(history, w.episode.heal, w.started);
        if (at !== undefined && now >= at) await this.heal(w);
      }
    }
  }

  private async start(w: Window): Promise<void> {
    const { fault, node } = w.episode;
    w.started = this.clock.now();
    if (fault.name === "none") return;
    const line = fault.start ? await fault.start(this.node(node)) : fault.description;
    this.recorder.event({ t: this.clock.now(), node, kind: FAULT_START, name: fault.name, line });
    this.log(`fault ${fault.name} on ${node}: ${line}`);
  }

  private async heal(w: Window): Promise<void> {
    const { fault, node } = w.episode;
    w.healed = this.clock.now();
    if (!fault.heal) return;
    const line = await fault.heal(this.node(node));
    // How many windows of this episode are still to come: 0 marks its last heal, which a checker
    // judging what the server is left with (recovery) waits for.
    const value = (w.episode.repeat?.times ?? 1) - 1 - w.index;
    this.recorder.event({ t: this.clock.now(), node, kind: FAULT_HEAL, name: fault.name, line, value });
    this.log(`fault ${fault.name} on ${node} healed: ${line}`);
  }
}
