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
export default async function setup(): Promise<void> {
  if (process.argv.some((a) => a.includes("test/unit"))) return;
  try {
    await engine();
  } catch {
    console.warn("[global-setup] no container engine answers: integration tests will say so");
    return;
  }
  for (const target of ["7.0.15", "7.0.15+count-failed-aof-fork", "3.2.8", "3.2.8+fix-aof-pipe-leak"]) {
    const version = target.split("+")[0] ?? target;
    if (!(await cachedSourcePath(version))) continue;
    const image = await ensureImage(parseTarget(target), { bases: "auto" });
    console.log(`[global-setup] ${image.target}: ${image.origin} ${image.image}`);
  }
}
