import { describe, expect, it } from "vitest";
import { parseInfo } from "../../harness/parts/probes/info.js";
import { seedSeries } from "../helpers/seed-data.js";

describe("parseInfo", () => {
  it("flattens an INFO persistence reply (CRLF), dropping headers and blank lines", () => {
    const reply = [
      "# Persistence",
      "loading:0",
      "aof_enabled:1",
      "aof_rewrite_in_progress:0",
      "aof_last_bgrewrite_status:err",
      "aof_current_size:98313",
      "",
      "# Server",
      "executable:/usr/local/bin/redis-server",
      "",
    ].join("\r\n");
    expect(parseInfo(reply)).toEqual({
      loading: "0",
      aof_enabled: "1",
      aof_rewrite_in_progress: "0",
      aof_last_bgrewrite_status: "err",
      aof_current_size: "98313",
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

  it("the recorded run's info round-trips through INFO text", () => {
    for (const result of seedSeries()) {
      expect(Object.keys(result.info).length).toBeGreaterThan(0);
      const text = `# Persistence\r\n${Object.entries(result.info)
        .map(([k, v]) => `${k}:${v}`)
        .join("\r\n")}\r\n`;
      expect(parseInfo(text)).toEqual(result.info);
    }
  });
});
