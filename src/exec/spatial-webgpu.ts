/**
 * The WebGPU executor of a compiled spatial (convolutional) program: the float64 per-input
 * pre-pass on the CPU (every layer's per-pixel diagonals, cpu/spatial.ts prepareSide with the
 * diagonal state only), the pixel-pair slabs on the GPU (gpu/conv.ts, shaders/conv_slab.wgsl), and
 * the readout's FC tail on the host in float64 (runTail), exactly as the CPU path runs it.
 *
 * Scales: every layer's diagonals go up scaled by one exact power of two 2^−E per layer (E from the
 * largest diagonal of the call's inputs), so f32 never overflows however the kernel grows with depth.
 * The gap readout's normaliser R(K(x, x)) is the same GPU kernel on the pairs (x, x), run first.
 * A gap readout whose depth taps read out different grids (a strided conv in the depth loop) runs a
 * plan per grid (spatial-plan.ts tapGroups), each on every pair; the taps' results are merged here.
 */
import { InputError } from '../errors.js';
import { checkSpatialRequest, prepareSide, runTail } from '../cpu/spatial.js';
import type { Side } from '../cpu/spatial-pair.js';
import { checkConvPlan, CONV_GAP_BAD, convLayout, prefetchConvPipelines, runConvPairs, type ConvPlan } from '../gpu/conv.js';
import { wgslCall } from '../activations/registry.js';
import { describeAdapter, type GpuContext } from '../gpu/device.js';
import { frexp, ldexp64 } from '../gpu/rows.js';
import type { Images } from '../images.js';
import type { SpatialProgram } from '../program/spatial.js';
import { transposeBlock, type GramBlock, type GramRequest, type GramResult } from '../result.js';
import { throwIfAborted, type ExecOptions, type Executor } from './executor.js';
import { IMAGE_ROWS, spatialDepths } from './spatial.js';
import { recordPlan, spatialGpuRefusal, spatialGpuShapeRefusal, tapGroups, type RecordedPlan } from './spatial-plan.js';

/** Scaled diagonals below this (relative to the layer's largest) would lose f32 precision. */
const MIN_SCALED = 2 ** -60;

/** Rows per block of the streamed path (blockRows overrides it). */
const GPU_BLOCK_ROWS = 256;

export { spatialGpuRefusal, spatialGpuShapeRefusal };

/** Everything checkable before any work (the CPU checks and what the slab shader cannot run). */
export function checkSpatialWebGPU(p: SpatialProgram, x1: Images, x2: Images | null, req: GramRequest): void {
  checkSpatialRequest(p, x1, x2, req);
  const why = spatialGpuRefusal(p);
  if (why) throw new InputError(why);
}

interface Prepared {
  /** One plan per group of taps (spatial-plan.ts tapGroups: a gap readout's taps on different grids run apart). */
  plans: (ConvPlan & { tapIndex: number[] })[];
  sides: Side[];
  /** Scale exponent of each tap's readout (taps in the program's order). */
  tapExp: number[];
  diag: Float32Array<ArrayBuffer>;
  sdiag: Float32Array<ArrayBuffer>;
  unit: Float32Array<ArrayBuffer>;
}

function prepareInputs(ctx: GpuContext, p: SpatialProgram, images: Images[], req: GramRequest): Prepared {
  // The pre-pass needs the diagonals only (the gap readout's R(K(x, x)) comes from the GPU), but
  // a pooled diagonal k'[I] = K'(x, x)[I, I] needs every pixel pair of (x, x) before the pool.
  const pools = [...p.prefix, ...(p.sweep?.body ?? []), ...p.suffix].some((o) => o.op === 'pool');
  const pd: SpatialProgram = { ...p, state: pools ? 'full' : 'diagonal', readout: p.readout.type === 'gap' ? { type: 'flatten' } : p.readout };
  const sides = images.flatMap((x) => Array.from({ length: x.n }, (_, i) => prepareSide(pd, x, i, req.allDepths)));
  const first = sides[0]!;
  const K = first.diags.length;
  const at = (s: Side, k: number) => (k < 0 ? s.diag0 : s.diags[k]!);
  const off = new Array<number>(K + 2).fill(0);
  for (let k = -1; k < K; k++) off[k + 2] = off[k + 1]! + at(first, k).length;
  const perInput = off[K + 1]!;
  const exps = new Array<number>(K + 1).fill(0);
  for (let k = -1; k < K; k++) {
    let m = 0;
    for (const s of sides) for (const v of at(s, k)) m = Math.max(m, v);
    exps[k + 1] = m > 0 ? frexp(m)[1] : 0;
    for (const s of sides) {
      let ms = 0;
      for (const v of at(s, k)) ms = Math.max(ms, v);
      if (ms > 0 && ms * 2 ** -exps[k + 1]! < MIN_SCALED) {
        throw new InputError(
          'the inputs\' kernels differ in scale by more than 2^60 (one input is nearly zero next to another); the WebGPU path carries one scale per layer: rescale the inputs or use backend "cpu"',
        );
      }
    }
  }
  const recs = tapGroups(p, images[0]!.dims, req.allDepths).map((g) => recordPlan(p, images[0]!.dims, req.allDepths, (k) => off[k + 1]!, (k) => exps[k + 1]!, g));
  const n = sides.length;
  const P0 = first.diag0.length;
  const C = images[0]!.channels;
  const diag = new Float32Array(n * perInput);
  const sdiag = new Float32Array(2 * n * perInput);
  const unit = new Float32Array(n * P0 * C * 2);
  sides.forEach((s, i) => {
    for (let k = -1; k < K; k++) {
      const d = at(s, k);
      const scale = 2 ** -exps[k + 1]!;
      const base = i * perInput + off[k + 1]!;
      for (let e = 0; e < d.length; e++) {
        const v = d[e]! * scale;
        diag[base + e] = v;
        const r = Math.sqrt(v);
        sdiag[base + e] = r;
        sdiag[n * perInput + base + e] = r - Math.fround(r);
      }
    }
    for (let e = 0; e < P0 * C; e++) {
      const u = s.unit[e]!;
      const hi = Math.fround(u);
      unit[(i * P0 * C + e) * 2] = hi;
      unit[(i * P0 * C + e) * 2 + 1] = u - hi;
    }
  });
  const tapExp: number[] = [];
  const plans = recs.map((rec) => {
    const plan = convPlanOf(ctx, rec, perInput, C, P0);
    checkConvPlan(ctx, plan, n);
    rec.tapDiag.forEach((k, t) => (tapExp[rec.tapIndex[t]!] = exps[k + 1]!));
    return plan;
  });
  return { plans, sides, tapExp, diag, sdiag, unit };
}

/** A recorded plan with its slab count, the inputs' sizes and the adapter's layout. */
function convPlanOf(ctx: GpuContext, rec: RecordedPlan, perInput: number, channels: number, pixels0: number): ConvPlan & { tapIndex: number[] } {
  const last = rec.segments[rec.segments.length - 1]!;
  return { ...rec, slabs: last.cnt[0] * last.cnt[1], perInput, channels, pixels0, ...convLayout(ctx, rec.maxEntries, rec.slots, rec.precise) };
}

/**
 * Starts compiling the program's conv pipelines before the float64 pre-pass (prepareInputs), so
 * that the two overlap: plans recorded with placeholder diagonal offsets and scales have the same
 * structure, so the same shaders (on lavapipe the compile took ~0.25 s, the pre-pass of 48 images
 * 8×8×3 ~0.04 s). Not with user WGSL activations: runConvPairs checks those first, in an error scope.
 */
function prefetchPipelines(ctx: GpuContext, p: SpatialProgram, x: Images, allDepths: boolean): void {
  const recs = tapGroups(p, x.dims, allDepths).map((g) => recordPlan(p, x.dims, allDepths, () => 0, () => 0, g));
  for (const rec of recs) {
    if (rec.acts.some((a) => (wgslCall(a).check ?? []).length > 0)) return;
    prefetchConvPipelines(ctx, convPlanOf(ctx, rec, 0, x.channels, 0));
  }
}

function smoothRangeError(): InputError {
  return new InputError(
    'a smooth activation (gelu, tanh, sigmoid, softplus, numerical) met an input variance above 64, beyond the range of the WebGPU quadrature: ' +
      'rescale the inputs or lower the weight and bias variances, or use backend "cpu"',
  );
}

/** Gaps 1 ∓ ρ from the signed gap (shaders/kernel_ops.wgsl: gap_g, gap_h), in float64. */
function gapsOf(q: number): [number, number] {
  if (q >= 0) return [q, 2 - q];
  const h = Math.max(-q - 1e-30, 0);
  return [2 - h, h];
}

/**
 * NNGP/NTK Gram matrices of a spatial program on images, on WebGPU: X1 × X2, X1 × X1 (symmetric)
 * when x2 is null, or the diagonal K(x_i, x_i). Same shape and labels as gramSpatialCpu.
 */
export async function gramSpatialWebGPU(ctx: GpuContext, p: SpatialProgram, x1: Images, x2: Images | null, req: GramRequest, opt: ExecOptions = {}): Promise<GramResult> {
  checkSpatialWebGPU(p, x1, x2, req);
  throwIfAborted(opt.signal);
  prefetchPipelines(ctx, p, x1, req.allDepths);
  const prep = prepareInputs(ctx, p, x2 ? [x1, x2] : [x1], req);
  const { plans, sides, tapExp } = prep;
  const inputs = { diag: prep.diag, sdiag: prep.sdiag, unit: prep.unit };
  const runOpt = { ...(opt.maxPairOpsPerSubmit !== undefined ? { maxPairOpsPerSubmit: opt.maxPairOpsPerSubmit } : {}), ...(opt.signal ? { signal: opt.signal } : {}) };
  // Every plan on the pairs: their outputs, one per plan (group of taps).
  const run = async (pairs: Uint32Array): Promise<Float32Array[]> => {
    const outs: Float32Array[] = [];
    for (const plan of plans) outs.push(await runConvPairs(ctx, plan, inputs, pairs, runOpt));
    return outs;
  };
  // Tap t: its plan and its output index there.
  const tapAt: { g: number; t: number }[] = [];
  plans.forEach((plan, g) => plan.tapIndex.forEach((t, k) => (tapAt[t] = { g, t: k })));

  const n1 = x1.n;
  const n2 = req.diagonal ? 1 : (x2 ?? x1).n;
  const zOf = (j: number) => (x2 ? n1 + j : j);
  const T = tapAt.length;
  const plane = req.diagonal ? n1 : n1 * n2;
  const wantK = req.get.includes('nngp');
  const wantT = req.get.includes('ntk');
  // Depths of the result: the image part's taps T, or the dense tail's own depth loop.
  const depthsOut = req.allDepths ? p.depths.length : 1;
  const nngp = wantK ? new Float64Array(depthsOut * plane) : undefined;
  const ntk = wantT ? new Float64Array(depthsOut * plane) : undefined;
  const symmetric = !x2 && !req.diagonal;
  const gap = p.readout.type === 'gap';

  // The result of pair `pl` at tap `tap` as the tail's input (kx, kz from the pre-pass or the gap pass).
  const readoutOf = (outs: Float32Array[], pl: number, tap: number): { g: number; h: number; k: number; th: number } => {
    const { g: gi, t } = tapAt[tap]!;
    const plan = plans[gi]!;
    const out = outs[gi]!;
    const S = plan.slabs;
    const Tg = plan.taps;
    const o = (pl * S * Tg + t) * 4;
    if (gap) {
      const [f0, f1] = plan.final;
      const P2 = (f0 * f1) ** 2;
      let k = 0;
      let th = 0;
      for (let s = 0; s < S; s++) {
        const r = (pl * S + s) * Tg + t;
        // (K hi, K lo, Θ hi, Θ lo), or CONV_GAP_BAD first for a bad pair (conv_slab.wgsl: op_gap).
        if (out[r * 4]! >= CONV_GAP_BAD) throw smoothRangeError();
        k += out[r * 4]! + out[r * 4 + 1]!;
        th += out[r * 4 + 2]! + out[r * 4 + 3]!;
      }
      return { g: 0, h: 0, k: ldexp64(k / P2, tapExp[tap]!), th: ldexp64(th / P2, tapExp[tap]!) };
    }
    if (out[o + 3] !== 0) throw smoothRangeError();
    if (p.readout.type === 'eq') {
      const [g, h] = gapsOf(out[o]!);
      return { g, h, k: 0, th: ldexp64(out[o + 1]! + out[o + 2]!, tapExp[tap]!) };
    }
    return { g: out[o]!, h: out[o + 1]!, k: 0, th: ldexp64(out[o + 2]!, tapExp[tap]!) };
  };

  const write = (at: number, depthTap: number, init: { kx: number; kz: number; g: number; h: number; t: number }) => {
    runTail(p.tail, init, req.allDepths, (tailTap, km, tm, e) => {
      const depth = p.sweep ? (req.allDepths ? depthTap : p.depths.length - 1) : tailTap;
      const k = ldexp64(km, e);
      const th = ldexp64(tm, e);
      if (!Number.isFinite(k) || !Number.isFinite(th)) {
        throw new InputError(`the kernel overflows float64 at depth ${p.depths[depth]}; reduce the depth, the variances or α, or rescale the inputs`);
      }
      const o = (req.allDepths ? depth : 0) * plane + at;
      if (nngp) nngp[o] = k;
      if (ntk) ntk[o] = th;
    });
  };

  const list: [number, number, number][] = [];
  if (req.diagonal) for (let i = 0; i < n1; i++) list.push([i, i, i]);
  else if (symmetric) for (let i = 0; i < n1; i++) for (let j = i; j < n1; j++) list.push([i, j, i * n1 + j]);
  else for (let i = 0; i < n1; i++) for (let j = 0; j < n2; j++) list.push([i, zOf(j), i * n2 + j]);

  const same = (a: number, b: number) => (req.diagonal || symmetric) && a === b;
  const todo = gap ? list.filter(([a, b]) => !same(a, b)) : list;
  // gap: R(K(x, x)) and R(Θ(x, x)) of every input from the pairs (x, x), which run first in the
  // same dispatches as the others (one run: its buffers, submits and readback once per call).
  const selfCount = gap ? (x2 && !req.diagonal ? sides.length : n1) : 0;
  const pairs = new Uint32Array((selfCount + todo.length) * 2);
  for (let k = 0; k < selfCount; k++) pairs.set([k, k], 2 * k);
  todo.forEach(([a, b], k) => pairs.set([a, b], 2 * (selfCount + k)));
  const out = pairs.length > 0 ? await run(pairs) : [];
  const selfK: number[][] = [];
  const selfT: number[][] = [];
  for (let k = 0; k < selfCount; k++) {
    selfK.push([]);
    selfT.push([]);
    for (let t = 0; t < T; t++) {
      const r = readoutOf(out, k, t);
      selfK[k]!.push(r.k);
      selfT[k]!.push(r.th);
    }
  }
  throwIfAborted(opt.signal);

  for (let t = 0; t < T; t++) {
    if (gap) {
      for (const [a, b, at] of list) {
        if (!same(a, b)) continue;
        write(at, t, { kx: selfK[a]![t]!, kz: selfK[a]![t]!, g: 0, h: 2, t: selfT[a]![t]! });
      }
    }
    todo.forEach(([a, b, at], pl) => {
      const r = readoutOf(out, selfCount + pl, t);
      if (gap) {
        const kx = selfK[a]![t]!;
        const kz = selfK[b]![t]!;
        if (!Number.isFinite(r.k) || !Number.isFinite(kx) || !Number.isFinite(kz)) {
          throw new InputError('the kernel overflows float64 inside the network: reduce the depth, the variances or α, or rescale the inputs');
        }
        const R = Math.sqrt(kx) * Math.sqrt(kz);
        const rho = R > 0 ? Math.max(-1, Math.min(1, r.k / R)) : 0;
        write(at, t, { kx, kz, g: 1 - rho, h: 1 + rho, t: r.th });
      } else {
        write(at, t, { kx: sides[a]!.readouts[t]!, kz: sides[b]!.readouts[t]!, g: r.g, h: r.h, t: r.th });
      }
    });
  }
  if (symmetric) {
    for (const o of [nngp, ntk]) {
      if (!o) continue;
      for (let t = 0; t < depthsOut; t++) for (let i = 0; i < n1; i++) for (let j = 0; j < i; j++) o[t * plane + i * n1 + j] = o[t * plane + j * n1 + i]!;
    }
  }
  const base = req.diagonal ? [n1] : [n1, n2];
  return {
    ...(nngp ? { nngp } : {}),
    ...(ntk ? { ntk } : {}),
    shape: req.allDepths ? [depthsOut, ...base] : base,
    depths: spatialDepths(p, req),
    symmetric,
    diagonal: req.diagonal,
    sweep: req.allDepths,
  };
}

/** The result block by block (X × X: the upper triangle, each off-diagonal block also transposed). */
async function* spatialBlocks(ctx: GpuContext, p: SpatialProgram, x1: Images, x2: Images | null, req: GramRequest, opt: ExecOptions): AsyncGenerator<GramBlock> {
  checkSpatialWebGPU(p, x1, x2, req);
  const B = opt.blockRows ?? GPU_BLOCK_ROWS;
  if (!Number.isInteger(B) || B < 1) throw new InputError(`blockRows must be a positive integer, got ${B}`);
  const taps = spatialDepths(p, req).length;
  const symmetric = !x2 && !req.diagonal;
  const other = x2 ?? x1;
  const nb1 = Math.ceil(x1.n / B);
  const nb2 = req.diagonal ? 1 : Math.ceil(other.n / B);
  const jobs: [number, number][] = [];
  for (let i = 0; i < nb1; i++) for (let j = req.diagonal ? 0 : symmetric ? i : 0; j < nb2; j++) jobs.push([i, j]);
  let done = 0;
  for (const [bi, bj] of jobs) {
    throwIfAborted(opt.signal);
    const r0 = bi * B;
    const nr = Math.min(B, x1.n - r0);
    const A = IMAGE_ROWS.slice(x1, r0, nr);
    const kinds = (r: GramResult) => ({ ...(r.nngp ? { nngp: r.nngp } : {}), ...(r.ntk ? { ntk: r.ntk } : {}) });
    if (req.diagonal) {
      yield { row0: r0, col0: 0, rows: nr, cols: 1, ...kinds(await gramSpatialWebGPU(ctx, p, A, null, req, opt)) };
    } else {
      const c0 = bj * B;
      const nc = Math.min(B, other.n - c0);
      const r = symmetric && bi === bj ? await gramSpatialWebGPU(ctx, p, A, null, req, opt) : await gramSpatialWebGPU(ctx, p, A, IMAGE_ROWS.slice(other, c0, nc), req, opt);
      const block: GramBlock = { row0: r0, col0: c0, rows: nr, cols: nc, ...kinds(r) };
      yield block;
      if (symmetric && bi !== bj) yield transposeBlock(block, taps);
    }
    done++;
    opt.onProgress?.({ blocksDone: done, blocks: jobs.length });
  }
}

export function spatialWebgpuExecutor(ctx: GpuContext, p: SpatialProgram): Executor<Images> {
  return {
    backend: 'webgpu',
    adapter: describeAdapter(ctx.adapter),
    depths: (req) => spatialDepths(p, req),
    check: (x1, x2, req) => checkSpatialWebGPU(p, x1, x2, req),
    gram: (x1, x2, req, options = {}) => gramSpatialWebGPU(ctx, p, x1, x2, req, options),
    blocks: (x1, x2, req, options = {}) => spatialBlocks(ctx, p, x1, x2, req, options),
  };
}
