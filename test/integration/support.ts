import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { expect } from "vitest";
import { cliBin, sourceDirsText } from "../../harness/core/paths.js";
import { countContainers } from "../../harness/engine/cleanup.js";
import type { ScenarioDataInput } from "../../harness/scenario/index.js";
import { cachedSourcePath } from "../../harness/targets/sources.js";
import { matchers } from "../../harness/vitest.js";

// The package's own matchers (toHaveOutcome, toMeetExpectations), as a user's setup file adds them.
expect.extend(matchers);

/** Releases whose tests must run, never skip (CI lists the ones it provides). */
export function requiredReleases(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.REDIS_REPRO_REQUIRE_RELEASES ?? "").split(",").filter((v) => v.length > 0);
}

/**
 * Tests that need a release tarball this machine may not have skip with a reason that names the file
 * and how to provide it; everything a fresh machine can get runs for real. A release named in
 * REDIS_REPRO_REQUIRE_RELEASES is never skipped: its absence fails the test file.
 */
export async function missingSource(version: string): Promise<string | undefined> {
  if (await cachedSourcePath(version)) return undefined;
  const reason = `needs redis-${version}.tar.gz in ${sourceDirsText()}: set REDIS_REPRO_SOURCES to a folder holding it, or run \`redis-repro sources add FILE\``;
  if (requiredReleases().includes(version)) {
    throw new Error(`REDIS_REPRO_REQUIRE_RELEASES names ${version}, but this run ${reason}`);
  }
  console.warn(`[skip] ${reason}`);
  return reason;
}

export function skipTitle(title: string, reason: string | undefined): string {
  return reason ? `${title} — SKIPPED: ${reason}` : title;
}

/** The built CLI, as a user runs it: the package's bin, the bundle (npm test builds first); killed after `timeoutMs` (a build may need more). */
export async function cli(args: string[], env: Record<string, string> = {}, timeoutMs = 300_000) {
  const result = await execa("node", [cliBin, ...args], {
    reject: false,
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** The built CLI as a child process, for tests that signal it mid-way. */
export function spawnCli(args: string[], env: Record<string, string> = {}) {
  return execa("node", [cliBin, ...args], {
    reject: false,
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
}

/** Resolves when the child's stderr has printed a line matching `pattern`. */
export function stderrLine(child: ReturnType<typeof spawnCli>, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split("\n").find((l) => pattern.test(l));
      if (line) resolve(line);
    });
    child.then(() => reject(new Error(`exited before printing ${pattern}: ${seen.slice(-500)}`)));
  });
}

export { countContainers };

const seedFile = new URL("../../scenarios/aof-auto-rewrite-enomem.json", import.meta.url);

/** The seed scenario with a change, written to a new folder; returns its path. */
export async function scenarioFile(change: (s: ScenarioDataInput) => void): Promise<string> {
  const scenario: ScenarioDataInput = JSON.parse(await readFile(seedFile, "utf8"));
  change(scenario);
  const dir = await mkdtemp(join(tmpdir(), "redis-repro-scenario-"));
  const file = join(dir, `${scenario.name}.json`);
  await writeFile(file, JSON.stringify(scenario));
  return file;
}
