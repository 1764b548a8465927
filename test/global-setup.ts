import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engine } from "../harness/engine/client.js";
import { ensureImage } from "../harness/targets/build.js";
import { cachedSourcePath } from "../harness/targets/sources.js";
import { parseTarget } from "../harness/targets/spec.js";

/**
 * Builds, once and before any test, the images the integration tests share: on a fresh machine that
 * means making the offline base images and compiling Redis (a minute or two), which no single test's
 * timeout should have to absorb. Releases whose tarball is not cached are left to their tests' skips;
 * without an engine there is nothing to warm (unit tests need none).
 */
export default async function setup(): Promise<() => void> {
  const teardown = scratchTmpdir();
  if (process.argv.some((a) => a.includes("test/unit"))) return teardown;
  try {
    await engine();
  } catch {
    console.warn("[global-setup] no container engine answers: integration tests will say so");
    return teardown;
  }
  try {
    for (const target of ["7.0.15", "7.0.15+count-failed-aof-fork", "3.2.8", "3.2.8+fix-aof-pipe-leak"]) {
      const version = target.split("+")[0] ?? target;
      if (!(await cachedSourcePath(version))) continue;
      const image = await ensureImage(parseTarget(target), { bases: "auto" });
      console.log(`[global-setup] ${image.target}: ${image.origin} ${image.image}`);
    }
  } catch (error) {
    teardown();
    throw error;
  }
  return teardown;
}

/**
 * Every temporary folder the tests make (theirs, the harness's, the CLI's they spawn: all ask
 * os.tmpdir(), which reads TMPDIR) goes under one folder of this run, removed when the run ends,
 * whatever each test did: no test run leaves folders in /tmp. Private engines' folders stay in the
 * system's temp dir (REDIS_REPRO_SYSTEM_TMPDIR, test/helpers/host-state.ts), short and checked by name.
 */
function scratchTmpdir(): () => void {
  process.env.REDIS_REPRO_SYSTEM_TMPDIR ??= tmpdir();
  const scratch = mkdtempSync(join(tmpdir(), "redis-repro-tests-"));
  process.env.TMPDIR = scratch;
  return () => {
    try {
      rmSync(scratch, { recursive: true, force: true });
    } catch (error) {
      console.warn(`[global-setup] could not remove ${scratch}: ${String(error)}`);
    }
  };
}
