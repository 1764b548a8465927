import { describe, expect, it } from "vitest";
import { InfoProbeSpec, infoNumber, infoProbe, parseInfo } from "../../harness/parts/probes/info.js";
import { fakeNode } from "../helpers/fake-node.js";

/** INFO persistence of 7.0.15 while AOF rewrites fail (CRLF, as the server sends it). */
const persistence = [
  "# Persistence",
  "loading:0",
  "aof_enabled:1",
  "aof_rewrite_in_progress:0",
  "aof_last_bgrewrite_status:err",
  "aof_last_write_status:ok",
  "aof_rewrites_consecutive_failures:12",
  "aof_current_size:98313",
  "",
  "# Replication",
  "role:master",
  "master_link_status:down",
  "master_sync_in_progress:no",
  "executable:/usr/local/bin/redis-server",
  "",
].join("\r\n");

describe("parseInfo", () => {
  it("flattens an INFO reply (CRLF), dropping headers and blank lines", () => {
    expect(parseInfo(persistence)).toEqual({
      loading: "0",
      aof_enabled: "1",
      aof_rewrite_in_progress: "0",
      aof_last_bgrewrite_status: "err",
      aof_last_write_status: "ok",
      aof_rewrites_consecutive_failures: "12",
      aof_current_size: "98313",
      role: "master",
      master_link_status: "down",
      master_sync_in_progress: "no",
      executable: "/usr/local/bin/redis-server",
    });
  });

  it("keeps colons in values and accepts LF line ends", () => {
    expect(parseInfo("db0:keys=600,expires=0,avg_ttl=0\nrole:master\n")).toEqual({
      db0: "keys=600,expires=0,avg_ttl=0",
      role: "master",
    });
  });

  it("ignores lines without a key", () => {
    expect(parseInfo(":nokey\nno colon here\nkey:\n")).toEqual({ key: "" });
  });
});

describe("infoNumber", () => {
  it.each<[string, number]>([
    ["ok", 1],
    ["err", 0],
    ["up", 1],
    ["down", 0],
    ["yes", 1],
    ["no", 0],
    ["0", 0],
    ["12", 12],
    ["-1", -1],
    ["0.75", 0.75],
    ["98313", 98313],
  ])("%j is %d", (text, value) => {
    expect(infoNumber(text)).toBe(value);
  });

  it.each<string | undefined>([
    undefined,
    "",
    " ",
    "master",
    "keys=600,expires=0",
    "OK",
    "Infinity",
    "toString",
    "constructor",
  ])("%j is no number", (text) => {
    expect(infoNumber(text)).toBeUndefined();
  });
});

describe("the info probe", () => {
  it("is named info unless named otherwise, on main unless said", () => {
    expect(InfoProbeSpec.parse({ probe: "info", fields: ["role"] })).toEqual({
      probe: "info",
      name: "info",
      fields: ["role"],
      node: "main",
    });
    expect(InfoProbeSpec.safeParse({ probe: "info", fields: [] }).success).toBe(false);
    expect(InfoProbeSpec.safeParse({ probe: "info", fields: ["Role"] }).success).toBe(false);
  });

  it("reads the fields named: numbers as they are, states as 1/0 with the word kept, the rest left out", async () => {
    const probe = infoProbe({
      fields: [
        "aof_last_bgrewrite_status",
        "aof_last_write_status",
        "aof_rewrites_consecutive_failures",
        "master_link_status",
        "master_sync_in_progress",
        "role",
        "not_in_this_release",
      ],
    });
    const node = fakeNode({ info: async () => parseInfo(persistence) });
    expect(await probe.read?.(node, () => 0)).toStrictEqual({
      aof_last_bgrewrite_status: { v: 0, text: "err" },
      aof_last_write_status: { v: 1, text: "ok" },
      aof_rewrites_consecutive_failures: { v: 12 },
      master_link_status: { v: 0, text: "down" },
      master_sync_in_progress: { v: 0, text: "no" },
    });
  });
});
