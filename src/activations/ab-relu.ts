/** φ(u) = b·u for u > 0, a·u otherwise (neural-tangents' ABRelu). */
import type { ActivationEntry } from './entry.js';
import { knownKeys, num, requiredNumber } from './params.js';
import { abReluDegenerateDual, abReluDual, abReluGap } from './rectifier-math.js';

export interface AbRelu {
  type: 'abRelu';
  a: number;
  b: number;
}

export const abRelu: ActivationEntry<AbRelu> = {
  type: 'abRelu',
  resolve(obj, path) {
    knownKeys(obj, ['type', 'a', 'b'], path);
    return { type: 'abRelu', a: requiredNumber(obj, 'a', path), b: requiredNumber(obj, 'b', path) };
  },
  describe: (a) => `ABReLU(a=${num(a.a)}, b=${num(a.b)})`,
  phi: (a) => (u) => (u > 0 ? a.b * u : a.a * u),
  dphi: (a) => (u) => (u > 0 ? a.b : a.a),
  dual(a, kxx, kzz, kxz, out) {
    if (!(kxx * kzz > 0)) abReluDegenerateDual(a.a, a.b, kxx, kzz, out);
    else abReluDual(a.a, a.b, kxx, kzz, kxz, out);
  },
  gap(a, kxx, kzz, g, h, out) {
    abReluGap(a.a, a.b, kxx, kzz, g, h, !(kxx > 0 && kzz > 0), out);
  },
  homogeneous: () => true,
  wgsl: (a) => ({ fn: 'op_abrelu', params: [a.a, a.b] }),
};
