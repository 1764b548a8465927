import type { AofDirSample } from "../probes/aof-dir.js";
import type { Verdict } from "../scenario.js";
import { type AofEvidence, type Decision, type FdLeakInput, failedForks, fdEvidence } from "./fd-leak.js";

/**
 * Pure: does the AOF directory grow with failed forks? `growing`: at least one new file per failed fork
 * (within 20 %) over at least 10 attempts; `stable`: over `attemptsNeeded` failed forks the directory
 * keeps its file count (± 1, a rewrite's temp file); otherwise undecided, and `inconclusive` once ended.
 */
export interface AofDirInput extends FdLeakInput {
  aofSamples: AofDirSample[];
}

export function decideAofDir(input: AofDirInput): Decision | undefined {
  const failures = failedForks(input.events);
  const attempts = failures.length;
  const first = failures[0];
  const before = first
    ? ([...input.aofSamples].reverse().find((s) => s.t <= first.t) ?? input.aofSamples[0])
    : undefined;
  const after = input.aofSamples.at(-1);
  const attemptsByLast = after ? failedForks(input.events, after.t).length : 0;
  const grown = before && after ? after.files - before.files : null;
  const aof: AofEvidence = {
    attempts,
    filesBefore: before?.files ?? null,
    filesAfter: after?.files ?? null,
    incrPerAttempt:
      grown !== null && attemptsByLast > 0 ? Math.round((grown / attemptsByLast) * 100) / 100 : null,
    manifestBytesBefore: before?.manifestBytes ?? null,
    manifestBytesAfter: after?.manifestBytes ?? null,
  };
  const decided = (verdict: Verdict, reason: string): Decision => ({
    verdict,
    reason,
    evidence: fdEvidence(input),
    aof,
  });

  if (input.ended?.reason === "container-exited")
    return decided("inconclusive", `container died: ${input.ended.detail}`);
  if (input.aofSamples.length === 0 && input.ended)
    return decided(
      "inconclusive",
      "the AOF directory could not be read (is this a 7.x release with appendonly yes?)",
    );
  if (
    aof.incrPerAttempt !== null &&
    attemptsByLast >= Math.min(10, input.attemptsNeeded) &&
    aof.incrPerAttempt >= 0.8
  ) {
    return decided(
      "growing",
      `the AOF directory gained ${grown} files over ${attemptsByLast} failed forks (${aof.incrPerAttempt} per attempt); the manifest grew from ${aof.manifestBytesBefore} to ${aof.manifestBytesAfter} bytes`,
    );
  }
  if (grown !== null && attemptsByLast >= input.attemptsNeeded && grown <= 1) {
    return decided("stable", `the AOF directory kept ${after?.files} files over ${attempts} failed forks`);
  }
  if (!input.ended) return undefined;
  if (attempts === 0)
    return decided("inconclusive", `no fork failure seen before the run ended (${input.ended.detail})`);
  return decided(
    "inconclusive",
    `${attempts} failed forks, the AOF directory went from ${aof.filesBefore} to ${aof.filesAfter} files (${input.ended.detail})`,
  );
}
