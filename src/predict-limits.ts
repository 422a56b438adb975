/**
 * Size limits of predict that the CLI's help text quotes: a module of its own so that the CLI can
 * name them without loading the solvers.
 */

/** Largest training set that solver "auto" solves directly; above it CG on WebGPU is used. */
export const DIRECT_MAX_N = 4000;

/**
 * Solver "auto": host bytes a stored K_XX (float64, 8n²) may take before "cg-matfree" is chosen
 * (2 GiB: n ≈ 16 000). The CLI passes a quarter of the machine's memory instead.
 */
export const KERNEL_MEMORY_BYTES = 2 ** 31;
