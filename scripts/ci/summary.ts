/**
 * Merges the CI shards' matrix results (matrix-*.json anywhere under a folder, written by `redis-repro matrix
 * --json`) into one Markdown table for the job summary: release × scenario → the label each run gave,
 * ✓/✗ against the catalogue, with counts. A shard that left no readable result is named, not skipped.
 * Usage: node dist/scripts/ci/summary.js DIR [--shards N]   (Markdown on stdout; exit 1 if any cell
 * differs, errored or is missing)
 */

import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type MatrixCell, MatrixResult } from "../../harness/campaigns/matrix.js";
import { firstIssue } from "../../harness/core/errors.js";

export interface ShardFile {
  file: string;
  result?: MatrixResult;
  problem?: string;
}

export function readShards(dir: string): ShardFile[] {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((name) => {
      const path = join(d, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return walk(dir)
    .filter((f) => /matrix-[^/]*\.json$/.test(f))
    .sort()
    .map((file) => {
      const name = relative(dir, file);
      try {
        const parsed = MatrixResult.safeParse(JSON.parse(readFileSync(file, "utf8")));
        if (parsed.success) return { file: name, result: parsed.data };
        return {
          file: name,
          problem: `not a matrix result: ${firstIssue(parsed.error)}`,
        };
      } catch (error) {
        return {
          file: name,
          problem: `unreadable: ${error instanceof Error ? error.message : String(error)}`,
        };
      }
    });
}

const mark: Record<MatrixCell["status"], string> = {
  "as-expected": "✓",
  differs: "✗ differs",
  unmeasured: "· unmeasured",
  error: "✗ error",
};

export function renderSummary(
  shards: ShardFile[],
  expectedShards?: number,
): { markdown: string; ok: boolean } {
  const cells = shards.flatMap((s) => s.result?.cells ?? []);
  const scenarios = [...new Set(cells.map((c) => c.scenario))].sort();
  const targets = [...new Set(cells.map((c) => c.target))];
  const count = (status: MatrixCell["status"]) => cells.filter((c) => c.status === status).length;
  const problems = shards.filter((s) => s.problem).map((s) => `- \`${s.file}\`: ${s.problem}`);
  const found = shards.filter((s) => s.result).length;
  if (expectedShards !== undefined && found < expectedShards)
    problems.push(
      `- ${expectedShards - found} of ${expectedShards} shard(s) left no result (see their logs)`,
    );
  const lines = [
    "## redis-repro matrix",
    "",
    `${cells.length} cell(s) from ${found} shard(s): ${count("as-expected")} as expected, ${count("differs")} differ, ${count("error")} errors, ${count("unmeasured")} unmeasured.`,
    "",
  ];
  if (cells.length) {
    lines.push(`| release | ${scenarios.join(" | ")} |`, `|---|${scenarios.map(() => "---").join("|")}|`);
    for (const target of targets) {
      const row = scenarios.map((scenario) => {
        const c = cells.find((x) => x.target === target && x.scenario === scenario);
        if (!c) return "";
        const detail = c.status === "as-expected" ? "" : ` (expected ${c.expected})`;
        return `${c.label ?? "no outcome"} ${mark[c.status]}${detail}`;
      });
      lines.push(`| ${target} | ${row.join(" | ")} |`);
    }
    lines.push("");
  }
  if (problems.length) lines.push("### Problems", "", ...problems, "");
  const ok = problems.length === 0 && count("differs") === 0 && count("error") === 0 && cells.length > 0;
  return { markdown: `${lines.join("\n").trimEnd()}\n`, ok };
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: { shards: { type: "string" } },
    allowPositionals: true,
  });
  const dir = positionals[0] ?? "reports";
  const { markdown, ok } = renderSummary(
    readShards(dir),
    values.shards === undefined ? undefined : Number(values.shards),
  );
  process.stdout.write(markdown);
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main();
