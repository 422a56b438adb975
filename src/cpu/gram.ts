/**
 * Gram matrices on the CPU in float64: the reference every other backend is checked against.
 */
import { InputError } from '../errors.js';
import type { Matrix2D } from '../matrix.js';
import { checkRequest, MAX_RESULT_ELEMENTS, type GramRequest, type GramResult } from '../result.js';
import { NTK, type KernelProgram } from '../program/program.js';
import { PairBatch } from './batch.js';
import { gapsFromDot, rowDotsOf, unitRows } from './first-layer.js';
import { expOf, newState, nngpOf, normalizers, runPair, scaledValue, type PairInit } from './interpreter.js';

/** Rows per tile: the first layer's dot products of a tile, then its pairs' recursions. */
const ROW_TILE = 16;
/** Pairs per batch of the recursion (cpu/batch.ts). */
const BATCH = 256;

/**
 * Everything the pairs of one X1 × X2 (or X × X) computation share: the program, its normalisers,
 * the unit rows and the output layout. `rows(r0, r1, …)` fills rows [r0, r1) — the unit of work
 * of a tile, a block or a worker thread; each entry is computed by the same code whatever the split.
 */
export interface PairRows {
  readonly n1: number;
  readonly n2: number;
  readonly taps: number;
  /** X × X: only j ≥ i is computed (and i = j exactly: ρ0 = 1). */
  readonly symmetric: boolean;
  /**
   * Fills rows [r0, r1) × columns [c0, c1) into nngp/ntk laid out [taps, r1 − r0, c1 − c0]
   * (symmetric: entries j ≥ i only; the others are left alone).
   */
  rows(r0: number, r1: number, c0: number, c1: number, nngp: Float64Array | undefined, ntk: Float64Array | undefined): void;
}

export function pairRows(p: KernelProgram, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest): PairRows {
  const d = x1.cols;
  const scale = p.inputScale === 'dim' ? 1 / d : 1;
  const A = unitRows(x1, scale);
  const B = x2 ? unitRows(x2, scale) : A;
  const n1 = A.rows;
  const n2 = B.rows;
  const symmetric = !x2;
  const taps = req.allDepths ? p.depths.length : 1;
  const norms = normalizers(p);
  const batch = new PairBatch(p, BATCH);
  const at = new Int32Array(BATCH);
  const gh = new Float64Array(2);
  const dots = new Float64Array(ROW_TILE * n2);
  const rowDots = rowDotsOf(A, B);

  return {
    n1,
    n2,
    taps,
    symmetric,
    rows(r0, r1, c0, c1, nngp, ntk) {
      const cols = c1 - c0;
      const plane = (r1 - r0) * cols;
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
      // Pairs are queued into the batch and run BATCH at a time; `at` is each one's output index.
      let queued = 0;
      const onTap = (tap: number, q: number, km: number, tm: number, e: number) => store(tap, req.allDepths ? tap : 0, at[q]!, km, tm, e);
      const flush = () => {
        if (queued > 0) batch.run(queued, req.allDepths, onTap);
        queued = 0;
      };
      for (let t0 = r0; t0 < r1; t0 += ROW_TILE) {
        const t1 = Math.min(r1, t0 + ROW_TILE);
        const j0 = symmetric ? Math.max(c0, t0) : c0;
        if (j0 >= c1) continue;
        const w = c1 - j0;
        rowDots(t0, t1, j0, c1, dots);
        for (let i = t0; i < t1; i++) {
          for (let j = symmetric ? Math.max(i, c0) : c0; j < c1; j++) {
            const kxx = A.sq[i]!;
            const kzz = B.sq[j]!;
            let g: number;
            let h: number;
            if (symmetric && i === j) {
              g = 0;
              h = 2;
            } else if (!(kxx > 0 && kzz > 0)) {
              g = 1; // no angle for a zero row: ρ = 0 by convention (the terms it enters are zero)
              h = 1;
            } else {
              gapsFromDot(A, i, B, j, dots[(i - t0) * w + (j - j0)]!, gh);
              g = gh[0]!;
              h = gh[1]!;
            }
            batch.kxx[queued] = kxx;
            batch.kzz[queued] = kzz;
            batch.g[queued] = g;
            batch.h[queued] = h;
            at[queued] = (i - r0) * cols + (j - c0);
            if (++queued === BATCH) flush();
          }
        }
      }
      flush();
    },
  };
}

/** K(x_i, x_i) for every row, into [taps, n] arrays. */
function diagonalOf(p: KernelProgram, x1: Matrix2D, req: GramRequest, nngp?: Float64Array, ntk?: Float64Array): void {
  const scale = p.inputScale === 'dim' ? 1 / x1.cols : 1;
  const A = unitRows(x1, scale);
  const n = x1.rows;
  const norms = normalizers(p);
  const lastTap = p.depths.length - 1;
  const { state, work } = newState(p);
  const store = (tap: number, outTap: number, i: number, km: number, tm: number, e: number) => {
    const k = scaledValue(km, e, norms ? norms.nngp[tap]! : null, norms ? norms.exp[tap]! : 0, 'NNGP');
    const t = scaledValue(tm, e, norms ? norms.ntk[tap]! : null, norms ? norms.exp[tap]! : 0, 'NTK');
    if (!Number.isFinite(k) || !Number.isFinite(t)) {
      throw new InputError(
        `the kernel overflows float64 at depth ${p.depths[tap]}; ` + 'reduce the depth, the variances or α, or rescale the inputs',
      );
    }
    if (nngp) nngp[outTap * n + i] = k;
    if (ntk) ntk[outTap * n + i] = t;
  };
  for (let i = 0; i < n; i++) {
    const init: PairInit = { kxx: A.sq[i]!, kzz: A.sq[i]!, g: 0, h: 2 };
    if (req.allDepths) runPair(p, state, work, init, (tap, k, t, e) => store(tap, tap, i, k, t, e));
    else {
      runPair(p, state, work, init);
      store(lastTap, 0, i, nngpOf(work), work[NTK]!, expOf(work));
    }
  }
}

/** Copies the upper triangle of every [taps, n, n] plane onto the lower one: an exactly symmetric result. */
export function mirrorUpper(out: Float64Array, taps: number, n: number): void {
  const plane = n * n;
  for (let t = 0; t < taps; t++) {
    const o = t * plane;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < i; j++) out[o + i * n + j] = out[o + j * n + i]!;
    }
  }
}

/** Refuses a result too large for one Float64Array per kernel (it must be streamed in blocks). */
export function checkResultSize(p: KernelProgram, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest): void {
  const n1 = x1.rows;
  const n2 = req.diagonal ? 1 : (x2 ?? x1).rows;
  const taps = req.allDepths ? p.depths.length : 1;
  const plane = req.diagonal ? n1 : n1 * n2;
  const elements = taps * plane;
  if (elements > MAX_RESULT_ELEMENTS) {
    const gib = (elements * 8) / 2 ** 30;
    throw new InputError(
      `the result [${req.allDepths ? `${taps}, ` : ''}${req.diagonal ? n1 : `${n1}, ${n2}`}] needs ${gib.toFixed(1)} GiB of float64 per kernel ` +
        `(limit ${(MAX_RESULT_ELEMENTS * 8) / 2 ** 30} GiB): compute fewer depths or smaller blocks of X1 × X2`,
    );
  }
}

/** The labels of a whole result (shape, depths, flags). */
export function resultShape(p: KernelProgram, n1: number, n2: number, req: GramRequest, symmetric: boolean): Omit<GramResult, 'nngp' | 'ntk'> {
  const taps = req.allDepths ? p.depths.length : 1;
  const base = req.diagonal ? [n1] : [n1, n2];
  return {
    shape: req.allDepths ? [taps, ...base] : base,
    depths: req.allDepths ? p.depths.slice() : [p.depths[p.depths.length - 1]!],
    symmetric,
    diagonal: req.diagonal,
    sweep: req.allDepths,
  };
}

/** Computes the requested kernels of X1 × X2 (X1 × X1 when x2 is null). */
export function gramCpu(
  p: KernelProgram,
  x1: Matrix2D,
  x2: Matrix2D | null,
  req: GramRequest,
): GramResult {
  checkRequest(x1, x2, req);
  // One piece per kernel: beyond this the result must be streamed in blocks.
  checkResultSize(p, x1, x2, req);
  const n1 = x1.rows;
  const n2 = req.diagonal ? 1 : (x2 ?? x1).rows;
  const taps = req.allDepths ? p.depths.length : 1;
  const plane = req.diagonal ? n1 : n1 * n2;
  const nngp = req.get.includes('nngp') ? new Float64Array(taps * plane) : undefined;
  const ntk = req.get.includes('ntk') ? new Float64Array(taps * plane) : undefined;
  const symmetric = !x2 && !req.diagonal;
  if (req.diagonal) diagonalOf(p, x1, req, nngp, ntk);
  else {
    pairRows(p, x1, x2, req).rows(0, n1, 0, n2, nngp, ntk);
    // Upper triangle only, mirrored: the result is exactly symmetric.
    if (symmetric) for (const out of [nngp, ntk]) if (out) mirrorUpper(out, taps, n1);
  }
  return { ...(nngp ? { nngp } : {}), ...(ntk ? { ntk } : {}), ...resultShape(p, n1, n2, req, symmetric) };
}
