import { z } from "zod";
import type { Probe } from "../../core/probe.js";
import { AofDirProbeSpec, aofDirProbe } from "./aof-dir.js";
import { CommandProbeSpec, commandProbe } from "./command.js";
import { ConfigProbeSpec, configProbe } from "./config.js";
import { ConnectProbeSpec, connectProbe } from "./connect.js";
import { DirProbeSpec, dirProbe } from "./dir.js";
import { FdsProbeSpec, fdsProbe } from "./fds.js";
import { InfoProbeSpec, infoProbe } from "./info.js";
import { LogProbeSpec, logProbe } from "./log.js";

/** The built-in probes as data: `{"probe": KIND, …}`; each makes series NAME.FIELD. */
export const ProbeSpec = z.discriminatedUnion("probe", [
  FdsProbeSpec,
  DirProbeSpec,
  AofDirProbeSpec,
  InfoProbeSpec,
  LogProbeSpec,
  ConnectProbeSpec,
  ConfigProbeSpec,
  CommandProbeSpec,
]);
export type ProbeSpec = z.infer<typeof ProbeSpec>;

/** The probe a data spec names. */
export function probeFrom(spec: ProbeSpec): Probe {
  switch (spec.probe) {
    case "fds":
      return fdsProbe(spec);
    case "dir":
      return dirProbe(spec);
    case "aof-dir":
      return aofDirProbe(spec);
    case "info":
      return infoProbe(spec);
    case "log":
      return logProbe(spec);
    case "connect":
      return connectProbe(spec);
    case "config":
      return configProbe(spec);
    case "command":
      return commandProbe(spec);
  }
}

export { aofDirProbe, commandProbe, configProbe, connectProbe, dirProbe, fdsProbe, infoProbe, logProbe };
