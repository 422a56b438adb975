/**
 * The first layer of the float64 CPU engine: each pair's correlation gaps g = 1 − ρ0, h = 1 + ρ0
 * from the unit-normalised rows.
 *
 * Speed: a plain dot product s = x̂·ẑ (two flops per feature), register-blocked (WebAssembly SIMD
 * where the runtime has it, simd-dots.ts) and tiled over columns so that the rows it reads stay in cache. Precision: 1 ∓ s is used only
 * on the side where it cannot cancel (g = 1 − s needs s ≤ ½, h = 1 + s needs s ≥ −½); the other
 * gap, when it is small, comes from its chord ‖x̂ ∓ ẑ‖²/2 directly, as before.
 *
 * Every entry is summed in the same order (k = 0 … d − 1) whichever path of the kernel computes it,
 * so a pair's gaps do not depend on the tile, block or thread it falls in.
 */
import type { Matrix2D } from '../matrix.js';
import { dotTwoLane, simdDots } from './simd-dots.js';

/** Rows scaled to unit norm, with their squared norms (times the input scale). */
export interface UnitRows {
  rows: number;
  d: number;
  /** ‖x_i‖²·scale: the first-layer diagonal K0(x_i, x_i). */
  sq: Float64Array;
  /** x_i/‖x_i‖ (zero rows stay zero), row-major. */
  unit: Float64Array;
}

export function unitRows(m: Matrix2D, scale: number): UnitRows {
  const d = m.cols;
  const sq = new Float64Array(m.rows);
  const unit = new Float64Array(m.rows * d);
  const x = m.data;
  for (let i = 0; i < m.rows; i++) {
    let ss = 0;
    const o = i * d;
    for (let k = 0; k < d; k++) ss += x[o + k]! * x[o + k]!;
    sq[i] = ss * scale;
    const norm = Math.sqrt(ss);
    if (norm > 0) for (let k = 0; k < d; k++) unit[o + k] = x[o + k]! / norm;
  }
  return { rows: m.rows, d, sq, unit };
}

/** Columns per cache tile: 64 rows of B (256 KiB at d = 512) stay in L2 while rows of A pass. */
const COL_TILE = 64;

/**
 * Dot products of rows [i0, i1) of A with rows [j0, j1) of B into dots[(i − i0)·w + (j − j0)],
 * w = j1 − j0.
 */
export type RowDots = (i0: number, i1: number, j0: number, j1: number, dots: Float64Array) => void;

/**
 * The dot products of A's rows with B's: 4 × 2 blocks by WebAssembly SIMD where the runtime has
 * it, else 2 × 2 blocks in JavaScript; edges one by one. All sum in the order of dotTwoLane
 * (simd-dots.ts), so an entry's value does not depend on which of them computed it.
 */
export function rowDotsOf(A: UnitRows, B: UnitRows, useSimd = true): RowDots {
  const d = A.d;
  const a = A.unit;
  const b = B.unit;
  const simd = useSimd ? simdDots(a, b, d) : null;
  const eight = new Float64Array(8);
  return (i0, i1, j0, j1, dots) => {
    const w = j1 - j0;
    const step = simd ? 4 : 2;
    for (let jt = j0; jt < j1; jt += COL_TILE) {
      const jEnd = Math.min(j1, jt + COL_TILE);
      let i = i0;
      for (; i + step <= i1; i += step) {
        let j = jt;
        for (; j + 2 <= jEnd; j += 2) {
          const o = (i - i0) * w + (j - j0);
          if (simd) {
            simd.dot42(i, j, eight);
            for (let r = 0; r < 4; r++) {
              dots[o + r * w] = eight[2 * r]!;
              dots[o + r * w + 1] = eight[2 * r + 1]!;
            }
          } else dot22(a, i * d, b, j * d, d, dots, o, w);
        }
        for (; j < jEnd; j++) {
          for (let r = 0; r < step; r++) dots[(i + r - i0) * w + (j - j0)] = dotTwoLane(a, (i + r) * d, b, j * d, d);
        }
      }
      for (; i < i1; i++) {
        for (let j = jt; j < jEnd; j++) dots[(i - i0) * w + (j - j0)] = dotTwoLane(a, i * d, b, j * d, d);
      }
    }
  };
}

/** Rows x, x + 1 of A against z, z + 1 of B, each in the two-lane order of dotTwoLane. */
function dot22(a: Float64Array, x0: number, b: Float64Array, z0: number, d: number, dots: Float64Array, o: number, w: number): void {
  const x1 = x0 + d;
  const z1 = z0 + d;
  let p00 = 0, q00 = 0, p01 = 0, q01 = 0, p10 = 0, q10 = 0, p11 = 0, q11 = 0;
  let k = 0;
  for (; k + 1 < d; k += 2) {
    const u0 = a[x0 + k]!;
    const v0 = a[x0 + k + 1]!;
    const u1 = a[x1 + k]!;
    const v1 = a[x1 + k + 1]!;
    const c0 = b[z0 + k]!;
    const e0 = b[z0 + k + 1]!;
    const c1 = b[z1 + k]!;
    const e1 = b[z1 + k + 1]!;
    p00 += u0 * c0;
    q00 += v0 * e0;
    p01 += u0 * c1;
    q01 += v0 * e1;
    p10 += u1 * c0;
    q10 += v1 * e0;
    p11 += u1 * c1;
    q11 += v1 * e1;
  }
  let s00 = p00 + q00;
  let s01 = p01 + q01;
  let s10 = p10 + q10;
  let s11 = p11 + q11;
  if (k < d) {
    s00 += a[x0 + k]! * b[z0 + k]!;
    s01 += a[x0 + k]! * b[z1 + k]!;
    s10 += a[x1 + k]! * b[z0 + k]!;
    s11 += a[x1 + k]! * b[z1 + k]!;
  }
  dots[o] = s00;
  dots[o + 1] = s01;
  dots[o + w] = s10;
  dots[o + w + 1] = s11;
}

/** ½‖x̂ − ẑ‖² (sign 1) or ½‖x̂ + ẑ‖² (sign −1), capped at 2: a gap with full relative precision. */
export function chordGap(A: UnitRows, i: number, B: UnitRows, j: number, sign: 1 | -1): number {
  const d = A.d;
  const a = A.unit;
  const b = B.unit;
  const oa = i * d;
  const ob = j * d;
  let c = 0;
  for (let k = 0; k < d; k++) {
    const t = a[oa + k]! - sign * b[ob + k]!;
    c += t * t;
  }
  return Math.min(2, 0.5 * c);
}

/** Where 1 ∓ s is trusted: the gap is then ≥ ½, so the rounding of s is a relative 2^−52 of it. */
const DOT_SAFE = 0.5;

/** Writes (g, h) of the pair into out[0], out[1], from its dot product s (both rows non-zero). */
export function gapsFromDot(A: UnitRows, i: number, B: UnitRows, j: number, s: number, out: Float64Array): void {
  if (s > DOT_SAFE) {
    out[0] = chordGap(A, i, B, j, 1);
    out[1] = Math.min(2, 1 + s);
  } else if (s < -DOT_SAFE) {
    out[0] = Math.min(2, 1 - s);
    out[1] = chordGap(A, i, B, j, -1);
  } else {
    out[0] = 1 - s;
    out[1] = 1 + s;
  }
}
