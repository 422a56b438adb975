/**
 * WGSL generation from a kernel program: the same ops the float64 interpreter runs
 * (src/cpu/interpreter.ts), as calls into shaders/kernel_ops.wgsl.
 *
 * The generated source holds the program's structure only: which ops in which order, which
 * activation kinds, which banks, whether a layer has a bias or trains, the loop structure. Every
 * number (weights, biases, α², load scales, per-iteration coefficients, loop counts, activation
 * parameters, and whether a coefficient is an exact power of two) travels in the coefficient
 * buffer `coef`, so all networks of one structure share one pipeline (pipelines.ts keys by source).
 * Coefficients applied at every layer (weights, biases, α², load scales) travel as double-single
 * pairs (hi, lo): their f32 rounding alone would make a depth-1000 kernel drift by ~1e−5.
 */
import { wgslCall, type WgslCall } from '../activations/registry.js';
import { assertNever, SpecError } from '../errors.js';
import type { KernelProgram, Op } from '../program/program.js';
import type { Activation } from '../spec/types.js';
import { f32Pair } from './f32.js';
import { BANK, BANK_WORDS, RECURSION_PARAMS, wgslStruct, wgslWordAccessors } from './layout.js';
import { KERNEL_OPS_WGSL, PAIR_DISPATCH_WGSL } from './shaders.generated.js';

/** Flags of the recursion dispatch (Params.flags). */
export const FLAG_INIT = 1;
export const FLAG_TAPS = 2;
export const FLAG_FINAL = 4;
export const FLAG_STORE = 8;

export { BANK_WORDS };

export interface RecursionShader {
  /** The WGSL source: structure only, the pipeline cache key. */
  code: string;
  banks: number;
  /** The program's numbers as 32-bit words (f32 bits, or u32 counts, offsets and flags), bound as `coef`. */
  coefs: Uint32Array<ArrayBuffer>;
}

/** Whether x is ±2^k (multiplying by it is exact in binary floating point). */
export function isPowerOfTwo(x: number): boolean {
  if (!(x !== 0 && Number.isFinite(x))) return false;
  const e = Math.floor(Math.log2(Math.abs(x)));
  return Math.abs(x) === 2 ** e;
}

/** The WGSL calls of the program's activations, in program order. */
function activationCalls(p: KernelProgram): WgslCall[] {
  const calls: WgslCall[] = [];
  const visit = (ops: readonly Op[]) => {
    for (const op of ops) if (op.op === 'act') calls.push(wgslCall(op.act));
  };
  for (const s of p.prefix) visit(s.kind === 'ops' ? s.ops : s.body);
  if (p.sweep) visit(p.sweep.body);
  visit(p.suffix);
  return calls;
}

/** Refuses, before any GPU work, a program with an activation the WebGPU backend does not carry. */
export function checkGpuActivations(p: KernelProgram): void {
  activationCalls(p);
}

/** User-written WGSL of the program's activations to compile on its own first (entry.ts: WgslCall.check). */
export function activationChecks(p: KernelProgram): { what: string; code: string }[] {
  const seen = new Set<string>();
  const out: { what: string; code: string }[] = [];
  for (const c of activationCalls(p)) {
    for (const k of c.check ?? []) {
      const key = `${k.what}\u0000${k.code}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(k);
      }
    }
  }
  return out;
}

/** The extra WGSL of the program's activations, each chunk once (shared chunks are equal strings). */
function activationSources(p: KernelProgram): string {
  const chunks = new Set<string>();
  for (const c of activationCalls(p)) for (const src of c.source ?? []) chunks.add(src);
  return [...chunks].map((c) => `${c}\n`).join('');
}

/** Where generated code gets a number from: `f(x)` stores x and returns the WGSL that reads it. */
export interface CoefficientSink {
  f(x: number): string;
}

/** The program's numbers, laid out as they are met; per-iteration tables (as hi, lo pairs) go after all scalars. */
class Coefficients implements CoefficientSink {
  private words: number[] = [];
  private isFloat: boolean[] = [];
  private tables: { slot: number; values: Float64Array }[] = [];
  private tableSlots = new Map<Float64Array, number>();

  /** An f32 coefficient: its WGSL read. */
  f(x: number): string {
    if (!Number.isFinite(x)) throw new Error(`internal error: non-finite constant ${x} in a kernel program`);
    return `cf(${this.push(x, true)}u)`;
  }

  /** A float64 coefficient as a double-single pair (f32Pair): its WGSL read, a vec2<f32>. */
  d(x: number): string {
    if (!Number.isFinite(x)) throw new Error(`internal error: non-finite constant ${x} in a kernel program`);
    const [hi, lo] = f32Pair(x);
    const k = this.push(hi, true);
    this.push(lo, true);
    return `cd(${k}u)`;
  }

  /** A u32 count: its WGSL read. */
  u(n: number): string {
    return `cu(${this.push(n, false)}u)`;
  }

  /** Whether x is an exact power of two, as a run-time bool (its value is in the buffer too). */
  exact(x: number): string {
    return `(${this.u(isPowerOfTwo(x) ? 1 : 0)} != 0u)`;
  }

  /** Entry `iterVar` of a per-iteration table, as a pair (cd); the table's offset is itself a coefficient. */
  table(values: Float64Array, iterVar: string): string {
    let slot = this.tableSlots.get(values);
    if (slot === undefined) {
      slot = this.push(0, false);
      this.tableSlots.set(values, slot);
      this.tables.push({ slot, values });
    }
    return `cd(cu(${slot}u) + 2u * ${iterVar})`;
  }

  private push(v: number, float: boolean): number {
    this.words.push(v);
    this.isFloat.push(float);
    return this.words.length - 1;
  }

  pack(): Uint32Array<ArrayBuffer> {
    const scalars = this.words.length;
    const total = scalars + this.tables.reduce((n, t) => n + 2 * t.values.length, 0);
    const out = new Uint32Array(Math.max(1, total));
    const f = new Float32Array(out.buffer);
    this.words.forEach((v, k) => {
      if (this.isFloat[k]) f[k] = v;
      else out[k] = v;
    });
    let at = scalars;
    for (const t of this.tables) {
      out[t.slot] = at;
      for (const v of t.values) {
        const [hi, lo] = f32Pair(v);
        f[at++] = hi;
        f[at++] = lo;
      }
    }
    return out;
  }
}

/**
 * The WGSL call of one activation on the current bank: the registry's function name, its
 * parameters read from the coefficients (so a new slope is a new buffer value, not a new pipeline).
 */
export function activationCall(a: Activation, c: CoefficientSink): string {
  const { fn, params } = wgslCall(a);
  return `${fn}(${['cur', ...params.map((x) => c.f(x))].join(', ')})`;
}

function opCode(op: Op, c: Coefficients, iterVar: string | null): string {
  switch (op.op) {
    case 'affine':
      return `cur = op_affine(cur, ${c.d(op.weightVar)}, ${c.d(op.biasVar)}, ${op.trainable}, ${c.exact(op.weightVar)}, ${op.biasVar !== 0});`;
    case 'act':
      return `cur = ${activationCall(op.act, c)};`;
    case 'save':
      return `bk${op.bank} = cur;`;
    case 'mix':
      return `cur = op_mix(bk${op.bank}, cur, ${c.d(op.skip)}, ${c.d(op.branch)}, ${c.exact(op.skip)}, ${c.exact(op.branch)});`;
    case 'clear':
      return `bk${op.bank} = bank_zero();`;
    case 'accumulate':
      return `bk${op.bank} = op_mix(bk${op.bank}, cur, vec2<f32>(1.0, 0.0), vec2<f32>(1.0, 0.0), true, true);`;
    case 'load': {
      if (typeof op.scale === 'number') return `cur = op_scale(bk${op.bank}, ${c.d(op.scale)});`;
      if (!iterVar) throw new Error('internal error: per-iteration coefficient outside the depth loop');
      return `cur = op_scale(bk${op.bank}, ${c.table(op.scale, iterVar)});`;
    }
    default:
      return assertNever(op, 'kernel-program op');
  }
}

function opsCode(ops: readonly Op[], c: Coefficients, iterVar: string | null, indent: string): string {
  return ops.map((o) => indent + opCode(o, c, iterVar)).join('\n');
}

export function recursionShader(p: KernelProgram): RecursionShader {
  const c = new Coefficients();
  const banks = p.banks;
  const bankNames = Array.from({ length: banks }, (_, k) => (k === 0 ? 'cur' : `bk${k}`));
  const declBanks = bankNames
    .slice(1)
    .map((n) => `  var ${n} = bank_zero();`)
    .join('\n');
  const loadBanks = bankNames.map((n, k) => `    ${n} = load_bank(bank_at(p, ${k}u));`).join('\n');
  const storeBanks = bankNames.map((n, k) => `    store_bank(bank_at(p, ${k}u), ${n});`).join('\n');
  const args = bankNames.join(', ');
  const params = bankNames.map((_, k) => `b${k}: Bank`).join(', ');
  const copyIn = bankNames.map((n, k) => `  var ${n} = b${k};`).join('\n');

  let loopCount = 0;
  const prefix = p.prefix
    .map((step) => {
      if (step.kind === 'ops') return opsCode(step.ops, c, null, '    ');
      const v = `l${loopCount++}`;
      return `    for (var ${v} = 0u; ${v} < ${c.u(step.count)}; ${v}++) {\n${opsCode(step.body, c, null, '      ')}\n    }`;
    })
    .join('\n');
  const sweep = p.sweep ? opsCode(p.sweep.body, c, 'it', '    ') : '';
  const suffix = opsCode(p.suffix, c, null, '  ');

  const code = `${wgslStruct(BANK)}
${KERNEL_OPS_WGSL}
${activationSources(p)}// ---- generated from the kernel program --------------------------------------------------------

${wgslStruct(RECURSION_PARAMS)}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> gap: array<f32>;
@group(0) @binding(2) var<storage, read> rowScale: array<vec2<i32>>;
@group(0) @binding(3) var<storage, read_write> state: array<u32>;
@group(0) @binding(4) var<storage, read_write> outv: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> coef: array<u32>;
${PAIR_DISPATCH_WGSL}
const BANKS: u32 = ${banks}u;

// The program's numbers (codegen.ts: Coefficients): f32 bits, or u32 counts, offsets and flags.
fn cf(k: u32) -> f32 { return bitcast<f32>(coef[k]); }
fn cu(k: u32) -> u32 { return coef[k]; }
fn cd(k: u32) -> vec2<f32> { return vec2<f32>(cf(k), cf(k + 1u)); }

fn bank_at(p: u32, k: u32) -> u32 { return (p * BANKS + k) * ${BANK_WORDS}u; }

${wgslWordAccessors(BANK, 'state')}
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
  let p = pair_index(gid, nwg);
  if (pair_skipped(p)) { return; }
  let i = p / P.cols;
  let j = p % P.cols;
  ONE = P.one;
  _ = coef[0];  // binding 5 stays in the automatic layout even for a program without numbers
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
  return { code, banks, coefs: c.pack() };
}
