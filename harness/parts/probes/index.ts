import type { ProbeSpec } from "../../scenario/schema.js";
import type { StartedRedisReproContainer } from "../container/redis-container.js";
import { summariseAofDir } from "./aof-dir.js";
import { summariseDir } from "./dir.js";

/** A probe that is read every tick: a reading is NAME.FIELD values (undefined: nothing to read now). */
export interface Sampler {
  readonly name: string;
  sample(t: number): Promise<Record<string, number> | undefined>;
}

/**
 * The registry of probe kinds: each turns its spec and its node into a sampler. Log probes have none:
 * the history recorder counts their lines as they arrive. The main node's fds are sampled by the run
 * itself (the fd-leak checker needs their kinds and highest fd, not only numbers).
 */
export function samplerFor(spec: ProbeSpec, node: StartedRedisReproContainer): Sampler | undefined {
  switch (spec.probe) {
    case "fds":
      return {
        name: spec.name,
        sample: async (t) => {
          const s = await node.fds(t);
          return s && { total: s.total, maxFd: s.maxFd, pipe: s.pipe, socket: s.socket, file: s.file };
        },
      };
    case "dir": {
      const pattern = spec.pattern === undefined ? undefined : new RegExp(spec.pattern);
      return {
        name: spec.name,
        sample: async () => {
          const entries = await node.listDir(spec.path);
          return entries && summariseDir(entries, pattern);
        },
      };
    }
    case "aof-dir":
      return {
        name: spec.name,
        sample: async () => {
          const entries = await node.listDir(spec.path);
          return entries && summariseAofDir(entries);
        },
      };
    case "info":
      return {
        name: spec.name,
        sample: async () => {
          const info = await node.info();
          const values: Record<string, number> = {};
          for (const field of spec.fields) {
            const value = infoNumber(info[field]);
            if (value !== undefined) values[field] = value;
          }
          return values;
        },
      };
    case "log":
      return undefined;
  }
}

/** An INFO value as a number: numbers as they are, ok/err statuses as 1/0, anything else undefined. */
export function infoNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === "ok") return 1;
  if (text === "err") return 0;
  const value = Number(text);
  return text.trim() !== "" && Number.isFinite(value) ? value : undefined;
}
