/**
 * redis-repro as a library: define, load and run a scenario (or many), the container, the part
 * interfaces and their built-ins, the history and outcomes, and reports. Nothing here prints unless
 * given a logger (`withLogger`, or `setLogger` once), calls process.exit or writes process.env.
 * The surface is deliberate: api/redis-repro.api.md records it and CI fails when it changes unseen.
 */

export {
  type MatrixCell,
  type MatrixOptions,
  MatrixResult,
  runMatrix,
  type ScenarioJob,
} from "./campaigns/matrix.js";
export { parseShard, type Shard, ShardInfo } from "./campaigns/shard.js";
export { runSweep, type SweepOptions, SweepResult } from "./campaigns/sweep.js";
// The parts' contracts, and their built-ins (a user's own object goes wherever a built-in would).
export type { CheckContext, Checker, Ended } from "./core/checker.js";
export { type ErrorKind, UserError } from "./core/errors.js";
export type { Episode, Fault, FaultContainerOptions } from "./core/fault.js";
// The history checkers read, and what they decide.
export {
  type Attempt,
  type Event,
  type EventValue,
  eventsOf,
  faultWindows,
  History,
  type Point,
  seriesOf,
  valueAt,
} from "./core/history.js";
export type { DirEntry, EndCause, ExecResult, FaultNode, FdEntry, Node, NodeLimits } from "./core/node.js";
export { Decision, type Expected, type Fact, meets, Outcome, type Plot } from "./core/outcome.js";
export type { Probe, Reading } from "./core/probe.js";
export { type Logger, setLogger, withLogger } from "./core/progress.js";
export type { ScriptStep, Step, StepContext, Tally } from "./core/step.js";
export type { CheckerSpec, CheckerSpecInput } from "./parts/checkers/index.js";
// The container, in the style of testcontainers' modules.
export type { Limits } from "./parts/container/limits.js";
export { RedisReproContainer, type StartedRedisReproContainer } from "./parts/container/redis-container.js";
export type { FaultName } from "./parts/faults/index.js";
export { Checkers, Faults, Probes, Steps } from "./parts/index.js";
// Reports: write a run's folder, read one back.
export type { Report } from "./report/model.js";
export { readReport } from "./report/read.js";
export { type WrittenReport, writeReport } from "./report/write.js";
export { RunResult, type TargetResult } from "./run/result.js";
// Running: one scenario on targets, one target, many (matrix) and every fork path (sweep).
export { newRunId, type RunOptions, runScenario } from "./run/scenario.js";
export { runTarget, type TargetRunOptions } from "./run/target.js";
// Scenarios: define (a script's default export), parse (data or a definition), load (a name or a file).
export {
  defineScenario,
  loadScenario,
  parseScenario,
  type Scenario,
  ScenarioData,
  type ScenarioDefinition,
  type ScenarioNode,
  type ScenarioSource,
} from "./scenario/index.js";
export type { AttemptSpec } from "./scenario/schema.js";
// Images, errors, logging.
export { type EnsureOptions, ensureImage, type TargetImage } from "./targets/build.js";
export type { RedisConfig } from "./targets/config.js";
// The servers a target may run (redis, valkey): a container of an image by name is told which.
export { Server } from "./targets/server.js";
export type { TargetSpec } from "./targets/spec.js";
