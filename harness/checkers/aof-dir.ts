import type { Point } from "../history.js";
import { type Decision, type FdLeakInput, fdEvidence } from "./fd-leak.js";
import { decideGrowth, seriesGrowth } from "./growth.js";

/**
 * Pure: does the 7.x AOF directory grow with failed forks? `growing`: at least 0.8 new files per
 * attempt over at least 10 attempts; `stable`: over `attemptsNeeded` attempts the directory keeps its
 * file count (± 1, a rewrite's temp file); otherwise undecided, and `inconclusive` once ended.
 * The generic growth checker on the directory's file count, with the manifest's bytes reported beside.
 */
export interface AofDirInput extends FdLeakInput {
  /** The aof-dir probe's series: NAME.files and NAME.manifestBytes. */
  files: Point[];
  manifestBytes: Point[];
  /** The probe's name, for the series names in the evidence. */
  probe?: string;
}

export function decideAofDir(input: AofDirInput): Decision | undefined {
  return decideGrowth({
    series: `${input.probe ?? "aofdir"}.files`,
    points: input.files,
    attempts: input.attempts,
    perAttempt: 0.8,
    tolerance: 1,
    minAttempts: Math.min(10, input.attemptsNeeded),
    attemptsNeeded: input.attemptsNeeded,
    ...(input.ended ? { ended: input.ended } : {}),
    evidence: fdEvidence(input),
    label: "the AOF directory's file count",
    also: [seriesGrowth(`${input.probe ?? "aofdir"}.manifestBytes`, input.manifestBytes, input.attempts)],
  });
}
