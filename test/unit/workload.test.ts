import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import type { Step } from "../../harness/core/step.js";
import {
  commandStep,
  fillStep,
  growAofStep,
  markStep,
  StepSpec,
  stepFrom,
  waitStep,
} from "../../harness/parts/workload/index.js";
import { startWorkload } from "../../harness/run/workload.js";
import { fakeClock } from "../helpers/fake-clock.js";
import { fakeNode, fakeWorkloadContext } from "../helpers/fake-node.js";

/**
 * A client that answers commands as the test says (a string, or an Error for an error reply) and
 * keeps what it was sent; pipelines count their SETs.
 */
function fakeClient(answer: (name: string, args: string[]) => string | Error = () => "OK") {
  const sent: string[][] = [];
  const sets: number[] = [];
  let size = 0;
  const client = {
    call: async (name: string, ...args: string[]) => {
      sent.push([name, ...args]);
      const reply = answer(name, args);
      if (reply instanceof Error) throw reply;
      return reply;
    },
    config: async (_get: string, name: string) => {
      sent.push(["CONFIG", "GET", name]);
      return [name, "1kb"];
    },
    info: async () => `aof_current_size:${size}\r\n`,
    pipeline: () => {
      let n = 0;
      const batch = {
        set: (_k: string, v: string) => {
          n++;
          size += v.length + 30;
          return batch;
        },
        exec: async () => {
          sets.push(n);
          return [];
        },
      };
      return batch;
    },
  };
  return { client: client as unknown as Redis, sent, sets };
}

function setup(clients: Record<string, Redis>) {
  const time = fakeClock();
  const nodes = Object.fromEntries(
    Object.entries(clients).map(([name, client]) => [
      name,
      fakeNode({ name, connection: async () => client }),
    ]),
  );
  return { time, ...fakeWorkloadContext(nodes, time.clock) };
}

describe("startWorkload", () => {
  it("runs the steps in order, each after the one before has finished", async () => {
    const order: string[] = [];
    const step = (name: string, ms: number): Step => ({
      name,
      run: async (context) => {
        order.push(`${name} start`);
        await context.sleep(ms);
        order.push(`${name} end`);
      },
    });
    const { context, time } = setup({});
    const running = startWorkload([step("a", 30), step("b", 10), step("c", 0)], context);
    await running.loaded;
    expect(order).toEqual(["a start", "a end", "b start", "b end", "c start", "c end"]);
    expect(time.clock.now()).toBe(40);
  });

  it("a step that goes on hands its work to the background, and the next step starts at once", async () => {
    const { context, stop } = setup({});
    let release: () => void = () => undefined;
    const goingOn = new Promise<void>((resolve) => {
      release = resolve;
    });
    let backgroundDone = false;
    const order: string[] = [];
    const steps: Step[] = [
      {
        name: "repeat",
        run: async (c) => {
          c.background(
            goingOn.then(() => {
              backgroundDone = true;
            }),
          );
          order.push("repeat returned");
        },
      },
      { name: "next", run: async () => void order.push("next ran") },
    ];
    const running = startWorkload(steps, context);
    await running.loaded;
    expect(order).toEqual(["repeat returned", "next ran"]);
    expect(backgroundDone).toBe(false);
    // finish waits for the background work, which ends once the run stops it.
    stop.abort();
    const finished = running.finish();
    release();
    await finished;
    expect(backgroundDone).toBe(true);
  });

  it("no step starts once the run has stopped; a background failure does not fail the finish", async () => {
    const { context, stop } = setup({});
    const ran: string[] = [];
    const running = startWorkload(
      [
        {
          name: "first",
          run: async (c) => {
            ran.push("first");
            c.background(Promise.reject(new Error("connection lost")));
            stop.abort();
          },
        },
        { name: "second", run: async () => void ran.push("second") },
      ],
      context,
    );
    await running.loaded;
    expect(ran).toEqual(["first"]);
    await expect(running.finish()).resolves.toEqual({ writes: 0, aofBytes: 0, commands: 0, replies: {} });
  });

  it("a step that throws fails the loading (the run ends with it); the tally so far is still given", async () => {
    const { context } = setup({});
    const running = startWorkload(
      [
        {
          name: "writes",
          run: async (c) => {
            c.tally.writes += 5;
          },
        },
        {
          name: "broken",
          run: async () => {
            throw new Error("dd failed");
          },
        },
      ],
      context,
    );
    await expect(running.loaded).rejects.toThrow("dd failed");
    expect((await running.finish()).writes).toBe(5);
  });
});

describe("the built-in steps", () => {
  it("mark writes a mark into the history, its value null unless given", async () => {
    const { context, record, time } = setup({});
    time.advance(250);
    const steps = [markStep("flood"), stepFrom(StepSpec.parse({ step: "mark", name: "freed", value: 2 }))];
    expect(steps.map((s) => s.name)).toEqual(["mark flood", "mark freed"]);
    await startWorkload(steps, context).loaded;
    expect(record.marks).toEqual([
      { t: 250, name: "flood", value: null },
      { t: 250, name: "freed", value: 2 },
    ]);
  });

  it("wait sleeps on the run's clock, and ends early when the run stops", async () => {
    const { context, time, stop } = setup({});
    await startWorkload([waitStep(1_500)], context).loaded;
    expect(time.clock.now()).toBe(1_500);
    stop.abort();
    await waitStep(1_500).run({
      ...context,
      background: () => undefined,
      tally: { writes: 0, aofBytes: 0, commands: 0, replies: {} },
    });
    expect(time.clock.now()).toBe(1_500);
  });

  it("command once: the command and its followers, each reply (an error's text too) to the history and the tally", async () => {
    const main = fakeClient((name) => (name === "BGSAVE" ? new Error("ERR Background save failed") : "OK"));
    const { context, record } = setup({ main: main.client });
    const running = startWorkload(
      [commandStep({ args: ["CONFIG", "SET", "appendonly", "yes"], andThen: [["BGSAVE"]] })],
      context,
    );
    await running.loaded;
    expect(main.sent).toEqual([["CONFIG", "SET", "appendonly", "yes"], ["BGSAVE"]]);
    expect(record.replies).toEqual([
      { node: "main", text: "OK", ok: true, series: undefined },
      { node: "main", text: "ERR Background save failed", ok: false, series: undefined },
    ]);
    expect(await running.finish()).toEqual({
      writes: 0,
      aofBytes: 0,
      commands: 2,
      replies: { OK: 1, "ERR Background save failed": 1 },
    });
  });

  it("command with a name has each reply recorded as the series NAME.ok too", async () => {
    const main = fakeClient(() => new Error("MISCONF Errors writing to the AOF file"));
    const { context, record } = setup({ main: main.client });
    const step = stepFrom(StepSpec.parse({ step: "command", args: ["SET", "k", "v"], name: "write" }));
    await startWorkload([step], context).loaded;
    expect(record.replies).toEqual([
      { node: "main", text: "MISCONF Errors writing to the AOF file", ok: false, series: "write" },
    ]);
  });

  it("command every N ms goes on in the background on its node until the run stops", async () => {
    const { context, time, stop, record } = setup({});
    const at: number[] = [];
    const replica = fakeClient(() => {
      at.push(time.clock.now());
      if (at.length === 3) stop.abort();
      return "OK";
    });
    const nodes = {
      main: fakeNode(),
      replica: fakeNode({ name: "replica", connection: async () => replica.client }),
    };
    const running = startWorkload(
      [commandStep({ args: ["SLAVEOF", "main", "6379"], everyMs: 100, node: "replica" }), markStep("after")],
      { ...context, node: (name = "main") => nodes[name as keyof typeof nodes] },
    );
    await running.loaded;
    // The next step did not wait for the repetition.
    expect(record.marks.map((m) => m.name)).toEqual(["after"]);
    const tally = await running.finish();
    expect(at).toEqual([0, 100, 200]);
    // What the workload did is readable as it goes, and is what finish gives.
    expect(running.tally).toBe(tally);
    expect(tally.commands).toBe(3);
    expect(record.replies.every((r) => r.node === "replica")).toBe(true);
  });

  it("fill writes keys in batches of 1000, or enough values to make the bytes asked", async () => {
    const main = fakeClient();
    const { context } = setup({ main: main.client });
    const running = startWorkload(
      [fillStep({ keys: 2_500 }), fillStep({ bytes: 640, valueBytes: 64 })],
      context,
    );
    await running.loaded;
    expect(main.sets).toEqual([1_000, 1_000, 500, 10]);
    expect((await running.finish()).writes).toBe(2_510);
  });

  it("grow-aof reads the server's own auto-aof-rewrite-min-size and writes past it", async () => {
    const main = fakeClient();
    const { context } = setup({ main: main.client });
    const running = startWorkload([growAofStep({ valueBytes: 128 })], context);
    await running.loaded;
    expect(main.sent).toEqual([["CONFIG", "GET", "auto-aof-rewrite-min-size"]]);
    // 1kb × 1.25 = 1280 bytes: one batch of 200 writes of 158 bytes gets past it.
    expect(await running.finish()).toMatchObject({ writes: 200, aofBytes: 200 * 158 });
  });
});
