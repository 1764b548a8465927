/**
 * The command line as data: one table entry per command holds its arguments and options, and both the
 * parser (node:util parseArgs) and the help text are made from it, so help cannot drift from what is
 * accepted. Entries name their code by a dynamic import: nothing heavy loads until a command runs.
 * This module and the table import nothing but node:util and errors.ts, which keeps `--help` fast.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { exitCodesHelp, isUserError, sharedExitCodes, UserError } from "../core/errors.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** The value's placeholder in help: `--scenario NAME|FILE`. */
  arg?: string;
  /** The only values accepted; the parser refuses others with the list. */
  choices?: readonly string[];
  default?: string;
  help: string;
}

export interface ArgSpec {
  name: string;
  help: string;
  /** Takes any number (TARGET…). */
  variadic?: boolean;
  required?: boolean;
}

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;
export interface Input {
  values: Values;
  /** Positional arguments, with the values of `argsAlias` (e.g. --target) appended. */
  args: string[];
}
export type Handler = (input: Input) => Promise<number>;

export interface CommandSpec {
  /** `run`, or `images build` for a subcommand of a group. */
  name: string;
  summary: string;
  /** Paragraphs after the summary. */
  about?: string;
  args?: ArgSpec[];
  /** An option whose values join the arguments: `--target T` is the same as a TARGET argument. */
  argsAlias?: string;
  options: Record<string, OptionSpec>;
  /** What 0 and 1 mean for this command; the shared exit codes follow it. */
  exit?: string;
  /** The exit of every refusal of its command line, for a command another tool reads by its exit. */
  usageExit?: number;
  load(): Promise<Handler>;
}

export type Parsed =
  | { kind: "help"; text: string; exitCode: number }
  | { kind: "version" }
  | { kind: "command"; spec: CommandSpec; input: Input };

const helpOption: OptionSpec = { type: "boolean", short: "h", help: "show this help" };
const WIDTH = 100;

function wrap(text: string, indent: number, first: string): string {
  const lines: string[] = [];
  let line = first.padEnd(indent);
  let empty = true;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = " ".repeat(indent);
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.join("\n");
}

function paragraph(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => wrap(p, 0, ""))
    .join("\n\n");
}

const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function optionLabel(name: string, o: OptionSpec): string {
  const flag = `${o.short ? `-${o.short}, ` : ""}--${name}`;
  return o.type === "string" ? `${flag} ${o.arg ?? (o.choices ? o.choices.join("|") : "VALUE")}` : flag;
}

function optionHelp(o: OptionSpec): string {
  const extras = [o.multiple ? "repeatable" : "", o.default !== undefined ? `default ${o.default}` : ""]
    .filter(Boolean)
    .join(", ");
  return extras ? `${o.help} (${extras})` : o.help;
}

function argLabel(a: ArgSpec): string {
  return `${a.name}${a.variadic ? "…" : ""}`;
}

export function usageLine(spec: CommandSpec): string {
  const args = (spec.args ?? []).map((a) => (a.required ? argLabel(a) : `[${argLabel(a)}]`));
  return ["redis-repro", spec.name, ...args, "[options]"].join(" ");
}

export function commandHelp(spec: CommandSpec): string {
  const options = { ...spec.options, help: helpOption };
  const rows: [string, string][] = [
    ...(spec.args ?? []).map((a): [string, string] => [argLabel(a), a.help]),
    ...Object.entries(options).map(([name, o]): [string, string] => [optionLabel(name, o), optionHelp(o)]),
  ];
  const indent = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 4);
  const row = ([label, help]: [string, string]) =>
    label.length + 2 > indent ? `  ${label}\n${wrap(help, indent, "")}` : wrap(help, indent, `  ${label}`);
  const argRows = rows.slice(0, spec.args?.length ?? 0);
  const optionRows = rows.slice(spec.args?.length ?? 0);
  return [
    usageLine(spec),
    "",
    paragraph(`${capital(spec.summary)}.${spec.about ? `\n\n${spec.about}` : ""}`),
    "",
    ...(argRows.length ? ["Arguments:", ...argRows.map(row), ""] : []),
    "Options:",
    ...optionRows.map(row),
    "",
    paragraph(
      spec.usageExit !== undefined
        ? `Exit codes: ${spec.exit ?? ""}; 130/143 interrupted.`
        : spec.exit
          ? `Exit codes: ${spec.exit}; ${sharedExitCodes}.`
          : exitCodesHelp,
    ),
    "",
  ].join("\n");
}

/** The first word of each command, in table order: `images` for `images build`, `images ls`, … */
function groups(table: CommandSpec[]): Map<string, CommandSpec[]> {
  const byFirst = new Map<string, CommandSpec[]>();
  for (const spec of table) {
    const first = spec.name.split(" ")[0] ?? spec.name;
    byFirst.set(first, [...(byFirst.get(first) ?? []), spec]);
  }
  return byFirst;
}

function isGroup(members: CommandSpec[]): boolean {
  return members.some((m) => m.name.includes(" "));
}

export function mainHelp(table: CommandSpec[], version: string): string {
  const rows = table.map((s) => [s.name, s.summary] as const);
  const width = Math.max(...rows.map(([n]) => n.length)) + 2;
  return [
    `redis-repro ${version}: reproduce Redis bugs in real, resource-limited containers`,
    "",
    "Usage: redis-repro <command> [arguments] [options]",
    "",
    ...rows.map(([name, summary]) => wrap(summary, width + 2, `  ${name}`)),
    "",
    "Targets are named the same way everywhere: 3.2.8, 3.2.8+fix-aof-pipe-leak, git:REF, dir:PATH, image:redis:3.2.8.",
    "Run `redis-repro <command> --help` for its arguments and options; `redis-repro --version`.",
    paragraph(exitCodesHelp),
    "",
  ].join("\n");
}

function groupHelp(name: string, members: CommandSpec[]): string {
  const width = Math.max(...members.map((m) => usageLine(m).length)) + 2;
  return [
    `redis-repro ${name} <${members.map((m) => m.name.split(" ")[1]).join("|")}> …`,
    "",
    ...members.map((m) => wrap(m.summary, width + 2, `  ${usageLine(m)}`)),
    "",
    `Run \`redis-repro ${name} <subcommand> --help\` for its options.`,
    "",
  ].join("\n");
}

function firstSentence(error: unknown): string {
  // parseArgs adds advice about positionals that does not fit one line; its first sentence says it all.
  return (error instanceof Error ? error.message : String(error)).split(". ")[0] ?? "bad arguments";
}

/** Parses argv (without node and the script) against the table; every refusal is a one-line UserError. */
export function parseCommandLine(table: CommandSpec[], argv: string[], version: string): Parsed {
  const [first, second, ...rest] = argv;
  if (first === undefined) return { kind: "help", text: mainHelp(table, version), exitCode: 2 };
  if (first === "--help" || first === "-h")
    return { kind: "help", text: mainHelp(table, version), exitCode: 0 };
  if (first === "--version" || first === "-V") return { kind: "version" };
  if (first === "help") {
    if (second === undefined) return { kind: "help", text: mainHelp(table, version), exitCode: 0 };
    return parseCommandLine(table, [second, ...rest, "--help"], version);
  }
  const members = groups(table).get(first);
  if (!members) {
    const hint = first.startsWith("-") ? "options come after the command" : "see the list";
    throw new UserError(`unknown command "${first}" (${hint}): run \`redis-repro --help\``);
  }
  let spec: CommandSpec;
  let tail: string[];
  if (isGroup(members)) {
    const subs = members.map((m) => m.name.split(" ")[1]).join(", ");
    if (second === "--help" || second === "-h")
      return { kind: "help", text: groupHelp(first, members), exitCode: 0 };
    const found = members.find((m) => m.name === `${first} ${second}`);
    if (!found) {
      const not = second === undefined ? "" : `, not "${second}"`;
      throw new UserError(`${first} needs a subcommand: ${subs}${not}: run \`redis-repro ${first} --help\``);
    }
    spec = found;
    tail = rest;
  } else {
    spec = members[0] as CommandSpec;
    tail = argv.slice(1);
  }
  try {
    return parseOptions(spec, tail);
  } catch (error) {
    if (spec.usageExit === undefined || !isUserError(error)) throw error;
    throw new UserError(error.message, error.kind, spec.usageExit);
  }
}

function parseOptions(spec: CommandSpec, tail: string[]): Parsed {
  const options: NonNullable<ParseArgsConfig["options"]> = { help: { type: "boolean", short: "h" } };
  for (const [name, o] of Object.entries(spec.options)) {
    options[name] = {
      type: o.type,
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
      ...(o.default !== undefined && o.type === "string" ? { default: o.default } : {}),
    };
  }
  const more = `run \`redis-repro ${spec.name} --help\``;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: tail, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UserError(`${spec.name}: ${firstSentence(error)}: ${more}`);
  }
  const values = parsed.values as Values;
  if (values.help) return { kind: "help", text: commandHelp(spec), exitCode: 0 };
  for (const [name, o] of Object.entries(spec.options)) {
    if (!o.choices) continue;
    for (const value of stringList(values[name])) {
      if (!o.choices.includes(value))
        throw new UserError(`--${name} must be one of ${o.choices.join(", ")}, not "${value}"`);
    }
  }
  const declared = spec.args ?? [];
  const positionals = parsed.positionals;
  if (declared.length === 0 && positionals.length > 0)
    throw new UserError(`${spec.name} takes no arguments, not "${positionals[0]}": ${more}`);
  if (!declared.some((a) => a.variadic) && positionals.length > declared.length)
    throw new UserError(
      `${spec.name} takes ${declared.map(argLabel).join(" ")} only, not also "${positionals[declared.length]}": ${more}`,
    );
  const args = [...positionals, ...(spec.argsAlias ? stringList(values[spec.argsAlias]) : [])];
  const missing = declared.filter((a, i) => a.required && args[i] === undefined);
  if (missing.length)
    throw new UserError(`${spec.name} needs ${missing.map(argLabel).join(" ")}: ${usageLine(spec)}`);
  return { kind: "command", spec, input: { values, args } };
}

export function stringList(value: Values[string]): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function optionString(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * Checks every `redis-repro …` command quoted in TEXT (in backticks or on a code line) against the
 * table: the command must exist and every --option must be one it takes. Returns the problems.
 */
/** Stands for a template hole (${…}) in quoted advice: a value filled in at run time. */
const HOLE = "\u0001";

export function checkAdvice(table: CommandSpec[], text: string): string[] {
  const quoted = [
    ...[...text.matchAll(/\\?`(?:npx )?(redis-repro(?: [^`\\]*)?)\\?`/g)].map((m) => m[1] ?? ""),
    ...[...text.matchAll(/^\s*(?:\$ )?(?:npx )?(redis-repro(?: [^\n#|`]*)?)$/gm)].map((m) => m[1] ?? ""),
  ];
  const problems: string[] = [];
  for (const command of quoted) {
    // Template holes (${…}) are values, not words of the command.
    const words = command
      .replace(/\$\{[^}]*\}/g, HOLE)
      .trim()
      .split(/\s+/)
      .slice(1);
    const [first, second] = words;
    // Generic text (`redis-repro <command> --help`, a name filled in at run time) or the harness's
    // version (`redis-repro 0.1.0, Node 20…` in an environment line) names no command.
    const generic = (word: string) =>
      word.startsWith(HOLE) || word.startsWith("<") || word === "…" || /^\d/.test(word);
    if (first === undefined || generic(first) || ["--help", "--version", "-h"].includes(first)) continue;
    const members = groups(table).get(first);
    if (!members) {
      problems.push(`\`${command}\`: no command "${first}"`);
      continue;
    }
    let spec: CommandSpec | undefined = members.find((m) => m.name === first);
    let optionWords = words.slice(1);
    if (isGroup(members)) {
      spec = members.find((m) => m.name === `${first} ${second}`);
      if (!spec) {
        if (second === undefined || second === "--help") continue;
        if (generic(second)) continue;
        problems.push(`\`${command}\`: "${first}" has no subcommand "${second}"`);
        continue;
      }
      optionWords = words.slice(2);
    }
    if (!spec) continue;
    for (const word of optionWords) {
      const option = /^--([a-z][a-z0-9-]*)/.exec(word)?.[1];
      if (option && option !== "help" && !(option in spec.options))
        problems.push(`\`${command}\`: ${spec.name} has no option --${option}`);
    }
  }
  return problems;
}
