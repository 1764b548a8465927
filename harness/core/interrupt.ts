import { progress } from "./progress.js";

/**
 * Ctrl-C and SIGTERM end the process, but first every registered cleanup runs (each run removes its
 * own containers). Where Ryuk is off nobody else would. A second signal exits at once. As a library
 * (tests, scripts) the handlers are there only while a cleanup is registered; the CLI keeps them.
 */
type Cleanup = () => Promise<unknown>;
const cleanups = new Set<Cleanup>();
let pinned = false;
let exiting = false;

function onSignal(signal: NodeJS.Signals): void {
  const code = signal === "SIGINT" ? 130 : 143;
  if (exiting) process.exit(code);
  exiting = true;
  progress(`redis-repro: ${signal}: cleaning up`);
  Promise.allSettled([...cleanups].map((c) => c())).finally(() => process.exit(code));
}

function setInstalled(on: boolean): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.off(signal, onSignal);
    if (on) process.on(signal, onSignal);
  }
}

export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  setInstalled(true);
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0 && !pinned) setInstalled(false);
  };
}

/** The CLI's: an interrupted build (no cleanup registered) still exits with 130/143 and a line. */
export function installInterruptHandlers(): void {
  pinned = true;
  setInstalled(true);
}
