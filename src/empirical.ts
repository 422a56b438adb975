/**
 * Empirical NNGP and NTK of one sampled finite network (float64 CPU), runtime-neutral.
 *
 * One batched forward/backward pass over the stacked inputs [X1; X2] (`mc/batched.ts`) gives, per
 * trainable dense layer ℓ, its inputs A_ℓ and output gradients Δ_ℓ = ∂f/∂h_ℓ; then
 *   Θ(X1, X2) = Σ_ℓ wfac_ℓ·(Δ_ℓ(X1)Δ_ℓ(X2)ᵀ) ⊙ (A_ℓ(X1)A_ℓ(X2)ᵀ) + bfac_ℓ·Δ_ℓ(X1)Δ_ℓ(X2)ᵀ
 * (wfac = σ_w²·s, bfac = σ_b²: the per-layer factorisation of wave2.md §2.4; the Jacobian is never
 * formed), and the NNGP is the output layer's conditional covariance wfac·A(X1)A(X2)ᵀ + bfac of its
 * input features, whose mean over networks is the analytic NNGP. A spec with normalize "diagonal"
 * is divided by the analytic kernel's constants, as the Monte Carlo oracle does. The network for
 * (width, seed) is the oracle's first sample for that seed (`monteCarlo(…, {seed}).perSample[0]`).
 */
import { InputError } from './errors.js';
import { toMatrix, type Matrix2D, type MatrixInput } from './matrix.js';
import { compile } from './program/compile.js';
import { checkRequest, kernelKinds, MAX_RESULT_ELEMENTS, type GramResult, type KernelKind } from './result.js';
import { parsePresetRef } from './spec/presets.js';
import type { ResolvedSpec, Spec } from './spec/types.js';
import { isSpatialSpec, resolveSpec } from './spec/validate.js';
import { SampledNetwork, type LayerShape, type LayerSink, type Mat, type Tape } from './mc/batched.js';
import { checkWidth, sampledArch } from './mc/network.js';
import { empiricalConvKernels, type ImageBatch } from './mc/conv.js';
import { checkImagePair, toImages, type Images, type ImagesInput } from './images.js';
import { compileSpatial } from './program/spatial.js';
import { Rng } from './mc/rng.js';
import { empiricalOnGpu } from './gpu/empirical.js';
import { empiricalConvOnGpu } from './gpu/empirical-conv.js';
import { resolveBackend } from './api.js';

/** Rows of inputs (dense specs) or images {data, shape: [N, C, H, W] or [N, C, P]} (conv specs). */
export type EmpiricalInput = MatrixInput | ImagesInput;

export interface EmpiricalOptions {
  /** Hidden width n of every layer (a whole number ≥ 1). */
  width: number;
  /** Seed of the weights (a whole number from 0 to 2³² − 1; default 0). */
  seed?: number;
  /** Which kernels (default both). */
  get?: KernelKind | readonly KernelKind[];
  /** "cpu" (float64, the default) or "webgpu" (f32 on the device; then the result is a Promise). */
  backend?: 'cpu' | 'webgpu';
}

export type EmpiricalResult = GramResult & {
  backend: 'cpu' | 'webgpu';
  /** The preset reference or the spec's name. */
  computed: string;
  spec: ResolvedSpec;
  width: number;
  seed: number;
};

/**
 * Most float64 weights the host holds at once (2³⁰: 8 GiB): the whole network on the CPU; on
 * WebGPU, where the weights are drawn and uploaded one layer at a time, the largest layer.
 */
export const MAX_NETWORK_PARAMETERS = 2 ** 30;

export function checkSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new InputError(`seed must be a whole number from 0 to 4294967295, got ${seed}`);
}

/** The backend of an empirical kernel: "cpu" (float64) or "webgpu". */
export function checkEmpiricalBackend(backend: unknown): void {
  if (backend === undefined || backend === 'cpu' || backend === 'webgpu') return;
  throw new InputError(`unknown backend "${String(backend)}" for empirical kernels (available: cpu, webgpu)`);
}

/** The resolved spec of an arch (dense specs: the batched sampler; conv specs: the conv sampler of mc/conv.ts). */
export function empiricalSpec(arch: Spec | ResolvedSpec | string): ResolvedSpec {
  return resolveSpec(typeof arch === 'string' ? parsePresetRef(arch) : arch);
}

/** Weights (and biases) of one dense layer. */
const layerWeights = (l: LayerShape): number => l.outDim * l.fanIn + (l.bias ? l.outDim : 0);

/** The exact number of weights and biases of the network of `spec` at `width` on inputs of dimension d (nothing is drawn). */
export function parameterCount(spec: ResolvedSpec, d: number, width: number): number {
  return SampledNetwork.plan(spec, d, width).shapes.reduce((s, l) => s + layerWeights(l), 0);
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1)} GiB`;

/**
 * Refuses a network whose float64 weights held at once on the host exceed MAX_NETWORK_PARAMETERS:
 * all of them (held: "network", the CPU), or its largest layer (held: "layer", drawn into a device).
 */
export function checkHostWeights(shapes: readonly LayerShape[], width: number, held: 'network' | 'layer', limit = MAX_NETWORK_PARAMETERS): void {
  const count = held === 'network' ? shapes.reduce((s, l) => s + layerWeights(l), 0) : shapes.reduce((m, l) => Math.max(m, layerWeights(l)), 0);
  if (count <= limit) return;
  const what = held === 'network' ? 'the sampled network holds' : 'its largest layer holds';
  const hint = held === 'network' ? 'use a smaller width, or backend "webgpu" (drawn one layer at a time)' : 'use a smaller width';
  throw new InputError(`width ${width}: ${what} ${count} weights, ${count * 8} bytes (${gib(count * 8)}) of float64 on the host, above the limit of ${limit} weights (${gib(limit * 8)}); ${hint}`);
}

/**
 * Samples the network for (spec, d, width, seed), refusing one too large to hold; with a sink
 * (a device), each layer's weights go to it as drawn and only one layer is held at a time.
 */
export function sampleNetwork(spec: ResolvedSpec, d: number, width: number, seed: number, sink?: LayerSink): SampledNetwork {
  checkWidth(width);
  checkSeed(seed);
  checkHostWeights(SampledNetwork.plan(spec, d, width).shapes, width, sink ? 'layer' : 'network');
  return new SampledNetwork(spec, d, width, new Rng(seed), sink);
}

/** out[i·n2 + j] = M[r0 + i]·M[c0 + j]; the upper triangle mirrored when `sym` (then r0 = c0, n1 = n2). */
export function rowGram(M: Mat, r0: number, n1: number, c0: number, n2: number, sym: boolean): Float64Array {
  const out = new Float64Array(n1 * n2);
  const n = M.cols;
  const a = M.data;
  for (let i = 0; i < n1; i++) {
    const ai = (r0 + i) * n;
    for (let j = sym ? i : 0; j < n2; j++) {
      const bj = (c0 + j) * n;
      let s = 0;
      for (let q = 0; q < n; q++) s += a[ai + q]! * a[bj + q]!;
      out[i * n2 + j] = s;
      if (sym) out[j * n2 + i] = s;
    }
  }
  return out;
}

/** Rows [0, n1) against rows [n1, n1 + n2) of a tape (or [0, n1) against itself when n2 is null). */
export interface TapeBlock {
  n1: number;
  n2: number | null;
}

function blockGram(M: Mat, b: TapeBlock): Float64Array {
  return b.n2 === null ? rowGram(M, 0, b.n1, 0, b.n1, true) : rowGram(M, 0, b.n1, b.n1, b.n2, false);
}

/** The empirical NNGP of a tape, unnormalised: wfac·AAᵀ + bfac of the output layer's inputs. */
export function tapeNngp(tape: Tape, b: TapeBlock): Float64Array {
  const { A, p } = tape.readout;
  const G = blockGram(A, b);
  for (let e = 0; e < G.length; e++) G[e] = p.wfac * G[e]! + p.bfac;
  return G;
}

/**
 * Each trainable layer's NTK term wfac·(ΔΔᵀ) ⊙ (AAᵀ) + bfac·ΔΔᵀ (backward order: output layer
 * first), unnormalised; their sum, in this order, is the empirical NTK.
 */
export function tapeNtkLayers(tape: Tape, b: TapeBlock): Float64Array[] {
  return tape.records.map(({ p, A, delta }) => {
    const D = blockGram(delta, b);
    const G = blockGram(A, b);
    for (let e = 0; e < D.length; e++) D[e] = p.wfac * D[e]! * G[e]! + p.bfac * D[e]!;
    return D;
  });
}

/** The empirical NTK of a tape, unnormalised. */
export function tapeNtk(tape: Tape, b: TapeBlock): Float64Array {
  const size = b.n1 * (b.n2 ?? b.n1);
  const th = new Float64Array(size);
  for (const t of tapeNtkLayers(tape, b)) for (let e = 0; e < size; e++) th[e] = th[e]! + t[e]!;
  return th;
}

/** Rows of x1 then x2 (x1 alone when x2 is null), as one batch. */
export function stackRows(x1: Matrix2D, x2: Matrix2D | null): Mat {
  if (!x2) return { rows: x1.rows, cols: x1.cols, data: x1.data };
  const data = new Float64Array((x1.rows + x2.rows) * x1.cols);
  data.set(x1.data, 0);
  data.set(x2.data, x1.data.length);
  return { rows: x1.rows + x2.rows, cols: x1.cols, data };
}

/** Stacks x1's images then x2's into one batch (x1 alone when x2 is null). */
function stackImages(a: Images, b: Images | null): ImageBatch {
  const data = b ? new Float64Array(a.data.length + b.data.length) : a.data;
  if (b) {
    data.set(a.data, 0);
    data.set(b.data, a.data.length);
  }
  return { data, shape: [a.n + (b?.n ?? 0), a.channels, ...a.dims] };
}

/** Rows [0, n1) × columns [c0, c0 + n2) of an m × m matrix. */
function subBlock(M: Float64Array, m: number, n1: number, c0: number, n2: number): Float64Array {
  const out = new Float64Array(n1 * n2);
  for (let i = 0; i < n1; i++) out.set(M.subarray(i * m + c0, i * m + c0 + n2), i * n2);
  return out;
}

/** The checked request of a conv spec: images [N, C, H, W] or [N, C, P] ("nchw"), x1's then x2's stacked. */
interface PreparedConv {
  a: Images;
  b: Images | null;
  images: ImageBatch;
  get: KernelKind[];
  seed: number;
}

function prepareConv(x1: unknown, x2: unknown, options: EmpiricalOptions): PreparedConv {
  checkWidth(options.width);
  const seed = options.seed ?? 0;
  checkSeed(seed);
  const get = kernelKinds(options.get);
  const a = toImages(x1 as ImagesInput, 'nchw', 'x1');
  const b = x2 == null ? null : toImages(x2 as ImagesInput, 'nchw', 'x2');
  checkImagePair(a, b);
  const n2 = b ? b.n : a.n;
  if (a.n * n2 > MAX_RESULT_ELEMENTS) throw new InputError(`the result would hold ${a.n * n2} values per kernel (at most ${MAX_RESULT_ELEMENTS})`);
  return { a, b, images: stackImages(a, b), get, seed };
}

function convResult(arch: Spec | ResolvedSpec | string, spec: ResolvedSpec, c: PreparedConv, width: number, backend: 'cpu' | 'webgpu', k: { nngp?: Float64Array; ntk?: Float64Array }): EmpiricalResult {
  return {
    ...(c.get.includes('nngp') ? { nngp: k.nngp! } : {}),
    ...(c.get.includes('ntk') ? { ntk: k.ntk! } : {}),
    shape: [c.a.n, c.b ? c.b.n : c.a.n],
    depths: [compileSpatial(spec).depths.at(-1)!],
    symmetric: !c.b,
    diagonal: false,
    sweep: false,
    backend,
    computed: typeof arch === 'string' ? arch : (spec.name ?? 'an unnamed spec'),
    spec,
    width,
    seed: c.seed,
  };
}

/**
 * The empirical kernels of a conv spec's sampled network (float64 CPU): the conv Monte Carlo
 * oracle's first network for the seed (`monteCarloConv(…, {seed}).perSample`), over all pairs of
 * the stacked images, then the X1 × X2 block. Images are [N, C, H, W] or [N, C, P] ("nchw").
 */
function empiricalConv(arch: Spec | ResolvedSpec | string, spec: ResolvedSpec, x1: unknown, x2: unknown, options: EmpiricalOptions): EmpiricalResult {
  const c = prepareConv(x1, x2, options);
  const { a, b } = c;
  const k = empiricalConvKernels(spec, c.images, options.width, c.seed);
  const block = (M: Float64Array) => (b ? subBlock(M, k.m, a.n, a.n, b.n) : M);
  return convResult(arch, spec, c, options.width, 'cpu', { nngp: block(k.nngp), ntk: block(k.ntk) });
}

/** The same network's kernels on WebGPU (src/gpu/empirical-conv.ts): only the X1 × X2 block is formed. */
async function empiricalConvGpu(arch: Spec | ResolvedSpec | string, spec: ResolvedSpec, x1: unknown, x2: unknown, options: EmpiricalOptions): Promise<EmpiricalResult> {
  const c = prepareConv(x1, x2, options);
  const ctx = await resolveBackend('webgpu');
  const k = await empiricalConvOnGpu(ctx!, spec, c.images, options.width, c.seed, { n1: c.a.n, n2: c.b ? c.b.n : null }, c.get);
  return convResult(arch, spec, c, options.width, 'webgpu', k);
}

/** What both backends share: the checked request, the sampled network and the stacked inputs. */
interface Prepared {
  spec: ResolvedSpec;
  /** The network drawn on the host (CPU); null when the device draws it (WebGPU). */
  net: SampledNetwork | null;
  X: Mat;
  block: TapeBlock;
  get: KernelKind[];
  rows: number;
  n2: number;
  seed: number;
}

function prepareEmpirical(arch: Spec | ResolvedSpec | string, x1: MatrixInput, x2: MatrixInput | null | undefined, options: EmpiricalOptions | undefined, draw = true): Prepared {
  if (!options) throw new InputError('empiricalKernel needs options with a width ({ width, seed })');
  checkEmpiricalBackend(options.backend);
  const spec = empiricalSpec(arch);
  const a = toMatrix(x1, 'x1');
  const b = x2 == null ? null : toMatrix(x2, 'x2');
  const get = kernelKinds(options.get);
  checkRequest(a, b, { get, diagonal: false, allDepths: false });
  const seed = options.seed ?? 0;
  const n2 = b ? b.rows : a.rows;
  if (a.rows * n2 > MAX_RESULT_ELEMENTS) throw new InputError(`the result would hold ${a.rows * n2} values per kernel (at most ${MAX_RESULT_ELEMENTS})`);
  checkWidth(options.width);
  checkSeed(seed);
  const net = draw ? sampleNetwork(spec, a.cols, options.width, seed) : null;
  return { spec, net, X: stackRows(a, b), block: { n1: a.rows, n2: b ? b.rows : null }, get, rows: a.rows, n2, seed };
}

/** The result of either backend from the unnormalised kernels. */
function finish(arch: Spec | ResolvedSpec | string, p: Prepared, width: number, backend: 'cpu' | 'webgpu', k: { nngp?: Float64Array; ntk?: Float64Array }): EmpiricalResult {
  const { kNorm, tNorm } = sampledArch(p.spec);
  const scaled = (v: Float64Array, c: number) => {
    for (let e = 0; e < v.length; e++) v[e] = v[e]! / c;
    return v;
  };
  const program = compile(p.spec);
  return {
    ...(k.nngp ? { nngp: scaled(k.nngp, kNorm) } : {}),
    ...(k.ntk ? { ntk: scaled(k.ntk, tNorm) } : {}),
    shape: [p.rows, p.n2],
    depths: [program.depths[program.depths.length - 1]!],
    symmetric: p.block.n2 === null,
    diagonal: false,
    sweep: false,
    backend,
    computed: typeof arch === 'string' ? arch : (p.spec.name ?? 'an unnamed spec'),
    spec: p.spec,
    width,
    seed: p.seed,
  };
}

/**
 * The empirical NNGP and/or NTK of the finite network of `arch` sampled at `width` from `seed`,
 * over X1 × X2 (X1 × X1 when x2 is omitted): float64 on the CPU, or (backend "webgpu", a Promise)
 * f32 on the WebGPU device with the same network (the weights are drawn on the host).
 */
export function empiricalKernel(arch: Spec | ResolvedSpec | string, x1: EmpiricalInput, x2: EmpiricalInput | null | undefined, options: EmpiricalOptions & { backend: 'webgpu' }): Promise<EmpiricalResult>;
export function empiricalKernel(arch: Spec | ResolvedSpec | string, x1: EmpiricalInput, x2?: EmpiricalInput | null, options?: EmpiricalOptions & { backend?: 'cpu' }): EmpiricalResult;
export function empiricalKernel(arch: Spec | ResolvedSpec | string, x1: EmpiricalInput, x2?: EmpiricalInput | null, options?: EmpiricalOptions): EmpiricalResult | Promise<EmpiricalResult> {
  if (options?.backend === 'webgpu') return empiricalKernelGpu(arch, x1, x2, options);
  if (!options) throw new InputError('empiricalKernel needs options with a width ({ width, seed })');
  checkEmpiricalBackend(options.backend);
  const spec = empiricalSpec(arch);
  if (isSpatialSpec(spec)) return empiricalConv(arch, spec, x1, x2, options);
  const p = prepareEmpirical(arch, x1 as MatrixInput, (x2 ?? null) as MatrixInput | null, options);
  const tape = p.net!.run(p.X);
  return finish(arch, p, options!.width, 'cpu', {
    ...(p.get.includes('nngp') ? { nngp: tapeNngp(tape, p.block) } : {}),
    ...(p.get.includes('ntk') ? { ntk: tapeNtk(tape, p.block) } : {}),
  });
}

async function empiricalKernelGpu(arch: Spec | ResolvedSpec | string, x1: EmpiricalInput, x2: EmpiricalInput | null | undefined, options: EmpiricalOptions): Promise<EmpiricalResult> {
  const spec = empiricalSpec(arch);
  if (isSpatialSpec(spec)) return empiricalConvGpu(arch, spec, x1, x2, options);
  const p = prepareEmpirical(arch, x1 as MatrixInput, (x2 ?? null) as MatrixInput | null, options, false);
  // Drawn one layer at a time into the device: the host holds one layer's float64 weights at a time.
  const plan = SampledNetwork.plan(p.spec, p.X.cols, options.width);
  checkHostWeights(plan.shapes, options.width, 'layer');
  const ctx = await resolveBackend('webgpu');
  const draw = (sink: LayerSink) => sampleNetwork(p.spec, p.X.cols, options.width, p.seed, sink);
  const k = await empiricalOnGpu(ctx!, { plan, draw }, p.X, p.block, p.get);
  return finish(arch, p, options.width, 'webgpu', k);
}
