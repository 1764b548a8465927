import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../harness/core/paths.js";
import { countContainers, missingSource, skipTitle } from "./support.js";

/**
 * The package as a user gets it: `npm pack`, installed into examples/my-bug (a standalone project with
 * its own vitest suite and a TypeScript scenario), typechecked and run there. This tests the exports
 * and the declarations from outside, not by relative path.
 */
const missing = await missingSource("3.2.8");
const work = await mkdtemp(join(tmpdir(), "redis-repro-example-"));
afterAll(() => rm(work, { recursive: true, force: true }));

describe("examples/my-bug, against the packed package", () => {
  it.skipIf(missing)(
    skipTitle("installs from npm pack, typechecks, and its suite passes with the matchers", missing),
    async () => {
      await execa("npm", ["pack", "--pack-destination", work, "--silent"], { cwd: projectRoot });
      const packed = (await readdir(work)).find((f) => /^redis-repro-.*\.tgz$/.test(f));
      expect(packed).toBeDefined();
      await cp(join(work, packed ?? ""), join(work, "redis-repro.tgz"));
      const project = join(work, "my-bug");
      await cp(join(projectRoot, "examples", "my-bug"), project, {
        recursive: true,
        filter: (src) => !src.includes("node_modules"),
      });
      const env = { ...process.env, REDIS_REPRO_RUN_ID: `example-${Date.now()}` };
      await execa("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: project, env });
      const typecheck = await execa("npx", ["tsc", "--noEmit"], { cwd: project, reject: false });
      expect(typecheck.stdout + typecheck.stderr).toBe("");
      expect(typecheck.exitCode).toBe(0);
      const suite = await execa("npx", ["vitest", "run"], {
        cwd: project,
        env: { ...env, NO_COLOR: "1", FORCE_COLOR: "0" },
        reject: false,
        all: true,
      });
      // Colour codes may stand between the words whatever the environment says: read the text only.
      expect(stripVTControlCharacters(String(suite.all))).toMatch(/Tests\s+3 passed/);
      expect(suite.exitCode).toBe(0);
      expect(await countContainers(env.REDIS_REPRO_RUN_ID)).toBe(0);
    },
    600_000,
  );
});
