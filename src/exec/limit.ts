/**
 * Infinite-depth ResNet kernels (Huang et al. 2020, arXiv 2002.06262; Belfer et al., arXiv
 * 2104.03093): the preset references `huang2020:depth=inf,gamma=γ` and `belfer2021:depth=inf,gamma=γ`.
 *
 * The ResNet x_l = x_(l−1) + α·V·relu(W·x_(l−1)) with α = alpha0·L^(−γ), a = α², has for unit inputs
 * K_l = K_(l−1) + a(1+a)^(l−1)κ1(ρ), Θ_l = Θ_(l−1)(1 + aκ0(ρ)) + a(1+a)^(l−1)(κ1(ρ) + ρκ0(ρ)), Θ_0 = 0,
 * with ρ = ρ_(l−1) the NNGP correlation; belfer2021 divides by (1+a)^L and 2La(1+a)^(L−1).
 *
 * - γ > ½: La = alpha0²·L^(1−2γ) → 0, so ρ_L → ρ0 and every block adds the same term: the
 *   normalised NNGP tends to the linear kernel x·z and the normalised NTK to the two-layer NTK
 *   ½|x||z|(κ1(ρ0) + ρ0κ0(ρ0)). The unnormalised NTK vanishes like 2L^(1−2γ), so huang2020 has
 *   only an NNGP limit.
 * - γ = ½, c = alpha0²: La = c, and with depth-time t = l/L the recursions become (seeds.md §3.6,
 *   there for c = 1)
 *       ρ' = c(κ1(ρ) − ρ),   T' = cκ0(ρ)T + c·e^(ct)(κ1(ρ) + ρκ0(ρ)),   T(0) = 0,
 *   normalised NNGP = ρ(1), NTK = T(1)/(2c·e^c) (the normaliser 2c(1 + c/L)^(L−1) → 2c·e^c);
 *   unnormalised NNGP = e^c·ρ(1), NTK = T(1).
 * - γ < ½ or constant α: La → ∞ and the normalised kernel degenerates like the MLP's (1 on the
 *   diagonal, 1/4 off it; Hayou et al. 2019): no limit is offered.
 *
 * No biases and inputScale "none": every kernel is |x||z|·f(ρ0) (homogeneous of degree 1 in each
 * input), so only unit inputs are solved.
 *
 * This module says which limit a reference names and computes its Gram matrices as an executor
 * (src/exec/executor.ts) on the CPU, and for γ > ½ on WebGPU; the ODE solver is
 * src/solve/resntk-ode.ts, the depth table (an analysis) src/analysis/infinite.ts.
 */
import { InputError } from '../errors.js';
import { thetaOf } from '../activations/rectifier-math.js';
import { describeAdapter, type GpuContext } from '../gpu/device.js';
import { toMatrix, type Matrix2D, type MatrixInput } from '../matrix.js';
import { compile } from '../program/compile.js';
import { checkRequest, kernelKinds, MAX_RESULT_ELEMENTS, type GramBlock, type GramRequest, type GramResult, type KernelKind } from '../result.js';
import { odeEvaluator } from '../solve/resntk-ode.js';
import { findPreset, INFINITE_DEPTH_PRESETS, parseInfiniteDepthRef, type InfiniteDepthPreset } from '../spec/presets.js';
import type { Spec } from '../spec/types.js';
import { resolveSpec } from '../spec/validate.js';
import { mergeKinds, syncExecutor } from './blocks.js';
import { cpuExecutor } from './cpu.js';
import type { ExecOptions, Executor, SyncExecutor } from './executor.js';
import { webgpuExecutor, type WebGpuExecutor } from './webgpu.js';

// ---- which limit ------------------------------------------------------------------------------

/** A depth = ∞ ResNet kernel that exists: its preset, parameters and how it is computed. */
export interface InfiniteDepthLimit {
  preset: InfiniteDepthPreset;
  /** belfer2021 (normalised to 1 on the unit diagonal) or huang2020 (raw). */
  normalized: boolean;
  gamma: number;
  alpha0: number;
  /** "two-layer": γ > ½, closed form; "ode": γ = ½, the depth-time ODE with c = alpha0². */
  regime: 'two-layer' | 'ode';
  /** alpha0² (enters only for γ = ½). */
  c: number;
  /** The kernels this limit has ("ntk" is missing for huang2020 with γ > ½, which vanishes). */
  kinds: KernelKind[];
  /** A preset reference for it, e.g. "belfer2021:depth=inf,gamma=0.5". */
  reference: string;
}

export interface InfiniteDepthParams {
  preset: string;
  /** Constant α (always an error: no non-degenerate limit). */
  alpha?: number;
  gamma?: number;
  /** Prefactor of α = alpha0·L^(−γ) (default 1). */
  alpha0?: number;
}

const DEGENERATE =
  'the normalised ResNTK then degenerates like the MLP’s: 1 on the diagonal and 1/4 off it (Hayou et al. 2019, ' +
  'arXiv 1905.13654; Belfer et al., arXiv 2104.03093), a discontinuous kernel';

/**
 * Checks that the limit exists and says how it is computed. Accepts a preset reference with
 * depth=inf or its parts. InputError for constant α, γ < ½, and alpha0 not finite or 0.
 */
export function infiniteDepthLimit(arch: string | InfiniteDepthParams): InfiniteDepthLimit {
  let p: InfiniteDepthParams;
  if (typeof arch === 'string') {
    const ref = parseInfiniteDepthRef(arch);
    if (!ref) throw new InputError(`${JSON.stringify(arch)} is not a depth=inf preset reference (e.g. "belfer2021:depth=inf,gamma=0.5")`);
    p = ref;
  } else {
    p = arch;
  }
  if (!(INFINITE_DEPTH_PRESETS as readonly string[]).includes(p.preset)) {
    findPreset(p.preset); // an unknown name is reported as such
    throw new InputError(`${p.preset}: depth=inf (the infinite-depth limit) is offered for ${INFINITE_DEPTH_PRESETS.join(' and ')} only`);
  }
  const preset = p.preset as InfiniteDepthPreset;
  if (p.alpha !== undefined) {
    throw new InputError(
      `${preset}:depth=inf with a constant alpha = ${p.alpha} has no infinite-depth limit: ${DEGENERATE}; ` +
        'give gamma ≥ 0.5 (α = L^(−gamma)) instead',
    );
  }
  const gamma = p.gamma;
  if (gamma === undefined) throw new InputError(`${preset}:depth=inf needs gamma ≥ 0.5 (α = L^(−gamma))`);
  if (typeof gamma !== 'number' || !Number.isFinite(gamma)) throw new InputError(`${preset}: gamma must be a finite number, got ${String(gamma)}`);
  if (gamma < 0.5) {
    throw new InputError(
      `${preset}:depth=inf with gamma = ${gamma} < 0.5 has no infinite-depth limit: L·α² = L^(1−2·gamma) → ∞ and ${DEGENERATE}; ` +
        'depth=inf is offered for gamma ≥ 0.5',
    );
  }
  const alpha0 = p.alpha0 ?? 1;
  if (typeof alpha0 !== 'number' || !Number.isFinite(alpha0) || alpha0 === 0) {
    throw new InputError(`${preset}: alpha0 must be a finite non-zero number for depth=inf, got ${String(alpha0)}`);
  }
  const normalized = preset === 'belfer2021';
  const regime = gamma === 0.5 ? 'ode' : 'two-layer';
  const c = alpha0 * alpha0;
  if (regime === 'ode' && !normalized && !Number.isFinite(Math.exp(c) * 2 * c)) {
    throw new InputError(`huang2020:depth=inf with alpha0 = ${alpha0}: the kernel grows like e^(alpha0²) and overflows float64; use belfer2021`);
  }
  return {
    preset,
    normalized,
    gamma,
    alpha0,
    regime,
    c,
    kinds: regime === 'two-layer' && !normalized ? ['nngp'] : ['nngp', 'ntk'],
    reference: `${preset}:depth=inf,gamma=${gamma}${alpha0 !== 1 ? `,alpha0=${alpha0}` : ''}`,
  };
}

/** The request's kernels must exist in the limit (huang2020's NTK for γ > ½ does not). */
function checkKinds(limit: InfiniteDepthLimit, get: readonly KernelKind[]): void {
  if (get.includes('ntk') && !limit.kinds.includes('ntk')) {
    throw new InputError(
      `huang2020:depth=inf with gamma = ${limit.gamma} > 0.5 has no NTK limit: the unnormalised NTK vanishes like ` +
        `2·L^(1−2·gamma)·½(κ1 + ρκ0) as L → ∞. Use belfer2021:depth=inf,gamma=${limit.gamma} (normalised by 2La(1+a)^(L−1)), ` +
        'whose NTK tends to the two-layer NTK, or ask huang2020 for the NNGP only (get: "nngp", which tends to x·z)',
    );
  }
}

/**
 * γ > ½: finite specs with the limit kernels, so any backend can compute them. NNGP: one dense layer
 * (K = x·z); NTK: dense(1) → relu → dense(1), all trained, inputScale "none", whose NTK is
 * x·z·½κ0 + ½|x||z|κ1 = ½|x||z|(κ1(ρ) + ρκ0(ρ)).
 */
export function limitSpecs(limit: InfiniteDepthLimit): { nngp: Spec; ntk: Spec } {
  if (limit.regime !== 'two-layer') {
    throw new InputError(`${limit.reference}: the γ = ½ limit is the solution of an ODE; no finite spec computes it`);
  }
  return {
    nngp: {
      name: `${limit.reference} (NNGP: the linear kernel x·z)`,
      inputScale: 'none',
      layers: [{ type: 'dense', weightVar: 1, biasVar: 0, trainable: true }],
    },
    ntk: {
      name: `${limit.reference} (NTK: the two-layer NTK ½|x||z|(κ1 + ρκ0))`,
      inputScale: 'none',
      layers: [{ type: 'dense', weightVar: 1, biasVar: 0, trainable: true }, { type: 'relu' }],
      readout: [{ type: 'dense', weightVar: 1, biasVar: 0, trainable: true }],
    },
  };
}

/** What a limit is, in words (for results: no finite spec represents it). */
export function describeLimit(limit: InfiniteDepthLimit): string {
  return (
    `${limit.reference}: the infinite-depth limit of ${limit.preset} ` +
    (limit.regime === 'ode' ? `(γ = ½: the depth-time ODE with c = alpha0² = ${limit.c})` : `(γ = ${limit.gamma} > ½: closed form, the two-layer kernels)`)
  );
}

// ---- Gram matrices -----------------------------------------------------------------------------------

export interface InfiniteKernelOptions {
  /** Which kernels (default both; huang2020 with γ > ½ has the NNGP only). */
  get?: KernelKind | readonly KernelKind[];
  /** Only K(x_i, x_i) for the rows of x1. */
  diagonal?: boolean;
}

/** Checks a request against the limit before any work (every executor of a limit makes it). */
export function checkInfiniteRequest(limit: InfiniteDepthLimit, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest): void {
  if (req.allDepths) {
    throw new InputError(`${limit.reference}: depths "all" has no meaning at depth=inf (there is no depth sweep); use depths "last"`);
  }
  checkRequest(x1, x2, req);
  checkKinds(limit, req.get);
}

/**
 * The depth = ∞ kernels of X1 × X2 (X1 × X1 when x2 is omitted) on the CPU in float64, in the shape
 * of `kernelCpu`'s result (depths = [Infinity]). γ > ½: the finite limit specs on the CPU
 * reference; γ = ½: the ODE through its Chebyshev table (≈1e−14 for unit inputs).
 */
export function infiniteDepthKernel(
  arch: string | InfiniteDepthLimit,
  x1: MatrixInput,
  x2?: MatrixInput | null,
  options: InfiniteKernelOptions = {},
): GramResult {
  const limit = typeof arch === 'string' ? infiniteDepthLimit(arch) : arch;
  const a = toMatrix(x1, 'x1');
  const b = x2 == null ? null : toMatrix(x2, 'x2');
  const req: GramRequest = { get: kernelKinds(options.get), diagonal: options.diagonal ?? false, allDepths: false };
  return infiniteGram(limit, a, b, req);
}

/** The CPU computation behind `infiniteDepthKernel` (checked matrices and request). */
export function infiniteGram(limit: InfiniteDepthLimit, a: Matrix2D, b: Matrix2D | null, req: GramRequest): GramResult {
  return limitExecutor(limit, null).gram(a, b, req);
}

function dot(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) s += a[i * d + k]! * b[j * d + k]!;
  return s;
}

/** γ = ½: |x||z|·f(θ0) with f from the table; θ0 from the chords ‖x̂ ∓ ẑ‖ (no 1 − x̂·ẑ cancellation). */
function odeGram(limit: InfiniteDepthLimit, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest): GramResult {
  const d = x1.cols;
  const n1 = x1.rows;
  const n2 = req.diagonal ? 1 : (x2 ?? x1).rows;
  const plane = req.diagonal ? n1 : n1 * n2;
  if (plane > MAX_RESULT_ELEMENTS) {
    throw new InputError(
      `the result [${req.diagonal ? n1 : `${n1}, ${n2}`}] needs ${((plane * 8) / 2 ** 30).toFixed(1)} GiB of float64 per kernel ` +
        `(limit ${(MAX_RESULT_ELEMENTS * 8) / 2 ** 30} GiB): compute smaller blocks of X1 × X2`,
    );
  }
  const c = limit.c;
  // Scale of each kernel relative to the normalised unit-input values.
  const kScale = limit.normalized ? 1 : Math.exp(c);
  const tScale = limit.normalized ? 1 : 2 * c * Math.exp(c);
  const nngp = req.get.includes('nngp') ? new Float64Array(plane) : undefined;
  const ntk = req.get.includes('ntk') ? new Float64Array(plane) : undefined;
  const prep = (m: Matrix2D) => {
    const norm = new Float64Array(m.rows);
    const unit = new Float64Array(m.rows * d);
    for (let i = 0; i < m.rows; i++) {
      const nrm = Math.sqrt(dot(m.data, i, m.data, i, d));
      norm[i] = nrm;
      if (nrm > 0) for (let k = 0; k < d; k++) unit[i * d + k] = m.data[i * d + k]! / nrm;
    }
    return { norm, unit };
  };
  const A = prep(x1);
  const B = x2 ? prep(x2) : A;
  const ode = odeEvaluator(c);
  const f = new Float64Array(3);
  const pair = (i: number, j: number, at: number, same: boolean) => {
    const s = A.norm[i]! * B.norm[j]!;
    let theta0 = 0;
    if (!same && s > 0) {
      let cm = 0;
      let cp = 0;
      for (let k = 0; k < d; k++) {
        const u = A.unit[i * d + k]!;
        const v = B.unit[j * d + k]!;
        cm += (u - v) * (u - v);
        cp += (u + v) * (u + v);
      }
      theta0 = thetaOf(Math.min(2, 0.5 * cm), Math.min(2, 0.5 * cp));
    }
    ode(theta0, f);
    const k = s * kScale * f[0]!;
    const t = s * tScale * f[1]!;
    if (!Number.isFinite(k) || !Number.isFinite(t)) {
      throw new InputError(`${limit.reference}: the kernel overflows float64; rescale the inputs`);
    }
    if (nngp) nngp[at] = k;
    if (ntk) ntk[at] = t;
  };
  const symmetric = !x2 && !req.diagonal;
  if (req.diagonal) {
    for (let i = 0; i < n1; i++) pair(i, i, i, true);
  } else if (symmetric) {
    for (let i = 0; i < n1; i++) for (let j = i; j < n1; j++) pair(i, j, i * n1 + j, i === j);
    for (const out of [nngp, ntk]) {
      if (!out) continue;
      for (let i = 0; i < n1; i++) for (let j = 0; j < i; j++) out[i * n1 + j] = out[j * n1 + i]!;
    }
  } else {
    for (let i = 0; i < n1; i++) for (let j = 0; j < n2; j++) pair(i, j, i * n2 + j, false);
  }
  return {
    ...(nngp ? { nngp } : {}),
    ...(ntk ? { ntk } : {}),
    shape: req.diagonal ? [n1] : [n1, n2],
    depths: [Infinity],
    symmetric,
    diagonal: req.diagonal,
    sweep: false,
  };
}

// ---- executors ---------------------------------------------------------------------------------------

/** A limit's results are labelled depth ∞ (one entry: there is no depth sweep). */
const INFINITE_DEPTH = (): number[] => [Infinity];

/** γ > ½: the limit's finite spec per kernel, compiled (a linear kernel; a two-layer ReLU NTK). */
function limitPrograms(limit: InfiniteDepthLimit, kinds: readonly KernelKind[]) {
  const specs = limitSpecs(limit);
  return kinds.map((kind) => compile(resolveSpec(specs[kind])));
}

/** γ > ½ on the CPU: the limit specs on the float64 reference, one per kernel, merged. */
function twoLayerGramCpu(limit: InfiniteDepthLimit, a: Matrix2D, b: Matrix2D | null, req: GramRequest): GramResult {
  const parts = limitPrograms(limit, req.get).map((p, i) => cpuExecutor(p).gram(a, b, { ...req, get: [req.get[i]!] }));
  return { ...mergeKinds(req.get, parts), depths: [Infinity], sweep: false };
}

/**
 * γ > ½ on WebGPU: one executor per kernel (the limit specs differ per kernel), streamed in blocks
 * of the same size so that their streams tile alike; progress counts the blocks of both.
 */
function twoLayerWebGPU(limit: InfiniteDepthLimit, ctx: GpuContext): Executor<Matrix2D> {
  const parts = (req: GramRequest, x1: Matrix2D, x2: Matrix2D | null, options: ExecOptions) => {
    const execs: WebGpuExecutor[] = limitPrograms(limit, req.get).map((p) => webgpuExecutor(ctx, p));
    const reqs = req.get.map((kind): GramRequest => ({ ...req, get: [kind] }));
    const blockRows = Math.min(...execs.map((e, i) => e.blockRows(x1, x2, reqs[i]!, options)));
    const k = execs.length;
    const opts = execs.map((_, i): ExecOptions => {
      const o: ExecOptions = { ...options, blockRows };
      const onProgress = options.onProgress;
      if (onProgress) o.onProgress = (p) => onProgress({ blocksDone: i * p.blocks + p.blocksDone, blocks: k * p.blocks });
      return o;
    });
    return { execs, reqs, opts };
  };
  const check = (x1: Matrix2D, x2: Matrix2D | null, req: GramRequest) => checkInfiniteRequest(limit, x1, x2, req);
  return {
    backend: 'webgpu',
    adapter: describeAdapter(ctx.adapter),
    depths: INFINITE_DEPTH,
    check,
    async gram(x1, x2, req, options = {}) {
      check(x1, x2, req);
      const { execs, reqs, opts } = parts(req, x1, x2, options);
      const results: GramResult[] = [];
      for (let i = 0; i < execs.length; i++) results.push(await execs[i]!.gram(x1, x2, reqs[i]!, opts[i]));
      return { ...mergeKinds(req.get, results), depths: [Infinity], sweep: false };
    },
    async *blocks(x1, x2, req, options = {}) {
      check(x1, x2, req);
      const { execs, reqs, opts } = parts(req, x1, x2, options);
      const streams = execs.map((e, i) => (e.blocks(x1, x2, reqs[i]!, opts[i]) as AsyncIterable<GramBlock>)[Symbol.asyncIterator]());
      try {
        for (;;) {
          const next: IteratorResult<GramBlock>[] = [];
          for (const s of streams) next.push(await s.next()); // one GPU stream at a time
          if (next.every((r) => r.done)) return;
          const blocks = next.map((r) => (r.done ? null : r.value));
          const first = blocks[0];
          if (!first || blocks.some((b) => !b || b.row0 !== first.row0 || b.col0 !== first.col0 || b.rows !== first.rows || b.cols !== first.cols)) {
            throw new Error('internal error: the depth=inf kernels were streamed in different blocks');
          }
          const out: GramBlock = { row0: first.row0, col0: first.col0, rows: first.rows, cols: first.cols };
          req.get.forEach((kind, i) => {
            out[kind] = blocks[i]![kind]!;
          });
          yield out;
        }
      } finally {
        await Promise.all(streams.map((s) => s.return?.(undefined)));
      }
    },
  };
}

/** Why a limit has no WebGPU executor (null when it has one). */
export function limitCpuOnly(limit: InfiniteDepthLimit): string | null {
  return limit.regime === 'ode'
    ? `${limit.reference}: the γ = ½ limit is the solution of an ODE in depth-time, which only the CPU computes ` +
        '(no finite spec gives it to the WebGPU backend); use backend "cpu" (or "auto")'
    : null;
}

/**
 * The executor of a limit: on the CPU (ctx null) the float64 closed forms or the ODE; on WebGPU
 * (γ > ½ only, see limitCpuOnly) the limit specs on the device.
 */
export function limitExecutor(limit: InfiniteDepthLimit, ctx: null): SyncExecutor<Matrix2D>;
export function limitExecutor(limit: InfiniteDepthLimit, ctx: GpuContext | null): Executor<Matrix2D>;
export function limitExecutor(limit: InfiniteDepthLimit, ctx: GpuContext | null): Executor<Matrix2D> {
  if (ctx) {
    const why = limitCpuOnly(limit);
    if (why) throw new InputError(why);
    return twoLayerWebGPU(limit, ctx);
  }
  return syncExecutor({
    depths: INFINITE_DEPTH,
    check: (x1, x2, req) => checkInfiniteRequest(limit, x1, x2, req),
    gram: (x1, x2, req) => (limit.regime === 'two-layer' ? twoLayerGramCpu(limit, x1, x2, req) : odeGram(limit, x1, x2, req)),
  });
}
