/**
 * Benchmark: the first run on a fresh machine, as the README's quick start has it: the set-up
 * command (`bash scripts/ensure-engine.sh`: an engine, and the base images, pulled or made offline
 * with debootstrap), then `redis-repro run` (both images built, the seed run), then a second run
 * (warm). The fresh machine is a private dockerd with an empty data root (test/helpers/private-engine.ts);
 * the shared engine and its images are not touched. Release tarballs come from REDIS_REPRO_SOURCES
 * (or are downloaded, where download.redis.io answers).
 * Usage: npm run bench:first-run   (as root: a private dockerd, and debootstrap for the bases)
 */
import { join } from "node:path";
import { execa } from "execa";
import { cliBin, projectRoot } from "../harness/core/paths.js";
import { privateEngineMissing, startPrivateEngine } from "../test/helpers/private-engine.js";

const missing = privateEngineMissing();
if (missing) {
  console.error(`bench:first-run ${missing}`);
  process.exit(3);
}
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const engine = await startPrivateEngine();
const env = { DOCKER_HOST: engine.host, TESTCONTAINERS_RYUK_DISABLED: "true" };
const rows: [string, string, string][] = [];
try {
  const step = async (name: string, file: string, args: string[]) => {
    const started = Date.now();
    const child = await execa(file, args, { env, reject: false, all: true, cwd: projectRoot });
    const ms = Date.now() - started;
    const last = child.all?.trim().split("\n").filter(Boolean).at(-1) ?? "";
    rows.push([name, sec(ms), child.exitCode === 0 ? "ok" : `exit ${child.exitCode}: ${last}`]);
    console.log(`${name}: ${sec(ms)} (exit ${child.exitCode})`);
    if (child.exitCode !== 0) console.log(child.all?.split("\n").slice(-15).join("\n"));
    return ms;
  };
  const setup = await step("set-up: bash scripts/ensure-engine.sh", "bash", [
    join(projectRoot, "scripts", "ensure-engine.sh"),
  ]);
  const first = await step("first run: redis-repro run (builds both images)", "node", [cliBin, "run"]);
  await step("second run: redis-repro run (warm)", "node", [cliBin, "run"]);
  rows.push(["set-up + first run", sec(setup + first), ""]);
} finally {
  await engine.stop();
}
const width = Math.max(...rows.map(([n]) => n.length)) + 2;
console.log(`\nfresh engine (empty data root), ${new Date().toISOString().slice(0, 16)}Z`);
for (const [name, time, note] of rows) console.log(`${name.padEnd(width)}${time.padStart(8)}  ${note}`);
