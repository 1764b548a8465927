import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isUserError } from "../../harness/core/errors.js";
import { Event } from "../../harness/core/history.js";
import { scenariosDir } from "../../harness/core/paths.js";
import { parseLogLine } from "../../harness/parts/probes/log.js";
import { loadScenario, parseScenario } from "../../harness/scenario/index.js";
import { compareVersions, formatTarget, parseTarget, type TargetSpec } from "../../harness/targets/spec.js";

/**
 * Properties over inputs nobody wrote by hand (fast-check): what users feed the harness gives a
 * result or one line naming the problem, never a stack; pure parts keep their laws on any input.
 * Generic on purpose: scenario files are edited at random, not built from the schema's fields.
 */

/** Calls `f`; a UserError must be one line; any other throw fails the property. */
function resultOrUserError<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (error) {
    if (!isUserError(error)) throw error;
    expect(error.message).not.toMatch(/\n/);
    expect(error.message.length).toBeGreaterThan(0);
    return undefined;
  }
}

async function realScenarios(): Promise<unknown[]> {
  const files = (await readdir(scenariosDir)).filter((f) => f.endsWith(".json"));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(join(scenariosDir, f), "utf8"))));
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value inside a JSON document. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(value.flatMap((v, i) => paths(v, [...prefix, i])));
  if (value && typeof value === "object")
    return here.concat(Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k])));
  return here;
}

type Edit = { kind: "delete" | "set" | "add"; pick: number; value: Json; key: string };

/** One edit of a document at the path chosen by `pick`: delete it, replace it, or add a key beside it. */
function applyEdit(doc: Json, edit: Edit): Json {
  const all = paths(doc).filter((p) => p.length > 0);
  const path = all[edit.pick % Math.max(1, all.length)];
  if (!path) return edit.value;
  const copy = structuredClone(doc);
  let parent: Json = copy;
  for (const step of path.slice(0, -1)) parent = (parent as Record<string, Json>)[step as string] ?? null;
  const last = path.at(-1) as string | number;
  if (parent === null || typeof parent !== "object") return copy;
  const target = parent as Record<string | number, Json>;
  if (edit.kind === "delete") {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete target[last];
  } else if (edit.kind === "set") target[last] = edit.value;
  else if (!Array.isArray(parent)) target[edit.key] = edit.value;
  return copy;
}

const editArb: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom("delete", "set", "add"),
  pick: fc.nat(),
  value: fc.jsonValue() as fc.Arbitrary<Json>,
  key: fc.string({ maxLength: 12 }),
});

describe("scenario loader", () => {
  it("random JSON: a scenario or a one-line UserError", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (data) => {
        resultOrUserError(() => parseScenario(data, "fuzz.json"));
      }),
      { numRuns: 500 },
    );
  });

  it("random edits of the real scenario files: a valid scenario or a one-line UserError", async () => {
    const scenarios = (await realScenarios()) as Json[];
    expect(scenarios.length).toBeGreaterThan(0);
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: scenarios.length - 1 }),
        fc.array(editArb, { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          const edited = edits.reduce(applyEdit, scenarios[which] as Json);
          const scenario = resultOrUserError(() => parseScenario(edited, "edited.json"));
          if (scenario) {
            accepted++;
            // What the loader accepts is a whole scenario: parsing its data again gives the same data.
            expect(parseScenario(JSON.parse(JSON.stringify(scenario.data)), "again.json").data).toEqual(
              scenario.data,
            );
          } else refused++;
        },
      ),
      { numRuns: 1000 },
    );
    // Both sides were exercised: edits that keep a scenario valid and edits that break it.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });

  it("random file contents (not JSON, truncated JSON, edited JSON): loadScenario never throws anything else", async () => {
    const dir = await mkdtemp(join(tmpdir(), "redis-repro-fuzz-"));
    const real = await readFile(join(scenariosDir, "aof-auto-rewrite-enomem.json"), "utf8");
    const texts = fc.oneof(
      fc.string(),
      fc.nat({ max: real.length }).map((n) => real.slice(0, n)),
      fc
        .tuple(fc.nat({ max: real.length }), fc.string({ maxLength: 5 }))
        .map(([n, s]) => real.slice(0, n) + s + real.slice(n + 1)),
    );
    let i = 0;
    try {
      await fc.assert(
        fc.asyncProperty(texts, async (text) => {
          const file = join(dir, `s${i++}.json`);
          await writeFile(file, text);
          try {
            await loadScenario(file);
          } catch (error) {
            if (!isUserError(error)) throw error;
            expect(error.message).not.toMatch(/\n/);
          }
        }),
        { numRuns: 200 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const versionArb = fc
  .tuple(
    fc.nat({ max: 12 }),
    fc.nat({ max: 12 }),
    fc.option(fc.nat({ max: 40 }), { nil: undefined }),
    fc.option(fc.tuple(fc.constantFrom("rc", "m"), fc.nat({ max: 9 })), { nil: undefined }),
  )
  .map(
    ([a, b, c, pre]) =>
      `${a}.${b}${c === undefined ? "" : `.${c}`}${pre ? `-${pre[0]}${pre[0] === "m" ? `0${pre[1]}` : pre[1]}` : ""}`,
  );

describe("target parsing", () => {
  it("any string: a target or a one-line UserError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        resultOrUserError(() => parseTarget(text));
      }),
      { numRuns: 2000 },
    );
  });

  it("strings made of target characters: the same", () => {
    const chars = fc.constantFrom(..."0123456789.+-:/@abcfimrxegs ".split(""));
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 30 }).map((a) => a.join("")),
        (text) => {
          resultOrUserError(() => parseTarget(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("formatTarget and parseTarget round-trip every valid release target", () => {
    const patch = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,15}$/);
    const spec = fc
      .tuple(versionArb, fc.uniqueArray(patch, { maxLength: 3 }))
      .map(([version, patches]): TargetSpec => ({ kind: "release", version, patches }));
    fc.assert(
      fc.property(spec, (s) => {
        expect(parseTarget(formatTarget(s))).toEqual(s);
      }),
    );
  });
});

describe("compareVersions is a total order", () => {
  const sign = (n: number) => Math.sign(n) || 0;
  it("reflexive and antisymmetric", () => {
    fc.assert(
      fc.property(versionArb, versionArb, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(sign(compareVersions(a, b))).toBe(-sign(compareVersions(b, a)));
      }),
      { numRuns: 1000 },
    );
  });

  it("transitive, and sorting is stable whatever the input order", () => {
    fc.assert(
      fc.property(fc.array(versionArb, { minLength: 3, maxLength: 12 }), (versions) => {
        const sorted = [...versions].sort(compareVersions);
        for (let i = 0; i + 1 < sorted.length; i++)
          for (let j = i + 1; j < sorted.length; j++)
            expect(compareVersions(sorted[i] as string, sorted[j] as string)).toBeLessThanOrEqual(0);
        const again = [...versions].reverse().sort(compareVersions);
        expect(again.map((v) => sorted.findIndex((s) => compareVersions(s, v) === 0))).toEqual(
          sorted.map((v) => sorted.findIndex((s) => compareVersions(s, v) === 0)),
        );
      }),
      { numRuns: 500 },
    );
  });

  it("a pre-release comes before its release, and a missing patch number is .0", () => {
    fc.assert(
      fc.property(fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.nat({ max: 9 }), (a, b, n) => {
        expect(compareVersions(`${a}.${b}.0-rc${n}`, `${a}.${b}.0`)).toBeLessThan(0);
        expect(compareVersions(`${a}.${b}`, `${a}.${b}.0`)).toBe(0);
      }),
    );
  });
});

describe("log parser", () => {
  const fragments = [
    "Can't rewrite append only file in background: fork: ",
    "Can't save in background: fork: ",
    "Error opening /setting AOF rewrite IPC pipes: ",
    "Error registering fd event for the new client: ",
    "Server started, Redis version ",
    "Redis version=",
    "ready to accept connections",
    "Background append only file rewriting started by pid ",
  ];
  const line = fc.oneof(
    fc.string(),
    fc.string({ unit: "grapheme" }),
    fc
      .tuple(fc.string({ maxLength: 30 }), fc.constantFrom(...fragments), fc.string({ maxLength: 30 }))
      .map(([a, f, b]) => a + f + b),
  );

  it("random lines never throw; an event keeps the line and time and fits the schema", () => {
    fc.assert(
      fc.property(line, fc.nat(), (text, t) => {
        const event = parseLogLine(text, t);
        if (event === undefined) return;
        expect(event.line).toBe(text);
        expect(event.t).toBe(t);
        expect(Event.safeParse(event).success).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

// The checkers' properties are in checker-properties.test.ts.
