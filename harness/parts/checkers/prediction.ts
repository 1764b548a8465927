import { z } from "zod";

/**
 * The seed's arithmetic: serverCron tries once per tick (hz per second) and each failed try leaks
 * fdsPerAttempt fds, so the table is full after (ceiling − baseline) / fdsPerAttempt ticks.
 */
export function predictExhaustionSeconds(
  ceiling: number,
  baselineFds: number,
  fdsPerAttempt: number,
  hz: number,
): number {
  return (ceiling - baselineFds) / (fdsPerAttempt * hz);
}

export const Prediction = z.object({
  predictedSeconds: z.number(),
  measuredSeconds: z.number().nullable(),
  /** |measured − predicted| / predicted. */
  deviation: z.number().nullable(),
  tolerance: z.number(),
  within: z.boolean(),
});
export type Prediction = z.infer<typeof Prediction>;

export function comparePrediction(
  predictedSeconds: number,
  measuredSeconds: number | null,
  tolerance: number,
): Prediction {
  const deviation =
    measuredSeconds === null ? null : Math.abs(measuredSeconds - predictedSeconds) / predictedSeconds;
  return {
    predictedSeconds: Math.round(predictedSeconds * 10) / 10,
    measuredSeconds: measuredSeconds === null ? null : Math.round(measuredSeconds * 10) / 10,
    deviation: deviation === null ? null : Math.round(deviation * 1000) / 1000,
    tolerance,
    within: deviation !== null && deviation <= tolerance,
  };
}

/** The prediction as the fd-leak checker records it: with the hz it used and where that came from. */
export const FdPrediction = Prediction.extend({
  hz: z.number(),
  /** "config": read from the server; "default": not read, Redis's default of 10 assumed. */
  hzFrom: z.enum(["config", "default"]),
});
export type FdPrediction = z.infer<typeof FdPrediction>;
