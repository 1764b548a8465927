import { z } from "zod";
import { errorText } from "../../core/errors.js";
import type { Probe } from "../../core/probe.js";
import { NodeName, ProbeName } from "./spec.js";

/**
 * A command sent every tick (or every `everyMs`) through a fresh client: NAME.ok is 1 for a reply
 * and 0 for an error or no answer (the text kept either way), NAME.value the reply as a number where
 * it is one, NAME.ms how long it took. A fresh client, so a server whose kept connection is busy or
 * whose event loop hangs shows it; a command with a side effect is the scenario's own choice.
 */
export const CommandProbeSpec = z
  .object({
    probe: z.literal("command"),
    name: ProbeName,
    args: z.array(z.string()).min(1),
    everyMs: z.number().int().positive().optional(),
    node: NodeName,
  })
  .strict();

export function commandProbe(spec: { name: string; args: string[]; everyMs?: number; node?: string }): Probe {
  const [command = "", ...rest] = spec.args;
  return {
    name: spec.name,
    node: spec.node ?? "main",
    ...(spec.everyMs === undefined
      ? {}
      : {
          due: (history, context) => {
            const last = history.series[`${spec.name}.ok`]?.at(-1)?.t ?? Number.NEGATIVE_INFINITY;
            return context.now - last >= (spec.everyMs ?? 0);
          },
        }),
    async read(node) {
      const client = node.client();
      const started = Date.now();
      try {
        await client.connect();
        const reply = await client.call(command, ...rest);
        const text = Array.isArray(reply) ? JSON.stringify(reply) : String(reply);
        const value = Number(text);
        return {
          ok: { v: 1, text },
          ms: Date.now() - started,
          ...(text.trim() !== "" && Number.isFinite(value) ? { value } : {}),
        };
      } catch (error) {
        return { ok: { v: 0, text: errorText(error) }, ms: Date.now() - started };
      } finally {
        client.disconnect();
      }
    },
  };
}
