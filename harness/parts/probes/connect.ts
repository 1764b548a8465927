import { Redis } from "ioredis";
import { z } from "zod";
import { errorText } from "../../core/errors.js";

export const ConnectProbe = z.object({
  t: z.number(),
  ok: z.boolean(),
  error: z.string().optional(),
});
export type ConnectProbe = z.infer<typeof ConnectProbe>;

/** Options for a client that reports failure at once instead of retrying: a probe, not a user. */
export const probeClientOptions = {
  lazyConnect: true,
  connectTimeout: 1_500,
  commandTimeout: 1_500,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  retryStrategy: () => null,
  reconnectOnError: () => false,
} as const;

/**
 * A fresh client: new connection + PING. A full event loop accepts the TCP connection and then
 * closes it, so success means a PONG, nothing less.
 */
export async function freshClientProbe(host: string, port: number, t: () => number): Promise<ConnectProbe> {
  const client = new Redis({ host, port, ...probeClientOptions });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const pong = await client.ping();
    return { t: t(), ok: pong === "PONG", ...(pong === "PONG" ? {} : { error: `unexpected reply ${pong}` }) };
  } catch (error) {
    return { t: t(), ok: false, error: errorText(error) };
  } finally {
    client.disconnect();
  }
}
