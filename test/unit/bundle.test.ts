import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../harness/core/paths.js";
import { LAZY, LAZY_RUNTIME } from "../../scripts/bundle.js";

/**
 * The bundled CLI (dist/cli, built by npm run build with scripts/bundle.ts): what each command
 * loads, read from esbuild's metafile, and the lazy stand-ins' way to their real modules.
 */
const dir = join(projectRoot, "dist", "cli");
interface Output {
  imports: { path: string; kind: string }[];
  inputs: Record<string, { bytesInOutput: number }>;
  entryPoint?: string;
}
const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8")) as { outputs: Record<string, Output> };

/** Inputs of every chunk an output loads statically (what runs before the code in it can). */
function staticInputs(output: string): string[] {
  const seen = new Set<string>();
  const visit = (o: string) => {
    if (seen.has(o)) return;
    seen.add(o);
    for (const i of meta.outputs[o]?.imports ?? [])
      if (i.kind === "import-statement" && meta.outputs[i.path]) visit(i.path);
  };
  visit(output);
  return [...seen].flatMap((o) => Object.keys(meta.outputs[o]?.inputs ?? {}));
}

const outputOf = (source: string) => {
  const found = Object.keys(meta.outputs).find((o) =>
    Object.keys(meta.outputs[o]?.inputs ?? {}).some((i) => i.endsWith(source)),
  );
  if (!found) throw new Error(`no output holds ${source}`);
  return found;
};

describe("the bundled CLI", () => {
  it("--help loads the entry and the command table only: no dependency at all", () => {
    const entry = Object.keys(meta.outputs).find((o) =>
      meta.outputs[o]?.entryPoint?.endsWith("harness/cli.ts"),
    );
    expect(entry).toBeDefined();
    const inputs = staticInputs(entry as string);
    expect(inputs.filter((i) => i.includes("node_modules/"))).toEqual([]);
    expect(inputs.some((i) => i.endsWith("harness/cli/index.ts"))).toBe(true);
  });

  it("a run loads neither the lazy modules nor what only builds and git targets need", () => {
    const inputs = staticInputs(outputOf("harness/cli/run.ts"));
    expect(inputs.some((i) => i.includes("node_modules/testcontainers/"))).toBe(true);
    // A stand-in is an input named lazy:…; the real module is not in the bundle at all.
    for (const absent of [
      "undici",
      "@grpc/grpc-js",
      "protobufjs",
      "ssh2",
      "archiver",
      "yaml",
      "execa",
      "tar-stream",
    ])
      expect(
        inputs.filter((i) => !i.startsWith("lazy:") && i.includes(`node_modules/${absent}/`)),
        absent,
      ).toEqual([]);
    expect(inputs.filter((i) => i.startsWith("lazy:")).length).toBeGreaterThan(0);
  });

  it("every lazy stand-in reaches its real module from the bundle's folder, through its package chain", () => {
    const text = readdirSync(dir)
      .filter((f) => f.endsWith(".js"))
      .map((f) => readFileSync(join(dir, f), "utf8"))
      .join("\n");
    const calls = [...text.matchAll(/load\((\[[^\]]*\]), ("[^"]+")\)/g)].map((m) => ({
      chain: JSON.parse(m[1] as string) as string[],
      spec: JSON.parse(m[2] as string) as string,
    }));
    // Each LAZY entry is used somewhere (a name no dependency requires any more would be dead weight).
    for (const l of LAZY) {
      const used = calls.some(
        (c) => c.spec === l.module || c.spec.replace(/\.js$/, "").endsWith(l.module.slice(1)),
      );
      expect(used, l.module).toBe(true);
    }
    const runtime: { load(chain: string[], spec: string): unknown } = { load: () => undefined };
    // The runtime as the bundle has it, with the require a chunk in dist/cli has.
    new Function("require", "exports", LAZY_RUNTIME)(createRequire(join(dir, "cli.js")), runtime);
    for (const { chain, spec } of calls) {
      const real = runtime.load(chain, spec);
      expect(["object", "function"], `${chain.join(" → ")} → ${spec}`).toContain(typeof real);
    }
  });
});
