import { describe, expect, it } from "vitest";
import { forbiddenSkips } from "../../scripts/ci/skips.js";

const report = (tests: { fullName: string; status: string }[]) => ({
  testResults: [{ name: "/x/test/integration/seed.test.ts", assertionResults: tests }],
});

describe("CI's skip check", () => {
  it("accepts passes, and skips that name a release CI does not provide", () => {
    const bad = forbiddenSkips(
      report([
        { fullName: "seed 3.2.8 runs out of fds", status: "passed" },
        {
          fullName:
            "matrix 4.0.14 × seed — SKIPPED: needs redis-4.0.14.tar.gz in /c: set REDIS_REPRO_SOURCES",
          status: "skipped",
        },
      ]),
      ["3.2.8", "3.2.9", "7.0.15"],
    );
    expect(bad).toEqual([]);
  });

  it("refuses a skip of a release CI provides", () => {
    const bad = forbiddenSkips(
      report([{ fullName: "seed — SKIPPED: needs redis-3.2.8.tar.gz in /c", status: "skipped" }]),
      ["3.2.8"],
    );
    expect(bad).toEqual(["seed — SKIPPED: needs redis-3.2.8.tar.gz in /c (CI provides 3.2.8)"]);
  });

  it("refuses a skip that gives no release, and a todo", () => {
    const bad = forbiddenSkips(
      report([
        { fullName: "something skipped by hand", status: "skipped" },
        { fullName: "later", status: "todo" },
        { fullName: "failed", status: "failed" },
      ]),
      [],
    );
    expect(bad).toHaveLength(2);
    expect(bad[0]).toMatch(/without naming a missing release/);
  });

  it("rejects a report that is not vitest's JSON", () => {
    expect(() => forbiddenSkips({ tests: [] }, [])).toThrow();
  });
});
