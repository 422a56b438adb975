/**
 * Where the time of a run goes: seconds per named phase, added up over a run, for profiling
 * (ExecOptions.phases; `webntk gram --profile`; bench/). Counts ride along in the same record
 * (e.g. pipelinesCompiled). Defined here, below every executor, so that any layer can add to it.
 */

/** Seconds per phase, accumulated over a run (and counts such as pipelinesCompiled). */
export type PhaseTimes = Record<string, number>;

/** Adds `amount` (seconds, or a count) to phase `name` of `t` when profiling. */
export function addPhase(t: PhaseTimes | undefined, name: string, amount: number): void {
  if (t) t[name] = (t[name] ?? 0) + amount;
}

/** Seconds since `t0` (a performance.now() reading). */
export function since(t0: number): number {
  return (performance.now() - t0) / 1000;
}
