import { z } from "zod";
import { ScenarioData } from "./schema.js";

/**
 * The JSON Schema of scenario files, generated from the zod schema (its input side: sizes may be
 * written "64m", defaults may be left out). Shipped as schema/scenario.schema.json, which scenario
 * files name in `$schema` so that editors complete and check them.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(ScenarioData, { io: "input", unrepresentable: "any" }),
    title: "redis-repro scenario",
    description:
      "A reproduction: Redis config, container limits and fault, workload steps, probes, attempt, checker, budgets.",
  };
}
