/**
 * The first layer of the float64 CPU engine: each pair's correlation gaps g = 1 − ρ0, h = 1 + ρ0
 * from the unit-normalised rows.
 *
 * Speed: a plain dot product s = x̂·ẑ (two flops per feature), register-blocked 4 rows × 2 rows
 * and tiled over columns so that the rows it reads stay in cache. Precision: 1 ∓ s is used only
 * on the side where it cannot cancel (g = 1 − s needs s ≤ ½, h = 1 + s needs s ≥ −½); the other
 * gap, when it is small, comes from its chord ‖x̂ ∓ ẑ‖²/2 directly, as before.
 *
 * Every entry is summed in the same order (k = 0 … d − 1) whichever path of the kernel computes it,
 * so a pair's gaps do not depend on the tile, block or thread it falls in.
 */
import type { Matrix2D } from '../matrix.js';

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
export function rowDots(A: UnitRows, B: UnitRows, i0: number, i1: number, j0: number, j1: number, dots: Float64Array): void {
  const d = A.d;
  const a = A.unit;
  const b = B.unit;
  const w = j1 - j0;
  for (let jt = j0; jt < j1; jt += COL_TILE) {
    const jEnd = Math.min(j1, jt + COL_TILE);
    let i = i0;
    for (; i + 4 <= i1; i += 4) {
      const a0 = i * d;
      const a1 = a0 + d;
      const a2 = a1 + d;
      const a3 = a2 + d;
      let j = jt;
      for (; j + 2 <= jEnd; j += 2) {
        const b0 = j * d;
        const b1 = b0 + d;
        let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
        for (let k = 0; k < d; k++) {
          const c0 = b[b0 + k]!;
          const c1 = b[b1 + k]!;
          const x0 = a[a0 + k]!;
          const x1 = a[a1 + k]!;
          const x2 = a[a2 + k]!;
          const x3 = a[a3 + k]!;
          s00 += x0 * c0;
          s01 += x0 * c1;
          s10 += x1 * c0;
          s11 += x1 * c1;
          s20 += x2 * c0;
          s21 += x2 * c1;
          s30 += x3 * c0;
          s31 += x3 * c1;
        }
        const o = (i - i0) * w + (j - j0);
        dots[o] = s00;
        dots[o + 1] = s01;
        dots[o + w] = s10;
        dots[o + w + 1] = s11;
        dots[o + 2 * w] = s20;
        dots[o + 2 * w + 1] = s21;
        dots[o + 3 * w] = s30;
        dots[o + 3 * w + 1] = s31;
      }
      for (; j < jEnd; j++) {
        for (let r = 0; r < 4; r++) dots[(i + r - i0) * w + (j - j0)] = dot(a, (i + r) * d, b, j * d, d);
      }
    }
    for (; i < i1; i++) {
      for (let j = jt; j < jEnd; j++) dots[(i - i0) * w + (j - j0)] = dot(a, i * d, b, j * d, d);
    }
  }
}

function dot(a: Float64Array, oa: number, b: Float64Array, ob: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[oa + k]! * b[ob + k]!;
  return s;
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
