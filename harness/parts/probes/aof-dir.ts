import type { DirEntry } from "./dir.js";

/**
 * The 7.x multi-part AOF directory (appenddirname under dir): base and incr files and a manifest.
 * Empty incr files are what a failed rewrite leaves behind in 7.0.
 */
export function summariseAofDir(entries: DirEntry[]): Record<string, number> {
  const reading = { files: 0, base: 0, incr: 0, emptyIncr: 0, manifestBytes: 0, totalBytes: 0 };
  for (const { name, size } of entries) {
    reading.files++;
    reading.totalBytes += size;
    if (/\.base\.(rdb|aof)$/.test(name)) reading.base++;
    else if (/\.incr\.aof$/.test(name)) {
      reading.incr++;
      if (size === 0) reading.emptyIncr++;
      // The temp manifest Redis writes before renaming it over is not the manifest.
    } else if (/\.manifest$/.test(name) && !name.startsWith("temp-")) reading.manifestBytes += size;
  }
  return reading;
}
