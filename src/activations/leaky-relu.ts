/** LeakyReLU: φ(u) = u for u > 0, slope·u otherwise (the ab-rectifier with a = slope, b = 1). */
import type { ActivationEntry } from './entry.js';
import { knownKeys, num, requiredNumber } from './params.js';
import { abReluDegenerateDual, abReluDual, abReluGap } from './rectifier-math.js';
import { abReluPointwise, abReluWgsl } from './ab-relu.js';

export interface LeakyRelu {
  type: 'leakyRelu';
  slope: number;
}

export const leakyRelu: ActivationEntry<LeakyRelu> = {
  type: 'leakyRelu',
  resolve(obj, path) {
    knownKeys(obj, ['type', 'slope'], path);
    return { type: 'leakyRelu', slope: requiredNumber(obj, 'slope', path) };
  },
  describe: (a) => `LeakyReLU(${num(a.slope)})`,
  phi: (a) => (u) => (u > 0 ? u : a.slope * u),
  dphi: (a) => (u) => (u > 0 ? 1 : a.slope),
  dual(a, kxx, kzz, kxz, out) {
    if (!(kxx * kzz > 0)) abReluDegenerateDual(a.slope, 1, kxx, kzz, out);
    else abReluDual(a.slope, 1, kxx, kzz, kxz, out);
  },
  gap(a, kxx, kzz, g, h, out) {
    abReluGap(a.slope, 1, kxx, kzz, g, h, !(kxx > 0 && kzz > 0), out);
  },
  homogeneous: () => true,
  smooth: () => false,
  wgsl: (a) => abReluWgsl(a.slope, 1),
  pointwiseWgsl: (a) => abReluPointwise(a.slope, 1),
};
