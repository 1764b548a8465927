import { z } from "zod";

/**
 * The servers the harness runs. Valkey forked from Redis 7.2.4 and keeps its protocol, config
 * directives, log messages and INFO fields; what differs is named here and in docs/valkey.md: its
 * program (valkey-server), the start line ("Valkey version=…"), and INFO's server_name and
 * valkey_version (its redis_version stays 7.2.4, a compatibility number).
 */
export const Server = z.enum(["redis", "valkey"]);
export type Server = z.infer<typeof Server>;

/** The program an image of this server runs (our Valkey images also link redis-server to it). */
export function serverProgram(server: Server | undefined): string {
  return `${server ?? "redis"}-server`;
}

/** "valkey 9.1.2", "redis 8.0.6": how results and reports name what ran. */
export function serverTitle(server: Server | undefined | null, version: string | null | undefined): string {
  return `${server ?? "redis"} ${version ?? "?"}`;
}

/** The program a set of runs ran, for titles: redis-server, valkey-server, or "the server" when mixed. */
export function programOf(servers: readonly (Server | string | null | undefined)[]): string {
  const names = new Set(servers.map((s) => serverProgram(Server.safeParse(s).data)));
  return names.size === 1 ? ([...names][0] ?? "the server") : "the server";
}
