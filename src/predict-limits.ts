/**
 * Size limits of predict that the CLI's help text quotes: a module of its own so that the CLI can
 * name them without loading the solvers.
 */

/** Largest training set that solver "auto" solves directly; above it CG on WebGPU is used. */
export const DIRECT_MAX_N = 4000;
