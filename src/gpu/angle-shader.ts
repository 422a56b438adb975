/**
 * The WGSL and the table words of the angle-table form of the recursion (shaders/gram_angle.wgsl;
 * the table itself comes from src/exec/angle-table.ts, built by the float64 reference on the host).
 * Same bindings, parameters and output as codegen.ts's recursion shader, so gram.ts runs either.
 */
import { FLAG_FINAL, FLAG_INIT, FLAG_TAPS, type RecursionShader } from './codegen.js';
import { BANK, RECURSION_PARAMS, wgslStruct } from './layout.js';
import { GRAM_ANGLE_WGSL, KERNEL_OPS_WGSL, PAIR_DISPATCH_WGSL } from './shaders.generated.js';

/** What the device needs of an angle table (src/exec/angle-table.ts AngleTable). */
export interface AngleTableData {
  segs: number;
  taps: number;
  /** Per segment: its first angle θ_s and w_s, 1 over its width (t = (θ − θ_s)·w_s ∈ [0, 1]). */
  bounds: Float32Array;
  coefs: Float32Array;
  exps: Int32Array;
}

/**
 * c of the table's variable u = log(1 + θ/c)/log(1 + π/c): segments of u are geometric in θ above c
 * and uniform below, where a network of depth L changes on the scale θ ~ 1/L (measured: 512 cubic
 * segments reach 1e−7 from depth 1 to 10 000). A power of two, so that θ/c is exact in float32.
 */
export const ANGLE_C = 2 ** -14;

export function angleShader(t: AngleTableData): RecursionShader {
  // Header: segments, taps, 1/log(1 + π/c), the vec4 where the coefficients start, 2·taps
  // exponents; then one vec4 (θ_s, w_s, 0, 0) per segment; then the coefficients.
  const head = Math.ceil((4 + 2 * t.taps) / 4) * 4;
  const coefAt = head + 4 * t.segs;
  const words = new Uint32Array(coefAt + t.coefs.length);
  const f = new Float32Array(words.buffer);
  words[0] = t.segs;
  words[1] = t.taps;
  f[2] = 1 / Math.log1p(Math.PI / ANGLE_C);
  words[3] = coefAt / 4;
  new Int32Array(words.buffer, 16, 2 * t.taps).set(t.exps);
  for (let s = 0; s < t.segs; s++) f.set(t.bounds.subarray(2 * s, 2 * s + 2), head + 4 * s);
  f.set(t.coefs, coefAt);
  const code = `${wgslStruct(BANK)}
${KERNEL_OPS_WGSL}
${wgslStruct(RECURSION_PARAMS)}
const FLAG_INIT: u32 = ${FLAG_INIT}u;
const FLAG_TAPS: u32 = ${FLAG_TAPS}u;
const FLAG_FINAL: u32 = ${FLAG_FINAL}u;
const INV_C: f32 = ${1 / ANGLE_C}.0;
${PAIR_DISPATCH_WGSL}
${GRAM_ANGLE_WGSL}`;
  return { code, banks: 1, coefs: words };
}
