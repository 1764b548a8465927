import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bisectRunExit,
  commitCandidates,
  describeOutcome,
  runBisect,
  type Trial,
  withUntestedGap,
} from "../../harness/campaigns/bisect.js";
import { UserError } from "../../harness/core/errors.js";
import type { Outcome } from "../../harness/core/outcome.js";
import { readWorkTree, resolveCommit, resolveGitDir, versionFromHeader } from "../../harness/targets/git.js";
import { formatTarget, parseTarget } from "../../harness/targets/spec.js";
import { readTarball } from "../../harness/targets/verify.js";
import { userError } from "../helpers/errors.js";
import { ScratchRepo } from "../helpers/git-repo.js";
import { writeTarGz } from "../helpers/tarball.js";

describe("git: and dir: targets", () => {
  it("parse a ref or a path, with patches after +", () => {
    expect(parseTarget("git:3.2.8")).toEqual({ kind: "git", ref: "3.2.8", patches: [] });
    expect(parseTarget("git:b83f9fea8+fix-aof-pipe-leak")).toEqual({
      kind: "git",
      ref: "b83f9fea8",
      patches: ["fix-aof-pipe-leak"],
    });
    expect(parseTarget("git:origin/3.2~2")).toEqual({ kind: "git", ref: "origin/3.2~2", patches: [] });
    expect(parseTarget("dir:.")).toEqual({ kind: "dir", path: ".", patches: [] });
    expect(parseTarget("dir:/src/redis+fix")).toEqual({ kind: "dir", path: "/src/redis", patches: ["fix"] });
  });

  it("format back to what they parse from", () => {
    for (const t of ["git:3.2.8", "git:abc+p1+p2", "dir:/x/y", "dir:.+fix-aof-pipe-leak"])
      expect(formatTarget(parseTarget(t))).toBe(t);
  });

  it.each([
    ["git:", /after "git:" give one commit/],
    ["git:-x", /after "git:" give one commit/],
    ["git:3.2.8..3.2.9", /give one commit/],
    ["git:a b", /give one commit/],
    ["dir:", /after "dir:" give a path/],
    ["git:3.2.8+Bad", /patch name "Bad"/],
  ])("refuse %s in one line", (text, message) => {
    expect(userError(() => parseTarget(text)).message).toMatch(message);
  });

  it("read the version a tree calls itself from src/version.h", () => {
    expect(versionFromHeader('#define REDIS_VERSION "3.2.8"\n')).toBe("3.2.8");
    expect(versionFromHeader('#define REDIS_VERSION "7.0.15"\n#define REDIS_VERSION_NUM 0x0007000f\n')).toBe(
      "7.0.15",
    );
    expect(versionFromHeader("/* nothing */\n")).toBeUndefined();
  });
});

describe("readWorkTree", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "redis-repro-tree-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("knows a tree by the same files digest as a tarball of the same files, .git left out", async () => {
    const tree = join(dir, "redis");
    await mkdir(join(tree, "src"), { recursive: true });
    await mkdir(join(tree, ".git"), { recursive: true });
    await writeFile(join(tree, "src", "server.c"), "int main(void) { return 0; }\n");
    await writeFile(join(tree, "src", "version.h"), '#define REDIS_VERSION "3.2.8"\n');
    await writeFile(join(tree, ".git", "HEAD"), "ref: refs/heads/main\n");
    await symlink("src/server.c", join(tree, "link"));
    const tarball = await writeTarGz(join(dir, "redis.tar.gz"), [
      { name: "redis-x/" },
      { name: "redis-x/src/server.c", content: "int main(void) { return 0; }\n" },
      { name: "redis-x/src/version.h", content: '#define REDIS_VERSION "3.2.8"\n' },
      { name: "redis-x/link", type: "symlink", linkname: "src/server.c" },
    ]);
    const read = await readWorkTree(tree);
    expect(read.filesDigest).toBe((await readTarball(tarball)).filesDigest);
    expect(read.version).toBe("3.2.8");
    expect(read.files.has(".git/HEAD")).toBe(false);
    // What it packs is what it digested.
    await writeFile(join(dir, "packed.tar.gz"), read.tarball);
    expect((await readTarball(join(dir, "packed.tar.gz"))).filesDigest).toBe(read.filesDigest);
  });

  it("a change to one file changes the digest", async () => {
    const tree = join(dir, "redis");
    const before = (await readWorkTree(tree)).filesDigest;
    await writeFile(join(tree, "src", "server.c"), "int main(void) { return 1; }\n");
    expect((await readWorkTree(tree)).filesDigest).not.toBe(before);
  });

  it("refuses a folder that is not a Redis tree, in one line", async () => {
    await mkdir(join(dir, "empty"), { recursive: true });
    const error = await readWorkTree(join(dir, "empty")).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/holds no src\/server\.c or src\/redis\.c/);
    const missing = await readWorkTree(join(dir, "nope")).catch((e: Error) => e);
    expect((missing as Error).message).toMatch(/is not a directory/);
  });
});

type Row = "exhaustion" | "stable" | "inconclusive" | "build-failed";
const OUTCOME: Record<Exclude<Row, "build-failed">, Outcome> = {
  exhaustion: "bug",
  stable: "no-bug",
  inconclusive: "unknown",
};

/** A tester from a table: what a real run would give (by label), a build failure where asked. */
function tableTester(table: Record<string, Row>, log: string[]) {
  return async (targets: string[]): Promise<Trial[]> =>
    targets.map((target) => {
      log.push(target);
      const label = table[target];
      if (label === undefined) throw new Error(`no outcome for ${target}`);
      if (label === "build-failed") return { target, buildFailed: true, reason: "image build for it failed" };
      return {
        target,
        outcome: OUTCOME[label],
        label,
        built: true,
        summary: `${label} figures of ${target}`,
        reason: "",
        runId: "r",
      };
    });
}

describe("runBisect over commits", () => {
  const ids = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"];
  const commits = new Map(
    ids.map((id, i) => [`git:${id}`, { id: `${id}${"0".repeat(38)}`, subject: `commit ${i}` }]),
  );
  const candidates = [...commits.keys()];
  const plan = { candidates, good: "git:c7", bad: "git:c0", commits };

  it("skips a commit that does not build and names the first that flips, with id and subject", async () => {
    const tested: string[] = [];
    const table: Record<string, Row> = {
      "git:c0": "exhaustion",
      "git:c1": "exhaustion",
      "git:c2": "exhaustion",
      "git:c3": "build-failed",
      "git:c4": "exhaustion",
      "git:c5": "stable",
      "git:c6": "stable",
      "git:c7": "stable",
    };
    const said: string[] = [];
    const { steps, outcome, note } = await runBisect(plan, tableTester(table, tested), (l) => said.push(l));
    expect(outcome).toMatchObject({ kind: "found", last: "git:c4", first: "git:c5", direction: "fix" });
    expect(note).toBeUndefined();
    expect(steps.find((s) => s.target === "git:c3")).toMatchObject({
      outcome: null,
      label: null,
      side: "skip",
      reason: "image build for it failed",
    });
    expect(steps.find((s) => s.target === "git:c5")).toMatchObject({
      outcome: "no-bug",
      label: "stable",
      side: "good",
      subject: "commit 5",
      summary: "stable figures of git:c5",
    });
    expect(tested.length).toBeLessThan(ids.length);
    expect(describeOutcome(outcome, plan, commits)).toBe(
      `c50000000 ("commit 5") is the first commit without the bug: it gives no-bug (stable), the one before it, c40000000 ("commit 4"), gives bug (exhaustion); the fix is commit c5${"0".repeat(38)}`,
    );
    // Each step's line, then the range still to search and the steps it may take: not a count of
    // every untested commit.
    expect(said[0]).toMatch(
      /^step 1: c00000000 commit 0 +exhaustion \(bug\) +bad +exhaustion figures of git:c0$/,
    );
    expect(said[1]).toMatch(
      /^step 1: c70000000 commit 7 +stable \(no-bug\) +good +stable figures of git:c7$/,
    );
    expect(said[2]).toBe(
      "        still to search: c00000000 .. c70000000, 6 untested commit(s) between: about 3 more step(s)",
    );
    expect(said.find((l) => l.startsWith("step 2:"))).toMatch(
      /^step 2: c30000000 commit 3 +build failed +skipped +image build/,
    );
    expect(said.join("\n")).not.toMatch(/\d+ left/);
  });

  it("an end that does not build stops the search in one line", async () => {
    const table: Record<string, Row> = { "git:c0": "build-failed", "git:c7": "stable" };
    const error = await runBisect(plan, tableTester(table, [])).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/--bad git:c0 cannot be tested/);
  });

  it("only skipped commits at the flip give an ambiguous outcome naming them", async () => {
    const table: Record<string, Row> = {
      "git:c0": "exhaustion",
      "git:c1": "exhaustion",
      "git:c2": "exhaustion",
      "git:c3": "exhaustion",
      "git:c4": "build-failed",
      "git:c5": "inconclusive",
      "git:c6": "stable",
      "git:c7": "stable",
    };
    const { outcome } = await runBisect(plan, tableTester(table, []));
    expect(outcome).toEqual({
      kind: "ambiguous",
      last: "git:c3",
      first: "git:c6",
      skipped: ["git:c4", "git:c5"],
    });
    expect(describeOutcome(outcome, plan, commits)).toContain('c40000000 ("commit 4")');
  });

  it("ends that contradict their names are said once, after the first step, and the search goes on", async () => {
    const swapped = { ...plan, good: "git:c0", bad: "git:c7" };
    const table: Record<string, Row> = Object.fromEntries(
      candidates.map((t, i) => [t, i < 5 ? ("exhaustion" as const) : ("stable" as const)]),
    );
    const said: string[] = [];
    const { outcome, note } = await runBisect(swapped, tableTester(table, []), (l) => said.push(l));
    expect(outcome).toMatchObject({ kind: "found", last: "git:c4", first: "git:c5", direction: "fix" });
    expect(note).toMatch(
      /^note: --good git:c0 gives bug \(exhaustion\) and --bad git:c7 gives no-bug \(stable\)/,
    );
    expect(said.filter((l) => l.startsWith("note:"))).toEqual([note]);
    expect(said.indexOf(note ?? "")).toBe(2);
  });
});

describe("bisect over releases names never-run releases instead of a flip in the gap", () => {
  const table = ["4.0.0", "4.0.1", "4.0.2", "4.0.13", "4.0.14", "5.0.0"];
  const bug = { outcome: "bug" as const, label: "exhaustion" };
  const fine = { outcome: "no-bug" as const, label: "stable" };
  it("a flip between two measured releases with unmeasured ones between is a gap", () => {
    const found = {
      kind: "found" as const,
      last: "4.0.0",
      first: "4.0.14",
      from: bug,
      to: fine,
      direction: "fix" as const,
    };
    const outcome = withUntestedGap(found, table);
    expect(outcome).toEqual({ ...found, kind: "untested-gap", untested: ["4.0.1", "4.0.2", "4.0.13"] });
    const words = describeOutcome(outcome, { good: "4.0.14", bad: "4.0.0" });
    expect(words).toContain("3 release(s) before 4.0.14 on its line were never run (4.0.1, 4.0.2, 4.0.13)");
    expect(words).not.toContain("landed in 4.0.14");
  });

  it("adjacent releases stay a found flip", () => {
    const found = {
      kind: "found" as const,
      last: "4.0.14",
      first: "5.0.0",
      from: bug,
      to: fine,
      direction: "fix" as const,
    };
    expect(withUntestedGap(found, table)).toEqual(found);
  });

  it("lists only releases on the newer end's line: 6.2.17 … 6.2.23 are not between 6.2.16 and 7.0.15", () => {
    const full = [
      "6.2.15",
      "6.2.16",
      ...Array.from({ length: 7 }, (_, i) => `6.2.${17 + i}`),
      "7.0-rc1",
      "7.0-rc2",
      "7.0-rc3",
      ...Array.from({ length: 16 }, (_, i) => `7.0.${i}`),
      "7.2.0",
    ];
    const found = {
      kind: "found" as const,
      last: "6.2.16",
      first: "7.0.15",
      from: bug,
      to: fine,
      direction: "fix" as const,
    };
    const outcome = withUntestedGap(found, full);
    if (outcome.kind !== "untested-gap") throw new Error(`expected a gap, got ${outcome.kind}`);
    expect(outcome.untested).toEqual([
      "7.0-rc1",
      "7.0-rc2",
      "7.0-rc3",
      ...Array.from({ length: 15 }, (_, i) => `7.0.${i}`),
    ]);
    const words = describeOutcome(outcome, { good: "7.0.15", bad: "6.2.16" });
    expect(words).not.toMatch(/6\.2\.1[7-9]|6\.2\.2\d/);
    expect(words).toContain("18 release(s) before 7.0.15 on its line were never run (7.0-rc1, ");
  });
});

describe("bisectRunExit (git bisect run)", () => {
  it("hunting a regression: no bug is good, the bug bad, unknown or no build cannot test", () => {
    expect(bisectRunExit("no-bug", false)).toBe(0);
    expect(bisectRunExit("bug", false)).toBe(1);
    expect(bisectRunExit("unknown", false)).toBe(125);
    expect(bisectRunExit("build-failed", false)).toBe(125);
  });

  it("hunting a fix (--fix): the bug is the old side (0), no bug the new (1)", () => {
    expect(bisectRunExit("bug", true)).toBe(0);
    expect(bisectRunExit("no-bug", true)).toBe(1);
    expect(bisectRunExit("unknown", true)).toBe(125);
    expect(bisectRunExit("build-failed", true)).toBe(125);
  });
});

describe("commits of a clone (a real, tiny git repository)", () => {
  let repo: ScratchRepo;
  const ids: string[] = [];
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-commits-"));
    repo = new ScratchRepo(dir);
    await repo.git("init", "-q", "-b", "main");
    for (const n of [0, 1, 2]) {
      await repo.append("notes.txt", `line ${n}\n`);
      ids.push(await repo.commit(`commit ${n}`));
    }
    await repo.git("checkout", "-q", "-b", "side", ids[1] ?? "");
    await repo.append("side.txt", "side\n");
    ids.push(await repo.commit("side commit"));
    await repo.git("checkout", "-q", "main");
    await repo.git("merge", "-q", "--no-ff", "-m", "merge side", "side");
    ids.push(await repo.git("rev-parse", "HEAD"));
  });
  afterAll(() => rm(repo.dir, { recursive: true, force: true }));

  it("lists the commits from either end, oldest first, first-parent unless asked otherwise", async () => {
    const gitDir = await resolveGitDir(repo.dir);
    const plan = await commitCandidates(gitDir, "main", ids[0] ?? "");
    expect(plan.candidates).toEqual([ids[0], ids[1], ids[2], ids[4]].map((id) => `git:${id}`));
    expect(plan.good).toBe(`git:${ids[4]}`);
    expect(plan.commits.get(`git:${ids[2]}`)?.subject).toBe("commit 2");
    const full = await commitCandidates(gitDir, ids[0] ?? "", "main", false);
    expect(full.candidates).toHaveLength(5);
  });

  it("refuses ends on different lines of history, offering their merge-base; an unknown ref; no clone", async () => {
    const gitDir = await resolveGitDir(repo.dir);
    const [main2, side, base] = [ids[2] ?? "", ids[3] ?? "", (ids[1] ?? "").slice(0, 12)];
    const apart = await commitCandidates(gitDir, main2, side).catch((e: Error) => e);
    expect(apart).toBeInstanceOf(UserError);
    expect((apart as Error).message).toBe(
      `--good ${main2} and --bad ${side} are on different lines of history (neither is an ancestor of the other); their merge-base is ${base} ("commit 1") (git merge-base): use it in place of the end on the other line, --good ${base} --bad ${side} or --good ${main2} --bad ${base}`,
    );
    // The merge-base offered works as an end.
    expect((await commitCandidates(gitDir, main2, base)).candidates).toEqual(
      [ids[1], ids[2]].map((id) => `git:${id}`),
    );
    const merged = await commitCandidates(gitDir, ids[3] ?? "", "main").catch((e: Error) => e);
    expect((merged as Error).message).toMatch(/not on the first-parent line .* add --full-history/);
    expect((await commitCandidates(gitDir, ids[3] ?? "", "main", false)).candidates[0]).toBe(`git:${ids[3]}`);
    const unknown = await commitCandidates(gitDir, "no-such-tag", "main").catch((e: Error) => e);
    expect(unknown).toBeInstanceOf(UserError);
    expect((unknown as Error).message).toMatch(/no-such-tag is not a commit in/);
    const notGit = await resolveGitDir(tmpdir()).catch((e: Error) => e);
    expect((notGit as Error).message).toMatch(/is not a git repository/);
    const none = await resolveGitDir(undefined).catch((e: Error) => e);
    expect((none as Error).message).toMatch(/--git-dir DIR or set REDIS_REPRO_GIT/);
  });

  it("resolves a bare clone's git directory as given and a work tree's .git", async () => {
    expect(await resolveGitDir(repo.dir)).toBe(join(repo.dir, ".git"));
    const bare = `${repo.dir}-bare.git`;
    await repo.git("clone", "-q", "--bare", repo.dir, bare);
    expect(await resolveGitDir(bare)).toBe(bare);
    expect((await resolveCommit(bare, "main")).id).toBe(ids[4]);
    await rm(bare, { recursive: true, force: true });
  });
});
