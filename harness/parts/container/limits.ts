import { z } from "zod";

/** Byte sizes as people write them: 64m, 512k, 1g or a plain number of bytes. */
export const ByteSize = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+\s*[kmg]?i?b?$/i, "a size such as 64m, 512k or 1g")
    .transform((s) => {
      const match = /^(\d+)\s*([kmg]?)/i.exec(s);
      const n = Number(match?.[1]);
      const unit = (match?.[2] ?? "").toLowerCase();
      return n * (unit === "k" ? 1024 : unit === "m" ? 1024 ** 2 : unit === "g" ? 1024 ** 3 : 1);
    })
    // "0m" must fail like 0 does: a memory limit of 0 means no limit to the engine.
    .pipe(z.number().positive()),
]);

/** What a node's container runs under. */
export const Limits = z
  .object({
    memory: ByteSize,
    pids: z.number().int().positive(),
    nofile: z.number().int().positive(),
    /** Size-limited tmpfs mounts by path, e.g. {"/data": "4m"}: a disk that fills (ENOSPC). */
    tmpfs: z.record(z.string().startsWith("/"), ByteSize).optional(),
  })
  .strict();
export type Limits = z.infer<typeof Limits>;
