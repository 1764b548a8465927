/**
 * The built-in parts, one factory per kind, in the spirit of testcontainers' `Wait`: each returns an
 * object of the part's interface (core/), and a user's own object goes wherever one of these would.
 */
import {
  allOf,
  anyOf,
  aofDirChecker,
  assertChecker,
  fdLeakChecker,
  growthChecker,
  leaksChecker,
  recoveryChecker,
  withinChecker,
} from "./checkers/index.js";
import { faultFrom, libfiu, networkCut, noFault, pidsLimit, seccomp, seccompEnomem } from "./faults/index.js";
import {
  aofDirProbe,
  commandProbe,
  configProbe,
  connectProbe,
  dirProbe,
  fdsProbe,
  infoProbe,
  logProbe,
} from "./probes/index.js";
import { commandStep, fillStep, growAofStep, markStep, waitStep } from "./workload/index.js";

export const Probes = {
  fds: fdsProbe,
  dir: dirProbe,
  aofDir: aofDirProbe,
  info: infoProbe,
  log: logProbe,
  connect: connectProbe,
  config: configProbe,
  command: commandProbe,
} as const;

export const Faults = {
  seccompEnomem,
  pidsLimit,
  libfiu,
  seccomp,
  networkCut,
  none: noFault,
  /** A fault by its data form (a name, or an object naming its kind). */
  named: faultFrom,
} as const;

export const Steps = {
  growAof: growAofStep,
  fill: fillStep,
  command: commandStep,
  wait: waitStep,
  mark: markStep,
} as const;

export const Checkers = {
  fdLeak: fdLeakChecker,
  aofDir: aofDirChecker,
  growth: growthChecker,
  leaks: leaksChecker,
  assert: assertChecker,
  within: withinChecker,
  /** What the server is left with after the last heal: recovered or not, each requirement with its evidence. */
  recovery: recoveryChecker,
  /** Bug only when every part finds its bug (see docs/writing-scenarios.md). */
  all: allOf,
  /** Bug when any part finds its bug. */
  any: anyOf,
} as const;
