/** Host-side splitting of float64 numbers for the f32 shaders. */

/**
 * x as hi + lo, two f32 (double-single): hi = f32(x), lo = f32(x − hi). Together they hold x to
 * ~2^−48 relative, so a coefficient applied at every layer (α², σ_w²) does not drift with depth.
 */
export function f32Pair(x: number): [number, number] {
  const hi = Math.fround(x);
  // Beyond the f32 range hi is ±Infinity, and x − hi would make lo a NaN.
  return [hi, Number.isFinite(hi) ? Math.fround(x - hi) : 0];
}
