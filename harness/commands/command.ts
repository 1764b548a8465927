import type { ParseArgsConfig } from "node:util";
import { UserError } from "../errors.js";
import { BaseMode } from "../targets/bases.js";

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  help: string;
  options: NonNullable<ParseArgsConfig["options"]>;
  run(values: Values, positionals: string[]): Promise<number>;
}

export const commonOptions = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
  sources: { type: "string" },
  "git-dir": { type: "string" },
} as const;

export const baseOptions = {
  bases: { type: "string", default: "auto" },
  rebuild: { type: "boolean" },
} as const;

export function baseMode(values: Values): BaseMode {
  const parsed = BaseMode.safeParse(values.bases ?? "auto");
  if (!parsed.success)
    throw new UserError(`--bases must be auto, online or offline, not "${String(values.bases)}"`);
  return parsed.data;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function stringList(value: Values[string]): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
