#!/usr/bin/env node
import module, { createRequire } from "node:module";
import { commands } from "./cli/index.js";
import { optionString, parseCommandLine } from "./cli/spec.js";
import { ExitCode, isUserError } from "./core/errors.js";
import { installInterruptHandlers } from "./core/interrupt.js";
import { setLogger } from "./core/progress.js";
import { mark } from "./core/trace.js";
import { harnessVersion } from "./core/version.js";

/**
 * Most of a command's start-up is compiling its dependencies (testcontainers, dockerode, ioredis: about
 * a thousand CommonJS files). Node ≥ 22.1 caches compiled code itself when asked; on Node 20 the
 * v8-compile-cache require hook does the same for CommonJS (about 30 % off the import here).
 */
function enableCompileCache(): void {
  const builtIn = (module as { enableCompileCache?: () => unknown }).enableCompileCache;
  if (typeof builtIn === "function") builtIn();
  // The bundled CLI (scripts/bundle.ts) is ES modules, which that hook does not cache.
  else if (process.env.REDIS_REPRO_BUNDLE !== "1") createRequire(import.meta.url)("v8-compile-cache");
}

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
  // git:REF targets (and bisect --commits) read this clone; children such as git bisect run inherit it.
  const gitDir = optionString(values, "git-dir");
  if (gitDir !== undefined) process.env.REDIS_REPRO_GIT = gitDir;
  // Progress to stderr; --json keeps stdout pure and stderr quiet.
  if (!values.json) setLogger((line) => process.stderr.write(`${line}\n`));
  enableCompileCache();
  const handler = await parsed.spec.load();
  return handler(parsed.input);
}

/**
 * The CLI ends when its command is done. Libraries can leave timers behind that hold the process
 * open without doing anything (ioredis keeps a 2 s guard after each disconnect): exit explicitly once
 * stdout and stderr have drained, so a verdict is not held back by them.
 */
// `redis-repro images ls | head`: a reader that stops early is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});

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
    async (raw: unknown) => {
      // An engine that went away mid-run surfaces from whatever call came next: say so in one line.
      // Loaded here: engine/failure.js reaches the engine client, which --help must not load.
      const { engineGoneError } = await import("./engine/failure.js");
      const error = engineGoneError(raw) ?? raw;
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
