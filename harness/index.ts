/**
 * redis-repro as a library: the container, the scenario model, running a scenario (or a matrix),
 * the checkers and the report writer. Nothing here prints unless given a logger (`withLogger`, or
 * `setLogger` once), calls process.exit or writes process.env.
 */

export { expectation, expectedVerdict } from "./catalogue/catalogue.js";
export { aofView, decideAofDir } from "./checkers/aof-dir.js";
export {
  Decision,
  decideFdLeak,
  Evidence,
  EvidenceSummary,
  LimiterEvidence,
  SeriesGrowth,
} from "./checkers/fd-leak.js";
export { decideGrowth, seriesGrowth } from "./checkers/growth.js";
export {
  aofDirChecker,
  type CheckContext,
  type Checker,
  checkerFor,
  type Ended,
  fdLeakChecker,
  growthChecker,
} from "./checkers/index.js";
export { RedisReproContainer, StartedRedisReproContainer } from "./container/redis-container.js";
export { removeContainers, removeNetworks } from "./engine/cleanup.js";
export { UserError } from "./errors.js";
export { type Fault, FaultName, fault } from "./faults/index.js";
export { type Attempt, History, HistoryRecorder, type Point, seriesNames, seriesOf } from "./history.js";
export { type MatrixOptions, MatrixResult, runMatrix } from "./matrix.js";
export { type Logger, setLogger, withLogger } from "./progress.js";
export { writeReport } from "./report/write.js";
export { RunResult, TargetResult } from "./result.js";
export { newRunId, type RunOptions, runScenario, runTarget } from "./run.js";
export {
  defineScenario,
  loadScenario,
  parseScenario,
  type Scenario,
  ScenarioData,
  type ScenarioDefinition,
  type ScriptStep,
  type StepContext,
  Verdict,
} from "./scenario/index.js";
export { ensureImage, type TargetImage } from "./targets/build.js";
export { redisArgs } from "./targets/config.js";
export { parseTarget } from "./targets/spec.js";
export { type Clock, watch } from "./watch.js";
