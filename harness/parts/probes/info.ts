import type { Redis } from "ioredis";

/** Parses an INFO reply into a flat map (section headers and blank lines dropped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export async function infoSection(client: Redis, section: string): Promise<Record<string, string>> {
  return parseInfo(await client.info(section));
}
