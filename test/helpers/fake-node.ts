import type { Clock } from "../../harness/core/clock.js";
import type { FaultNode, Node, NodeLimits } from "../../harness/core/node.js";
import type { StepContext } from "../../harness/core/step.js";

/**
 * A stand-in for a running node, for unit tests of pure logic over the Node and FaultNode contracts
 * (a probe's reading, a fault's start and heal, the run loop's probe reads). Whatever a test does not
 * give fails loudly when called, so a test cannot pass by touching a part it did not mean to. Never
 * for integration tests: those run real containers.
 */
export function fakeNode(given: Partial<FaultNode> & { name?: string; limits?: NodeLimits } = {}): FaultNode {
  const notFaked = (what: string) => async (): Promise<never> => {
    throw new Error(`fake node: ${what} was not given to this test`);
  };
  return {
    name: "main",
    host: "127.0.0.1",
    port: 6379,
    limits: { memory: 64 * 1024 ** 2, pids: 64, nofile: 1024 },
    connection: notFaked("connection"),
    client: () => {
      throw new Error("fake node: client was not given to this test");
    },
    exec: notFaked("exec"),
    fds: notFaked("fds"),
    listDir: notFaked("listDir"),
    info: notFaked("info"),
    // A node runs until a test says it ended.
    endState: async () => undefined,
    taskCount: notFaked("taskCount"),
    setPidsLimit: notFaked("setPidsLimit"),
    execBlocked: notFaked("execBlocked"),
    disconnect: notFaked("disconnect"),
    reconnect: notFaked("reconnect"),
    ...given,
  };
}

/** Nodes by name, as the run loop's pieces look them up; an unknown name throws as the run's does. */
export function fakeNodes(...nodes: FaultNode[]): {
  get(name: string): FaultNode;
  readonly all: ReadonlyMap<string, FaultNode>;
} {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return {
    all: byName,
    get(name) {
      const node = byName.get(name);
      if (!node) throw new Error(`no node "${name}"`);
      return node;
    },
  };
}

/** What a workload's steps did to a fake context: marks, replies and progress lines, in order. */
export interface StepRecord {
  marks: { t: number; name: string; value: unknown }[];
  replies: { node: string; text: string; ok?: boolean; series?: string | undefined }[];
  logs: string[];
}

/**
 * The context the run gives its workload (without the background and tally the workload adds), on a
 * given clock, with nodes by name; `stop` aborts it as the run does once it has decided.
 */
export function fakeWorkloadContext(
  nodes: Record<string, Node>,
  clock: Clock,
): { context: Omit<StepContext, "background" | "tally">; record: StepRecord; stop: AbortController } {
  const record: StepRecord = { marks: [], replies: [], logs: [] };
  const stop = new AbortController();
  return {
    record,
    stop,
    context: {
      node: (name = "main") => {
        const node = nodes[name];
        if (!node) throw new Error(`no node "${name}"`);
        return node;
      },
      t: clock.now,
      signal: stop.signal,
      sleep: (ms) => clock.sleep(ms, stop.signal),
      log: (message) => record.logs.push(message),
      mark: (name, value = null) => record.marks.push({ t: clock.now(), name, value }),
      reply: (node, text, reply) => record.replies.push({ node, text, ...reply }),
    },
  };
}
