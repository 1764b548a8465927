import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root: docker/ and scenarios/ ship beside harness/ (also from dist/harness). */
export const projectRoot = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${join("dist", "harness")}`) ? resolve(here, "..", "..") : resolve(here, "..");
})();

export const dockerDir = join(projectRoot, "docker");
export const scenariosDir = join(projectRoot, "scenarios");

/** XDG-style cache root; everything the harness downloads or writes for reuse lives under it. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.REDIS_REPRO_CACHE) return resolve(env.REDIS_REPRO_CACHE);
  const xdg = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache");
  return join(xdg, "redis-repro");
}

/** Where release tarballs are looked up first (REDIS_REPRO_SOURCES overrides). */
export function sourcesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REDIS_REPRO_SOURCES ? resolve(env.REDIS_REPRO_SOURCES) : join(cacheRoot(env), "sources");
}

export function buildLogsDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), "build-logs");
}
