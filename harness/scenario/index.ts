import { readdir, readFile } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Redis } from "ioredis";
import type { z } from "zod";
import { errorText, UserError } from "../core/errors.js";
import { scenariosDir } from "../core/paths.js";
import type { Checker } from "../parts/checkers/index.js";
import type { StartedRedisReproContainer } from "../parts/container/redis-container.js";
import { type CheckerSpec, ScenarioData, type Step } from "./schema.js";

export * from "./schema.js";

/** What a script step is given besides its client: the run's nodes, clock, logger and stop signal. */
export interface StepContext {
  /** A node of the run by name ("main" is the scenario's own). */
  node(name?: string): StartedRedisReproContainer;
  /** ms since the run's clock started. */
  t(): number;
  /** Aborts when the run has decided (or hit its time limit): repeating steps stop then. */
  signal: AbortSignal;
  /** A progress line, shown where the caller gave a logger. */
  log(message: string): void;
}

/** A workload step written as code, in a TypeScript scenario script. */
export type ScriptStep = (client: Redis, context: StepContext) => Promise<unknown>;

/** A scenario ready to run: the data, with code where a script put code. */
export type Scenario = Omit<ScenarioData, "workload" | "checker"> & {
  workload: (Step | ScriptStep)[];
  checker: CheckerSpec | Checker;
};

/** What a scenario script writes: the data's input form, with functions allowed for steps and checker. */
export type ScenarioDefinition = Omit<z.input<typeof ScenarioData>, "workload" | "checker"> & {
  workload: (z.input<typeof ScenarioData>["workload"][number] | ScriptStep)[];
  checker: z.input<typeof ScenarioData>["checker"] | Checker;
};

/** Types a scenario script's default export; validation happens when it is loaded or run. */
export function defineScenario(definition: ScenarioDefinition): ScenarioDefinition {
  return definition;
}

export const DEFAULT_SCENARIO = "aof-auto-rewrite-enomem";

/**
 * Validates a scenario (data, or a script's definition); errors name the source and the field.
 * Code in a script (step functions, a checker object) is set aside while the data is checked.
 */
export function parseScenario(input: unknown, source: string): Scenario {
  const isObject = typeof input === "object" && input !== null && !Array.isArray(input);
  const data = (isObject ? { ...input } : input) as Record<string, unknown>;
  const steps = isObject && Array.isArray(data.workload) ? (data.workload as unknown[]) : undefined;
  const code = new Map<number, ScriptStep>();
  steps?.forEach((s, i) => {
    if (typeof s === "function") code.set(i, s as ScriptStep);
  });
  const checker = isObject ? data.checker : undefined;
  const customChecker =
    typeof checker === "object" && checker !== null && typeof (checker as Checker).decide === "function"
      ? (checker as Checker)
      : undefined;
  if (steps && code.size) data.workload = steps.map((s, i) => (code.has(i) ? { step: "wait", ms: 0 } : s));
  if (customChecker) data.checker = { checker: "fd-leak" };
  const parsed = ScenarioData.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw new UserError(
      `invalid scenario ${source}: ${path}: ${issue?.message ?? "invalid"}; fix that field`,
    );
  }
  return {
    ...parsed.data,
    workload: parsed.data.workload.map((s, i) => code.get(i) ?? s),
    checker: customChecker ?? parsed.data.checker,
  };
}

/** The scenarios under scenarios/, data (NAME.json) and scripts (NAME.ts) alike, by name. */
export async function listScenarios(dir = scenariosDir): Promise<string[]> {
  const names = (await readdir(dir))
    .filter((f) => f.endsWith(".json") || f.endsWith(".ts"))
    .map((f) => basename(basename(f, ".json"), ".ts"));
  return [...new Set(names)].sort();
}

const SCRIPT_EXTENSIONS = new Set([".ts", ".mts", ".js", ".mjs"]);

/**
 * A TypeScript or JavaScript scenario script: its default export (or `scenario`). TypeScript goes
 * through tsx's loader, so a user's script runs on Node 20 with no build step and no flag to know.
 */
async function importScript(file: string): Promise<unknown> {
  const url = pathToFileURL(resolve(file)).href;
  try {
    const module = (
      extname(file) === ".ts" || extname(file) === ".mts"
        ? await (await import("tsx/esm/api")).tsImport(url, import.meta.url)
        : await import(url)
    ) as { default?: unknown; scenario?: unknown };
    const exported = module.default ?? module.scenario;
    // A .ts file outside a "type": "module" package is compiled as CommonJS: its exports object
    // arrives as the default export, marked __esModule, with the script's own default inside.
    const cjs = exported as { __esModule?: boolean; default?: unknown; scenario?: unknown } | undefined;
    return cjs?.__esModule ? (cjs.default ?? cjs.scenario) : exported;
  } catch (error) {
    throw new UserError(
      `scenario script ${file} failed to load: ${errorText(error).split("\n")[0]}; fix the script`,
    );
  }
}

/** A scenario by name (scenarios/NAME.json), or by path to a JSON file or a TypeScript/JavaScript script. */
export async function loadScenario(nameOrPath: string = DEFAULT_SCENARIO): Promise<Scenario> {
  const isPath = nameOrPath.includes("/") || extname(nameOrPath) !== "";
  const script = join(scenariosDir, `${nameOrPath}.ts`);
  const byName = (await readdir(scenariosDir)).includes(`${nameOrPath}.ts`) ? script : undefined;
  const file = isPath ? nameOrPath : (byName ?? join(scenariosDir, `${nameOrPath}.json`));
  if (SCRIPT_EXTENSIONS.has(extname(file))) {
    const exported = await importScript(file);
    if (exported === undefined)
      throw new UserError(
        `scenario script ${file} exports no scenario: add \`export default defineScenario({…})\``,
      );
    return parseScenario(exported, file);
  }
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    const known = (await listScenarios()).join(", ");
    throw new UserError(`scenario "${nameOrPath}" not found: give a file path or one of ${known}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(`invalid scenario ${file}: not JSON (${(error as Error).message}); fix the syntax`);
  }
  return parseScenario(data, file);
}

/** The scenario as data (for reports and scenario.json): code in a script is named, not serialised. */
export function scenarioData(scenario: Scenario): Record<string, unknown> {
  return {
    ...scenario,
    workload: scenario.workload.map((s) =>
      typeof s === "function" ? { step: "script", name: s.name || "anonymous" } : s,
    ),
    checker: "decide" in scenario.checker ? { checker: scenario.checker.name } : scenario.checker,
  };
}
