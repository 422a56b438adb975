/** φ(u) = tanh(u). No closed-form dual: both forms come from the quadrature of quadrature.ts. */
import type { ActivationEntry } from './entry.js';
import { noParams } from './params.js';
import { smoothGap } from './smooth.js';
import { numericalDual } from './quadrature.js';
import { builtinSmoothCall, builtinSmoothPointwise } from './wgsl-smooth.js';

export interface Tanh {
  type: 'tanh';
}

const phi = Math.tanh;
/** 1/cosh²(u): no cancellation in the tails, unlike 1 − tanh². */
const dphi = (u: number) => {
  const c = Math.cosh(u);
  return 1 / (c * c);
};

export const tanh: ActivationEntry<Tanh> = {
  type: 'tanh',
  resolve: (obj, path) => noParams(obj, 'tanh', path),
  describe: () => 'tanh',
  phi: () => phi,
  dphi: () => dphi,
  dual: (_a, kxx, kzz, kxz, out) => numericalDual(phi, dphi, kxx, kzz, kxz, 'tanh', out),
  gap: (_a, kxx, kzz, g, h, out) => smoothGap(phi, dphi, kxx, kzz, g, h, 'tanh', out),
  homogeneous: () => false,
  smooth: () => true,
  wgsl: () => builtinSmoothCall('tanh'),
  pointwiseWgsl: () => builtinSmoothPointwise('tanh'),
};
