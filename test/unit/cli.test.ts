import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_CONCURRENCY as matrixMax } from "../../harness/campaigns/matrix.js";
import { BASE_MODES, commands, DEFAULT_SCENARIO, FAULTS, MAX_CONCURRENCY } from "../../harness/cli/index.js";
import { checkAdvice, commandHelp, mainHelp, parseCommandLine } from "../../harness/cli/spec.js";
import { ExitCode, UserError } from "../../harness/core/errors.js";
import { projectRoot } from "../../harness/core/paths.js";
import { FaultName } from "../../harness/parts/faults/index.js";
import { DEFAULT_SCENARIO as scenarioDefault } from "../../harness/scenario/index.js";
import { BaseMode } from "../../harness/targets/bases.js";
import { userError } from "../helpers/errors.js";

const parse = (...argv: string[]) => parseCommandLine(commands, argv, "9.9.9");
const command = (...argv: string[]) => {
  const parsed = parse(...argv);
  if (parsed.kind !== "command") throw new Error(`expected a command, got ${parsed.kind}`);
  return parsed;
};

describe("command line: one table for parser and help", () => {
  it("bisect-run refuses a mistyped option with 128, which stops git bisect run; 2 would mark the commit bad", () => {
    const refusal = (...argv: string[]) => userError(() => parse(...argv));
    expect(refusal("bisect-run", "--fixx")).toMatchObject({
      exitCode: 128,
      message: expect.stringMatching(/--fixx/),
    });
    expect(refusal("bisect-run", "extra")).toMatchObject({ exitCode: 128 });
    expect(refusal("run", "--fixx")).toMatchObject({ exitCode: ExitCode.usage });
    const spec = commands.find((c) => c.name === "bisect-run");
    if (!spec) throw new Error("no bisect-run command");
    const help = commandHelp(spec);
    expect(help).toMatch(/128 any\s+other failure/);
    expect(help).not.toMatch(/2 usage error/);
  });

  it("takes targets as arguments in every command that takes targets, --target as an alias", () => {
    expect(command("run", "7.0.15").input.args).toEqual(["7.0.15"]);
    expect(command("run", "3.2.8", "--target", "7.0.15").input.args).toEqual(["3.2.8", "7.0.15"]);
    expect(command("matrix", "3.2.0..3.2.13", "--target", "7.0.15").input.args).toEqual([
      "3.2.0..3.2.13",
      "7.0.15",
    ]);
    expect(command("images", "build", "--target", "3.2.8").input.args).toEqual(["3.2.8"]);
  });

  it("refuses what a command does not take, naming it and the help to read", () => {
    expect(userError(() => parse("images", "ls", "7.0.15")).message).toBe(
      'images ls takes no arguments, not "7.0.15": run `redis-repro images ls --help`',
    );
    expect(userError(() => parse("bisect", "3.2.8")).message).toMatch(/^bisect takes no arguments/);
    expect(userError(() => parse("report", "show", "a", "b")).message).toMatch(
      /takes DIR only, not also "b"/,
    );
    expect(userError(() => parse("run", "--colour")).message).toMatch(
      /^run: Unknown option '--colour': run `redis-repro run --help`$/,
    );
    expect(userError(() => parse("images", "ls", "--rebuild")).message).toMatch(/Unknown option '--rebuild'/);
    expect(userError(() => parse("run", "--fault", "cosmic-ray")).message).toBe(
      '--fault must be one of seccomp-enomem, pids-limit, none, not "cosmic-ray"',
    );
    expect(userError(() => parse("images", "build")).message).toMatch(/^images build needs TARGET…/);
    expect(userError(() => parse("images")).message).toBe(
      "images needs a subcommand: build, ls, releases, debian, bases: run `redis-repro images --help`",
    );
    expect(userError(() => parse("frobnicate")).exitCode).toBe(ExitCode.usage);
  });

  it("answers --version, --help, help CMD and CMD --help", () => {
    expect(parse("--version")).toEqual({ kind: "version" });
    expect(parse("-V")).toEqual({ kind: "version" });
    const main = parse("--help");
    expect(main.kind === "help" && main.exitCode).toBe(0);
    const bare = parse();
    expect(bare.kind === "help" && bare.exitCode).toBe(ExitCode.usage);
    for (const spec of commands) {
      const words = spec.name.split(" ");
      for (const argv of [
        [...words, "--help"],
        ["help", ...words],
      ]) {
        const parsed = parse(...argv);
        expect(parsed.kind === "help" && parsed.text).toBe(commandHelp(spec));
      }
    }
  });

  it("help lists every argument, option and choice the parser takes, and every command", () => {
    const main = mainHelp(commands, "9.9.9");
    for (const spec of commands) {
      expect(main).toContain(spec.name);
      const help = commandHelp(spec);
      for (const [name, option] of Object.entries(spec.options)) {
        expect(help).toContain(`--${name}`);
        for (const choice of option.choices ?? []) expect(help).toContain(choice);
        // …and the parser takes it.
        const value = option.type === "string" ? [option.choices?.[0] ?? "x"] : [];
        const argv = [
          ...spec.name.split(" "),
          `--${name}`,
          ...value,
          ...(spec.args?.some((a) => a.required) ? ["A"] : []),
        ];
        expect(parse(...argv).kind).toBe("command");
      }
      for (const arg of spec.args ?? []) expect(help).toContain(arg.name);
    }
  });

  it("keeps the table's copies of harness values equal to the harness's own", () => {
    expect(DEFAULT_SCENARIO).toBe(scenarioDefault);
    expect([...FAULTS]).toEqual(FaultName.options);
    expect([...BASE_MODES]).toEqual(BaseMode.options);
    expect(MAX_CONCURRENCY).toBe(matrixMax);
  });

  it("every command's code loads and exports its handler", async () => {
    for (const spec of commands) expect(typeof (await spec.load())).toBe("function");
  });

  it("the help path loads no heavy dependency (they load with the command that needs them)", () => {
    // Every module cli.ts imports statically, followed through relative imports: only node: built-ins
    // may come from outside the project.
    const seen = new Set<string>();
    const outside = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/^import (?!type )[^;]*? from "([^"]+)";$/gms)) {
        const spec = m[1] ?? "";
        if (spec.startsWith(".")) visit(join(dirname(file), spec.replace(/\.js$/, ".ts")));
        else if (!spec.startsWith("node:")) outside.add(spec);
      }
    };
    visit(join(projectRoot, "harness", "cli.ts"));
    expect([...outside]).toEqual([]);
    expect(seen.size).toBeGreaterThan(3);
  });

  it("an error's kind decides its exit code: usage 2, environment 3", () => {
    expect(new UserError("x").exitCode).toBe(2);
    expect(new UserError("x", "environment").exitCode).toBe(3);
  });
});

/** Files whose text quotes `redis-repro …` commands to users: messages, scripts, docs. */
function adviceFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  const under = (dir: string) => {
    try {
      return walk(join(projectRoot, dir));
    } catch {
      return [];
    }
  };
  return [
    ...under("harness"),
    ...under("scripts"),
    ...under("bench"),
    ...under("docs"),
    ...under("test/integration"),
    join(projectRoot, "README.md"),
  ].filter((f) => /\.(ts|sh|md)$/.test(f));
}

describe("advice names commands that exist", () => {
  it("every `redis-repro …` quoted in messages, scripts and docs is a real command with real options", () => {
    const problems = adviceFiles().flatMap((file) =>
      checkAdvice(commands, readFileSync(file, "utf8")).map((p) => `${relative(projectRoot, file)}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it("the check is live: it catches the advice that once named a nonexistent option", () => {
    expect(checkAdvice(commands, "run `redis-repro images bases --offline` as root")).toEqual([
      "`redis-repro images bases --offline`: images bases has no option --offline",
    ]);
    expect(checkAdvice(commands, "then `npx redis-repro frobnicate`")).toHaveLength(1);
    expect(checkAdvice(commands, "`redis-repro images build 3.2.8 --bases offline`")).toEqual([]);
    expect(checkAdvice(commands, "```\nnpx redis-repro matrix --colour\n```")).toHaveLength(1);
  });
});
