/**
 * Host-side preparation of the inputs for the GPU, and the float64 helpers that decode its
 * (mantissa, exponent) results: frexp, ldexp without intermediate overflow.
 */
import { InputError } from '../errors.js';
import type { Matrix2D } from '../matrix.js';

/** [mantissa in [0.5, 1), exponent] of a positive finite float64; [0, 0] for 0. */
export function frexp(v: number): [number, number] {
  if (v === 0) return [0, 0];
  let e = Math.floor(Math.log2(v)) + 1;
  let m = v / 2 ** e;
  if (!Number.isFinite(m) || m === 0) {
    // 2**e over- or underflows at the ends of the double range; scale in two steps.
    m = v / 2 ** (e - 600) / 2 ** 600;
  }
  while (m >= 1) {
    m /= 2;
    e += 1;
  }
  while (m < 0.5) {
    m *= 2;
    e -= 1;
  }
  return [m, e];
}

/** 2^e for e ∈ [−1074, 1023], so that decoding a result costs a lookup, not Math.pow. */
const POW2 = (() => {
  const t = new Float64Array(1023 + 1074 + 1);
  for (let e = -1074; e <= 1023; e++) t[e + 1074] = 2 ** e;
  return t;
})();

/** m·2^e in float64 without intermediate overflow. */
export function ldexp64(m: number, e: number): number {
  if (e >= -1074 && e <= 1023) return m * POW2[e + 1074]!;
  if (e > 1000) return m * 2 ** 1000 * 2 ** (e - 1000);
  if (e < -1000) return m * 2 ** -1000 * 2 ** (e + 1000);
  return m * 2 ** e;
}

export interface PreparedRows {
  rows: number;
  vec4s: number;
  /** Unit-normalised rows split as hi + lo float32, padded to vec4s·4 columns. */
  hi: Float32Array<ArrayBuffer>;
  lo: Float32Array<ArrayBuffer>;
  /** Per row: float32 bits of the mantissa and the exponent of K0(x, x) = ‖x‖²·scale. */
  scale: Int32Array<ArrayBuffer>;
}

export function prepareRows(x: Matrix2D, inputScale: number): PreparedRows {
  const d = x.cols;
  const vec4s = Math.ceil(d / 4);
  const w = vec4s * 4;
  const hi = new Float32Array(x.rows * w);
  const lo = new Float32Array(x.rows * w);
  const scale = new Int32Array(x.rows * 2);
  const f = new Float32Array(1);
  const bits = new Int32Array(f.buffer);
  for (let i = 0; i < x.rows; i++) {
    let ss = 0;
    for (let k = 0; k < d; k++) ss += x.data[i * d + k]! ** 2;
    const norm = Math.sqrt(ss);
    const k0 = ss * inputScale;
    if (!Number.isFinite(k0)) throw new InputError(`row ${i}: its squared norm overflows float64`);
    if (norm > 0) {
      for (let k = 0; k < d; k++) {
        const u = x.data[i * d + k]! / norm;
        const h = Math.fround(u);
        hi[i * w + k] = h;
        lo[i * w + k] = u - h;
      }
    }
    const [m, e] = frexp(k0);
    f[0] = m;
    scale[2 * i] = bits[0]!;
    scale[2 * i + 1] = m === 0 ? 0 : e;
  }
  return { rows: x.rows, vec4s, hi, lo, scale };
}
