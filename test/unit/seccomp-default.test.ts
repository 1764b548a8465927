import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerDir } from "../../harness/core/paths.js";
import { REFUSED_BY_DOCKER_DEFAULT, type SeccompProfile, verdictFor } from "../helpers/seccomp.js";

const AF_ALG = 38;
const AF_VSOCK = 40;
const AF_INET = 2;
const AF_UNIX = 1;
const ADDR_NO_RANDOMIZE = 0x0040000;

describe("the fault profile is no weaker than the Docker default", () => {
  const profile = JSON.parse(
    readFileSync(join(dockerDir, "seccomp", "fork-enomem.json"), "utf8"),
  ) as SeccompProfile;

  it.each(REFUSED_BY_DOCKER_DEFAULT)("%s is refused with EPERM", (call) => {
    expect(verdictFor(profile, call)).toBe("ERRNO 1");
  });

  it("refuses the socket families the default refuses (AF_ALG, AF_VSOCK), not the ones Redis uses", () => {
    expect(verdictFor(profile, "socket", [AF_ALG])).toBe("ERRNO 1");
    expect(verdictFor(profile, "socket", [AF_VSOCK])).toBe("ERRNO 1");
    expect(verdictFor(profile, "socket", [AF_INET])).toBe("ALLOW");
    expect(verdictFor(profile, "socket", [AF_UNIX])).toBe("ALLOW");
  });

  it("refuses personality changes such as turning off address randomisation", () => {
    expect(verdictFor(profile, "personality", [ADDR_NO_RANDOMIZE])).toBe("ERRNO 1");
  });

  it("keeps every refusal in rules that cannot be satisfied by a different argument", () => {
    // A refusal with argument filters only refuses some calls: the listed ones must have none.
    for (const call of REFUSED_BY_DOCKER_DEFAULT) {
      const rules = profile.syscalls.filter((r) => r.names.includes(call));
      expect(rules, call).toHaveLength(1);
      expect(rules[0]?.args ?? [], call).toEqual([]);
    }
  });
});
