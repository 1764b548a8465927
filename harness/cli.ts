#!/usr/bin/env node
import { commands } from "./commands/index.js";
import { optionString, parseCommandLine } from "./commands/spec.js";
import { ExitCode, isUserError } from "./errors.js";
import { installInterruptHandlers } from "./interrupt.js";
import { setQuiet } from "./progress.js";
import { mark } from "./trace.js";
import { harnessVersion } from "./version.js";

/** Parses, loads the one command asked for (and only its dependencies), runs it; exit codes in errors.ts. */
async function main(argv: string[]): Promise<number> {
  mark("main");
  installInterruptHandlers();
  const parsed = parseCommandLine(commands, argv, harnessVersion);
  if (parsed.kind === "version") {
    process.stdout.write(`${harnessVersion}\n`);
    return ExitCode.ok;
  }
  if (parsed.kind === "help") {
    process.stdout.write(parsed.text);
    return parsed.exitCode;
  }
  const { values } = parsed.input;
  const sources = optionString(values, "sources");
  if (sources !== undefined) process.env.REDIS_REPRO_SOURCES = sources;
  if (values.json) setQuiet(true);
  const handler = await parsed.spec.load();
  return handler(parsed.input);
}

/**
 * The CLI ends when its command is done. Libraries can leave timers behind that hold the process
 * open without doing anything (ioredis keeps a 2 s guard after each disconnect): exit explicitly once
 * stdout and stderr have drained, so a verdict is not held back by them.
 */
let signalled = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => (signalled = true));

async function exit(): Promise<void> {
  // After a signal the interrupt handler owns the exit (130/143) once its cleanups are done.
  if (signalled) return;
  const drained = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => (stream.writableLength === 0 ? resolve() : stream.once("drain", resolve)));
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit();
}

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (isUserError(error)) {
        process.stderr.write(`redis-repro: ${error.message}\n`);
        process.exitCode = error.exitCode;
      } else {
        process.stderr.write(
          `redis-repro: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
        );
        process.exitCode = ExitCode.internal;
      }
    },
  )
  .then(exit);
