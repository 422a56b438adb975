/**
 * Landmarks for Nyström by a partial pivoted Cholesky factorisation of the n × n kernel K, which
 * reads only the diagonal of K and the M columns it picks (never K itself):
 *
 * - "greedy": the classic pivoted Cholesky (Harbrecht, Peters, Schneider, "On the low-rank
 *   approximation by the pivoted Cholesky decomposition", Appl. Numer. Math. 62, 2012): each pivot is
 *   the largest entry of the residual diagonal d = diag(K − F·Fᵀ). The columns of the block's
 *   largest residuals are fetched at once; picks go on while the largest residual is one of them.
 * - "rp": randomly pivoted Cholesky (Chen, Epperly, Tropp, Webber, "Randomly pivoted Cholesky:
 *   practical approximation of a kernel matrix with few entry evaluations", CPAM 2024): each pivot is
 *   drawn with probability d_i / Σd. Blocks of candidates are drawn at once and thinned by
 *   rejection (Epperly, Tropp, Webber, "Embrace rejection: kernel matrix approximation by
 *   accelerated randomly pivoted Cholesky", 2024, Alg. 2): a candidate drawn from the diagonal d
 *   is kept with probability d′_i/d_i, d′ its residual after the block's earlier picks, which
 *   makes the picks exactly those of one-at-a-time RPCholesky while the kernel is evaluated a block
 *   of columns per call.
 *
 * Both never pick an input twice (its residual is 0 once picked) and never pick one whose residual
 * is below `floor` × max diag K (a duplicate of a landmark): K_MM stays well conditioned where
 * uniform landmarks may repeat near-duplicates. Cost: M column evaluations of K and n·M²/2
 * multiply-adds for F (n × M, float64 up to `f64Bytes`, else float32), which is returned: the
 * Nyström landmarks use the pivots, the CG preconditioner (solve/cg.ts) the factor.
 */
import { Rng } from '../mc/rng.js';

export type PivotRule = 'greedy' | 'rp';

/** Memory for fetched columns that were not picked (kept, since K's columns do not change). */
const CACHE_BYTES = 64 * 2 ** 20;

export interface PivotedCholeskyOptions {
  rule: PivotRule;
  /** Landmarks wanted (fewer come back when the residual runs out first). */
  M: number;
  /** Seed of the "rp" draws. */
  seed?: number;
  /** Candidate columns per kernel call (default 64). */
  block?: number;
  /** A residual below floor × max diag K is treated as 0 (default 1e-12). */
  floor?: number;
  /**
   * An absolute floor too: residuals at or below it are never picked, so greedy stops once the
   * largest residual is this small (the CG preconditioner: what is left below the ridge's scale
   * would not change it).
   */
  minPivot?: number;
  /** F is float64 up to this many bytes, float32 beyond (default 512 MiB). */
  f64Bytes?: number;
}

export interface PivotedCholeskyResult {
  /** The picked inputs, in the order picked. */
  pivots: number[];
  /** Σ of the residual diagonal after the last pick (tr(K − K_nS K_SS⁻¹ K_Sn)). */
  residualTrace: number;
  /** Σ diag K, for the relative residual. */
  trace: number;
  /** Kernel calls made (columns evaluated = candidates drawn). */
  columnCalls: number;
  columnsEvaluated: number;
  /**
   * The factor: F[r·stride + j] for the inputs r < n and the picks j < pivots.length, with
   * K ≈ F·Fᵀ (F·Fᵀ = K_nS K_SS⁻¹ K_Sn, S the pivots). float64, or float32 beyond `f64Bytes`.
   */
  factor: Float64Array | Float32Array;
  stride: number;
}

/**
 * `diag`: diag K (n). `columns(idx)`: the columns K[:, idx] as a row-major n × idx.length array.
 */
export async function pivotedCholesky(
  diag: ArrayLike<number>,
  columns: (idx: number[]) => Promise<ArrayLike<number>>,
  opt: PivotedCholeskyOptions,
): Promise<PivotedCholeskyResult> {
  const n = diag.length;
  const M = Math.min(opt.M, n);
  const B = Math.max(1, Math.min(opt.block ?? 64, M));
  const rng = new Rng(opt.seed ?? 0);
  const d = Float64Array.from(diag, (v) => Math.max(v, 0));
  let trace = 0;
  let dmax = 0;
  for (const v of d) {
    trace += v;
    dmax = Math.max(dmax, v);
  }
  const floor = Math.max((opt.floor ?? 1e-12) * dmax, opt.minPivot ?? 0);
  const F = n * M * 8 <= (opt.f64Bytes ?? 512 * 2 ** 20) ? new Float64Array(n * M) : new Float32Array(n * M);
  const pivots: number[] = [];
  let calls = 0;
  let evaluated = 0;
  const g = new Float64Array(n);
  const cache = new Map<number, Float64Array>();
  const cacheColumns = Math.max(2 * B, Math.floor(CACHE_BYTES / (8 * n)));
  while (pivots.length < M) {
    const want = Math.min(B, M - pivots.length);
    const cand = opt.rule === 'greedy' ? largest(d, want, floor) : drawn(d, want, floor, rng);
    if (cand.length === 0) break;
    const snapshot = cand.map((i) => d[i]!);
    const w = cand.length;
    // Columns fetched in an earlier block and not picked are still K's columns: only the rest are
    // evaluated (greedy on a nearly flat diagonal would otherwise fetch a block per pivot).
    const need = [...new Set(cand.filter((i) => !cache.has(i)))];
    const fetched = need.length > 0 ? await columns(need) : null;
    if (fetched) {
      calls++;
      evaluated += need.length;
    }
    const needAt = new Map(need.map((i, c) => [i, c] as const));
    const cols = new Float64Array(n * w);
    cand.forEach((i, c) => {
      const kept = cache.get(i);
      const q = needAt.get(i);
      for (let r = 0; r < n; r++) cols[r * w + c] = kept ? kept[r]! : fetched![r * need.length + q!]!;
    });
    const at = new Map(cand.map((i, c) => [i, c] as const));
    for (let t = 0; t < cand.length && pivots.length < M; t++) {
      let c = t;
      if (opt.rule === 'greedy') {
        // Exact greedy: the pivot is the largest residual over all inputs; the block ends when that
        // one's column was not fetched.
        const i = argmax(d);
        if (!at.has(i)) break;
        c = at.get(i)!;
      }
      const i = cand[c]!;
      const di = d[i]!;
      // rp keeps a candidate with probability d′/d (the rejection step), d′ its residual now.
      if (!(di > floor)) continue;
      if (opt.rule === 'rp' && rng.uniform() * snapshot[c]! > di) continue;
      // g = K[:, i] − F[:, :k]·F[i, :k]ᵀ, then the new column F[:, k] = g/√g_i.
      const k = pivots.length;
      // Row by row (a dot product of rows r and i of F): contiguous reads, where a column-by-column
      // update strides through F (8.2 s against ~1 s for n = 1500, M = 1000).
      const fi = i * M;
      for (let r = 0; r < n; r++) {
        const fr = r * M;
        let s = cols[r * w + c]!;
        for (let j = 0; j < k; j++) s -= F[fr + j]! * F[fi + j]!;
        g[r] = s;
      }
      const s = 1 / Math.sqrt(di);
      for (let r = 0; r < n; r++) {
        const f = g[r]! * s;
        F[r * M + k] = f;
        d[r] = Math.max(d[r]! - f * f, 0);
      }
      d[i] = 0;
      pivots.push(i);
    }
    // Keep this block's unpicked columns (the most recent ones, up to CACHE_BYTES or 2·B columns).
    cand.forEach((i, c) => {
      if (d[i]! > 0 && !cache.has(i)) cache.set(i, Float64Array.from({ length: n }, (_, r) => cols[r * w + c]!));
      else if (!(d[i]! > 0)) cache.delete(i);
    });
    for (const key of cache.keys()) {
      if (cache.size <= cacheColumns) break;
      cache.delete(key);
    }
  }
  let residualTrace = 0;
  for (const v of d) residualTrace += v;
  return { pivots, residualTrace, trace, columnCalls: calls, columnsEvaluated: evaluated, factor: F, stride: M };
}

function argmax(d: Float64Array): number {
  let best = 0;
  for (let i = 1; i < d.length; i++) if (d[i]! > d[best]!) best = i;
  return best;
}

/** The `want` largest entries of d above the floor (their indices, largest first). */
function largest(d: Float64Array, want: number, floor: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < d.length; i++) if (d[i]! > floor) idx.push(i);
  idx.sort((a, b) => d[b]! - d[a]! || a - b);
  return idx.slice(0, want);
}

/** `want` indices drawn independently with probability ∝ d (entries at or below the floor excluded). */
function drawn(d: Float64Array, want: number, floor: number, rng: Rng): number[] {
  const cum = new Float64Array(d.length);
  let s = 0;
  for (let i = 0; i < d.length; i++) {
    if (d[i]! > floor) s += d[i]!;
    cum[i] = s;
  }
  if (!(s > 0)) return [];
  const out: number[] = [];
  for (let t = 0; t < want; t++) {
    const u = rng.uniform() * s;
    let lo = 0;
    let hi = d.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    out.push(lo);
  }
  return out;
}
