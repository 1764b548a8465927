/**
 * The largest of many numbers, by a loop: `Math.max(...values)` passes each as an argument, and a
 * flood of attempts (3.2 logging a failed accept 100 000 times in 20 s) passes the engine's limit
 * ("Maximum call stack size exceeded"). `floor` is the answer for no values, and the least one.
 */
export function maxOf(values: Iterable<number>, floor = Number.NEGATIVE_INFINITY): number {
  let max = floor;
  for (const v of values) if (v > max) max = v;
  return max;
}
