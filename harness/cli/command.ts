import { UserError } from "../core/errors.js";
import type { BaseMode } from "../targets/bases.js";
import { optionString, type Values } from "./spec.js";

export type { Input, Values } from "./spec.js";
export { optionString, stringList } from "./spec.js";

/** The parser has checked --bases against its choices (harness/cli/index.ts). */
export function baseMode(values: Values): BaseMode {
  return (optionString(values, "bases") ?? "auto") as BaseMode;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A whole-number option within bounds (--concurrency, --retries), or the fallback when absent. */
export function parseCount(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || n < min || n > max)
    throw new UserError(`${name} must be a whole number from ${min} to ${max}, not "${String(value)}"`);
  return n;
}
