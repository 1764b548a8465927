import { cpus, release, totalmem } from "node:os";
import { z } from "zod";
import { harnessVersion } from "../core/version.js";
import { engineFacts, prepareReaper } from "./client.js";

/** Where a result was made: enough for a maintainer to judge and rerun it, and no host paths. */
export const Environment = z.object({
  harnessVersion: z.string(),
  node: z.string(),
  kernel: z.string(),
  engine: z.object({
    version: z.string(),
    apiVersion: z.string(),
    os: z.string(),
    cgroupVersion: z.string(),
    cgroupDriver: z.string(),
    storageDriver: z.string(),
    seccomp: z.boolean(),
  }),
  cpus: z.number(),
  memoryBytes: z.number(),
  reaper: z.enum(["ryuk", "harness"]),
});
export type Environment = z.infer<typeof Environment>;

export async function describeEnvironment(): Promise<Environment> {
  const { version, info } = await engineFacts();
  const securityOptions: string[] = info.SecurityOptions ?? [];
  return {
    harnessVersion,
    node: process.version,
    kernel: release(),
    engine: {
      version: version.Version,
      apiVersion: version.ApiVersion,
      os: info.OperatingSystem ?? "",
      cgroupVersion: String(info.CgroupVersion ?? ""),
      cgroupDriver: info.CgroupDriver ?? "",
      storageDriver: info.Driver ?? "",
      seccomp: securityOptions.some((o) => o.includes("seccomp")),
    },
    cpus: info.NCPU ?? cpus().length,
    memoryBytes: info.MemTotal ?? totalmem(),
    reaper: await prepareReaper(),
  };
}
