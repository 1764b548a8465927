import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { FdSample } from "../../harness/parts/probes/fds.js";
import { LogEvent } from "../../harness/parts/probes/log.js";

/**
 * The recorded seed run (test/fixtures/runs/seed-3.2.8-vs-fix.json) as raw JSON, and a light view of
 * its per-target series validated with the probes' own schemas. Tests of the whole result use
 * fixture.ts (RunResult), which pulls in the engine and client modules; probe tests need only this.
 */
export const seedFixturePath = fileURLToPath(
  new URL("../fixtures/runs/seed-3.2.8-vs-fix.json", import.meta.url),
);

export function seedRunData(): unknown {
  return JSON.parse(readFileSync(seedFixturePath, "utf8"));
}

const RecordedSeries = z.object({
  target: z.string(),
  samples: z.array(FdSample),
  events: z.array(LogEvent),
  log: z.array(z.string()),
  info: z.record(z.string(), z.string()),
  workload: z.object({ writes: z.number(), aofBytes: z.number() }).nullable(),
});
export type RecordedSeries = z.infer<typeof RecordedSeries>;

export function seedSeries(): RecordedSeries[] {
  return z.object({ results: z.array(RecordedSeries) }).parse(seedRunData()).results;
}
