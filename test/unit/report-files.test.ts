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
import { seedRun } from "../helpers/fixture.js";

const scenario = await loadScenario("aof-auto-rewrite-enomem");
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
      expect.arrayContaining([
        "report.md",
        "report.json",
        "fds.svg",
        "scenario.json",
        "raw/3.2.8.log.txt",
        "raw/3.2.8.samples.csv",
        "raw/3.2.8+fix-aof-pipe-leak.events.csv",
        "raw/3.2.8+fix-aof-pipe-leak.probes.csv",
      ]),
    );
    expect(written.files.at(-1)).toBe("report.json");
  });

  it("report.json reads back under the schema and `report show` prints what `run` printed", async () => {
    const data = JSON.parse(await readFile(join(dir, "report.json"), "utf8"));
    const parsed = Report.parse(data);
    expect(parsed.format).toBe(REPORT_FORMAT);
    expect(parsed.run).toEqual(RunResult.parse(run));
    expect(renderSummary((await readReport(dir)).run)).toBe(renderSummary(run));
  });

  it("the raw files hold every log line and sample", async () => {
    const leaky = run.results[0];
    if (!leaky) throw new Error("no result");
    const log = await readFile(join(dir, "raw/3.2.8.log.txt"), "utf8");
    expect(log).toBe(`${leaky.log.join("\n")}\n`);
    const csv = (await readFile(join(dir, "raw/3.2.8.samples.csv"), "utf8")).trim().split("\n");
    expect(csv[0]).toBe("t_ms,total,max_fd,pipe,socket,file,eventpoll,other");
    expect(csv).toHaveLength(leaky.samples.length + 1);
    expect(csv.at(-1)).toBe("3484,194,193,188,3,2,1,0");
    const events = await readFile(join(dir, "raw/3.2.8.events.csv"), "utf8");
    // A log line with a comma is quoted, not split.
    expect(events).toContain('194,started,,,"1:M 26 Nov 14:08:27.097 # Server started, Redis version 3.2.8"');
  });

  it("scenario.json is the scenario as run, loadable by the harness", async () => {
    expect(await loadScenario(join(dir, "scenario.json"))).toEqual(scenario);
  });

  it("names no directory of this machine", async () => {
    for (const file of await allFiles(dir)) {
      const text = await readFile(file, "utf8");
      expect(hostPathsIn(text), file).toEqual([]);
      expect(text, file).not.toContain(dir);
    }
  });

  it("is replaced whole when written again with other targets", async () => {
    const one: RunResult = structuredClone(run);
    one.results = one.results.slice(1);
    await writeReport(dir, one, scenario);
    expect(await readdir(join(dir, "raw"))).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/^3\.2\.8\.(log|samples)/)]),
    );
    expect((await readReport(dir)).run.results.map((r) => r.target)).toEqual(["3.2.8+fix-aof-pipe-leak"]);
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
    leaky.log.push("1:M # redis://default:topsecret@127.0.0.1:6379 requirepass hunter2");
    const dir = freshDir();
    const { report } = await writeReport(dir, dirty, scenario);
    expect(report.rerun.command).toBe("npx redis-repro run --scenario scenario.json --target 3.2.8");
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
