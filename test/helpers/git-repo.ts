import { appendFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";

/**
 * A small git repository made in a test from a release tarball: no clone of upstream needed. Commits
 * carry a fixed author and date so their ids do not depend on the machine or the clock.
 */
export class ScratchRepo {
  constructor(readonly dir: string) {}

  async git(...args: string[]): Promise<string> {
    const result = await execa("git", ["-C", this.dir, ...args], {
      env: {
        GIT_AUTHOR_NAME: "redis-repro test",
        GIT_AUTHOR_EMAIL: "test@redis-repro.invalid",
        GIT_COMMITTER_NAME: "redis-repro test",
        GIT_COMMITTER_EMAIL: "test@redis-repro.invalid",
        GIT_AUTHOR_DATE: "2017-02-12T00:00:00Z",
        GIT_COMMITTER_DATE: "2017-02-12T00:00:00Z",
      },
    });
    return String(result.stdout).trim();
  }

  /** Commits every change in the tree with `subject`; returns the full commit id. */
  async commit(subject: string): Promise<string> {
    await this.git("add", "-A");
    await this.git("commit", "-q", "--no-verify", "-m", subject);
    return this.git("rev-parse", "HEAD");
  }

  async edit(path: string, change: (text: string) => string): Promise<void> {
    const file = join(this.dir, path);
    await writeFile(file, change(await readFile(file, "utf8")));
  }

  async append(path: string, text: string): Promise<void> {
    await mkdir(join(this.dir, path, ".."), { recursive: true });
    await appendFile(join(this.dir, path), text);
  }
}

/** Unpacks a release tarball into `dir` (its top folder stripped) and, with `init`, commits it. */
export async function treeFromTarball(tarball: string, dir: string, init: boolean): Promise<ScratchRepo> {
  await mkdir(dir, { recursive: true });
  await execa("tar", ["-xzf", tarball, "-C", dir, "--strip-components=1"]);
  const repo = new ScratchRepo(dir);
  if (init) {
    await repo.git("init", "-q", "-b", "main");
    await repo.commit("Redis release, as in its tarball");
  }
  return repo;
}
