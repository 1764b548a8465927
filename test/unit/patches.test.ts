import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserError } from "../../harness/core/errors.js";
import {
  availablePatches,
  checkPatches,
  loadPatches,
  type Patch,
  parseAppliesTo,
  resolvePatchName,
  strippedPath,
} from "../../harness/targets/patches.js";
import { userError } from "../helpers/errors.js";

describe("resolvePatchName", () => {
  const available = ["fix-aof-pipe-leak", "fix-aof-other", "limit-clients"];

  it("returns an exact name", () => {
    expect(resolvePatchName("fix-aof-pipe-leak", available)).toBe("fix-aof-pipe-leak");
  });

  it("returns the one patch a prefix names", () => {
    expect(resolvePatchName("fix-aof-p", available)).toBe("fix-aof-pipe-leak");
    expect(resolvePatchName("limit", available)).toBe("limit-clients");
  });

  it("prefers an exact name over a longer name it prefixes", () => {
    expect(resolvePatchName("fix", ["fix", "fix-more"])).toBe("fix");
  });

  it("refuses an ambiguous prefix, listing the candidates", () => {
    const error = userError(() => resolvePatchName("fix", available));
    expect(error.message).toContain("is ambiguous (fix-aof-pipe-leak, fix-aof-other)");
  });

  it("refuses an unknown name, listing the known patches", () => {
    const error = userError(() => resolvePatchName("nope", available));
    expect(error.message).toContain('patch "nope" does not exist');
    expect(error.message).toContain("known patches are fix-aof-pipe-leak, fix-aof-other, limit-clients");
  });

  it("says none when there are no patches", () => {
    expect(userError(() => resolvePatchName("fix", [])).message).toContain("known patches are none");
  });
});

describe("parseAppliesTo", () => {
  it("reads the range from the header", () => {
    expect(parseAppliesTo("Some text.\nApplies to: 3.2.0 .. 3.2.8\n\n--- a/x\n")).toEqual({
      from: "3.2.0",
      to: "3.2.8",
    });
    expect(parseAppliesTo("Applies to:8.0-m01..8.0.1")).toEqual({ from: "8.0-m01", to: "8.0.1" });
  });

  it("is undefined without a header line", () => {
    expect(parseAppliesTo("--- a/src/aof.c\n+++ b/src/aof.c\n")).toBeUndefined();
    expect(parseAppliesTo("Applies to: 3.2.0\n")).toBeUndefined();
    expect(parseAppliesTo("It applies to: 3.2.0 .. 3.2.8 only")).toBeUndefined();
  });
});

describe("loadPatches on docker/patches", () => {
  it("lists fix-aof-pipe-leak", async () => {
    expect(await availablePatches()).toContain("fix-aof-pipe-leak");
  });

  it("loads fix-aof-pipe-leak: one file, src/aof.c, for 3.2.0..3.2.8", async () => {
    const [patch] = await loadPatches(["fix-aof-pipe-leak"]);
    expect(patch?.name).toBe("fix-aof-pipe-leak");
    expect(patch?.files).toHaveLength(1);
    expect(patch?.files.map(strippedPath)).toEqual(["src/aof.c"]);
    expect(patch?.appliesTo).toEqual({ from: "3.2.0", to: "3.2.8" });
    expect(patch?.text).toContain("+            aofClosePipes();");
  });

  it("resolves a unique prefix to the full name", async () => {
    const [patch] = await loadPatches(["fix-aof"]);
    expect(patch?.name).toBe("fix-aof-pipe-leak");
  });

  it("refuses an unknown patch", async () => {
    await expect(loadPatches(["no-such-patch"])).rejects.toThrow(UserError);
  });

  describe("in a temporary patches folder", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "redis-repro-patches-"));
      await writeFile(join(dir, "empty.patch"), "Just prose, no diff.\n");
      await writeFile(join(dir, "notes.txt"), "not a patch");
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("only .patch files are patches", async () => {
      expect(await availablePatches(dir)).toEqual(["empty"]);
    });

    it("refuses a patch without hunks", async () => {
      await expect(loadPatches(["empty"], dir)).rejects.toThrow(/holds no diff hunks/);
    });

    it("a missing folder has no patches", async () => {
      expect(await availablePatches(join(dir, "missing"))).toEqual([]);
    });
  });
});

/**
 * A stand-in for redis 3.2.8's src/aof.c: the patch's context lines inside some surrounding code, at
 * other line numbers than the hunk header says (the real file is much longer).
 */
const before = [
  '#include "server.h"',
  "",
  "int rewriteAppendOnlyFileBackground(void) {",
  "    pid_t childpid;",
  "    long long start;",
  "",
  "    if (server.aof_child_pid != -1 || server.rdb_child_pid != -1) return C_ERR;",
  "    if (aofCreatePipes() != C_OK) return C_ERR;",
  "    start = ustime();",
  "    if ((childpid = fork()) == 0) {",
  "        /* Child */",
  "    } else {",
  "        /* Parent */",
  "        if (childpid == -1) {",
  "            serverLog(LL_WARNING,",
  '                "Can\'t rewrite append only file in background: fork: %s",',
  "                strerror(errno));",
  "            return C_ERR;",
  "        }",
  "        serverLog(LL_NOTICE,",
  '            "Background append only file rewriting started by pid %d",childpid);',
  "    }",
  "    return C_OK;",
  "}",
  "",
].join("\n");

const fixed = before.replace(
  "                strerror(errno));\n",
  "                strerror(errno));\n            aofClosePipes();\n",
);

describe("checkPatches", () => {
  let patch: Patch;
  beforeAll(async () => {
    const [loaded] = await loadPatches(["fix-aof-pipe-leak"]);
    if (!loaded) throw new Error("fix-aof-pipe-leak did not load");
    patch = loaded;
  });

  const files = (aof: string | undefined) =>
    new Map<string, Buffer>(aof === undefined ? [] : [["src/aof.c", Buffer.from(aof)]]);

  it("the stand-in really differs from the fixed file by the added line", () => {
    expect(fixed).not.toBe(before);
    expect(fixed.split("\n")).toHaveLength(before.split("\n").length + 1);
  });

  it.each(["3.2.0", "3.2.5", "3.2.8"])("applies to redis %s", (version) => {
    expect(() => checkPatches(version, [patch], files(before))).not.toThrow();
  });

  it("applies with no patches at all, even without files", () => {
    expect(() => checkPatches("3.2.8", [], files(undefined))).not.toThrow();
  });

  it("refuses a release that already has the change", () => {
    const error = userError(() => checkPatches("3.2.8", [patch], files(fixed)));
    expect(error.message).toContain("patch fix-aof-pipe-leak is already in redis 3.2.8 (src/aof.c)");
  });

  it("refuses a file without the patch's context", () => {
    const other = before.replace("strerror(errno));", "strerror(errno), extra);");
    const error = userError(() => checkPatches("3.2.8", [patch], files(other)));
    expect(error.message).toContain("patch fix-aof-pipe-leak does not apply to redis 3.2.8 (src/aof.c)");
    expect(error.message).toContain("docker/patches/fix-aof-pipe-leak.patch");
  });

  it("refuses a release outside the patch's range even where its context matches", () => {
    for (const version of ["7.0.15", "3.2.9", "3.0.7", "3.2.0-rc3"]) {
      const error = userError(() => checkPatches(version, [patch], files(before)));
      expect(error.message).toContain(`written for redis 3.2.0..3.2.8, not ${version}`);
    }
  });

  it("refuses a release without the file", () => {
    const error = userError(() => checkPatches("3.2.8", [patch], files(undefined)));
    expect(error.message).toContain("it changes src/aof.c, which the release does not have");
  });

  it("applies patches in order: the same patch twice finds its change already made", () => {
    const error = userError(() => checkPatches("3.2.8", [patch, { ...patch, name: "again" }], files(before)));
    expect(error.message).toContain("patch again is already in redis 3.2.8");
  });
});
