/** Softplus φ(u) = log(1 + e^u), whose derivative is the logistic sigmoid; by quadrature. */
import type { ActivationEntry } from './entry.js';
import { noParams } from './params.js';
import { numericalDual } from './quadrature.js';
import { logistic } from './sigmoid.js';
import { smoothGap } from './smooth.js';
import { builtinSmoothCall, builtinSmoothPointwise } from './wgsl-smooth.js';

export interface Softplus {
  type: 'softplus';
}

/** max(u, 0) + log1p(e^−|u|): no overflow for large u, full precision for very negative u. */
const phi = (u: number) => Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u)));

export const softplus: ActivationEntry<Softplus> = {
  type: 'softplus',
  resolve: (obj, path) => noParams(obj, 'softplus', path),
  describe: () => 'softplus',
  phi: () => phi,
  dphi: () => logistic,
  dual: (_a, kxx, kzz, kxz, out) => numericalDual(phi, logistic, kxx, kzz, kxz, 'softplus', out),
  gap: (_a, kxx, kzz, g, h, out) => smoothGap(phi, logistic, kxx, kzz, g, h, 'softplus', out),
  homogeneous: () => false,
  smooth: () => true,
  wgsl: () => builtinSmoothCall('softplus'),
  pointwiseWgsl: () => builtinSmoothPointwise('softplus'),
};
