/** φ(u) = b·u for u > 0, a·u otherwise (neural-tangents' ABRelu). */
import type { ActivationEntry, WgslCall, WgslPointwise } from './entry.js';
import { knownKeys, num, requiredNumber } from './params.js';
import { abReluDegenerateDual, abReluDual, abReluGap } from './rectifier-math.js';
import { f32Pair } from '../gpu/f32.js';

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
  smooth: () => false,
  wgsl: (a) => abReluWgsl(a.a, a.b),
  pointwiseWgsl: (a) => abReluPointwise(a.a, a.b),
};

/**
 * op_abrelu of shaders/kernel_ops.wgsl: a, b, then ½(a² + b²) as a double-single pair and
 * (a − b)²/(a² + b²), computed here in float64 (the diagonal is scaled by ½(a² + b²) at every
 * layer, so an f32 rounding of it would compound over the depth).
 */
export function abReluWgsl(a: number, b: number): WgslCall {
  const n2 = a * a + b * b;
  return { fn: 'op_abrelu', params: [a, b, ...f32Pair(0.5 * n2), n2 > 0 ? ((a - b) * (a - b)) / n2 : 0] };
}

/** φ(u) = a·u (u ≤ 0), b·u (u > 0) and φ' in WGSL, a and b as data (sampled networks on WebGPU). */
export function abReluPointwise(a: number, b: number): WgslPointwise {
  return { phi: 'select(p.x * u, p.y * u, u > 0.0)', dphi: 'select(p.x, p.y, u > 0.0)', params: [a, b] };
}
