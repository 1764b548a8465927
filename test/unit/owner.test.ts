import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { currentOwner, ownerLabels, ownerLiveness } from "../../harness/engine/owner.js";

/** The owner labels decide what `cleanup` may remove: only a certainly dead owner's containers. */
describe("ownerLiveness", () => {
  const here = currentOwner();

  it("this process is alive", () => {
    expect(ownerLiveness(ownerLabels(here), here)).toBe("alive");
  });

  it("a process that has exited is dead", () => {
    const child = spawnSync("true");
    expect(child.pid).toBeGreaterThan(0);
    expect(ownerLiveness(ownerLabels({ ...here, pid: child.pid }), here)).toBe("dead");
  });

  it("the same pid with another start time is a reused pid: dead", () => {
    expect(ownerLiveness(ownerLabels({ ...here, start: "1" }), here)).toBe("dead");
  });

  it("another boot of this host: dead", () => {
    expect(ownerLiveness(ownerLabels({ ...here, boot: "another-boot" }), here)).toBe("dead");
  });

  it("another host, or labels missing or malformed: unknown, so kept", () => {
    expect(ownerLiveness(ownerLabels({ ...here, host: "elsewhere" }), here)).toBe("unknown");
    expect(ownerLiveness({}, here)).toBe("unknown");
    expect(ownerLiveness({ ...ownerLabels(here), "redis-repro.pid": "x" }, here)).toBe("unknown");
  });
});
