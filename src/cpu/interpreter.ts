/**
 * The float64 reference executor: runs a kernel program on the state of one input pair.
 */
import {
  BANK_SIZE,
  KXX,
  KXZ,
  KZZ,
  NTK,
  type Coef,
  type KernelProgram,
  type Op,
} from '../program/program.js';
import { dual } from './activations.js';

const scratch = new Float64Array(2);

function coef(c: Coef, iter: number): number {
  return typeof c === 'number' ? c : c[iter]!;
}

/** Applies `ops` to `s`; `iter` indexes per-iteration coefficients of the enclosing loop. */
export function runOps(ops: readonly Op[], s: Float64Array, iter: number): void {
  for (const op of ops) {
    switch (op.op) {
      case 'affine': {
        const w = op.weightVar;
        const b = op.biasVar;
        const kxz = w * s[KXZ]! + b;
        s[KXZ] = kxz;
        s[KXX] = w * s[KXX]! + b;
        s[KZZ] = w * s[KZZ]! + b;
        s[NTK] = w * s[NTK]! + (op.trainable ? kxz : 0);
        break;
      }
      case 'act': {
        const kxx = s[KXX]!;
        const kzz = s[KZZ]!;
        dual(op.act, kxx, kzz, s[KXZ]!, scratch);
        const sxz = scratch[0]!;
        const dxz = scratch[1]!;
        dual(op.act, kxx, kxx, kxx, scratch);
        s[KXX] = scratch[0]!;
        dual(op.act, kzz, kzz, kzz, scratch);
        s[KZZ] = scratch[0]!;
        s[KXZ] = sxz;
        s[NTK] = dxz * s[NTK]!;
        break;
      }
      case 'save': {
        const o = op.bank * BANK_SIZE;
        for (let r = 0; r < BANK_SIZE; r++) s[o + r] = s[r]!;
        break;
      }
      case 'mix': {
        const o = op.bank * BANK_SIZE;
        for (let r = 0; r < BANK_SIZE; r++) s[r] = op.skip * s[o + r]! + op.branch * s[r]!;
        break;
      }
      case 'clear': {
        const o = op.bank * BANK_SIZE;
        for (let r = 0; r < BANK_SIZE; r++) s[o + r] = 0;
        break;
      }
      case 'accumulate': {
        const o = op.bank * BANK_SIZE;
        for (let r = 0; r < BANK_SIZE; r++) s[o + r] = s[o + r]! + s[r]!;
        break;
      }
      case 'load': {
        const o = op.bank * BANK_SIZE;
        const c = coef(op.scale, iter);
        for (let r = 0; r < BANK_SIZE; r++) s[r] = c * s[o + r]!;
        break;
      }
    }
  }
}

/** Runs the prefix of the program (everything before the depth loop). */
function runPrefix(p: KernelProgram, s: Float64Array): void {
  for (const step of p.prefix) {
    if (step.kind === 'ops') runOps(step.ops, s, 0);
    else for (let i = 0; i < step.count; i++) runOps(step.body, s, i);
  }
}

/**
 * Runs the program for one pair given its input kernel values (already input-scaled). With
 * `onTap`, calls it with (tap, nngp, ntk) after every depth of the sweep; otherwise only the final
 * output is produced. Either way the final (unnormalised) values are left in work[KXZ] (NNGP) and
 * work[NTK] (NTK).
 */
export function runPair(
  p: KernelProgram,
  state: Float64Array,
  work: Float64Array,
  kxz: number,
  kxx: number,
  kzz: number,
  onTap?: (tap: number, nngp: number, ntk: number) => void,
): void {
  state.fill(0);
  state[KXZ] = kxz;
  state[KXX] = kxx;
  state[KZZ] = kzz;
  state[NTK] = 0;
  runPrefix(p, state);
  const tap = (t: number) => {
    work.set(state);
    runOps(p.suffix, work, 0);
    onTap?.(t, work[KXZ]!, work[NTK]!);
  };
  if (!p.sweep) {
    tap(0);
    return;
  }
  if (onTap) tap(0);
  for (let i = 0; i < p.sweep.count; i++) {
    runOps(p.sweep.body, state, i);
    if (onTap) tap(i + 1);
  }
  if (!onTap) tap(p.sweep.count);
}

export function newState(p: KernelProgram): { state: Float64Array; work: Float64Array } {
  return {
    state: new Float64Array(p.banks * BANK_SIZE),
    work: new Float64Array(p.banks * BANK_SIZE),
  };
}

/**
 * Per-depth normalisers for `normalize: "diagonal"`: the kernels of an input with K₀(x,x) = 1.
 * Returns null when the program does not normalise.
 */
export function normalizers(p: KernelProgram): { nngp: Float64Array; ntk: Float64Array } | null {
  if (p.normalize === 'none') return null;
  const taps = p.depths.length;
  const nngp = new Float64Array(taps);
  const ntk = new Float64Array(taps);
  const { state, work } = newState(p);
  runPair(p, state, work, 1, 1, 1, (t, k, th) => {
    nngp[t] = k;
    ntk[t] = th;
  });
  return { nngp, ntk };
}

/**
 * Divides by a normaliser. A zero normaliser means the kernel is identically zero at that depth
 * (nothing trainable yet, or a step nonlinearity killed every gradient); the value must then be
 * exactly zero too, and stays zero.
 */
export function normalizeValue(value: number, norm: number, what: string): number {
  if (norm === 0) {
    if (value !== 0) throw new Error(`internal error: ${what} normaliser is zero but the value is ${value}`);
    return 0;
  }
  return value / norm;
}
