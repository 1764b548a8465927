import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Progress lines. Library code prints nothing of its own: lines go to the logger the caller gave
 * (for one call, with `withLogger`) or installed (the CLI installs one writing to stderr, so that
 * `--json` output on stdout stays pure). With neither, they are dropped.
 */
export type Logger = (line: string) => void;

const scoped = new AsyncLocalStorage<{ logger: Logger | undefined }>();
let installed: Logger | undefined;

export function setLogger(logger: Logger | undefined): void {
  installed = logger;
}

/** Runs `fn` with its progress lines going to `logger` (undefined: silent), whatever is installed. */
export function withLogger<T>(logger: Logger | undefined, fn: () => Promise<T>): Promise<T> {
  return scoped.run({ logger }, fn);
}

export function progress(line: string): void {
  const scope = scoped.getStore();
  (scope ? scope.logger : installed)?.(line);
}
