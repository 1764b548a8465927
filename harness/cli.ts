#!/usr/bin/env node
import { parseArgs } from "node:util";
import { commands, usage } from "./commands/index.js";
import { engineGoneError } from "./engine/failure.js";
import { errorText, isUserError, UserError } from "./errors.js";
import { installInterruptHandlers } from "./interrupt.js";
import { setLogger } from "./progress.js";

/** Exit codes: 0 verdicts as expected, 1 a verdict not as expected, 2 usage or environment. */
async function main(argv: string[]): Promise<number> {
  installInterruptHandlers();
  const [first, ...rest] = argv;
  if (!first || first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(usage);
    return first ? 0 : 2;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) throw new UserError(`unknown command "${first}": run \`redis-repro --help\` for the list`);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs adds advice about positionals that does not fit one line; its first sentence says it all.
    const first = errorText(error).split(". ")[0] ?? "bad arguments";
    throw new UserError(`${first}: run \`redis-repro ${command.name} --help\``);
  }
  if (parsed.values.help) {
    process.stdout.write(command.help);
    return 0;
  }
  if (typeof parsed.values.sources === "string") process.env.REDIS_REPRO_SOURCES = parsed.values.sources;
  // git:REF targets (and bisect --commits) read this clone; children such as git bisect run inherit it.
  if (typeof parsed.values["git-dir"] === "string") process.env.REDIS_REPRO_GIT = parsed.values["git-dir"];
  // Progress to stderr; --json keeps stdout pure and stderr quiet.
  if (!parsed.values.json) setLogger((line) => process.stderr.write(`${line}\n`));
  return command.run(parsed.values, parsed.positionals);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (raw: unknown) => {
    // An engine that went away mid-run surfaces from whatever call came next: say so in one line.
    const error = engineGoneError(raw) ?? raw;
    if (isUserError(error)) {
      process.stderr.write(`redis-repro: ${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(
        `redis-repro: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 2;
    }
  },
);
