/**
 * Kernel updates in the "gap" form used by both executors: a pair's correlation ρ is carried as
 * g = 1 − ρ and h = 1 + ρ, each updated by formulas whose terms are all non-negative on its own
 * side, so the distance to ρ = ±1 keeps full relative precision. Carrying ρ itself loses it: for
 * inputs 1e−6 rad apart 1 − ρ ≈ 5e−13, and every float64 rounding of ρ (1e−16) is then an error
 * of 2e−4 in 1 − ρ, which biased networks accumulate over thousands of layers. The WGSL version
 * of the same formulas is shaders/kernel_ops.wgsl (in f32, with a signed single gap).
 *
 * Each activation's gap form is part of its entry in src/activations/; this module keeps the names
 * other modules use.
 */
export { kappa0Gap, reluGap, sinMinusThetaCosSeries, thetaOf } from '../activations/rectifier-math.js';
export { actGap, type ActOut } from '../activations/registry.js';
