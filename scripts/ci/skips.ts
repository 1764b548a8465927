import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { z } from "zod";

/** The part of vitest's JSON report (jest's format) that says which tests skipped and why. */
const VitestReport = z.object({
  testResults: z.array(
    z.object({
      name: z.string(),
      assertionResults: z.array(z.object({ fullName: z.string(), status: z.string() })),
    }),
  ),
});

const SKIPPED = new Set(["skipped", "pending", "todo", "disabled"]);

/**
 * Skips CI must not accept: every skip must say it needs a release tarball (support.ts's reason),
 * and that release must not be one CI provides. Anything else is a test that silently did not run.
 */
export function forbiddenSkips(report: unknown, required: string[]): string[] {
  const parsed = VitestReport.parse(report);
  const bad: string[] = [];
  for (const file of parsed.testResults) {
    for (const test of file.assertionResults) {
      if (!SKIPPED.has(test.status)) continue;
      const needs = /SKIPPED: needs redis-(\S+?)\.tar\.gz/.exec(test.fullName)?.[1];
      if (needs === undefined) bad.push(`${test.fullName} (skipped without naming a missing release)`);
      else if (required.includes(needs)) bad.push(`${test.fullName} (CI provides ${needs})`);
    }
  }
  return bad;
}

async function main(file: string | undefined): Promise<number> {
  if (!file) {
    process.stderr.write("usage: node dist/scripts/ci/skips.js VITEST_JSON_REPORT\n");
    return 2;
  }
  const required = (process.env.REDIS_REPRO_REQUIRE_RELEASES ?? "").split(",").filter(Boolean);
  const bad = forbiddenSkips(JSON.parse(await readFile(file, "utf8")), required);
  for (const line of bad) process.stderr.write(`forbidden skip: ${line}\n`);
  process.stdout.write(
    `skip check: ${bad.length} forbidden skip(s); required releases: ${required.join(", ") || "none"}\n`,
  );
  return bad.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main(process.argv[2]).then((code) => {
    process.exitCode = code;
  });
}
