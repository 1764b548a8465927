import { progress } from "./progress.js";

/**
 * Ctrl-C and SIGTERM end the process, but first every registered cleanup runs (each run removes its
 * own containers). Where Ryuk is off nobody else would. A second signal exits at once.
 */
type Cleanup = () => Promise<unknown>;
const cleanups = new Set<Cleanup>();
let installed = false;
let exiting = false;

export function onInterrupt(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      const code = signal === "SIGINT" ? 130 : 143;
      if (exiting) process.exit(code);
      exiting = true;
      progress(`redis-repro: ${signal}: cleaning up`);
      Promise.allSettled([...cleanups].map((c) => c())).finally(() => process.exit(code));
    });
  }
}

/** Installs the handlers without a cleanup, so an interrupted build still exits with 130/143 and a line. */
export function installInterruptHandlers(): void {
  install();
}
