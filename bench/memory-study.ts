/**
 * Study: can a container's memory limit alone make fork() fail? And would vm.overcommit_memory=2?
 * Runs BGREWRITEAOF with no fault on 64 MiB containers filled to several levels and reports, per
 * level, what the forks did. With --change-host-overcommit it also repeats the fullest level with
 * vm.overcommit_memory=2 set on the host, and restores the old value afterwards, whatever happens.
 * Usage: npm run build && node dist/bench/memory-study.js [--target 3.2.8] [--change-host-overcommit]
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { eventsOf, seriesOf } from "../harness/core/history.js";
import { runScenario } from "../harness/run/scenario.js";
import { loadScenario, parseScenario } from "../harness/scenario/index.js";

const { values } = parseArgs({
  options: { target: { type: "string", default: "3.2.8" }, "change-host-overcommit": { type: "boolean" } },
});
const target = values.target ?? "3.2.8";
const base = await loadScenario("bgrewriteaof-enomem");
const limit = 64 * 1024 ** 2;
const valueBytes = 1024;

async function meminfo(): Promise<string> {
  const text = await readFile("/proc/meminfo", "utf8");
  const pick = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0) / 1024;
  return `CommitLimit ${pick("CommitLimit").toFixed(0)} MiB, Committed_AS ${pick("Committed_AS").toFixed(0)} MiB`;
}

async function study(fill: number, label: string): Promise<void> {
  const name = `memory-study-${Math.round(fill * 100)}`;
  // The base scenario as data with this level's changes, parsed as any scenario is.
  const scenario = parseScenario(
    {
      ...base.data,
      name,
      fault: "none",
      limits: { ...base.limits, memory: limit },
      workload: [
        { step: "fill", keys: Math.floor((limit * fill) / (valueBytes + 80)), valueBytes },
        { step: "command", args: ["BGREWRITEAOF"], everyMs: 500 },
      ],
      probes: [{ probe: "info", fields: ["aof_last_bgrewrite_status"] }],
      budgets: { attempts: 30, timeLimitSeconds: 10 },
      expect: {},
    },
    { kind: "object", ref: name },
  );
  const run = await runScenario(scenario, [target], { bases: "auto" });
  const [r] = run.results;
  if (!r) return;
  const count = (kind: string) => eventsOf(r.history, kind, { node: "main" }).length;
  const peak = r.memory.peakBytes === null ? "—" : `${(r.memory.peakBytes / 1024 ** 2).toFixed(1)} MiB`;
  const died =
    r.ended?.reason === "container-exited" ? `container died: ${r.ended.detail}` : "container alive";
  console.log(
    `${label.padEnd(34)} dataset ${(((r.workload?.writes ?? 0) * valueBytes) / 1024 ** 2).toFixed(1)} MiB, peak ${peak}: ` +
      `${count("rewrite-started")} rewrites forked, ${count("fork-failed")} forks failed, ` +
      `last rewrite ${seriesOf(r.history, "info.aof_last_bgrewrite_status").at(-1)?.text ?? "?"}; ${died}`,
  );
}

console.log(
  `memory study on ${target}: 64 MiB limit, swap off, no fault, BGREWRITEAOF every 500 ms for 10 s`,
);
console.log(
  `host: ${await meminfo()}, vm.overcommit_memory=${(await readFile("/proc/sys/vm/overcommit_memory", "utf8")).trim()}`,
);
for (const fill of [0.25, 0.5, 0.75, 0.9]) await study(fill, `limit only, ${Math.round(fill * 100)} % full`);

if (values["change-host-overcommit"]) {
  const path = "/proc/sys/vm/overcommit_memory";
  const previous = (await readFile(path, "utf8")).trim();
  try {
    await writeFile(path, "2");
    console.log(`vm.overcommit_memory=2 (was ${previous}): ${await meminfo()}`);
    await study(0.9, "overcommit_memory=2, 90 % full");
  } finally {
    await writeFile(path, previous);
    console.log(`vm.overcommit_memory restored to ${(await readFile(path, "utf8")).trim()}`);
  }
} else {
  console.log(
    "(pass --change-host-overcommit to repeat with vm.overcommit_memory=2; it is restored afterwards)",
  );
}
process.exit(0);
