import { homedir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The project root: docker/ and scenarios/ ship beside harness/. This module runs from harness/core/
 * (sources), dist/harness/core/ (compiled) or dist/cli/ (the bundled CLI, scripts/bundle.ts).
 */
export const projectRoot = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  if (here.endsWith(join("dist", "cli"))) return resolve(here, "..", "..");
  return here.includes(join("dist", "harness")) ? resolve(here, "..", "..", "..") : resolve(here, "..", "..");
})();

export const dockerDir = join(projectRoot, "docker");
/** The command line as the package's bin runs it: the bundle (scripts/bundle.ts). */
export const cliBin = join(projectRoot, "dist", "cli", "cli.js");
export const scenariosDir = join(projectRoot, "scenarios");

/** XDG-style cache root; everything the harness downloads or writes for reuse lives under it. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REDIS_REPRO_CACHE) return resolve(env.REDIS_REPRO_CACHE);
  const xdg = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache");
  return join(xdg, "redis-repro");
}

/**
 * Folders searched for release tarballs, in order: REDIS_REPRO_SOURCES (a list, separated like PATH)
 * or the cache's sources/. Only the first receives downloads and `sources add`, so the others may be
 * read-only mirrors (CI puts a shared, read-only folder of tarballs second).
 */
export function sourceDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = (env.REDIS_REPRO_SOURCES ?? "").split(delimiter).filter((d) => d.length > 0);
  return listed.length ? listed.map((d) => resolve(d)) : [join(cacheRoot(env), "sources")];
}

/** The source folders as one line, for messages. */
export function sourceDirsText(env: NodeJS.ProcessEnv = process.env): string {
  return sourceDirs(env).join(delimiter);
}

export function buildLogsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), "build-logs");
}
