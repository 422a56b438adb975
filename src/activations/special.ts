/** Special functions in float64 for the activations (the error function and the normal cdf). */

/**
 * erf to full double precision: Taylor series for |x| < 2.5, continued fraction of erfc beyond
 * (Numerical Recipes / Abramowitz–Stegun 7.1.5 and 7.1.14).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let k = 1; k < 200; k++) {
      term *= -x2 / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))) evaluated bottom-up.
  let f = ax;
  for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x > 0 ? 1 - erfc : erfc - 1;
}

/**
 * erfc(x) = 1 − erf(x) without cancellation for x > 0 (the continued fraction beyond 2.5, where
 * erf would round to 1); for x < 2.5 through erf, whose complement is then at least 4e−4.
 */
export function erfc(x: number): number {
  if (x < 2.5) return 1 - erf(x);
  let f = x;
  for (let k = 60; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** The standard normal cdf Φ(u) = erfc(−u/√2)/2, accurate in the lower tail too. */
export function normalCdf(u: number): number {
  return 0.5 * erfc(-u / Math.SQRT2);
}

/** The standard normal density. */
export function normalPdf(u: number): number {
  return Math.exp(-0.5 * u * u) / Math.sqrt(2 * Math.PI);
}
