import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerode } from "../../harness/engine/client.js";
import { LABEL_RUN } from "../../harness/engine/labels.js";
import { resolveBases } from "../../harness/targets/bases.js";
import { ensureImage } from "../../harness/targets/build.js";
import { parseTarget } from "../../harness/targets/spec.js";
import {
  copyImages,
  hostTraces,
  type PrivateEngine,
  privateEngineMissing,
  startPrivateEngine,
} from "../helpers/private-engine.js";
import { cli, missingSource, skipTitle } from "./support.js";

/**
 * A remote engine: a second dockerd in a network namespace of its own, reached over TCP at the
 * namespace's end of a veth pair (a non-loopback address), as an engine on another machine would be.
 * The seed scenario runs against it from this host (DOCKER_HOST=tcp://…) under both faults and must
 * give the same verdicts as on the local engine: the port is published on, and reached at, the
 * engine's address (not 127.0.0.1), and under the pids limit the fds are read by a sidecar in the
 * server's PID namespace (this host's /proc is not consulted for an engine that is not local).
 */
const missing = (await missingSource("3.2.8")) ?? privateEngineMissing();
if (privateEngineMissing()) console.warn(`[skip] ${privateEngineMissing()}`);
let engine: PrivateEngine | undefined;

beforeAll(async () => {
  if (missing) return;
  const images = [];
  for (const target of ["3.2.8", "3.2.8+fix-aof-pipe-leak"])
    images.push((await ensureImage(parseTarget(target), { bases: "auto" })).image);
  engine = await startPrivateEngine({ reach: "tcp" });
  // The bases too: image tags hash their ids, so the harness finds its images there as cached.
  const bases = await resolveBases("auto");
  await copyImages(await dockerode(), engine.docker, [bases.builder.ref, bases.runtime.ref, ...images]);
}, 600_000);

afterAll(async () => {
  if (!engine) return;
  await engine.stop();
  expect(await hostTraces(engine.id)).toEqual([]);
}, 120_000);

describe.skipIf(missing)(skipTitle("a remote engine over TCP (own network namespace)", missing), () => {
  for (const fault of ["seccomp-enomem", "pids-limit"] as const) {
    it(`seed under ${fault}: 3.2.8 exhaustion, the fix stable, as on the local engine`, async () => {
      if (!engine?.address) throw new Error("no private engine");
      const runId = `remote-${fault}-${process.pid}`;
      // Text, not --json: the progress lines on stderr say where each server was reached.
      const result = await cli(["run", "--fault", fault], {
        DOCKER_HOST: engine.host,
        TESTCONTAINERS_RYUK_DISABLED: "true",
        REDIS_REPRO_RUN_ID: runId,
      });
      expect(result.exitCode, result.stderr.slice(-1500)).toBe(0);
      expect(result.stdout).toMatch(
        /^outcome +exhaustion \(bug\) ✓ as expected +stable \(no-bug\) ✓ as expected$/m,
      );
      expect(result.stdout).toMatch(/^3\.2\.8: exhaustion \(bug\): /m);
      expect(result.stdout).toMatch(/^3\.2\.8\+fix-aof-pipe-leak: stable \(no-bug\): /m);
      // Reached at the engine's address, on the port the engine published there.
      const started = result.stderr.split("\n").filter((l) => / started [0-9a-f]{12} on /.test(l));
      expect(started).toHaveLength(2);
      for (const line of started) expect(line).toContain(` on ${engine.address}:`);
      const armed = result.stderr.split("\n").filter((l) => / fault \S+ on main: /.test(l));
      expect(armed).toHaveLength(2);
      for (const line of armed)
        if (fault === "pids-limit")
          expect(line).toMatch(
            /pids limit set to \d+ .*; fds read by exec in a sidecar container in the server's PID namespace/,
          );
        else expect(line).not.toMatch(/sidecar/);
      // Nothing of the run is left on the remote engine, sidecars included.
      const left = await engine.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_RUN}=${runId}`] },
      });
      expect(left).toEqual([]);
    }, 240_000);
  }
});
