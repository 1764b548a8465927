import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { MatrixResult } from "../campaigns/matrix.js";
import { type Merged, mergeMatrix, mergeSweep, type Part } from "../campaigns/merge.js";
import { SweepResult } from "../campaigns/sweep.js";
import { errorText, UserError } from "../core/errors.js";
import { progress } from "../core/progress.js";
import { matrixJunit, renderMatrix } from "../report/matrix.js";
import { renderSweep, sweepJunit } from "../report/sweep.js";
import { type Input, printJson } from "./command.js";

type Loaded = { kind: "matrix"; part: Part<MatrixResult> } | { kind: "sweep"; part: Part<SweepResult> };

/** One file as a matrix or sweep result; undefined when it is JSON of something else (folders hold other files). */
async function load(file: string): Promise<Loaded | undefined> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, "utf8"));
  } catch (error) {
    throw new UserError(
      `${file}: not readable JSON (${errorText(error).split("\n")[0]}): give --json results of matrix or sweep`,
    );
  }
  const sweep = SweepResult.safeParse(data);
  if (sweep.success) return { kind: "sweep", part: { file, result: sweep.data } };
  const matrix = MatrixResult.safeParse(data);
  if (matrix.success) return { kind: "matrix", part: { file, result: matrix.data } };
  return undefined;
}

async function jsonFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return jsonFiles(path);
      return Promise.resolve(e.name.endsWith(".json") ? [path] : []);
    }),
  );
  return nested.flat().sort();
}

export async function run({ values, args }: Input): Promise<number> {
  const loaded: Loaded[] = [];
  for (const arg of args) {
    const info = await stat(arg).catch(() => undefined);
    if (!info) throw new UserError(`${arg}: no such file or folder: give --json results of matrix or sweep`);
    if (info.isDirectory()) {
      const found = (await Promise.all((await jsonFiles(arg)).map(load))).filter((l) => l !== undefined);
      if (!found.length) throw new UserError(`${arg}: no matrix or sweep result (*.json) in this folder`);
      loaded.push(...found);
    } else {
      const one = await load(arg);
      if (!one) throw new UserError(`${arg}: neither a matrix nor a sweep result (write them with --json)`);
      loaded.push(one);
    }
  }
  const kinds = new Set(loaded.map((l) => l.kind));
  if (kinds.size > 1) {
    const sweep = loaded.find((l) => l.kind === "sweep")?.part.file;
    const matrix = loaded.find((l) => l.kind === "matrix")?.part.file;
    throw new UserError(`${sweep} is a sweep's result and ${matrix} a matrix's: merge one kind at a time`);
  }
  progress(`[merge] ${loaded.length} result(s): ${loaded.map((l) => l.part.file).join(" ")}`);
  let merged: Merged<MatrixResult> | Merged<SweepResult>;
  let junit: string;
  let text: string;
  let ok: boolean;
  if (kinds.has("sweep")) {
    const m = mergeSweep(loaded.flatMap((l) => (l.kind === "sweep" ? [l.part] : [])));
    [merged, junit, text, ok] = [m, sweepJunit(m.result), renderSweep(m.result), m.result.clean];
  } else {
    const m = mergeMatrix(loaded.flatMap((l) => (l.kind === "matrix" ? [l.part] : [])));
    [merged, junit, text, ok] = [m, matrixJunit(m.result), renderMatrix(m.result), m.result.ok];
  }
  if (typeof values.junit === "string") {
    const file = resolve(values.junit);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, junit);
    progress(`[merge] JUnit XML → ${file}`);
  }
  // What the merged result lacks goes under the table, or (with --json, stdout being only JSON) to stderr.
  const lacks = merged.problems.map((p) => `${p}\n`).join("");
  if (values.json) {
    printJson(merged.result);
    process.stderr.write(lacks);
  } else process.stdout.write(text + lacks);
  return ok ? 0 : 1;
}
