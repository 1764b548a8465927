import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../harness/core/errors.js";
import { projectRoot } from "../../harness/core/paths.js";
import { REPORT_FORMAT, Report, rawBaseNames } from "../../harness/report/model.js";
import { readReport } from "../../harness/report/read.js";
import { hostPathsIn, scrubText } from "../../harness/report/scrub.js";
import { renderSummary } from "../../harness/report/summary.js";
import { prepareReportDir, writeReport } from "../../harness/report/write.js";
import { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { decidedRun } from "../helpers/decided.js";

const scenario = await loadScenario("aof-auto-rewrite-enomem");
/** The recorded seed run, decided by the scenario's own checker (fd-leak: facts, summary and a plot). */
const seedRun = () => decidedRun("seed-3.2.8-vs-fix.json", scenario.checker);
const base = await mkdtemp(join(tmpdir(), "redis-repro-report-unit-"));
afterAll(() => rm(base, { recursive: true, force: true }));
let count = 0;
const freshDir = () => join(base, `r${++count}`);

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function userError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  const message = (error as UserError).message;
  expect(message).not.toContain("\n");
  return message;
}

describe("a report folder written from the recorded seed run", async () => {
  const run = seedRun();
  const dir = freshDir();
  const written = await writeReport(dir, run, scenario);

  it("holds report.md, report.json, the chart, the scenario and raw files per target", async () => {
    const names = (await allFiles(dir)).map((f) => f.slice(dir.length + 1)).sort();
    expect(names).toEqual([...written.files].sort());
    expect(names).toEqual(
      [
        "chart.svg",
        "raw/3.2.8+fix-aof-pipe-leak.attempts.csv",
        "raw/3.2.8+fix-aof-pipe-leak.events.csv",
        "raw/3.2.8+fix-aof-pipe-leak.log.txt",
        "raw/3.2.8+fix-aof-pipe-leak.series.csv",
        "raw/3.2.8.attempts.csv",
        "raw/3.2.8.events.csv",
        "raw/3.2.8.log.txt",
        "raw/3.2.8.series.csv",
        "report.json",
        "report.md",
        "scenario.json",
      ].sort(),
    );
    expect(written.files.at(-1)).toBe("report.json");
    expect(written.chartBytes).toBe(Buffer.byteLength(await readFile(join(dir, "chart.svg"))));
  });

  it("report.json reads back under the schema and `report show` prints what `run` printed", async () => {
    const data = JSON.parse(await readFile(join(dir, "report.json"), "utf8"));
    const parsed = Report.parse(data);
    expect(parsed.format).toBe("redis-repro-report/2");
    expect(REPORT_FORMAT).toBe("redis-repro-report/2");
    expect(parsed.run).toEqual(RunResult.parse(run));
    expect(renderSummary((await readReport(dir)).run)).toBe(renderSummary(run));
    expect(parsed.targets.map((t) => [t.target, t.checker, t.outcome, t.label])).toEqual([
      ["3.2.8", "fd-leak", "bug", "exhaustion"],
      ["3.2.8+fix-aof-pipe-leak", "fd-leak", "no-bug", "stable"],
    ]);
    expect(parsed.targets[0]?.facts[0]).toEqual({ name: "failed forks", value: "31" });
    expect(parsed.chartNote).toBeNull();
  });

  it("the raw files hold every log line, reading, event and attempt", async () => {
    const leaky = run.results[0];
    if (!leaky) throw new Error("no result");
    const log = await readFile(join(dir, "raw/3.2.8.log.txt"), "utf8");
    expect(log).toBe(`${leaky.history.logs.main?.join("\n")}\n`);
    const series = (await readFile(join(dir, "raw/3.2.8.series.csv"), "utf8")).trim().split("\n");
    expect(series[0]).toBe("t_ms,series,value,text");
    const points = Object.values(leaky.history.series).reduce((n, p) => n + p.length, 0);
    expect(series).toHaveLength(points + 1);
    // The last fd reading of 3.2.8: 194 open, the highest 193.
    expect(series.filter((l) => l.split(",")[1] === "fds.total").at(-1)).toBe("3484,fds.total,194,");
    // A refused client's error rides in the text column.
    expect(series).toContain("3489,connect.ok,0,Connection is closed.");
    const events = await readFile(join(dir, "raw/3.2.8.events.csv"), "utf8");
    expect(events.split("\n")[0]).toBe("t_ms,node,kind,name,value,what,errno,line");
    expect(events).toContain("0,main,limit,nofile,1024,,,");
    // A log line with a comma is quoted, not split.
    expect(events).toContain(
      '194,main,started,,,,,"1:M 26 Nov 14:08:27.097 # Server started, Redis version 3.2.8"',
    );
    const attempts = (await readFile(join(dir, "raw/3.2.8.attempts.csv"), "utf8")).trim().split("\n");
    expect(attempts[0]).toBe("t_ms,line");
    expect(attempts).toHaveLength(32);
  });

  it("scenario.json is the scenario as run, loadable by the harness", async () => {
    const loaded = await loadScenario(join(dir, "scenario.json"));
    expect(loaded.name).toBe(scenario.name);
    expect(loaded.data).toEqual({ name: scenario.name, ...scenario.data });
  });

  it("names no directory of this machine", async () => {
    for (const file of await allFiles(dir)) {
      const text = await readFile(file, "utf8");
      expect(hostPathsIn(text), file).toEqual([]);
      expect(text, file).not.toContain(dir);
    }
  });

  it("is replaced whole when written again with other targets, and without a plot", async () => {
    const one: RunResult = structuredClone(run);
    one.results = one.results.slice(1);
    for (const r of one.results) delete r.decision.plot;
    await writeReport(dir, one, scenario);
    expect(await readdir(join(dir, "raw"))).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/^3\.2\.8\.(log|series)/)]),
    );
    expect(await readdir(dir)).not.toContain("chart.svg");
    const back = await readReport(dir);
    expect(back.run.results.map((r) => r.target)).toEqual(["3.2.8+fix-aof-pipe-leak"]);
    expect(back.files.chart).toBeNull();
    expect(back.chartNote).toBe("No chart: the decision of fd-leak names no series to plot.");
  });
});

describe("secrets and host paths are scrubbed", () => {
  it("a tarball path becomes its file name; URLs stay whole", () => {
    expect(scrubText("from /srv/cache/redis/redis-3.2.8.tar.gz (sha1)", [])).toBe(
      "from redis-3.2.8.tar.gz (sha1)",
    );
    expect(scrubText("https://download.redis.io/releases/redis-3.2.8.tar.gz", [])).toBe(
      "https://download.redis.io/releases/redis-3.2.8.tar.gz",
    );
  });

  it("credentials in URLs and Redis passwords are masked", () => {
    expect(scrubText("tcp://admin:s3cret@engine:2376", [])).toBe("tcp://***@engine:2376");
    expect(scrubText("--requirepass hunter2 --masterauth=x9", [])).toBe("--requirepass *** --masterauth=***");
  });

  it("home, working directory, project and temp are named, never spelled out", () => {
    const dirs = [
      { path: "/home/alice/work/redis-repro", shownAs: "<redis-repro>" },
      { path: "/home/alice", shownAs: "~" },
    ];
    expect(scrubText("/home/alice/s.json and /home/alice/work/redis-repro/docker", dirs)).toBe(
      "~/s.json and <redis-repro>/docker",
    );
    // Only whole components: /home/alicex is someone else.
    expect(scrubText("/home/alicex/a", dirs)).toBe("/home/alicex/a");
    expect(hostPathsIn("see /home/alice", dirs)).toEqual(["/home/alice"]);
  });

  it("a run carrying such strings is written without them", async () => {
    const dirty: RunResult = structuredClone(seedRun());
    const leaky = dirty.results[0];
    if (!leaky) throw new Error("no result");
    const tarball = join(homedir(), ".cache/redis-repro/sources/redis-3.2.8.tar.gz");
    dirty.command = `npx redis-repro run --scenario ${join(process.cwd(), "my-scenario.json")} --target 3.2.8`;
    leaky.decision.reason = `built from ${tarball}; log in ${join(projectRoot, "x.log")} and ${join(tmpdir(), "y")}`;
    leaky.history.logs.main?.push("1:M # redis://default:topsecret@127.0.0.1:6379 requirepass hunter2");
    const dir = freshDir();
    const { report } = await writeReport(dir, dirty, scenario);
    expect(report.rerun.command).toBe("npx redis-repro run --scenario scenario.json --target 3.2.8");
    expect(report.files.script).toBeNull();
    expect(report.rerun.note).toContain("scenario.json");
    expect(report.targets[0]?.reason).toContain("built from redis-3.2.8.tar.gz;");
    for (const file of await allFiles(dir)) {
      const text = await readFile(file, "utf8");
      expect(hostPathsIn(text), file).toEqual([]);
      for (const secret of ["topsecret", "hunter2", tarball]) expect(text, file).not.toContain(secret);
    }
  });
});

describe("report folders a user can get wrong", () => {
  it("refuses a file, and a folder of other things, before any run", async () => {
    const file = join(base, "a-file");
    await writeFile(file, "x");
    expect(await userError(prepareReportDir(file))).toContain("that is a file, not a folder");
    const busy = freshDir();
    await mkdir(busy);
    await writeFile(join(busy, "notes.txt"), "mine");
    expect(await userError(prepareReportDir(busy))).toContain("holds other files and no report.json");
    expect(await readFile(join(busy, "notes.txt"), "utf8")).toBe("mine");
  });

  it("accepts a new folder, an empty one, and an earlier report", async () => {
    const fresh = freshDir();
    expect(await prepareReportDir(fresh)).toBe(fresh);
    expect(await prepareReportDir(fresh)).toBe(fresh);
  });

  it("report show: a folder without report.json, bad JSON, another format, a broken report", async () => {
    const missing = freshDir();
    expect(await userError(readReport(missing))).toBe(
      `no report.json in ${missing}: give the folder that \`redis-repro run --report DIR\` wrote`,
    );
    const dir = freshDir();
    await mkdir(dir);
    await writeFile(join(dir, "report.json"), "{nope");
    expect(await userError(readReport(dir))).toMatch(
      /report\.json is not JSON \(.*\): write the report again/,
    );
    await writeFile(join(dir, "report.json"), JSON.stringify({ format: "redis-repro-report/9" }));
    expect(await userError(readReport(dir))).toContain("is a redis-repro-report/9 report");
    await writeFile(join(dir, "report.json"), JSON.stringify({ format: REPORT_FORMAT, title: "x" }));
    expect(await userError(readReport(dir))).toMatch(/is not a redis-repro report: \w+: /);
  });

  it("gives raw files distinct, safe names for any target", () => {
    expect(rawBaseNames(["image:ghcr.io/x/redis:7", "image:ghcr.io/x/redis:7", "..", "3.2.8+fix"])).toEqual([
      "image_ghcr.io_x_redis_7",
      "image_ghcr.io_x_redis_7-2",
      "_",
      "3.2.8+fix",
    ]);
  });
});

describe("a report of a scenario given as a script", async () => {
  const scripts = await mkdtemp(join(tmpdir(), "redis-repro-script-"));
  afterAll(() => rm(scripts, { recursive: true, force: true }));
  const file = join(scripts, "my-bug.mjs");
  const text = [
    "// A user's scenario: a step and a checker of their own, which scenario.json cannot hold.",
    "export default {",
    '  name: "my-bug",',
    '  description: "a user scenario",',
    "  redis: { appendonly: true, maxclients: 64 },",
    '  limits: { memory: "64m", pids: 64, nofile: 1024 },',
    '  fault: "seccomp-enomem",',
    "  workload: [async function poke(client) { await client.ping(); }],",
    '  checker: { name: "mine", decide: () => ({ checker: "mine", outcome: "bug", label: "seen", reason: "r", summary: "", facts: [], evidence: {} }) },',
    "  budgets: { attempts: 30, timeLimitSeconds: 60 },",
    '  targets: ["3.2.8"],',
    "};",
    "",
  ].join("\n");
  await writeFile(file, text);
  const script = await loadScenario(file);
  const digest = createHash("sha256").update(text).digest("hex");
  const run: RunResult = structuredClone(seedRun());
  run.scenario = "my-bug";
  run.command = `npx redis-repro run --scenario ${file} --target 3.2.8 --target 3.2.8+fix-aof-pipe-leak`;

  it("copies the script beside the report with its digest and points the rerun command at the copy", async () => {
    const dir = freshDir();
    const { report, files } = await writeReport(dir, run, script);
    expect(files).toContain("scenario.mjs");
    expect(await readFile(join(dir, "scenario.mjs"), "utf8")).toBe(text);
    expect(report.files.script).toEqual({ file: "scenario.mjs", sha256: digest });
    expect(report.rerun.command).toBe(
      "npx redis-repro run --scenario scenario.mjs --target 3.2.8 --target 3.2.8+fix-aof-pipe-leak",
    );
    expect(report.rerun.note).toContain(`scenario.mjs beside this report is a copy of it (sha256 ${digest})`);
    const md = await readFile(join(dir, "report.md"), "utf8");
    expect(md).toContain("--scenario scenario.mjs");
    expect(md).toContain(`\`scenario.mjs\`: the scenario script, sha256 \`${digest}\``);
    // scenario.json says it is a record, and is not taken for a runnable scenario.
    const record = JSON.parse(await readFile(join(dir, "scenario.json"), "utf8"));
    expect(record.$comment).toMatch(
      /^A record of the scenario script scenario\.mjs \(sha256 [0-9a-f]{64}\) as data: .* cannot run/,
    );
    expect(record.workload).toEqual([{ step: "script", name: "poke" }]);
    await expect(loadScenario(join(dir, "scenario.json"))).rejects.toThrow(UserError);
    // The copy runs: it loads as the same scenario, with the same digest.
    const again = await loadScenario(join(dir, "scenario.mjs"));
    expect(again.name).toBe("my-bug");
    expect(again.source.sha256).toBe(digest);
  });

  it("a script changed since the run loaded it is refused in one line: the report would not ship what ran", async () => {
    await writeFile(file, `${text}// edited\n`);
    const message = await userError(writeReport(freshDir(), run, script));
    expect(message).toMatch(
      /^the scenario script .*my-bug\.mjs changed since the run loaded it \(sha256 [0-9a-f]{12}… then, [0-9a-f]{12}… now\)/,
    );
    await writeFile(file, text);
  });
});
