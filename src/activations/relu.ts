/** ReLU, φ(u) = max(u, 0): Cho & Saul's arc-cosine unit of order 1. */
import type { ActivationEntry } from './entry.js';
import { noParams } from './params.js';
import { abReluGap, reluDual } from './rectifier-math.js';

export interface Relu {
  type: 'relu';
}

export const relu: ActivationEntry<Relu> = {
  type: 'relu',
  resolve: (obj, path) => noParams(obj, 'relu', path),
  describe: () => 'ReLU',
  phi: () => (u) => (u > 0 ? u : 0),
  dphi: () => (u) => (u > 0 ? 1 : 0),
  dual(_a, kxx, kzz, kxz, out) {
    if (!(kxx * kzz > 0)) {
      // A constant-0 side: φ(0) = 0 and φ'(0) = 0.
      out[0] = 0;
      out[1] = 0;
      return;
    }
    reluDual(kxx, kzz, kxz, out);
  },
  gap(_a, kxx, kzz, g, h, out) {
    abReluGap(0, 1, kxx, kzz, g, h, !(kxx > 0 && kzz > 0), out);
  },
  homogeneous: () => true,
  smooth: () => false,
  wgsl: () => ({ fn: 'op_relu', params: [] }),
  pointwiseWgsl: () => ({ phi: 'max(u, 0.0)', dphi: 'select(0.0, 1.0, u > 0.0)' }),
};
