import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { z } from "zod";
import type { Checker } from "../core/checker.js";
import { errorText, firstIssue, UserError } from "../core/errors.js";
import type { Episode, Fault } from "../core/fault.js";
import type { Expected } from "../core/outcome.js";
import { scenariosDir } from "../core/paths.js";
import type { Probe } from "../core/probe.js";
import type { ScriptStep, Step } from "../core/step.js";
import { type CheckerInput, checkerFrom, isChecker, RecoverySpec } from "../parts/checkers/index.js";
import { type FaultSpec, faultFrom } from "../parts/faults/index.js";
import { probeFrom } from "../parts/probes/index.js";
import { scriptStep, stepFrom } from "../parts/workload/index.js";
import {
  type AttemptSpec,
  type Limits,
  type RedisConfig,
  type ScenarioDefinition,
  ScenarioDefinitionSchema,
} from "./schema.js";

export * from "./schema.js";

/** Where a scenario came from: what a rerun command names (a script also by its digest). */
export interface ScenarioSource {
  kind: "name" | "file" | "script" | "object";
  /** The name, or the path as the user gave it. */
  ref: string;
  /** The file it was read from, for messages. */
  file?: string;
  /** sha256 of a file's bytes. */
  sha256?: string;
}

/** A node that is not the main one. */
export interface ScenarioNode {
  replicaOf?: string | undefined;
  redis: RedisConfig;
}

/** A scenario ready to run: every part an object, built-in or the script's own. */
export interface Scenario {
  name: string;
  description: string;
  redis: RedisConfig;
  limits: Limits;
  /**
   * Every fault of the run as an episode: the main node's `fault` and each node's own (the whole run,
   * first), then the scenario's `faults`.
   */
  episodes: Episode[];
  nodes: Record<string, ScenarioNode>;
  workload: Step[];
  probes: Probe[];
  attempt: AttemptSpec;
  checker: Checker;
  budgets: { attempts: number; timeLimitSeconds: number };
  targets: string[];
  expect: Record<string, Expected>;
  /** The scenario as written, for reports and scenario.json: code is named, not serialised. */
  data: Record<string, unknown>;
  source: ScenarioSource;
}

/** Types a scenario script's default export; validation happens when it is loaded or run. */
export function defineScenario(definition: ScenarioDefinition): ScenarioDefinition {
  return definition;
}

export const DEFAULT_SCENARIO = "aof-auto-rewrite-enomem";

/** A part of a script as data: a function or object by its name (inside all/any too). */
function named(part: unknown, kind: string): unknown {
  if (typeof part === "function") return { [kind]: "script", name: part.name || "anonymous" };
  if (typeof part === "object" && part !== null && !Array.isArray(part)) {
    const fn = Object.values(part).some((v) => typeof v === "function");
    if (fn) return { [kind]: "script", name: (part as { name?: string }).name ?? "anonymous" };
    const of = (part as { of?: unknown }).of;
    if (Array.isArray(of)) return { ...part, of: of.map((p) => named(p, kind)) };
  }
  return part;
}

/**
 * Validates a scenario (data, or a script's definition) and makes its parts; errors name the source
 * and the field. A script's own objects are checked for the methods their part needs.
 */
export function parseScenario(input: unknown, source: string | ScenarioSource): Scenario {
  const from: ScenarioSource = typeof source === "string" ? { kind: "file", ref: source } : source;
  const parsed = ScenarioDefinitionSchema.safeParse(input);
  if (!parsed.success)
    throw new UserError(
      `invalid scenario ${from.file ?? from.ref}: ${firstIssue({ issues: [specificIssue(parsed.error.issues[0], input)] })}; fix that field`,
    );
  const s = parsed.data;
  // The data form (a name, or an object naming its kind) or a script's own fault object (it has a name).
  const fault = (f: z.infer<typeof ScenarioDefinitionSchema>["fault"]) =>
    typeof f === "string" || !("name" in f) ? faultFrom(f as FaultSpec) : (f as Fault);
  const raw = input as Record<string, unknown>;
  const probes = s.probes.map((p) => ("probe" in p ? probeFrom(p) : (p as Probe)));
  // Parsed: every part is a spec or a Checker, however loosely the schema types its output.
  const checker = checkerFrom(guardedParts(s.checker as CheckerInput, from));
  checkProbeNames(probes, checker, s.attempt, from);
  const episodes: Episode[] = [
    { fault: fault(s.fault), node: "main", start: "start", heal: "never" },
    ...Object.entries(s.nodes).map(
      ([node, n]): Episode => ({ fault: fault(n.fault), node, start: "start", heal: "never" }),
    ),
    ...s.faults.map((e): Episode => ({ ...e, fault: fault(e.fault) })),
  ];
  try {
    checkEpisodes(episodes, s.budgets.timeLimitSeconds * 1000, ["main", ...Object.keys(s.nodes)]);
    checkRecovery(episodes, s.checker as CheckerInput, s.budgets.timeLimitSeconds * 1000);
  } catch (error) {
    // The user's mistake, named with the file it is in.
    if (error instanceof UserError)
      throw new UserError(`invalid scenario ${from.file ?? from.ref}: ${error.message}`);
    throw error;
  }
  return {
    name: s.name,
    description: s.description,
    redis: s.redis,
    limits: s.limits,
    episodes,
    nodes: Object.fromEntries(
      Object.entries(s.nodes).map(([name, n]) => [name, { replicaOf: n.replicaOf, redis: n.redis }]),
    ),
    workload: s.workload.map((w) =>
      typeof w === "function" ? scriptStep(w as ScriptStep) : "run" in w ? (w as Step) : stepFrom(w),
    ),
    probes,
    attempt: s.attempt,
    checker,
    budgets: s.budgets,
    targets: s.targets,
    expect: s.expect,
    data: {
      ...raw,
      workload: (raw.workload as unknown[]).map((w) => named(w, "step")),
      probes: ((raw.probes as unknown[] | undefined) ?? []).map((p) => named(p, "probe")),
      checker: named(raw.checker, "checker"),
      fault: named(raw.fault, "fault"),
      ...(Array.isArray(raw.faults)
        ? {
            faults: raw.faults.map((e) =>
              typeof e === "object" && e !== null && "fault" in e
                ? { ...e, fault: named(e.fault, "fault") }
                : e,
            ),
          }
        : {}),
      ...(raw.nodes && typeof raw.nodes === "object"
        ? {
            nodes: Object.fromEntries(
              Object.entries(raw.nodes).map(([name, n]) => [
                name,
                typeof n === "object" && n !== null && "fault" in n
                  ? { ...n, fault: named(n.fault, "fault") }
                  : n,
              ]),
            ),
          }
        : {}),
    },
    source: from,
  };
}

interface Issue {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  errors?: Issue[][];
}

/**
 * The issue to name where a slot takes data or a script's own object (a union): zod says only
 * "Invalid input" there. What the value is decides which form's complaint is meant: code (or an
 * object where the data form is a word, e.g. a fault) is the script's own object's; anything else
 * the data form's, down to the field ("workload.0.step: Invalid discriminator value. Expected …").
 */
function specificIssue(issue: Issue | undefined, input: unknown, base: readonly PropertyKey[] = []): Issue {
  if (!issue) return { code: "custom", path: base, message: "invalid" };
  const path = [...base, ...issue.path];
  const options = (issue.errors ?? []).filter((list) => list.length > 0);
  if (issue.code !== "invalid_union" || options.length === 0) return { ...issue, path };
  const value = path.reduce<unknown>(
    (v, key) => (typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined),
    input,
  );
  const isObjectForm = (list: Issue[]) => list.every((i) => i.code === "custom" && i.path.length === 0);
  const data = options.filter((list) => !isObjectForm(list));
  const refusedOutright = data.every((list) =>
    list.every((i) => i.path.length === 0 && (i.code === "invalid_type" || i.code === "invalid_value")),
  );
  const code = hasCode(value) || (typeof value === "object" && value !== null && refusedOutright);
  const chosen = code ? options.findLast(isObjectForm) : data[0];
  return specificIssue((chosen ?? options[0])?.[0], input, path);
}

/** Whether a part of a definition holds code (a function anywhere in it): a user's own part. */
function hasCode(value: unknown, depth = 0): boolean {
  if (typeof value === "function") return true;
  if (typeof value !== "object" || value === null || depth > 8) return false;
  return Object.values(value).some((v) => hasCode(v, depth + 1));
}

/**
 * The checker input with each of the script's own Checker objects (at any depth of all/any) guarded,
 * so that its mistakes are named as the user's and by its own name; built-ins pass as they are.
 */
function guardedParts(input: CheckerInput, from: ScenarioSource): CheckerInput {
  if (isChecker(input)) return guarded(input, from);
  if (input.checker === "all" || input.checker === "any")
    return { ...input, of: input.of.map((part) => guardedParts(part, from)) };
  return input;
}

/**
 * Names the probes' series must keep apart, checked once the parts are made: a checker's own probe
 * under a name the scenario uses on another node would mix two nodes' readings in one series, and an
 * attempt counted by a series needs a probe that makes it.
 */
function checkProbeNames(
  probes: Probe[],
  checker: Checker,
  attempt: AttemptSpec,
  from: ScenarioSource,
): void {
  const where = from.file ?? from.ref;
  for (const own of checker.probes ?? []) {
    const i = probes.findIndex((p) => p.name === own.name && p.node !== own.node);
    if (i >= 0)
      throw new UserError(
        `invalid scenario ${where}: probes.${i}.name: "${own.name}" is a probe the checker ${checker.name} reads on node ${own.node}; give the probe on ${probes[i]?.node} another name`,
      );
  }
  // A series that names no probe would only show as "could not be read" at the time limit.
  const names = [...new Set([...probes, ...(checker.probes ?? [])].map((p) => p.name))];
  const refs = [
    ...("series" in attempt ? [{ field: "attempt.series", series: attempt.series }] : []),
    ...(checker.reads ?? []).map((series) => ({ field: `checker (${checker.name})`, series })),
  ];
  for (const { field, series } of refs) {
    const dot = series.indexOf(".");
    const probe = dot < 0 ? series : series.slice(0, dot);
    if (dot < 1 || !names.includes(probe))
      throw new UserError(
        `invalid scenario ${where}: ${field}: reads ${series}, but there is no probe "${probe}" (series are named PROBE.FIELD; probes: ${names.join(", ") || "none"}); add the probe or fix the series`,
      );
  }
}

/**
 * A scenario's checker, with a user's mistake named as theirs: a checker that throws, or gives no
 * decision once the run has ended, is a usage error naming the checker and the scenario's file, not
 * the harness's internal error. Checkers made from data alone are the harness's own and pass as they are.
 */
function guarded(checker: Checker, from: ScenarioSource): Checker {
  const where = from.file ?? from.ref;
  return {
    name: checker.name,
    // Read, not spread: a class's probes may be a getter on its prototype.
    ...(checker.probes ? { probes: checker.probes } : {}),
    decide(history, context) {
      let decision: ReturnType<Checker["decide"]>;
      try {
        decision = checker.decide(history, context);
      } catch (error) {
        if (error instanceof UserError) throw error;
        throw new UserError(
          `checker "${checker.name}" of ${where} threw: ${scriptErrorText(where, error)}; fix the checker`,
        );
      }
      if (!decision && context.ended)
        throw new UserError(
          `checker "${checker.name}" of ${where} gave no decision once the run had ended (${context.ended.detail}): a checker must decide when context.ended is set (an unknown outcome with the reason will do)`,
        );
      return decision;
    },
  };
}

/**
 * Checks a schedule before anything runs: a fault on from its node's creation (a seccomp profile)
 * can only start at the start and never heal; one that cannot heal cannot be given a heal; a link
 * cut needs another node to be cut off from.
 */
export function checkEpisodes(
  episodes: readonly Episode[],
  timeLimitMs: number,
  nodes: readonly string[] = ["main"],
): void {
  for (const e of episodes) {
    const what = `the ${e.fault.name} episode on ${e.node}`;
    // Refused here, before a container starts: the engine would only say so once the cut begins.
    if (e.fault.needsPeers && nodes.length < 2)
      throw new UserError(
        `${what} cuts ${e.node} off from the other nodes, but the scenario has no other node: add one (e.g. "nodes": {"replica": {"replicaOf": "main"}}), or use another fault`,
      );
    if (!e.fault.start && e.start !== "start")
      throw new UserError(
        `${what} cannot start later: ${e.fault.name} is on from the container's creation; start it at "start", or use an injector that starts on a running server (pids-limit, libfiu)`,
      );
    if (!e.fault.heal && e.heal !== "never")
      throw new UserError(
        `${what} cannot heal: ${e.fault.name} cannot be lifted while the server runs; set heal to "never", or use an injector that heals (pids-limit, libfiu, network-cut)`,
      );
    // Where both ends are times, a heal the time limit comes before is a mistake seen now, not at the end.
    const offset = e.start === "start" ? 0 : onlyTime(e.start);
    const heal = e.heal === "never" ? undefined : onlyTime(e.heal);
    if (offset !== undefined && heal !== undefined) {
      const last = offset + (e.repeat ? (e.repeat.times - 1) * e.repeat.everyMs : 0) + heal;
      if (last >= timeLimitMs)
        throw new UserError(
          `${what} heals ${(last / 1000).toFixed(1)} s after the workload loaded at the earliest, at or after the run's time limit of ${timeLimitMs / 1000} s: raise budgets.timeLimitSeconds or heal sooner`,
        );
    }
  }
}

/** The recovery checkers of a checker's data (at any depth of all/any). */
function recoverySpecs(input: CheckerInput): RecoverySpec[] {
  if (isChecker(input)) return [];
  if (input.checker === "all" || input.checker === "any")
    return (input.of as CheckerInput[]).flatMap((part) => recoverySpecs(part));
  return input.checker === "recovery" ? [RecoverySpec.parse(input)] : [];
}

/**
 * A recovery checker judges what the server is left with after the last heal of the faults it
 * names: at least one of them must heal, none may last the whole run (its window would never close),
 * and where the heal is a time, the checker's window must end before the time limit.
 */
export function checkRecovery(
  episodes: readonly Episode[],
  checker: CheckerInput,
  timeLimitMs: number,
): void {
  for (const spec of recoverySpecs(checker)) {
    const name = spec.name ?? "recovery";
    const judged = episodes.filter(
      (e) =>
        e.fault.name !== "none" &&
        (spec.after.name === undefined || e.fault.name === spec.after.name) &&
        (spec.after.node === undefined || e.node === spec.after.node),
    );
    const which = [spec.after.name, spec.after.node && `on ${spec.after.node}`].filter(Boolean).join(" ");
    const faults = [
      ...new Set(episodes.filter((e) => e.fault.name !== "none").map((e) => `${e.fault.name} on ${e.node}`)),
    ];
    if (judged.length === 0)
      throw new UserError(
        `checker ${name} judges recovery after the heal of ${which || "a fault"}, but no episode of the scenario is ${which ? "that fault" : "a fault"} (${faults.length ? `faults: ${faults.join(", ")}` : "the scenario has none"}): name one in checker.after, or add the episode to faults`,
      );
    const never = judged.find((e) => e.heal === "never");
    if (never)
      throw new UserError(
        `checker ${name} judges recovery after the last heal, but the ${never.fault.name} episode on ${never.node} never heals${never.start === "start" ? " (a whole-run fault)" : ""}: give it a heal ({"afterMs": N}, {"mark": NAME} or {"attempts": N}) in faults, or name another fault in checker.after`,
      );
    for (const e of judged) {
      const offset = e.start === "start" ? 0 : onlyTime(e.start);
      const heal = e.heal === "never" ? undefined : onlyTime(e.heal);
      if (offset === undefined || heal === undefined) continue;
      const last = offset + (e.repeat ? (e.repeat.times - 1) * e.repeat.everyMs : 0) + heal;
      if (last + spec.ms >= timeLimitMs)
        throw new UserError(
          `checker ${name} waits ${spec.ms / 1000} s after the ${e.fault.name} episode's last heal (${(last / 1000).toFixed(1)} s after the workload loaded at the earliest), which ends at or after the run's time limit of ${timeLimitMs / 1000} s: raise budgets.timeLimitSeconds to at least ${Math.ceil((last + spec.ms) / 1000) + 5}, or shorten checker.ms`,
        );
    }
  }
}

/** An `{afterMs}` alone: a time, not a moment of the history. */
function onlyTime(moment: object): number | undefined {
  return Object.keys(moment).length === 1 && "afterMs" in moment ? Number(moment.afterMs) : undefined;
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
 * Where a script's load error is, as esbuild (through tsx) or Node reports it: "file:line:column:
 * message" when it can be found, so a syntax error names the user's line rather than the loader.
 * tsx's loader runs esbuild in another thread: its error arrives with only its message, whose lines
 * after the first are esbuild's "FILE:LINE:COLUMN: ERROR: TEXT" (the column counted from 0).
 */
export function scriptErrorText(file: string, error: unknown): string {
  const e = error as {
    errors?: { text?: string; location?: { file?: string; line?: number; column?: number } }[];
  };
  const first = e?.errors?.[0];
  if (first?.location)
    return `${first.location.file ?? file}:${first.location.line}:${(first.location.column ?? 0) + 1}: ${first.text}`;
  const text = errorText(error);
  const esbuild = text
    .split("\n")
    .map((l) => /^(.+):(\d+):(\d+): ERROR: (.+)$/.exec(l.trim()))
    .find((m) => m !== null);
  if (esbuild) return `${esbuild[1]}:${esbuild[2]}:${Number(esbuild[3]) + 1}: ${esbuild[4]}`;
  const stackLine = (error as Error)?.stack
    ?.split("\n")
    .find((l) => l.includes(basename(file)))
    ?.match(/\(?([^()\s]+:\d+:\d+)\)?$/)?.[1];
  // A loader may tag the module's URL (tsx: "?tsx-namespace=…"): the user's file is the path before it.
  const at = stackLine?.replace(/^file:\/\//, "").replace(/\?[^:]*(?=:\d+:\d+$)/, "");
  return `${text.split("\n")[0]}${at ? ` (at ${at})` : ""}`;
}

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
      `scenario script ${file} failed to load: ${scriptErrorText(file, error)}; fix the script`,
    );
  }
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A scenario by name (scenarios/NAME.json or .ts), or by path to a JSON file or a TypeScript/JavaScript script. */
export async function loadScenario(nameOrPath: string = DEFAULT_SCENARIO): Promise<Scenario> {
  const isPath = nameOrPath.includes("/") || extname(nameOrPath) !== "";
  const byName = (await readdir(scenariosDir)).includes(`${nameOrPath}.ts`)
    ? join(scenariosDir, `${nameOrPath}.ts`)
    : undefined;
  const file = isPath ? nameOrPath : (byName ?? join(scenariosDir, `${nameOrPath}.json`));
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    const known = (await listScenarios()).join(", ");
    throw new UserError(`scenario "${nameOrPath}" not found: give a file path or one of ${known}`);
  }
  const kind = isPath ? "file" : "name";
  if (SCRIPT_EXTENSIONS.has(extname(file))) {
    const exported = await importScript(file);
    if (exported === undefined)
      throw new UserError(
        `scenario script ${file} exports no scenario: add \`export default defineScenario({…})\``,
      );
    return parseScenario(exported, {
      kind: isPath ? "script" : "name",
      ref: nameOrPath,
      file,
      sha256: sha256(bytes),
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    throw new UserError(`invalid scenario ${file}: not JSON (${(error as Error).message}); fix the syntax`);
  }
  return parseScenario(data, { kind, ref: nameOrPath, file, sha256: sha256(bytes) });
}
