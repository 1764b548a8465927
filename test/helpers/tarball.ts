import { writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import tarStream from "tar-stream";

export interface TarEntry {
  /** Full path inside the archive, top folder included (e.g. "redis-3.2.8/src/aof.c"). */
  name: string;
  /** File content; omit for a directory. */
  content?: string | Buffer;
  type?: "file" | "directory" | "symlink";
  linkname?: string;
  mode?: number;
  mtime?: Date;
}

/** Packs entries in the given order into a tar buffer (no gzip). */
export function tarBuffer(entries: TarEntry[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pack = tarStream.pack();
    const chunks: Buffer[] = [];
    pack.on("data", (chunk: unknown) => {
      chunks.push(chunk as Buffer);
    });
    pack.on("end", () => resolve(Buffer.concat(chunks)));
    pack.on("error", reject);
    const add = (i: number): void => {
      const entry = entries[i];
      if (!entry) {
        pack.finalize();
        return;
      }
      const type = entry.type ?? (entry.content === undefined ? "directory" : "file");
      const header: Partial<tarStream.Header> & { name: string } = {
        name: entry.name,
        type,
        mode: entry.mode ?? (type === "directory" ? 0o755 : 0o644),
        mtime: entry.mtime ?? new Date("2017-02-12T00:00:00Z"),
      };
      if (type === "symlink") header.linkname = entry.linkname ?? "";
      const done = (error?: Error | null) => (error ? reject(error) : add(i + 1));
      if (type === "file") pack.entry(header, entry.content ?? "", done);
      else pack.entry(header, done);
    };
    add(0);
  });
}

/** Writes entries as a .tar.gz at `path` with the given gzip level. */
export async function writeTarGz(path: string, entries: TarEntry[], level = 6): Promise<string> {
  await writeFile(path, gzipSync(await tarBuffer(entries), { level }));
  return path;
}
