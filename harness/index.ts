/**
 * redis-repro as a library: the container, the scenario model, running a scenario (or a matrix),
 * the checkers and the report writer. Nothing here prints unless given a logger (`withLogger`, or
 * `setLogger` once), calls process.exit or writes process.env.
 */

export { type MatrixOptions, MatrixResult, runMatrix } from "./campaigns/matrix.js";
export {
  renderSweep,
  renderSweepJunit,
  runSweep,
  SWEEP_PATHS,
  type SweepOptions,
  SweepResult,
  sweepScenario,
} from "./campaigns/sweep.js";
export { expectation, expectedVerdict } from "./catalogue/catalogue.js";
export { UserError } from "./core/errors.js";
export { type Attempt, History, HistoryRecorder, type Point, seriesNames, seriesOf } from "./core/history.js";
export { type Logger, setLogger, withLogger } from "./core/progress.js";
export { removeContainers, removeNetworks } from "./engine/cleanup.js";
export { aofView, decideAofDir } from "./parts/checkers/aof-dir.js";
export {
  Decision,
  decideFdLeak,
  Evidence,
  EvidenceSummary,
  LimiterEvidence,
  SeriesGrowth,
} from "./parts/checkers/fd-leak.js";
export { decideGrowth, seriesGrowth } from "./parts/checkers/growth.js";
export {
  aofDirChecker,
  type CheckContext,
  type Checker,
  checkerFor,
  type Ended,
  fdLeakChecker,
  growthChecker,
  leaksChecker,
} from "./parts/checkers/index.js";
export { DEFAULT_LEAK_SERIES, decideLeaks, type LeakSeries, leakText } from "./parts/checkers/leaks.js";
export { RedisReproContainer, StartedRedisReproContainer } from "./parts/container/redis-container.js";
export { type Fault, FaultName, fault } from "./parts/faults/index.js";
export { writeSweepReport } from "./report/sweep.js";
export { writeReport } from "./report/write.js";
export { RunResult, TargetResult } from "./run/result.js";
export { newRunId, type RunOptions, runScenario, runTarget } from "./run/scenario.js";
export { type Clock, watch } from "./run/watch.js";
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
