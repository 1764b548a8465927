import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { engineKind } from "../../harness/engine/locality.js";
import {
  PODMAN_NPROC,
  seccompProfileDir,
  securityOptionsFor,
  ulimitsFor,
} from "../../harness/parts/container/engine-options.js";
import { creationOptions } from "../../harness/parts/container/redis-container.js";
import { type FaultSpec, faultFrom } from "../../harness/parts/faults/index.js";
import { userError } from "../helpers/errors.js";

const cache = await mkdtemp(join(tmpdir(), "redis-repro-engine-options-"));
const env = { REDIS_REPRO_CACHE: cache };
afterAll(() => rm(cache, { recursive: true, force: true }));

/** The security options a node under these faults is created with, as the container class makes them. */
const optionsOf = (...faults: FaultSpec[]) => creationOptions(faults.map(faultFrom), false).securityOpt;

describe("engine options: what Docker and Podman each take", () => {
  it("tells Podman's service from Docker's by the version's components", () => {
    expect(engineKind({ Components: [{ Name: "Engine" }, { Name: "containerd" }] })).toBe("docker");
    expect(engineKind({ Components: [{ Name: "Podman Engine" }, { Name: "Conmon" }] })).toBe("podman");
    expect(engineKind({})).toBe("docker");
  });

  it("Docker gets each seccomp profile's content, as the faults give it", async () => {
    const given = optionsOf("seccomp-enomem");
    expect(given[1]).toMatch(/^seccomp=\{/);
    expect(await securityOptionsFor(given, { kind: "docker", onThisHost: false }, [], env)).toEqual(given);
  });

  it("Podman on this host gets a file holding the same profile, named by its content, in the cache", async () => {
    const specs: FaultSpec[] = ["seccomp-enomem", { fault: "seccomp", calls: ["pipe2"], errno: "EMFILE" }];
    for (const spec of specs) {
      const given = optionsOf(spec);
      const podman = await securityOptionsFor(given, { kind: "podman", onThisHost: true }, ["f"], env);
      expect(podman[0]).toBe("no-new-privileges");
      const file = (podman[1] ?? "").replace(/^seccomp=/, "");
      expect(file.startsWith(`${seccompProfileDir(env)}/`)).toBe(true);
      expect(`seccomp=${await readFile(file, "utf8")}`).toBe(given[1]);
      // The same profile gives the same file again (a second run writes nothing new).
      expect(await securityOptionsFor(given, { kind: "podman", onThisHost: true }, ["f"], env)).toEqual(
        podman,
      );
    }
    // Two nodes of one run started side by side write the same profile at once (seen: the second
    // rename found its temporary file gone, and Podman's container failed to start).
    const side = await Promise.all(
      [1, 2, 3].map(() =>
        securityOptionsFor(
          optionsOf({ fault: "seccomp", calls: ["pipe"], errno: "ENFILE" }),
          { kind: "podman", onThisHost: true },
          [],
          env,
        ),
      ),
    );
    expect(new Set(side.map((o) => o[1])).size).toBe(1);
    const a = await securityOptionsFor(
      optionsOf("seccomp-enomem"),
      { kind: "podman", onThisHost: true },
      [],
      env,
    );
    const b = await securityOptionsFor(
      optionsOf({ fault: "seccomp", calls: ["pipe2"], errno: "EMFILE" }),
      { kind: "podman", onThisHost: true },
      [],
      env,
    );
    expect(a[1]).not.toBe(b[1]);
  });

  it("Podman elsewhere cannot read our profile's file: one line, naming the fault that still works", async () => {
    const error = await securityOptionsFor(
      optionsOf("seccomp-enomem"),
      { kind: "podman", onThisHost: false },
      ["seccomp-enomem"],
      env,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    const thrown = userError(() => {
      throw error;
    });
    expect(thrown.message).toMatch(
      /^fault seccomp-enomem: Podman reads a seccomp profile from a file on its own host.*use --fault pids-limit/,
    );
    expect(thrown.exitCode).toBe(3);
    // Faults without a profile pass as they are.
    expect(
      await securityOptionsFor(optionsOf("pids-limit"), { kind: "podman", onThisHost: false }, [], env),
    ).toEqual(["no-new-privileges"]);
  });

  it("names RLIMIT_NPROC for Podman only (it would raise it beyond what a sandboxed host allows)", () => {
    expect(ulimitsFor({ nofile: 1024 }, { kind: "docker" })).toEqual({ nofile: { soft: 1024, hard: 1024 } });
    expect(ulimitsFor({ nofile: 1024 }, { kind: "podman" })).toEqual({
      nofile: { soft: 1024, hard: 1024 },
      nproc: { soft: PODMAN_NPROC, hard: PODMAN_NPROC },
    });
  });
});
