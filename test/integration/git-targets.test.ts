import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../harness/core/paths.js";
import { listManagedImages } from "../../harness/engine/images.js";
import { cachedSourcePath } from "../../harness/targets/sources.js";
import { treeFromTarball } from "../helpers/git-repo.js";
import { cli, missingSource, skipTitle } from "./support.js";

/**
 * git: and dir: targets without any clone of upstream: a small repository is made from the 3.2.8
 * tarball, with the project's fix patch as one commit among unrelated ones and one that does not build.
 * Real builds (ccache keeps the later ones short) and real runs.
 */
const missing = await missingSource("3.2.8");
const scratch = await mkdtemp(join(tmpdir(), "redis-repro-git-"));
afterAll(() => rm(scratch, { recursive: true, force: true }));

/**
 * The 3.2.8 release as a commit (tagged `release`), two unrelated commits, one made not to build, its
 * repair, the fix patch as one commit, two more unrelated ones (`main`).
 */
async function historyWithTheFix(name: string) {
  const tarball = (await cachedSourcePath("3.2.8")) ?? "";
  const repo = await treeFromTarball(tarball, join(scratch, name), true);
  await repo.git("tag", "release");
  await repo.append("README.notes", "An unrelated change: notes.\n");
  await repo.commit("Docs: add notes");
  await repo.edit("README.md", (t) => `${t}\nAnother unrelated line.\n`);
  await repo.commit("Docs: one more line in README.md");
  await repo.edit("src/sds.c", (t) => `${t}\n#error this commit is made not to build\n`);
  const broken = await repo.commit("Break the build on purpose");
  await repo.edit("src/sds.c", (t) => t.replace("\n#error this commit is made not to build\n", ""));
  await repo.commit("Repair the build");
  await repo.git("apply", join(projectRoot, "docker", "patches", "fix-aof-pipe-leak.patch"));
  const fix = await repo.commit("Close the rewrite pipes when fork() fails (the fix patch)");
  await repo.append("README.notes", "More notes after the fix.\n");
  await repo.commit("Docs: more notes");
  await repo.append("utils/notes.txt", "A file nobody builds.\n");
  await repo.commit("Utils: add notes");
  return { repo, broken, fix };
}

describe("git: targets and bisect --commits on a repository made from the 3.2.8 tarball", () => {
  it.skipIf(missing)(
    skipTitle("names the patch's commit as the fix and skips the commit that does not build", missing),
    async () => {
      const { repo, broken, fix } = await historyWithTheFix("repo");

      const run = await cli(["bisect", "--commits", "--good", "main", "--bad", "release", "--json"], {
        REDIS_REPRO_GIT: repo.dir,
      });
      expect(run.exitCode, run.stderr.slice(-2000)).toBe(0);
      const out = JSON.parse(run.stdout);
      expect(out.candidates).toHaveLength(8);
      expect(out.outcome).toMatchObject({
        kind: "found",
        first: `git:${fix}`,
        direction: "fix",
        from: { outcome: "bug", label: "exhaustion" },
        to: { outcome: "no-bug", label: "stable" },
      });
      expect(out.conclusion).toContain(`the fix is commit ${fix}`);
      expect(out.conclusion).toContain("Close the rewrite pipes when fork() fails");
      const brokenStep = out.steps.find((s: { commit?: string }) => s.commit === broken);
      // A commit that does not build has no outcome: skipped, as `git bisect skip` does, with the reason.
      expect(brokenStep, JSON.stringify(out.steps)).toMatchObject({
        outcome: null,
        label: null,
        side: "skip",
      });
      expect(brokenStep.reason).toMatch(/image build for .* failed/);
      const fixStep = out.steps.find((s: { commit?: string }) => s.commit === fix);
      expect(fixStep).toMatchObject({ outcome: "no-bug", label: "stable", side: "good" });
      // The image of a tested commit is tagged, and labelled, with its full id.
      const fixImage = (await listManagedImages()).find((i) =>
        i.tag.startsWith(`redis-repro/redis:git-${fix}-`),
      );
      expect(fixImage?.labels["redis-repro.commit"]).toBe(fix);

      // Patches compose with git: targets; on a commit that has the change already, one line, nothing built.
      const twice = await cli(["images", "build", "git:main+fix-aof-pipe-leak", "--git-dir", repo.dir]);
      expect(twice.exitCode).toBe(2);
      expect(twice.stderr).toMatch(/patch fix-aof-pipe-leak is already in git:[0-9a-f]{9} \(3\.2\.8\)/);
    },
    900_000,
  );
});

describe("git bisect run with redis-repro bisect-run", () => {
  it.skipIf(missing)(
    skipTitle("git names the patch's commit (the fix is git's 'bad' side, with --fix)", missing),
    async () => {
      const { repo, fix } = await historyWithTheFix("bisect-run");
      await repo.git("bisect", "start", "--first-parent", "main", "release");
      const run = await execa(
        "git",
        ["bisect", "run", "node", join(projectRoot, "dist", "harness", "cli.js"), "bisect-run", "--fix"],
        { cwd: repo.dir, reject: false, timeout: 900_000 },
      );
      const out = String(run.stdout);
      expect(run.exitCode, `${out.slice(-2000)}\n${String(run.stderr).slice(-2000)}`).toBe(0);
      expect(out).toContain(`${fix} is the first bad commit`);
      // Whatever git tested answered 0 (leaky), 1 (fixed) or 125 (did not build): never an abort.
      expect(out).not.toMatch(/exit 128/);
      await repo.git("bisect", "reset");
    },
    900_000,
  );
});

describe("dir: targets build the working tree as it is", () => {
  it.skipIf(missing)(
    skipTitle("an uncommitted change to a log message shows in the container's log", missing),
    async () => {
      const tarball = (await cachedSourcePath("3.2.8")) ?? "";
      const repo = await treeFromTarball(tarball, join(scratch, "tree"), true);
      const marker = "from a working tree, uncommitted";
      await repo.edit("src/server.c", (t) =>
        t.replace(
          '"Server started, Redis version " REDIS_VERSION)',
          `"Server started, Redis version " REDIS_VERSION " ${marker}")`,
        ),
      );
      expect(await readFile(join(repo.dir, "src", "server.c"), "utf8")).toContain(marker);
      expect(await repo.git("status", "--porcelain")).toContain("src/server.c");

      const run = await cli(["run", "--target", `dir:${repo.dir}`, "--json"]);
      expect(run.exitCode, run.stderr.slice(-2000)).toBe(0);
      const result = JSON.parse(run.stdout).results[0];
      expect(result.target).toBe(`dir:${repo.dir}`);
      expect(result.sourceCheck).toBe("dir-files");
      expect(result.history.logs.main.join("\n")).toContain(`Server started, Redis version 3.2.8 ${marker}`);
      // The tree is still the leaky 3.2.8: the change is only a message.
      expect(result.decision.outcome).toBe("bug");
      expect(result.decision.label).toBe("exhaustion");
    },
    600_000,
  );
});
