import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MatrixResult } from "../../harness/campaigns/matrix.js";
import { dockerode } from "../../harness/engine/client.js";
import { localImageId } from "../../harness/engine/images.js";
import { LABEL_MANAGED } from "../../harness/engine/labels.js";
import { resolveBases } from "../../harness/targets/bases.js";
import { ccacheTag, ensureImage } from "../../harness/targets/build.js";
import { parseTarget } from "../../harness/targets/spec.js";
import { hostTraces } from "../helpers/host-state.js";
import { copyImages } from "../helpers/private-engine.js";
import { type PrivatePodman, privatePodmanMissing, startPrivatePodman } from "../helpers/private-podman.js";
import { cli, missingSource, skipTitle } from "./support.js";

/**
 * Podman (Debian's package) as the engine, through its Docker-compatible service on a socket of its
 * own (test/helpers/private-podman.ts): the seed under both faults, and a small matrix whose second
 * release is built by Podman through the compatible API. What Podman does differently, and what
 * the harness does about it, is in docs/engines.md.
 */
const missing = (await missingSource("3.2.8")) ?? (await missingSource("3.2.9")) ?? privatePodmanMissing();
if (privatePodmanMissing()) console.warn(`[skip] ${privatePodmanMissing()}`);
/** Where rootful podman keeps state by default: the helper's namespaces keep all of it off the host. */
const DEFAULT_STATE = ["/run/containers", "/run/libpod", "/var/lib/containers", "/etc/containers/networks"];
const stateBefore = DEFAULT_STATE.filter((p) => existsSync(p));
let podman: PrivatePodman | undefined;

beforeAll(async () => {
  if (missing) return;
  const images = [];
  for (const target of ["3.2.8", "3.2.8+fix-aof-pipe-leak"])
    images.push((await ensureImage(parseTarget(target), { bases: "auto" })).image);
  podman = await startPrivatePodman();
  // Bases (tags hash their ids) and the seed's two images; 3.2.9 is left for Podman to build, with
  // the compiler cache of the builds here when there is one (harness/targets/build.ts).
  const bases = await resolveBases("auto");
  const cache = ccacheTag(bases.builder.id);
  const ccache = (await localImageId(cache)) ? [cache] : [];
  await copyImages(await dockerode(), podman.docker, [
    bases.builder.ref,
    bases.runtime.ref,
    ...images,
    ...ccache,
  ]);
}, 600_000);

afterAll(async () => {
  if (!podman) return;
  await podman.stop();
  expect(await hostTraces(podman.id)).toEqual([]);
  expect(DEFAULT_STATE.filter((p) => existsSync(p))).toEqual(stateBefore);
}, 120_000);

/** Containers the harness left on Podman: none, after every run. */
async function left(): Promise<number> {
  if (!podman) throw new Error("no podman");
  return (await podman.docker.listContainers({ all: true, filters: { label: [`${LABEL_MANAGED}=true`] } }))
    .length;
}

describe.skipIf(missing)(skipTitle("Podman as the engine (its Docker-compatible socket)", missing), () => {
  for (const fault of ["seccomp-enomem", "pids-limit"] as const) {
    it(`seed under ${fault}: 3.2.8 exhaustion, the fix stable`, async () => {
      if (!podman) throw new Error("no podman");
      const result = await cli(["run", "--fault", fault], podman.env);
      expect(result.exitCode, result.stderr.slice(-1500)).toBe(0);
      expect(result.stdout).toMatch(
        /^outcome +exhaustion \(bug\) ✓ as expected +stable \(no-bug\) ✓ as expected$/m,
      );
      const errno = fault === "pids-limit" ? "Resource temporarily unavailable" : "Cannot allocate memory";
      expect(result.stdout).toMatch(new RegExp(`^fork error +${errno} +${errno}$`, "m"));
      expect(result.stderr).toContain(` on ${podman.address}:`);
      if (fault === "pids-limit") {
        // Podman runs on this host: its server's /proc/PID is read here, found by its libpod cgroup.
        expect(result.stderr).toMatch(/pids limit set to 3 .*; fds read by this host's \/proc/);
      }
      expect(await left()).toBe(0);
    }, 300_000);
  }

  it("a small matrix (3.2.8, 3.2.9 built by Podman through the compatible API) meets the catalogue", async () => {
    if (!podman) throw new Error("no podman");
    // A compile on a busy 2-core machine can take minutes.
    const result = await cli(["matrix", "3.2.8", "3.2.9", "--json"], podman.env, 840_000);
    expect(result.exitCode, result.stderr.slice(-1500)).toBe(0);
    const matrix = MatrixResult.parse(JSON.parse(result.stdout));
    expect(matrix.cells.map((c) => [c.target, c.outcome, c.label, c.status])).toEqual([
      ["3.2.8", "bug", "exhaustion", "as-expected"],
      ["3.2.9", "no-bug", "stable", "as-expected"],
    ]);
    expect(matrix.builds.map((b) => [b.target, b.origin])).toEqual([
      ["3.2.8", "cached"],
      ["3.2.9", "built"],
    ]);
    expect(matrix.environment.engine.version).toMatch(/^\d+\.\d+/);
    expect(await left()).toBe(0);
  }, 900_000);
});
