import { setTimeout as sleep } from "node:timers/promises";
import { EnvironmentError, errorText, UserError } from "../core/errors.js";
import type { EndCause } from "../core/node.js";
import { containerState } from "./containers.js";

/**
 * Why a run's container stopped answering, in words a user can act on. The engine's own answers tell
 * a removal (404) from an engine that does not answer; the server's log tells a stop from outside.
 */
export type { EndCause };

export interface ContainerEnd {
  cause: EndCause;
  detail: string;
}

/**
 * A call to the engine failed because nothing answers on its socket (stopped, restarting): a failed
 * connect, or a connection cut mid-call. A missing file elsewhere (ENOENT without connect) is not this.
 */
export function isEngineUnreachable(error: unknown): boolean {
  const e = (error ?? {}) as { code?: string; syscall?: string };
  if (e.syscall === "connect" && (e.code === "ECONNREFUSED" || e.code === "ENOENT")) return true;
  if (e.code === "ECONNRESET" || e.code === "EPIPE") return true;
  return /connect (ECONNREFUSED|ENOENT) |socket hang up/.test(errorText(error));
}

type State = Awaited<ReturnType<typeof containerState>>;

export async function containerEnd(
  id: string,
  limitBytes: number,
  log: readonly string[],
): Promise<ContainerEnd | undefined> {
  let state: State;
  try {
    state = await containerState(id);
    // `docker rm -f` kills first and removes a moment later: look again before naming an exit.
    if (!state.Running && !state.OOMKilled) {
      await sleep(500);
      state = await containerState(id);
    }
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404)
      return { cause: "removed", detail: "removed from outside the harness (docker rm?)" };
    if (isEngineUnreachable(error))
      return {
        cause: "engine-gone",
        detail: "the container engine stopped answering (stopped or restarting)",
      };
    return { cause: "engine-gone", detail: `the engine could not say: ${errorText(error).split("\n")[0]}` };
  }
  if (state.Running) return undefined;
  if (state.OOMKilled)
    return {
      cause: "oom",
      detail: `OOM-killed at the memory limit of ${Math.round(limitBytes / 1024 ** 2)} MiB`,
    };
  // The harness never stops its server mid-run: a SIGTERM came from outside (docker stop, or the
  // engine stopping its containers because it is shutting down or restarting).
  if (log.some((l) => /Received SIGTERM/i.test(l)))
    return {
      cause: "stopped-outside",
      detail: `stopped from outside the harness (docker stop, or the engine shutting down or restarting; exit code ${state.ExitCode})`,
    };
  // SIGKILL that is not the kernel's OOM killer: docker kill, or a docker rm -f still under way.
  if (state.ExitCode === 137)
    return {
      cause: "stopped-outside",
      detail: "killed (SIGKILL) from outside the harness (docker kill or docker rm -f?)",
    };
  const crash = crashText(log);
  if (crash)
    return { cause: "crashed", detail: `the server crashed (${crash}; exit code ${state.ExitCode})` };
  return { cause: "exited", detail: `exited with code ${state.ExitCode}` };
}

/**
 * What a server's crash report says, from its log: the failed assertion, else the signal. Redis and
 * Valkey print "=== REDIS/VALKEY BUG REPORT START ===", then "==> file:line 'condition' is not true"
 * for an assertion or "crashed by signal: N" for a signal.
 */
export function crashText(log: readonly string[]): string | undefined {
  if (!log.some((l) => /(REDIS|VALKEY) BUG REPORT START|crashed by signal|=== ASSERTION FAILED ===/.test(l)))
    return undefined;
  const assertion = log.map((l) => /==> (.+ is not true)/.exec(l)?.[1]).find(Boolean);
  if (assertion) return `assertion failed: ${assertion}`;
  const signal = log.map((l) => /crashed by signal: (\d+)/.exec(l)?.[1]).find(Boolean);
  return signal ? `crashed by signal ${signal}` : "a bug report in its log";
}

/**
 * The one-line error for a run whose container died, by cause: the environment's failures are
 * EnvironmentError (the CLI's environment exit code); an OOM kill or an exit points at the scenario's
 * limits (a UserError, as before).
 */
export function containerDiedError(target: string, { cause, detail }: ContainerEnd): UserError {
  if (cause === "removed")
    return new EnvironmentError(
      `the container for ${target} was ${detail} mid-run: nothing to judge; run again, and keep other tools off containers labelled redis-repro.managed=true`,
    );
  if (cause === "engine-gone" || cause === "stopped-outside")
    return new EnvironmentError(
      `the container for ${target} ended because ${detail} mid-run: run again once \`docker info\` answers`,
    );
  return new UserError(
    `the container for ${target} died: ${detail}: raise limits.memory (or pids) in the scenario or lower its dataset`,
  );
}

/** An error thrown by an engine call because the engine went away, as one line; undefined otherwise. */
export function engineGoneError(error: unknown): EnvironmentError | undefined {
  if (error instanceof UserError || !isEngineUnreachable(error)) return undefined;
  return new EnvironmentError(
    `the container engine stopped answering mid-run (${errorText(error).split("\n")[0]}): run again once \`docker info\` answers (\`redis-repro cleanup\` then removes what this run left)`,
  );
}
