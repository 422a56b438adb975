/**
 * Gram matrices on the CPU in float64: the reference every other backend is checked against.
 */
import { InputError } from '../errors.js';
import type { Matrix2D } from '../matrix.js';
import { checkRequest, MAX_RESULT_ELEMENTS, type GramRequest, type GramResult } from '../result.js';
import { NTK, type KernelProgram } from '../program/program.js';
import { expOf, newState, nngpOf, normalizers, runPair, scaledValue, type PairInit } from './interpreter.js';

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
  checkRequest(x1, x2, req);
  const d = x1.cols;
  const scale = p.inputScale === 'dim' ? 1 / d : 1;
  const n1 = x1.rows;
  const n2 = req.diagonal ? 1 : (x2 ?? x1).rows;
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

  // Rows normalised once in float64; the first-layer gaps of a pair come from the chords
  // ‖x̂ − ẑ‖²/2 and ‖x̂ + ẑ‖²/2 directly, not from 1 ∓ x̂·ẑ, which would cancel.
  const prep = (m: Matrix2D) => {
    const sq = new Float64Array(m.rows);
    const unit = new Float64Array(m.rows * d);
    for (let i = 0; i < m.rows; i++) {
      const ss = dot(m.data, i, m.data, i, d);
      sq[i] = ss * scale;
      const norm = Math.sqrt(ss);
      if (norm > 0) for (let k = 0; k < d; k++) unit[i * d + k] = m.data[i * d + k]! / norm;
    }
    return { sq, unit };
  };
  const A = prep(x1);
  const B = x2 ? prep(x2) : A;
  const init: PairInit = { kxx: 0, kzz: 0, g: 0, h: 2 };
  const setInit = (i: number, j: number) => {
    init.kxx = A.sq[i]!;
    init.kzz = B.sq[j]!;
    if (req.diagonal || (!x2 && i === j)) {
      init.g = 0;
      init.h = 2;
      return;
    }
    if (!(init.kxx > 0 && init.kzz > 0)) {
      init.g = 1; // no angle for a zero row: ρ = 0 by convention (the terms it enters are zero)
      init.h = 1;
      return;
    }
    let cm = 0;
    let cp = 0;
    const oa = i * d;
    const ob = j * d;
    for (let k = 0; k < d; k++) {
      const a = A.unit[oa + k]!;
      const c = B.unit[ob + k]!;
      cm += (a - c) * (a - c);
      cp += (a + c) * (a + c);
    }
    init.g = Math.min(2, 0.5 * cm);
    init.h = Math.min(2, 0.5 * cp);
  };

  const { state, work } = newState(p);
  const store = (tap: number, outTap: number, at: number, km: number, tm: number, e: number) => {
    const k = scaledValue(km, e, norms ? norms.nngp[tap]! : null, norms ? norms.exp[tap]! : 0, 'NNGP');
    const t = scaledValue(tm, e, norms ? norms.ntk[tap]! : null, norms ? norms.exp[tap]! : 0, 'NTK');
    if (!Number.isFinite(k) || !Number.isFinite(t)) {
      throw new InputError(
        `the kernel overflows float64 at depth ${p.depths[tap]}; ` +
          'reduce the depth, the variances or α, or rescale the inputs',
      );
    }
    if (nngp) nngp[outTap * plane + at] = k;
    if (ntk) ntk[outTap * plane + at] = t;
  };
  const pair = (i: number, j: number, at: number) => {
    setInit(i, req.diagonal ? i : j);
    if (req.allDepths) {
      runPair(p, state, work, init, (tap, k, t, e) => store(tap, tap, at, k, t, e));
    } else {
      runPair(p, state, work, init);
      store(lastTap, 0, at, nngpOf(work), work[NTK]!, expOf(work));
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
    diagonal: req.diagonal,
    sweep: req.allDepths,
  };
}
