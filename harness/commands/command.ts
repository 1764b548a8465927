import type { BaseMode } from "../targets/bases.js";
import { optionString, type Values } from "./spec.js";

export type { Input, Values } from "./spec.js";
export { optionString, stringList } from "./spec.js";

/** The parser has checked --bases against its choices (harness/commands/index.ts). */
export function baseMode(values: Values): BaseMode {
  return (optionString(values, "bases") ?? "auto") as BaseMode;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
