import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * The recorded seed run (test/fixtures/runs/seed-3.2.8-vs-fix.json) as raw JSON; fixture.ts
 * validates it as a RunResult.
 */
export const seedFixturePath = fileURLToPath(
  new URL("../fixtures/runs/seed-3.2.8-vs-fix.json", import.meta.url),
);

export function seedRunData(): unknown {
  return JSON.parse(readFileSync(seedFixturePath, "utf8"));
}
