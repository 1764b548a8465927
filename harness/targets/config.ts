import { z } from "zod";
import { compareVersions } from "./spec.js";

/** A redis.conf value: booleans become yes/no, a list repeats the directive (e.g. several `save`). */
export const DirectiveValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
export type DirectiveValue = z.infer<typeof DirectiveValue>;

/**
 * Any redis.conf directive by its own name, passed to redis-server as is: Redis is the judge of what
 * it accepts (the run turns its "Bad directive" into a one-line error naming the directive).
 */
export const RedisConfig = z
  .record(
    z.string().regex(/^[a-z][a-z0-9-]*$/, "a redis.conf directive name, e.g. appendonly"),
    DirectiveValue,
  )
  .superRefine((config, ctx) => {
    for (const key of ["port", "protected-mode", "daemonize"]) {
      if (Object.hasOwn(config, key))
        ctx.addIssue({ code: "custom", path: [key], message: `${key} is set by the harness; remove it` });
    }
  });
export type RedisConfig = z.infer<typeof RedisConfig>;

/** What the harness sets unless the scenario does: snapshots off (no stray BGSAVE forks), data in /data. */
const DEFAULTS: RedisConfig = { dir: "/data", save: "" };

/** One directive's value as redis-server arguments: yes/no for booleans, words split like a config line. */
function words(value: string | number | boolean): string[] {
  if (typeof value === "boolean") return [value ? "yes" : "no"];
  const text = String(value).trim();
  // An empty value is one empty argument (`--save ""` turns snapshots off), never none.
  return text === "" ? [""] : text.split(/\s+/);
}

function directiveArgs(name: string, value: DirectiveValue): string[] {
  const lines = Array.isArray(value) ? value : [value];
  return lines.flatMap((line) => [`--${name}`, ...words(line)]);
}

/**
 * redis-server arguments for a scenario's directives on a given release. Every directive is passed
 * as is (Redis judges what it knows); what differs by release lives here: `protected-mode` does not
 * exist before 3.2 (a fatal config error there) and must be `no` from 3.2 on, or clients coming
 * through a published port are refused. Unknown versions (brought images) are treated as modern.
 */
export function redisArgs(version: string | undefined, config: RedisConfig): string[] {
  const args: string[] = ["--port", "6379"];
  if (!version || compareVersions(version, "3.2.0") >= 0) args.push("--protected-mode", "no");
  for (const [name, value] of Object.entries({ ...DEFAULTS, ...config }))
    args.push(...directiveArgs(name, value));
  return args;
}

/**
 * The directive Redis refused at start, from its "FATAL CONFIG FILE ERROR" block (">>> 'name args'"
 * then "Bad directive or wrong number of arguments"), or undefined.
 */
export function rejectedDirective(log: string[]): { directive: string; why: string } | undefined {
  const at = log.findIndex((l) => /FATAL CONFIG FILE ERROR/.test(l));
  if (at < 0) return undefined;
  const block = log.slice(at, at + 6);
  const quoted = block.map((l) => /^>>> '(\S+)/.exec(l)?.[1]).find((d) => d !== undefined);
  const why = block.at(-1) ?? "";
  const reason = block.find((l, i) => i > 0 && !/^>>>|^Reading the configuration/.test(l)) ?? why;
  return quoted ? { directive: quoted, why: reason.trim() } : undefined;
}
