/**
 * WGSL generation from a kernel program: the same ops the float64 interpreter runs
 * (src/cpu/interpreter.ts), as calls into shaders/kernel_ops.wgsl. The generated source is the
 * pipeline cache key, so it contains every specialisation input.
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import type { KernelProgram, Op } from '../program/program.js';
import { KERNEL_OPS_WGSL } from './shaders.generated.js';

/** Flags of the recursion dispatch (Params.flags). */
export const FLAG_INIT = 1;
export const FLAG_TAPS = 2;
export const FLAG_FINAL = 4;
export const FLAG_STORE = 8;

/** Words per bank in the state buffer: e, kxx, kzz, g, t, tl, kxl, kzl, gl. */
export const BANK_WORDS = 9;

export interface RecursionShader {
  code: string;
  banks: number;
  /** Per-iteration coefficients of the sweep, concatenated (float32 on the GPU). */
  coefs: Float32Array<ArrayBuffer>;
}

/** Whether x is ±2^k (multiplying by it is exact in binary floating point). */
export function isPowerOfTwo(x: number): boolean {
  if (!(x !== 0 && Number.isFinite(x))) return false;
  const e = Math.floor(Math.log2(Math.abs(x)));
  return Math.abs(x) === 2 ** e;
}

/** An f32 literal that rounds the float64 value correctly. */
function lit(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`internal error: non-finite constant ${x} in a kernel program`);
  return `f32(${x.toPrecision(17)})`;
}

class Writer {
  coefs: number[] = [];
  private coefOffsets = new Map<Float64Array, number>();

  coefRef(c: Float64Array, iterVar: string | null): string {
    if (!iterVar) throw new Error('internal error: per-iteration coefficient outside the depth loop');
    let off = this.coefOffsets.get(c);
    if (off === undefined) {
      off = this.coefs.length;
      this.coefOffsets.set(c, off);
      this.coefs.push(...c);
    }
    return `coefs[${off}u + ${iterVar}]`;
  }

  op(op: Op, iterVar: string | null): string {
    switch (op.op) {
      case 'affine':
        return `cur = op_affine(cur, ${lit(op.weightVar)}, ${lit(op.biasVar)}, ${op.trainable}, ${isPowerOfTwo(op.weightVar)}, ${op.biasVar !== 0});`;
      case 'act': {
        const a = op.act;
        switch (a.type) {
          case 'relu':
            return 'cur = op_relu(cur);';
          case 'arccos':
            return a.order === 0 ? 'cur = op_step(cur);' : a.order === 1 ? 'cur = op_relu(cur);' : 'cur = op_arccos2(cur);';
          case 'leakyRelu':
            return `cur = op_abrelu(cur, ${lit(a.slope)}, 1.0);`;
          case 'abRelu':
            return `cur = op_abrelu(cur, ${lit(a.a)}, ${lit(a.b)});`;
          case 'erf':
            return 'cur = op_erf(cur);';
        }
        break;
      }
      case 'save':
        return `bk${op.bank} = cur;`;
      case 'mix':
        return `cur = op_mix(bk${op.bank}, cur, ${lit(op.skip)}, ${lit(op.branch)}, ${isPowerOfTwo(op.skip)}, ${isPowerOfTwo(op.branch)});`;
      case 'clear':
        return `bk${op.bank} = bank_zero();`;
      case 'accumulate':
        return `bk${op.bank} = op_mix(bk${op.bank}, cur, 1.0, 1.0, true, true);`;
      case 'load': {
        const c = typeof op.scale === 'number' ? lit(op.scale) : this.coefRef(op.scale, iterVar);
        return `cur = op_scale(bk${op.bank}, ${c});`;
      }
    }
    throw new Error(`internal error: unknown op ${JSON.stringify(op)}`);
  }

  ops(ops: readonly Op[], iterVar: string | null, indent: string): string {
    return ops.map((o) => indent + this.op(o, iterVar)).join('\n');
  }
}

export function recursionShader(p: KernelProgram): RecursionShader {
  const w = new Writer();
  const banks = p.banks;
  const bankNames = Array.from({ length: banks }, (_, k) => (k === 0 ? 'cur' : `bk${k}`));
  const declBanks = bankNames
    .slice(1)
    .map((n) => `  var ${n} = bank_zero();`)
    .join('\n');
  const loadBanks = bankNames.map((n, k) => `    ${n} = load_bank(p, ${k}u);`).join('\n');
  const storeBanks = bankNames.map((n, k) => `    store_bank(p, ${k}u, ${n});`).join('\n');
  const args = bankNames.join(', ');
  const params = bankNames.map((_, k) => `b${k}: Bank`).join(', ');
  const copyIn = bankNames.map((n, k) => `  var ${n} = b${k};`).join('\n');

  let loopCount = 0;
  const prefix = p.prefix
    .map((step) => {
      if (step.kind === 'ops') return w.ops(step.ops, null, '    ');
      const v = `l${loopCount++}`;
      return `    for (var ${v} = 0u; ${v} < ${step.count}u; ${v}++) {\n${w.ops(step.body, null, '      ')}\n    }`;
    })
    .join('\n');
  const sweep = p.sweep ? w.ops(p.sweep.body, 'it', '    ') : '';
  const suffix = w.ops(p.suffix, null, '  ');
  const hasCoefs = w.coefs.length > 0;

  const code = wgsl`${KERNEL_OPS_WGSL}
// ---- generated from the kernel program --------------------------------------------------------

struct Params {
  pairCount: u32,
  cols: u32,
  rowsA: u32,
  iterStart: u32,
  iterEnd: u32,
  flags: u32,
  diagonal: u32,
  tapBase: u32,
  one: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> gap: array<f32>;
@group(0) @binding(2) var<storage, read> rowScale: array<vec2<i32>>;
@group(0) @binding(3) var<storage, read_write> state: array<u32>;
@group(0) @binding(4) var<storage, read_write> outv: array<vec4<u32>>;
#if ${hasCoefs}
@group(0) @binding(5) var<storage, read> coefs: array<f32>;
#endif

const BANKS: u32 = ${banks}u;

fn load_bank(p: u32, k: u32) -> Bank {
  let o = (p * BANKS + k) * ${BANK_WORDS}u;
  return Bank(bitcast<i32>(state[o]), bitcast<f32>(state[o + 1u]), bitcast<f32>(state[o + 2u]),
              bitcast<f32>(state[o + 3u]), bitcast<f32>(state[o + 4u]), bitcast<f32>(state[o + 5u]),
              bitcast<f32>(state[o + 6u]), bitcast<f32>(state[o + 7u]), bitcast<f32>(state[o + 8u]));
}

fn store_bank(p: u32, k: u32, b: Bank) {
  let o = (p * BANKS + k) * ${BANK_WORDS}u;
  state[o] = bitcast<u32>(b.e);
  state[o + 1u] = bitcast<u32>(b.kxx);
  state[o + 2u] = bitcast<u32>(b.kzz);
  state[o + 3u] = bitcast<u32>(b.g);
  state[o + 4u] = bitcast<u32>(b.t);
  state[o + 5u] = bitcast<u32>(b.tl);
  state[o + 6u] = bitcast<u32>(b.kxl);
  state[o + 7u] = bitcast<u32>(b.kzl);
  state[o + 8u] = bitcast<u32>(b.gl);
}

// The layers after the depth loop and the readout: turns the state after any depth into an output.
fn apply_suffix(${params}) -> Bank {
${copyIn}
${suffix}
  return cur;
}

// Initial state from the first-layer gap and the rows' input-kernel scales (mantissa, exponent).
// diagonal == 2: the pairs are (x_i, x_i), one per row, with no first-layer gap.
fn init_bank(i: u32, j: u32, p: u32) -> Bank {
  let sa = rowScale[i];
  let sb = rowScale[select(P.rowsA + j, i, P.diagonal == 2u)];
  let ma = bitcast<f32>(sa.x);
  let mb = bitcast<f32>(sb.x);
  var e = max(sa.y, sb.y);
  if (ma == 0.0) { e = sb.y; }
  if (mb == 0.0) { e = sa.y; }
  if (ma == 0.0 && mb == 0.0) { e = 0; }
  var kxx = 0.0;
  var kzz = 0.0;
  if (ma != 0.0) { kxx = ldexp(ma, sa.y - e); }
  if (mb != 0.0) { kzz = ldexp(mb, sb.y - e); }
  var g = 0.0;
  // The first-layer signed gap (its sign bit marks the ρ < 0 side; no clamp, which could lose −0).
  if (P.diagonal != 2u) { g = gap[p]; }
  return Bank(e, kxx, kzz, g, 0.0, 0.0, 0.0, 0.0, 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = gid.x + gid.y * nwg.x * 256u;
  if (p >= P.pairCount) { return; }
  let i = p / P.cols;
  let j = p % P.cols;
  if (P.diagonal == 1u && j < i) { return; }
  ONE = P.one;
  var cur: Bank;
${declBanks}
  if ((P.flags & ${FLAG_INIT}u) != 0u) {
    cur = init_bank(i, j, p);
${prefix}
    if ((P.flags & ${FLAG_TAPS}u) != 0u) { outv[p] = encode(apply_suffix(${args})); }
  } else {
${loadBanks}
  }
  for (var it = P.iterStart; it < P.iterEnd; it++) {
${sweep}
    if ((P.flags & ${FLAG_TAPS}u) != 0u) { outv[(it + 1u - P.tapBase) * P.pairCount + p] = encode(apply_suffix(${args})); }
  }
  if ((P.flags & ${FLAG_FINAL}u) != 0u) {
    outv[p] = encode(apply_suffix(${args}));
  }
  if ((P.flags & ${FLAG_STORE}u) != 0u) {
${storeBanks}
  }
}
`;
  return { code, banks, coefs: Float32Array.from(w.coefs) };
}
