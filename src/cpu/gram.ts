/**
 * Gram matrices on the CPU in float64: the reference every other backend is checked against.
 */
import { InputError } from '../errors.js';
import type { Matrix2D } from '../matrix.js';
import { KXZ, NTK, type KernelProgram } from '../program/program.js';
import { newState, normalizeValue, normalizers, runPair } from './interpreter.js';

export type KernelKind = 'nngp' | 'ntk';

export interface GramRequest {
  get: readonly KernelKind[];
  /** Only K(x_i, x_i) for the rows of x1. */
  diagonal: boolean;
  /** Every depth of the sweep (leading axis) or only the full network. */
  allDepths: boolean;
}

export interface GramResult {
  nngp?: Float64Array;
  ntk?: Float64Array;
  /** [n1, n2], [n1] (diagonal), with a leading depth axis [T, …] for a depth sweep. */
  shape: number[];
  /** Depth label of each entry of the leading axis (one entry when allDepths is false). */
  depths: number[];
  /** True when the result is X × X (exactly symmetric). */
  symmetric: boolean;
}

/** Largest result held in one Float64Array per kernel (2 GiB). */
export const MAX_RESULT_ELEMENTS = 2 ** 28;

function dot(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  const oa = i * d;
  const ob = j * d;
  for (let k = 0; k < d; k++) s += a[oa + k]! * b[ob + k]!;
  return s;
}

/** Computes the requested kernels of X1 × X2 (X1 × X1 when x2 is null). */
export function gramCpu(
  p: KernelProgram,
  x1: Matrix2D,
  x2: Matrix2D | null,
  req: GramRequest,
): GramResult {
  if (x2 && x2.cols !== x1.cols) {
    throw new InputError(`x1 has ${x1.cols} features (columns) but x2 has ${x2.cols}`);
  }
  if (req.diagonal && x2) throw new InputError('the diagonal is defined for x1 × x1 only (omit x2)');
  if (req.get.length === 0) throw new InputError('nothing to compute: ask for nngp and/or ntk');
  const d = x1.cols;
  const scale = p.inputScale === 'dim' ? 1 / d : 1;
  const b = x2 ?? x1;
  const n1 = x1.rows;
  const n2 = req.diagonal ? 1 : b.rows;
  const taps = req.allDepths ? p.depths.length : 1;
  const plane = req.diagonal ? n1 : n1 * n2;
  // One piece per kernel: beyond this the result must be streamed in blocks (a later milestone).
  const elements = taps * plane;
  if (elements > MAX_RESULT_ELEMENTS) {
    const gib = (elements * 8) / 2 ** 30;
    throw new InputError(
      `the result [${req.allDepths ? `${taps}, ` : ''}${req.diagonal ? n1 : `${n1}, ${n2}`}] needs ${gib.toFixed(1)} GiB of float64 per kernel ` +
        `(limit ${(MAX_RESULT_ELEMENTS * 8) / 2 ** 30} GiB): compute fewer depths or smaller blocks of X1 × X2`,
    );
  }
  const wantK = req.get.includes('nngp');
  const wantT = req.get.includes('ntk');
  const nngp = wantK ? new Float64Array(taps * plane) : undefined;
  const ntk = wantT ? new Float64Array(taps * plane) : undefined;
  const norms = normalizers(p);
  const lastTap = p.depths.length - 1;

  const sq1 = new Float64Array(n1);
  for (let i = 0; i < n1; i++) sq1[i] = dot(x1.data, i, x1.data, i, d) * scale;
  const sq2 = x2 ? new Float64Array(x2.rows) : sq1;
  if (x2) for (let j = 0; j < x2.rows; j++) sq2[j] = dot(x2.data, j, x2.data, j, d) * scale;

  const { state, work } = newState(p);
  const store = (tap: number, outTap: number, at: number, k: number, t: number) => {
    if (!Number.isFinite(k) || !Number.isFinite(t)) {
      throw new InputError(
        `the kernel overflows float64 at depth ${p.depths[tap]} (value ${Number.isFinite(k) ? t : k}); ` +
          'reduce the depth, the variances or α, or rescale the inputs',
      );
    }
    if (nngp) nngp[outTap * plane + at] = norms ? normalizeValue(k, norms.nngp[tap]!, 'NNGP') : k;
    if (ntk) ntk[outTap * plane + at] = norms ? normalizeValue(t, norms.ntk[tap]!, 'NTK') : t;
  };
  const pair = (i: number, j: number, at: number) => {
    const kxz = req.diagonal ? sq1[i]! : dot(x1.data, i, b.data, j, d) * scale;
    const kzz = req.diagonal ? sq1[i]! : sq2[j]!;
    if (req.allDepths) {
      runPair(p, state, work, kxz, sq1[i]!, kzz, (tap, k, t) => store(tap, tap, at, k, t));
    } else {
      runPair(p, state, work, kxz, sq1[i]!, kzz);
      store(lastTap, 0, at, work[KXZ]!, work[NTK]!);
    }
  };

  const symmetric = !x2 && !req.diagonal;
  if (req.diagonal) {
    for (let i = 0; i < n1; i++) pair(i, i, i);
  } else if (symmetric) {
    // Upper triangle only, mirrored: the result is exactly symmetric.
    for (let i = 0; i < n1; i++) {
      for (let j = i; j < n1; j++) pair(i, j, i * n1 + j);
    }
    for (const out of [nngp, ntk]) {
      if (!out) continue;
      for (let t = 0; t < taps; t++) {
        const o = t * plane;
        for (let i = 0; i < n1; i++) {
          for (let j = 0; j < i; j++) out[o + i * n1 + j] = out[o + j * n1 + i]!;
        }
      }
    }
  } else {
    for (let i = 0; i < n1; i++) {
      for (let j = 0; j < n2; j++) pair(i, j, i * n2 + j);
    }
  }

  const base = req.diagonal ? [n1] : [n1, n2];
  return {
    ...(nngp ? { nngp } : {}),
    ...(ntk ? { ntk } : {}),
    shape: req.allDepths ? [taps, ...base] : base,
    depths: req.allDepths ? p.depths.slice() : [p.depths[lastTap]!],
    symmetric,
  };
}
