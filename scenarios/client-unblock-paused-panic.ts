import type { Redis } from "ioredis";
// In a project of your own: import { defineScenario, type StepContext } from "redis-repro".
import { defineScenario, type StepContext } from "../harness/index.js";

/**
 * The server surviving: a write sent while CLIENT PAUSE WRITE holds clients is postponed (the client
 * is blocked with BLOCKED_POSTPONE); CLIENT UNBLOCK of that client reaches
 * replyToBlockedClientTimedOut(), which has no case for it and calls serverPanic("Unknown btype in
 * replyToBlockedClientTimedOut()"): the server writes its bug report and dies (exit 139). Affected
 * since 6.2 through 7.0.15 and 8.0.0-8.0.3; fixed in 8.0.4 by redis/redis#14164 (a port of
 * valkey-io/valkey#2117), where CLIENT UNBLOCK answers 0 for a paused client and its write runs after
 * CLIENT UNPAUSE. A script: it needs a second connection, the one the pause holds.
 */

const errorText = (e: unknown) => `error: ${e instanceof Error ? e.message : String(e)}`;

/** Pause writes, hold a SET on a second connection, then CLIENT UNBLOCK that connection. */
async function unblockPausedClient(client: Redis, context: StepContext): Promise<void> {
  // Longer than the kept connection's own timeout: the SET is meant to wait out the pause.
  const held = context.node().client({ commandTimeout: 15_000 });
  try {
    await held.connect();
    const id = String(await held.call("CLIENT", "ID"));
    await client.call("CLIENT", "PAUSE", "100000", "WRITE");
    const set = held.set("x", "x").then(String, errorText);
    // Until the server holds the SET (CLIENT LIST shows it as the client's command), at most 1 s.
    for (let i = 0; i < 50; i++) {
      const listed = String(await client.call("CLIENT", "LIST", "ID", id));
      if (/ cmd=set /.test(listed)) break;
      await context.sleep(20);
    }
    context.mark("unblock", Number(id));
    const reply = await client.call("CLIENT", "UNBLOCK", id).then(String, errorText);
    context.mark("unblock-reply", reply);
    context.reply("main", reply);
    // A server that died answers nothing more: asking would only wait for the kept connection's timeout.
    if (reply.startsWith("error: ")) return;
    await client.call("CLIENT", "UNPAUSE");
    context.mark("held-set", await set);
  } finally {
    held.disconnect();
  }
}

export default defineScenario({
  name: "client-unblock-paused-panic",
  description:
    "The server surviving: CLIENT UNBLOCK of a client that CLIENT PAUSE WRITE holds reaches replyToBlockedClientTimedOut(), which has no case for a postponed client and panics (Unknown btype; redis/redis#14164, valkey-io/valkey#2117; fixed in 8.0.4). The server must not exit within 2 s of the CLIENT UNBLOCK.",
  redis: {},
  limits: { memory: "64m", pids: 64, nofile: 1024 },
  fault: "none",
  probes: [{ probe: "log", name: "panic", pattern: "Guru Meditation|Unknown btype" }],
  workload: [unblockPausedClient],
  // The attempt is the CLIENT UNBLOCK: its reply, whatever it is (an error when the server died).
  attempt: { reply: "." },
  checker: {
    checker: "within",
    name: "server-survives",
    from: { mark: "unblock" },
    ms: 2000,
    must: "not-happen",
    happens: { event: "exited" },
    labels: { bug: "crashed", noBug: "survived" },
  },
  budgets: { attempts: 1, timeLimitSeconds: 20 },
  // What each gave is in the catalogue (7.0.15 crashed/bug, deb:redis/8.0.6 survived/no-bug).
  targets: ["7.0.15", "deb:redis/8.0.6"],
});
