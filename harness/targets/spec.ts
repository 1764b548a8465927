import { z } from "zod";
import { UserError } from "../core/errors.js";

/**
 * A target names what runs: a Redis release built from verified sources, a commit of a local clone, a
 * working tree as it is (each optionally with patches), or an image the user brings. Grammar:
 *   3.2.8 | redis@3.2.8 | 3.2.8+fix-aof-pipe-leak[+other] | image:redis:3.2.8
 *   git:REF[+patch…] (tag, branch or commit of --git-dir) | dir:PATH[+patch…]
 *   deb:PACKAGE/VERSION[@SUITE][+patch…] (redis or valkey as Debian's archive carries its source)
 */
export const versionPattern = /^\d+\.\d+(?:\.\d+)?(?:-(?:rc|m)\d+)?$/;
export const patchNamePattern = /^[a-z0-9][a-z0-9-]*$/;
/** What git accepts as a revision, less a leading "-" (never an option) and "+" (patches follow it). */
export const gitRefPattern = /^[A-Za-z0-9_./~^@{}][A-Za-z0-9_./~^@{}-]*$/;
/** Debian's package names for the servers the harness runs (targets/debian.ts reads their sources). */
export const debPackages = ["redis", "valkey"] as const;
/** A suite as Debian's archive names it under dists/: sid, trixie, trixie-backports, experimental… */
export const suitePattern = /^[a-z][a-z0-9-]*$/;

export const TargetSpec = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("release"),
    version: z.string().regex(versionPattern),
    patches: z.array(z.string().regex(patchNamePattern)),
  }),
  z.object({ kind: z.literal("image"), image: z.string().min(1) }),
  z.object({
    kind: z.literal("git"),
    ref: z.string().regex(gitRefPattern),
    patches: z.array(z.string().regex(patchNamePattern)),
  }),
  z.object({
    kind: z.literal("dir"),
    path: z.string().min(1),
    patches: z.array(z.string().regex(patchNamePattern)),
  }),
  z.object({
    kind: z.literal("deb"),
    package: z.enum(debPackages),
    /** Upstream's version (no epoch, Debian revision or repack suffix). */
    version: z.string().regex(versionPattern),
    /** Where to look; absent: the newest suite that has it (targets/debian.ts DEFAULT_SUITES). */
    suite: z.string().regex(suitePattern).optional(),
    patches: z.array(z.string().regex(patchNamePattern)),
  }),
]);
export type TargetSpec = z.infer<typeof TargetSpec>;

export function parseTarget(input: string): TargetSpec {
  const text = input.trim();
  if (text.startsWith("image:")) {
    const image = text.slice("image:".length);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/.test(image)) {
      throw new UserError(
        `malformed target "${input}": after "image:" give an image reference such as redis:3.2.8`,
      );
    }
    return { kind: "image", image };
  }
  if (text.startsWith("deb:")) return parseDebTarget(input, text.slice("deb:".length));
  for (const kind of ["git", "dir"] as const) {
    if (!text.startsWith(`${kind}:`)) continue;
    const [head = "", ...patches] = text.slice(kind.length + 1).split("+");
    checkPatchNames(input, patches);
    if (kind === "dir") {
      if (!head) throw new UserError(`malformed target "${input}": after "dir:" give a path, e.g. dir:.`);
      return { kind, path: head, patches };
    }
    if (!gitRefPattern.test(head) || head.includes(".."))
      throw new UserError(
        `malformed target "${input}": after "git:" give one commit, tag or branch (e.g. git:3.2.8 or git:b83f9fe)`,
      );
    return { kind, ref: head, patches };
  }
  const [head = "", ...patches] = text.replace(/^redis@/, "").split("+");
  if (!versionPattern.test(head)) {
    throw new UserError(
      `malformed target "${input}": expected VERSION[+patch…] (e.g. 3.2.8+fix-aof-pipe-leak), git:REF, dir:PATH, deb:PACKAGE/VERSION or image:REF`,
    );
  }
  checkPatchNames(input, patches);
  return { kind: "release", version: head, patches };
}

function parseDebTarget(input: string, rest: string): TargetSpec {
  const [head = "", ...patches] = rest.split("+");
  const match = /^([a-z0-9-]+)\/([^@]+)(?:@(.+))?$/.exec(head);
  const usage = `malformed target "${input}": expected deb:PACKAGE/VERSION[@SUITE][+patch…] (e.g. deb:redis/8.0.6 or deb:valkey/8.1.1@trixie)`;
  if (!match) throw new UserError(usage);
  const [, pkg = "", version = "", suite] = match;
  if (!(debPackages as readonly string[]).includes(pkg))
    throw new UserError(
      `malformed target "${input}": the package must be ${debPackages.join(" or ")}, the servers the harness runs`,
    );
  if (!versionPattern.test(version))
    throw new UserError(
      `malformed target "${input}": "${version}" is not an upstream version (give it without epoch, Debian revision or repack suffix, e.g. 8.1.1 for 8.1.1+dfsg1-3)`,
    );
  if (suite !== undefined && !suitePattern.test(suite))
    throw new UserError(`${usage}; "${suite}" is not a suite name`);
  const repack = patches.find((p) => /^(dfsg|ds)\d*(-|$)/.test(p));
  if (repack)
    throw new UserError(
      `malformed target "${input}": "+${repack}" is Debian's repack suffix, not a patch name: name the upstream version alone, e.g. deb:${pkg}/${version}`,
    );
  checkPatchNames(input, patches);
  return {
    kind: "deb",
    package: pkg as (typeof debPackages)[number],
    version,
    ...(suite ? { suite } : {}),
    patches,
  };
}

function checkPatchNames(input: string, patches: string[]): void {
  for (const patch of patches) {
    if (!patchNamePattern.test(patch)) {
      throw new UserError(
        `malformed target "${input}": patch name "${patch}" must be lower-case letters, digits and dashes`,
      );
    }
  }
  if (new Set(patches).size !== patches.length) {
    throw new UserError(`malformed target "${input}": a patch is named twice`);
  }
}

export function formatTarget(spec: TargetSpec): string {
  switch (spec.kind) {
    case "image":
      return `image:${spec.image}`;
    case "release":
      return [spec.version, ...spec.patches].join("+");
    case "git":
      return [`git:${spec.ref}`, ...spec.patches].join("+");
    case "dir":
      return [`dir:${spec.path}`, ...spec.patches].join("+");
    case "deb":
      return [
        `deb:${spec.package}/${spec.version}${spec.suite ? `@${spec.suite}` : ""}`,
        ...spec.patches,
      ].join("+");
  }
}

/** A deb: target without its suite: the name its measured verdicts are kept under (catalogue). */
export function debKey(spec: Extract<TargetSpec, { kind: "deb" }>): string {
  return `deb:${spec.package}/${spec.version}`;
}

/** Orders release versions numerically, pre-releases (rc, m) before the release they lead to. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = "", pre] = v.split("-");
    const nums = core.split(".").map(Number);
    while (nums.length < 3) nums.push(0);
    return { nums, pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d !== 0) return d;
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, "en", { numeric: true });
}

/** A zod refinement's check that versions are sorted and unique (release table, catalogue). */
export function checkSortedVersions(
  versions: string[],
  addIssue: (issue: { code: "custom"; path: (string | number)[]; message: string }) => void,
): void {
  versions.forEach((version, i) => {
    const previous = versions[i - 1];
    if (previous !== undefined && compareVersions(previous, version) >= 0)
      addIssue({
        code: "custom",
        path: ["releases", i, "version"],
        message: `${version} must come after ${previous} (sorted, no duplicates)`,
      });
  });
}
