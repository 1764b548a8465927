import { describe, expect, it } from "vitest";
import type { Fault } from "../../harness/core/fault.js";
import { creationOptions } from "../../harness/parts/container/redis-container.js";
import { noFault, pidsLimit, seccompEnomem } from "../../harness/parts/faults/index.js";

/** A preload fault, as a script would write one (libfiu's fiu-run before the server). */
const preload: Fault = {
  name: "fiu-enomem",
  description: "fork() fails through a preloaded library",
  container: { wrap: ["fiu-run", "-x", "-c", "enable name=posix/proc/fork"], env: { FIU_ENABLE: "1" } },
};

describe("creationOptions: what a node's faults ask of its container", () => {
  it("no fault, or one started on the running node: no-new-privileges only, the image's own entrypoint", () => {
    for (const faults of [[], [noFault()], [pidsLimit()]])
      expect(creationOptions(faults, false)).toEqual({
        securityOpt: ["no-new-privileges"],
        env: {},
        entrypoint: undefined,
      });
  });

  it("a seccomp profile goes after no-new-privileges", () => {
    const { securityOpt } = creationOptions([seccompEnomem()], false);
    expect(securityOpt).toHaveLength(2);
    expect(securityOpt[0]).toBe("no-new-privileges");
    expect(securityOpt[1]).toMatch(/^seccomp=\{/);
  });

  it("a wrapper goes before redis-server; several faults' options add up", () => {
    expect(creationOptions([seccompEnomem(), preload], false)).toMatchObject({
      securityOpt: ["no-new-privileges", expect.stringMatching(/^seccomp=/)],
      env: { FIU_ENABLE: "1" },
      entrypoint: ["fiu-run", "-x", "-c", "enable name=posix/proc/fork", "redis-server"],
    });
  });

  it("a brought image is started as redis-server itself (its entrypoint may be a shell script)", () => {
    expect(creationOptions([seccompEnomem()], true).entrypoint).toEqual(["redis-server"]);
    expect(creationOptions([preload], true).entrypoint?.at(-1)).toBe("redis-server");
  });
});
