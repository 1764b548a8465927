/**
 * The command line as a bundle (dist/cli/, the package's bin): what a command loads is read from a
 * few files instead of about 1700 (testcontainers, dockerode, ioredis, zod and theirs), and what it
 * never uses on its way is not run at all. Usage: node dist/scripts/bundle.js (npm run build does it).
 *
 * - ESM with code splitting: each command's dynamic import stays a chunk of its own, so `--help`
 *   loads only the entry and the command table (test/unit/bundle.test.ts checks it).
 * - Lazy modules: some dependencies are required at load time by code the harness never calls
 *   (BuildKit sessions over gRPC, SSH transports, HTTP wait strategies, compose, archives). Each is
 *   replaced by a stand-in that loads the real module from node_modules the first time it is used,
 *   so it still works if it ever is; the real ones are not in the bundle. They were 1265 of the 1709
 *   modules a run loaded, and 3 of the bundle's 4.6 MB.
 * - tsx (TypeScript scenario files) stays outside: it loads from node_modules when a script needs it.
 */
import { readFileSync, realpathSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";
import { projectRoot } from "../harness/core/paths.js";

const outdir = join(projectRoot, "dist", "cli");

/** A module name as required, and (for a relative name) the package whose file requires it. */
export const LAZY: { module: string; from?: string; why: string }[] = [
  { module: "undici", why: "testcontainers' HTTP wait strategy" },
  { module: "archiver", why: "testcontainers' copying of files into containers" },
  { module: "tar-fs", why: "testcontainers' image builds from a folder" },
  { module: "docker-compose", why: "testcontainers' compose environments (and yaml with it)" },
  { module: "ssh-remote-port-forward", why: "testcontainers' host port forwarding (and ssh2)" },
  { module: "proper-lockfile", why: "testcontainers' lock around Ryuk (off here)" },
  { module: "./ssh", from: "docker-modem", why: "DOCKER_HOST=ssh:// transport (and ssh2)" },
  { module: "./session", from: "dockerode", why: "BuildKit sessions (gRPC, protobuf)" },
  { module: "./buildkit", from: "dockerode", why: "BuildKit's protobuf messages" },
];

/**
 * The stand-in's runtime: `lazy` makes the proxy; `load` requires the real module the way its own
 * package would, by walking from one of redis-repro's dependencies down the chain of packages that
 * leads to the one that required it (wherever npm put them: hoisted or nested).
 */
export const LAZY_RUNTIME = `
var createRequire = require("node:module").createRequire;
function packageRequire(from, name) {
  var main = from.resolve(name);
  var marker = "/node_modules/" + name + "/";
  var at = main.lastIndexOf(marker);
  if (at < 0) throw new Error("lazy module: cannot find the package folder of " + name + " in " + main);
  return createRequire(main.slice(0, at + marker.length) + "package.json");
}
exports.load = function load(chain, spec) {
  var from = require;
  for (var i = 0; i < chain.length; i++) from = packageRequire(from, chain[i]);
  return from(spec);
};
exports.lazy = function lazy(load, esModule) {
  var real;
  var get = function () { return real === undefined ? (real = load()) : real; };
  return new Proxy(function () {}, {
    get: function (_, key) { return key === "__esModule" ? esModule || undefined : get()[key]; },
    set: function (_, key, value) { get()[key] = value; return true; },
    has: function (_, key) { return key in get(); },
    apply: function (_, self, args) { return Reflect.apply(get(), self, args); },
    construct: function (_, args) { return Reflect.construct(get(), args); },
  });
};
`;

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** The folder of the package a file belongs to (the last node_modules/NAME/ in its path), and its name. */
function packageOf(file: string): { dir: string; name: string } | undefined {
  const match = /^(.*\/node_modules\/((?:@[^/]+\/)?[^/]+))\//.exec(file);
  return match ? { dir: match[1] as string, name: match[2] as string } : undefined;
}

/**
 * The chain of package names from one of redis-repro's dependencies down to `target` (breadth
 * first over each package's dependencies, as installed here).
 */
function dependencyChain(target: string): string[] {
  const read = (dir: string): PackageJson =>
    JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
  const deps = (pkg: PackageJson) => Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
  const dirOf = (name: string, from: string): string | undefined => {
    try {
      const main = createRequire(join(from, "package.json")).resolve(name);
      return packageOf(main)?.name === name ? packageOf(main)?.dir : undefined;
    } catch {
      return undefined;
    }
  };
  const queue: { dir: string; chain: string[] }[] = deps(read(projectRoot)).flatMap((name) => {
    const dir = dirOf(name, projectRoot);
    return dir ? [{ dir, chain: [name] }] : [];
  });
  const seen = new Set<string>();
  while (queue.length) {
    const { dir, chain } = queue.shift() as { dir: string; chain: string[] };
    if (chain.at(-1) === target) return chain;
    if (seen.has(dir)) continue;
    seen.add(dir);
    for (const name of deps(read(dir))) {
      const next = dirOf(name, dir);
      if (next) queue.push({ dir: next, chain: [...chain, name] });
    }
  }
  throw new Error(`bundle: ${target} is not reached from redis-repro's dependencies`);
}

/**
 * The LAZY modules become stand-ins, and the real ones stay out of the bundle (they are installed
 * with testcontainers anyway): loaded from node_modules only if used.
 */
function lazyModules(): Plugin {
  const requireHere = createRequire(import.meta.url);
  return {
    name: "lazy-modules",
    setup(b) {
      b.onResolve({ filter: /^lazy-runtime$/ }, () => ({ path: "lazy-runtime", namespace: "lazy-runtime" }));
      b.onLoad({ filter: /.*/, namespace: "lazy-runtime" }, () => ({ contents: LAZY_RUNTIME, loader: "js" }));
      b.onResolve({ filter: /.*/ }, async (args) => {
        // Its own resolve of the real module (below) comes back here: let esbuild answer that one.
        if (args.kind !== "require-call" || args.pluginData?.real) return undefined;
        const entry = LAZY.find(
          (l) => l.module === args.path && (!l.from || args.importer.includes(`/node_modules/${l.from}/`)),
        );
        if (!entry) return undefined;
        const real = await b.resolve(args.path, {
          resolveDir: args.resolveDir,
          kind: "require-call",
          pluginData: { real: true },
        });
        if (real.errors.length) return { errors: real.errors };
        const importer = packageOf(args.importer);
        if (!importer) return { errors: [{ text: `${args.importer} is not in node_modules` }] };
        // Relative names are required from the importing package's folder; package names from it too.
        const spec = args.path.startsWith(".") ? `./${relative(importer.dir, real.path)}` : args.path;
        return {
          path: real.path,
          namespace: "lazy",
          pluginData: { chain: dependencyChain(importer.name), spec },
        };
      });
      b.onLoad({ filter: /.*/, namespace: "lazy" }, (args) => {
        const { chain, spec } = args.pluginData as { chain: string[]; spec: string };
        // Whether the real module says it is an ES module decides how TypeScript's helpers wrap it.
        const esModule = (requireHere(args.path) as { __esModule?: boolean }).__esModule === true;
        const load = `require("lazy-runtime").load(${JSON.stringify(chain)}, ${JSON.stringify(spec)})`;
        return {
          contents: `module.exports = require("lazy-runtime").lazy(function () { return ${load}; }, ${esModule});`,
          loader: "js",
        };
      });
    },
  };
}

export async function bundle(): Promise<void> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: { cli: join(projectRoot, "harness", "cli.ts") },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    outdir,
    // Beside the entry: paths.ts finds the project root from dist/cli/ (docker/, scenarios/, package.json).
    chunkNames: "[name]-[hash]",
    // Native add-ons (ssh2's optional crypto) stay out: their require is in a try, with a JS fallback.
    external: ["tsx", "tsx/*", "v8-compile-cache", "*.node"],
    define: { "process.env.REDIS_REPRO_BUNDLE": '"1"' },
    // Bundled CommonJS code calls require() for Node's built-ins and reads __dirname.
    banner: {
      js: [
        'import { createRequire as __rrRequire } from "node:module";',
        'import { fileURLToPath as __rrPath } from "node:url";',
        'import { dirname as __rrDir } from "node:path";',
        "const require = __rrRequire(import.meta.url);",
        "const __filename = __rrPath(import.meta.url);",
        "const __dirname = __rrDir(__filename);",
      ].join(" "),
    },
    plugins: [lazyModules()],
    metafile: true,
    logLevel: "warning",
  });
  await writeFile(join(outdir, "meta.json"), JSON.stringify(result.metafile));
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await bundle();
