import { writeFileSync } from "node:fs";

/**
 * Phase marks for the benchmark (bench/seed.ts): when REDIS_REPRO_TRACE names a file, each mark's wall
 * time (ms since the epoch) is written there as JSON when the process exits. Otherwise a no-op.
 */
const file = process.env.REDIS_REPRO_TRACE;
const marks: Record<string, number> = {};

export function mark(name: string): void {
  if (file) marks[name] = Date.now();
}

if (file) {
  process.on("exit", () => {
    marks.exit = Date.now();
    writeFileSync(file, JSON.stringify(marks));
  });
}
