import { describe, expect, it } from "vitest";
import { cli, missingSource, skipTitle } from "./support.js";

/** Bisect by real runs; needs the 3.2.8 and 3.2.9 tarballs (skipped with the file named otherwise). */
const missing = (await missingSource("3.2.8")) ?? (await missingSource("3.2.9"));
const missing328 = await missingSource("3.2.8");

describe("redis-repro bisect on the real engine", () => {
  it.skipIf(missing)(
    skipTitle("--good 3.2.9 --bad 3.2.8 names 3.2.9 as where the fix landed", missing),
    async () => {
      const run = await cli(["bisect", "--good", "3.2.9", "--bad", "3.2.8", "--json"]);
      expect(run.exitCode, run.stderr).toBe(0);
      const out = JSON.parse(run.stdout);
      expect(out.candidates).toEqual(["3.2.8", "3.2.9"]);
      expect(out.outcome).toMatchObject({
        kind: "found",
        first: "3.2.9",
        last: "3.2.8",
        direction: "fix",
        from: { outcome: "bug", label: "exhaustion" },
        to: { outcome: "no-bug", label: "stable" },
      });
      expect(out.steps.map((s: { target: string }) => s.target).sort()).toEqual(["3.2.8", "3.2.9"]);
      expect(
        Object.fromEntries(
          out.steps.map((s: { target: string; outcome: string; side: string }) => [
            s.target,
            [s.outcome, s.side],
          ]),
        ),
      ).toEqual({ "3.2.8": ["bug", "bad"], "3.2.9": ["no-bug", "good"] });
      expect(out.conclusion).toContain("the fix landed in 3.2.9");
    },
    180_000,
  );

  it.skipIf(missing328)(
    skipTitle("--bad 3.2.8 --good 3.2.8+fix-aof-pipe-leak confirms the patch flips the outcome", missing328),
    async () => {
      const run = await cli(["bisect", "--bad", "3.2.8", "--good", "3.2.8+fix-aof-pipe-leak"]);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^step 1: 3\.2\.8 /m);
      expect(run.stdout).toMatch(/^step 1: 3\.2\.8\s+exhaustion \(bug\)\s+bad\s/m);
      expect(run.stdout).toMatch(/^step 1: 3\.2\.8\+fix-aof-pipe-leak\s+stable \(no-bug\)\s+good\s/m);
      expect(run.stdout).toContain("the fix is the patch fix-aof-pipe-leak");
    },
    180_000,
  );
});
