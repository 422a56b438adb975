/** The logistic sigmoid φ(u) = 1/(1 + e^−u), by the quadrature of quadrature.ts. */
import type { ActivationEntry } from './entry.js';
import { noParams } from './params.js';
import { numericalDual } from './quadrature.js';
import { smoothGap } from './smooth.js';
import { builtinSmoothCall, builtinSmoothPointwise } from './wgsl-smooth.js';

export interface Sigmoid {
  type: 'sigmoid';
}

/** Through e^−|u|, so neither tail overflows or cancels. */
export function logistic(u: number): number {
  const e = Math.exp(-Math.abs(u));
  return u >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** φ'(u) = e^−|u|/(1 + e^−|u|)² (even). */
export function logisticDerivative(u: number): number {
  const e = Math.exp(-Math.abs(u));
  return e / ((1 + e) * (1 + e));
}

export const sigmoid: ActivationEntry<Sigmoid> = {
  type: 'sigmoid',
  resolve: (obj, path) => noParams(obj, 'sigmoid', path),
  describe: () => 'sigmoid (logistic)',
  phi: () => logistic,
  dphi: () => logisticDerivative,
  dual: (_a, kxx, kzz, kxz, out) => numericalDual(logistic, logisticDerivative, kxx, kzz, kxz, 'sigmoid', out),
  gap: (_a, kxx, kzz, g, h, out) => smoothGap(logistic, logisticDerivative, kxx, kzz, g, h, 'sigmoid', out),
  homogeneous: () => false,
  smooth: () => true,
  wgsl: () => builtinSmoothCall('sigmoid'),
  pointwiseWgsl: () => builtinSmoothPointwise('sigmoid'),
};
