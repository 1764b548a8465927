/**
 * Long run of the 7.x AOF-directory bug at production-like settings: hz 10, a rewrite min-size the
 * container reaches (16mb, 256 MiB memory), maxclients 1000, fork failing by seccomp ENOMEM. Every
 * `--every` seconds it prints, per target: failed forks, limiter lines, files in appendonlydir/,
 * manifest bytes, used_memory, and latencies: PING on the open connection (the event loop alone), a
 * fresh client's connect + PING, and INFO persistence; and, since the previous sample, the server's
 * CPU time per second (INFO cpu) and, from 7.2, the time serverCron took per tick (INFO stats
 * INFO debug eventloop_duration_cron_sum). It asks whether the event loop slows as the manifest grows. Figures
 * are printed, never asserted.
 * Usage: npm run bench:aof -- [--minutes 5] [--every 15] [--json FILE]
 *        [--target 7.0.15 --target 7.0.15+count-failed-aof-fork]
 */
import { writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { onInterrupt } from "../harness/core/interrupt.js";
import { removeContainers } from "../harness/engine/cleanup.js";
import { prepareReaper } from "../harness/engine/client.js";
import {
  RedisReproContainer,
  type StartedRedisReproContainer,
} from "../harness/parts/container/redis-container.js";
import { faultFrom } from "../harness/parts/faults/index.js";
import { summariseAofDir } from "../harness/parts/probes/aof-dir.js";
import { probeClientOptions } from "../harness/parts/probes/connect.js";
import { infoSection } from "../harness/parts/probes/info.js";
import { parseLogLine } from "../harness/parts/probes/log.js";
import { growAofPastRewriteThreshold } from "../harness/parts/workload/auto-growth.js";
import { alignColumns } from "../harness/report/table.js";
import { newRunId } from "../harness/run/scenario.js";
import type { RedisConfig } from "../harness/scenario/index.js";
import { ensureImage } from "../harness/targets/build.js";
import { parseTarget } from "../harness/targets/spec.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" },
    every: { type: "string", default: "15" },
    json: { type: "string" },
    target: { type: "string", multiple: true },
  },
});
const minutes = Number(values.minutes);
const everyMs = Number(values.every) * 1000;
const targets = values.target?.length ? values.target : ["7.0.15", "7.0.15+count-failed-aof-fork"];
if (!(minutes > 0) || !(everyMs > 0)) {
  console.error("--minutes and --every take positive numbers, e.g. --minutes 5 --every 15");
  process.exit(2);
}

const HZ = 10;
const config: RedisConfig = {
  appendonly: true,
  "auto-aof-rewrite-percentage": 100,
  "auto-aof-rewrite-min-size": "16mb",
  maxclients: 1000,
  hz: HZ,
  dir: "/data",
  save: "",
};
const limits = { memory: 256 * 1024 ** 2, pids: 64, nofile: 4096 };
const injector = faultFrom("seccomp-enomem");

interface Point {
  target: string;
  t: number;
  failedForks: number;
  limiterLines: number;
  files: number | null;
  manifestBytes: number | null;
  usedMemory: number | null;
  consecutiveFailures: string | null;
  pingMs: { p50: number; max: number };
  freshMs: number | null;
  infoMs: number | null;
  /** Server CPU seconds (user + sys) per wall second since the previous sample. */
  cpuPerSecond: number | null;
  /** serverCron's µs per tick since the previous sample (7.2+: INFO debug eventloop_duration_cron_sum). */
  cronUsPerTick: number | null;
}

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

async function freshPing(port: number): Promise<number | null> {
  const client = new Redis({ host: "127.0.0.1", port, ...probeClientOptions });
  client.on("error", () => undefined);
  try {
    return await timed(async () => {
      await client.connect();
      await client.ping();
    });
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

interface Watched {
  target: string;
  container: StartedRedisReproContainer;
  client: Redis;
  port: number;
  started: number;
  failedForks: number;
  limiterLines: number;
  limiterText: string[];
  /** The previous sample's counters, for rates. */
  last?: { t: number; cpu: number; cronUs: number | null };
}

async function start(target: string, runId: string): Promise<Watched> {
  const image = await ensureImage(parseTarget(target), { bases: "auto" });
  const watched: Partial<Watched> & { failedForks: number; limiterLines: number; limiterText: string[] } = {
    target: image.target,
    failedForks: 0,
    limiterLines: 0,
    limiterText: [],
  };
  const container = await new RedisReproContainer(image)
    .withRun(runId, image.target)
    .withServer(image.server)
    .withFault(injector)
    .withLimits(limits)
    .withConfig(config)
    .withLogLines((line) => {
      const event = parseLogLine(line, 0);
      if (event?.kind === "fork-failed") watched.failedForks++;
      if (event?.kind === "rewrite-limited") {
        watched.limiterLines++;
        watched.limiterText.push(line);
      }
    })
    .start();
  await injector.start?.(container);
  const port = container.port;
  const client = new Redis({ host: "127.0.0.1", port, ...probeClientOptions, commandTimeout: 10_000 });
  client.on("error", () => undefined);
  await client.connect();
  const load = await growAofPastRewriteThreshold(
    client,
    String(config["auto-aof-rewrite-min-size"]),
    1024,
    new AbortController().signal,
  );
  console.log(`[${image.target}] loaded ${load.writes} keys, AOF ${load.aofBytes} bytes; watching`);
  return Object.assign(watched, { container, client, port, started: Date.now() }) as Watched;
}

async function sample(w: Watched): Promise<Point> {
  const pings: number[] = [];
  for (let i = 0; i < 20; i++) pings.push(await timed(() => w.client.ping()));
  const freshMs = await freshPing(w.port);
  let info: Record<string, string> = {};
  const infoMs = await timed(async () => {
    info = await infoSection(w.client, "persistence");
  }).catch(() => null);
  const memory = await infoSection(w.client, "memory").catch(() => ({}) as Record<string, string>);
  const cpuInfo = await infoSection(w.client, "cpu").catch(() => ({}) as Record<string, string>);
  const stats = await infoSection(w.client, "debug").catch(() => ({}) as Record<string, string>);
  const now = Date.now() - w.started;
  const cpu = Number(cpuInfo.used_cpu_sys ?? 0) + Number(cpuInfo.used_cpu_user ?? 0);
  const cronUs =
    stats.eventloop_duration_cron_sum === undefined ? null : Number(stats.eventloop_duration_cron_sum);
  const last = w.last;
  w.last = { t: now, cpu, cronUs };
  const seconds = last ? (now - last.t) / 1000 : 0;
  const entries = await w.container.listDir(`${config.dir}/appendonlydir`).catch(() => undefined);
  const dir = entries && summariseAofDir(entries);
  return {
    target: w.target,
    t: now,
    failedForks: w.failedForks,
    limiterLines: w.limiterLines,
    files: dir?.files ?? null,
    manifestBytes: dir?.manifestBytes ?? null,
    usedMemory: memory.used_memory ? Number(memory.used_memory) : null,
    consecutiveFailures: info.aof_rewrites_consecutive_failures ?? null,
    pingMs: { p50: quantile(pings, 0.5), max: Math.max(...pings) },
    freshMs,
    infoMs,
    cpuPerSecond: last && seconds > 0 ? (cpu - last.cpu) / seconds : null,
    cronUsPerTick:
      last && seconds > 0 && cronUs !== null && last.cronUs !== null
        ? (cronUs - last.cronUs) / (seconds * HZ)
        : null,
  };
}

const ms = (v: number | null) => (v === null ? "—" : v.toFixed(2));
function print(points: Point[]): void {
  const rows = [
    [
      "target",
      "min",
      "failed forks",
      "limiter lines",
      "files",
      "manifest B",
      "used_memory",
      "consec. failures",
      "PING p50 ms",
      "PING max ms",
      "fresh PING ms",
      "INFO ms",
      "CPU s/s",
      "cron µs/tick",
    ],
    ...points.map((p) => [
      p.target,
      (p.t / 60_000).toFixed(2),
      String(p.failedForks),
      String(p.limiterLines),
      String(p.files ?? "—"),
      String(p.manifestBytes ?? "—"),
      String(p.usedMemory ?? "—"),
      p.consecutiveFailures ?? "—",
      ms(p.pingMs.p50),
      ms(p.pingMs.max),
      ms(p.freshMs),
      ms(p.infoMs),
      p.cpuPerSecond === null ? "—" : p.cpuPerSecond.toFixed(3),
      p.cronUsPerTick === null ? "—" : p.cronUsPerTick.toFixed(0),
    ]),
  ];
  for (const line of alignColumns(rows)) console.log(line);
}

const runId = newRunId();
const forget = onInterrupt(() => removeContainers(runId));
const all: Point[] = [];
try {
  console.log(
    `AOF long run: ${targets.join(" vs ")}, ${minutes} min, a sample every ${everyMs / 1000} s; hz ${HZ}, auto-aof-rewrite-min-size ${config["auto-aof-rewrite-min-size"]}, memory ${limits.memory / 1024 ** 2} MiB, fault ${injector.name}`,
  );
  // Before any container: decides whether testcontainers may start Ryuk (it cannot be pulled offline).
  await prepareReaper();
  const watched = await Promise.all(targets.map((t) => start(t, runId)));
  const end = Date.now() + minutes * 60_000;
  for (;;) {
    const points = await Promise.all(watched.map(sample));
    all.push(...points);
    print(points);
    if (Date.now() >= end) break;
    await sleep(Math.min(everyMs, Math.max(0, end - Date.now())));
  }
  console.log("\nsummary (first sample → last):");
  print(
    watched
      .flatMap((w) => [all.find((p) => p.target === w.target), all.findLast((p) => p.target === w.target)])
      .filter((p): p is Point => p !== undefined),
  );
  for (const w of watched)
    console.log(`[${w.target}] limiter lines: ${w.limiterText.length ? w.limiterText.join(" | ") : "none"}`);
  if (values.json) {
    await writeFile(
      values.json,
      `${JSON.stringify({ targets, minutes, config, limits, points: all }, null, 2)}\n`,
    );
    console.log(`figures written to ${values.json}`);
  }
  for (const w of watched) w.client.disconnect();
} finally {
  forget();
  await removeContainers(runId);
}
process.exit(0);
