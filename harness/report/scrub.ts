import { homedir, tmpdir } from "node:os";
import { projectRoot } from "../core/paths.js";

/**
 * A report is pasted into public issues: it must not carry secrets or say where things live on the
 * machine that made it. Results hold neither today (sources are named by how they were verified,
 * logs come from inside the container), but errors and user-given paths can bring some in, so every
 * string of a report passes through here.
 */
export interface HostDir {
  path: string;
  /** What the directory is shown as: relative names, or a placeholder that tells the reader what it was. */
  shownAs: string;
}

/** The machine's directories that may appear in results: home, working directory, project, temp. */
export function hostDirs(): HostDir[] {
  const dirs: HostDir[] = [
    { path: homedir(), shownAs: "~" },
    { path: process.cwd(), shownAs: "." },
    { path: projectRoot, shownAs: "<redis-repro>" },
    { path: tmpdir(), shownAs: "<tmp>" },
  ];
  const seen = new Set<string>();
  return (
    dirs
      .map((d) => ({ ...d, path: d.path.replace(/\/+$/, "") }))
      // "/" (root's cwd in a container) would match every absolute path, including the container's own.
      .filter((d) => d.path.length > 1 && !seen.has(d.path) && seen.add(d.path))
      // The longest first: the project inside home is named as the project.
      .sort((a, b) => b.path.length - a.path.length)
  );
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const urlCredentials = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi;
const redisSecrets = /\b(requirepass|masterauth)(\s+|=)("[^"]*"|'[^']*'|\S+)/gi;
// An absolute path to a source tarball: the file name says everything a reader needs.
// Not inside a URL or a longer path: nothing path-like (or "scheme:") just before it.
const tarballPath =
  /(?<![\w.~/:-])(?:\/[^\s/'"`()<>]+)+\/([^\s/'"`()<>]+\.(?:tar\.gz|tgz|tar\.xz|tar\.bz2|tar))\b/g;

/** The directory as a whole path: not inside a URL or a longer path, and ending at a component boundary. */
function dirPattern(dir: HostDir, flags = ""): RegExp {
  return new RegExp(`(?<![\\w.~/-])${escapeRegExp(dir.path)}(?=/|$|[\\s'"\`)<>:;,])`, flags);
}

export function scrubText(text: string, dirs: HostDir[] = hostDirs()): string {
  let out = text
    .replace(urlCredentials, "$1***@")
    .replace(redisSecrets, "$1$2***")
    .replace(tarballPath, "$1");
  for (const dir of dirs) {
    // Whole components only: /rootfs must not turn into ~fs when home is /root.
    out = out.replace(dirPattern(dir, "g"), dir.shownAs);
  }
  return out;
}

/** Every string in a JSON-like value, scrubbed; structure and non-strings untouched. */
export function scrubDeep<T>(value: T, dirs: HostDir[] = hostDirs()): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return scrubText(v, dirs);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object")
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [scrubText(k, dirs), walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** The host directories a text still names: what a test (or a careful user) checks a report for. */
export function hostPathsIn(text: string, dirs: HostDir[] = hostDirs()): string[] {
  return dirs.filter((d) => dirPattern(d).test(text)).map((d) => d.path);
}
