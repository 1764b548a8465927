/**
 * Benchmark: what ccache saves between builds of nearby commits. Builds commit A cold (no layer cache,
 * empty compiler cache), then its next commit B three ways: without ccache (cold), and with the cache
 * A left. Prints wall times; images are content-tagged, so each build is forced with rebuild + noCache.
 * Usage: npm run bench:ccache -- --git-dir CLONE [A [TOWARDS]]
 *   B is the next first-parent commit after A on the way to TOWARDS (default A = 3.2.8, TOWARDS = 3.2.9)
 */
import { parseArgs } from "node:util";
import { ensureImage } from "../harness/targets/build.js";
import { commitsBetween, gitDirSetting, resolveCommit, resolveGitDir } from "../harness/targets/git.js";

const { values, positionals } = parseArgs({
  options: { "git-dir": { type: "string" } },
  allowPositionals: true,
});
const gitDir = await resolveGitDir(values["git-dir"] ?? gitDirSetting());
const a = await resolveCommit(gitDir, positionals[0] ?? "3.2.8");
const [b] = await commitsBetween(gitDir, a.id, positionals[1] ?? "3.2.9");
if (!b) throw new Error(`no commit after ${a.id} towards ${positionals[1] ?? "3.2.9"}`);

async function build(commit: string, ccache: boolean): Promise<number> {
  const started = Date.now();
  await ensureImage(
    { kind: "git", ref: commit, patches: [] },
    { bases: "auto", rebuild: true, noCache: true, ccache, gitDir },
  );
  return (Date.now() - started) / 1000;
}

const coldA = await build(a.id, false);
const coldB = await build(b.id, false);
// Warm the cache with A (a rebuild with ccache on leaves its cache tagged), then build B with it.
await build(a.id, true);
const warmB = await build(b.id, true);
const s = (x: number) => `${x.toFixed(1)} s`;
console.log(`\nccache between nearby commits (${gitDir})`);
console.log(`A ${a.id.slice(0, 9)} ${a.subject}`);
console.log(`B ${b.id.slice(0, 9)} ${b.subject}`);
console.log(`cold build of A (no layer cache, no ccache):     ${s(coldA)}`);
console.log(`cold build of B (no layer cache, no ccache):     ${s(coldB)}`);
console.log(
  `build of B with the ccache A left (next commit): ${s(warmB)}  (${(coldB / warmB).toFixed(1)}× faster)`,
);
