import { describe, expect, it } from "vitest";
import { PODMAN_NPROC, securityOptionsFor, ulimitsFor } from "../../harness/container/engine-options.js";
import { engineKind } from "../../harness/engine/locality.js";
import { fault } from "../../harness/faults/index.js";
import { userError } from "../helpers/errors.js";

describe("engine options: what Docker and Podman each take", () => {
  it("tells Podman's service from Docker's by the version's components", () => {
    expect(engineKind({ Components: [{ Name: "Engine" }, { Name: "containerd" }] })).toBe("docker");
    expect(engineKind({ Components: [{ Name: "Podman Engine" }, { Name: "Conmon" }] })).toBe("podman");
    expect(engineKind({})).toBe("docker");
  });

  it("Docker gets the seccomp profile's content; Podman on this host its file", () => {
    const f = fault("seccomp-enomem");
    expect(securityOptionsFor(f, { kind: "docker", onThisHost: false })).toEqual(f.securityOpt);
    expect(f.securityOpt[0]).toMatch(/^seccomp=\{/);
    const podman = securityOptionsFor(f, { kind: "podman", onThisHost: true });
    expect(podman).toEqual([`seccomp=${f.seccompFile}`]);
    expect(f.seccompFile).toMatch(/docker\/seccomp\/fork-enomem\.json$/);
  });

  it("Podman elsewhere cannot read our profile's file: one line, naming the fault that still works", () => {
    const error = userError(() =>
      securityOptionsFor(fault("seccomp-enomem"), { kind: "podman", onThisHost: false }),
    );
    expect(error.message).toMatch(
      /Podman reads a seccomp profile from a file on its own host.*use --fault pids-limit/,
    );
    expect(error.exitCode).toBe(3);
    // Faults without a profile pass as they are.
    expect(securityOptionsFor(fault("pids-limit"), { kind: "podman", onThisHost: false })).toEqual([]);
  });

  it("names RLIMIT_NPROC for Podman only (it would raise it beyond what a sandboxed host allows)", () => {
    expect(ulimitsFor({ nofile: 1024 }, { kind: "docker" })).toEqual({ nofile: { soft: 1024, hard: 1024 } });
    expect(ulimitsFor({ nofile: 1024 }, { kind: "podman" })).toEqual({
      nofile: { soft: 1024, hard: 1024 },
      nproc: { soft: PODMAN_NPROC, hard: PODMAN_NPROC },
    });
  });
});
