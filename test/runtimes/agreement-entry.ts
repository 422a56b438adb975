/**
 * GPU-vs-CPU agreement, run in Deno and headless Chromium by test/runtimes-agreement.test.ts (see
 * harness.ts for the entry contract): a representative subset of test/gpu-accuracy.test.ts. For
 * each case, `kernelCpu` (float64) and `kernel(..., { backend: 'webgpu' })` on the accuracy
 * inputs, and the largest normalised error
 *   max |K_gpu − K_cpu| / √(K_cpu(x,x)·K_cpu(z,z))
 * for NNGP and NTK. Cross cases (X1 × X2, n1 ≠ n2, depths: "all") use the same measure, with
 * K_cpu(x,x) from the CPU diagonal of X1 and K_cpu(z,z) from the CPU diagonal of X2 (kernelCpu's
 * `diagonal` option, per depth). A case that throws reports its error instead of numbers.
 *
 * Node-free: imports only src/ (runtime-neutral), test/fixtures.ts and test/gpu/inputs.ts.
 */
import { describeAdapter, getGpu, kernel, kernelCpu, predictFromKernels, predictFromKernelsCg, type Arch, type KernelOptions } from '../../src/index.js';
import { forceConvLayoutForTests, forceConvTilesForTests, layerDispatchesForTests } from '../../src/gpu/conv.js';
import { dense, gelu, network, sigmoid, softplus, tanh } from '../../src/spec/stax.js';
import { CUSTOM } from '../fixtures.js';
import { accuracyInputs, maxRelDiff, normalisedError } from '../gpu/inputs.js';

export interface AgreementCase {
  name: string;
  /** [n1, n2] of the result (per depth); for cross cases also the number of depths. */
  shape: number[];
  /** Backend that computed the GPU result (must be "webgpu"). */
  backend: string | null;
  adapter: string | null;
  nngp: number | null;
  ntk: number | null;
  ms: number;
  error: string | null;
}

/** GPU-CG (K on the device) against the float64 Cholesky solve, NTK regression with 3 outputs. */
export interface CgAgreement {
  n: number;
  iterations: number | null;
  relativeResidual: number | null;
  /** max |mean_cg − mean_direct| / max |mean_direct|. */
  maxRelDiff: number | null;
  error: string | null;
}

export interface AgreementResult {
  /** null (and no cases) when the runtime has no WebGPU adapter at all. */
  runtime: string | null;
  adapter: string | null;
  cases: AgreementCase[];
  cg?: CgAgreement;
  ms: number;
}

/** Deterministic, float32-exact inputs for the CG check. */
function cgInputs(n: number, d: number, seed: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => Math.fround(Math.sin(seed + 1.7 * i + 0.37 * j * j + 0.11 * i * j))));
}

async function cgAgreement(): Promise<CgAgreement> {
  const n = 400;
  try {
    const X = cgInputs(n, 6, 1);
    const T = cgInputs(25, 6, 2);
    const arch = 'resnet:depth=8,gamma=0.5';
    const blocks = { n, m: T.length, train: kernelCpu(arch, X, null, { get: 'ntk' }).ntk!, testTrain: kernelCpu(arch, T, X, { get: 'ntk' }).ntk! };
    const Y = X.map((r) => [r[0]! * r[1]!, Math.cos(r[2]!), r[3]! > 0 ? 1 : -1]);
    const opts = { kernel: 'ntk', ridge: 1e-3 } as const;
    const direct = predictFromKernels(blocks, Y, opts).mean[0]!;
    const cg = await predictFromKernelsCg(blocks, Y, opts);
    return { n, iterations: cg.cg!.iterations, relativeResidual: cg.cg!.relativeResidual, maxRelDiff: maxRelDiff(cg.mean[0]!, direct), error: cg.cg!.converged ? null : 'CG did not converge' };
  } catch (e) {
    return { n, iterations: null, relativeResidual: null, maxRelDiff: null, error: message(e) };
  }
}

/**
 * Square X × X cases: presets at depths 10 … 1000, custom specs that use every other layer type,
 * and bias-free ReLU networks from their angle table (src/exec/angle-table.ts; shaders/gram_angle.wgsl).
 */
const SQUARE: [string, Arch, KernelOptions?][] = [
  ['arora2019:depth=1000 (angle table)', 'arora2019:depth=1000', { angleTable: true }],
  ['tirer2021 (angle table)', 'tirer2021', { angleTable: true }],
  ['densenet:depth=20 (angle table)', 'densenet:depth=20', { angleTable: true }],
  ['arora2019:depth=10', 'arora2019:depth=10'],
  ['arora2019:depth=1000', 'arora2019:depth=1000'],
  ['tirer2021', 'tirer2021'],
  ['belfer2021:depth=100,gamma=0.5', 'belfer2021:depth=100,gamma=0.5'],
  ['densenet:depth=20', 'densenet:depth=20'],
  ['mlp:depth=100,cb2=0.2', 'mlp:depth=100,cb2=0.2'],
  ['custom:erfBias', CUSTOM.erfBias!],
  ['custom:leakyFrozen', CUSTOM.leakyFrozen!],
  ['custom:nested', CUSTOM.nested!],
  // The smooth activations' shader quadrature (the first layer's small weight variance keeps the
  // row of norm 850 inside the quadrature's range: variance ≤ 64).
  ['custom:smooth', network({ inputScale: 'dim' }, dense({ weightVar: 2e-4 }), tanh(), dense({ weightVar: 1.5, biasVar: 0.1 }), gelu(), dense(), softplus(), dense({ weightVar: 2 }), sigmoid(), dense())],
];

/**
 * Convolutional cases (shaders/conv_slab.wgsl; with avgPool also conv_pool.wgsl): images with a
 * near-duplicate and a shifted copy (no nonlinearity after the pool, which would read the
 * near-duplicate's pooled ρ to f32 rounding: README, Convolutional networks on WebGPU).
 */
const CONV: [string, Arch, number[], 'tiles'?][] = [
  ['cntk:depth=4,readout=gap (2-D)', 'cntk:depth=4,readout=gap', [2, 6, 6]],
  ['rescnn:depth=4,alpha=0.7,readout=flatten,pad=zero (1-D)', 'rescnn:depth=4,alpha=0.7,readout=flatten,pad=zero', [2, 10]],
  [
    'conv, ReLU, conv, ReLU, avgPool 2, conv, gap (2-D)',
    { layers: [{ type: 'conv' }, { type: 'relu' }, { type: 'conv', weightVar: 2 }, { type: 'relu' }, { type: 'avgPool', window: 2 }, { type: 'conv', weightVar: 2 }], readout: [{ type: 'gap' }] },
    [2, 6, 6],
  ],
  // The global layout's halo tiles (GPUs run them; forced here on the CPU adapter, and checked to have run).
  ['cntk:depth=3,readout=eq,pad=circular, global layout in halo tiles (2-D)', 'cntk:depth=3,readout=eq,pad=circular', [2, 9, 10], 'tiles'],
];

/** Four images [4, C, ...dims]: two unrelated, a near-duplicate of the first (1e−4) and its shift by one pixel. */
function convImages(shape: number[]): { data: number[]; shape: number[] } {
  const P = shape.slice(1).reduce((a, b) => a * b, 1);
  const n = shape[0]! * P;
  const a = Array.from({ length: n }, (_, k) => Math.sin(1.3 * k + 0.2));
  const b = Array.from({ length: n }, (_, k) => Math.cos(0.7 * k * k + 1));
  const near = a.map((v, k) => v + 1e-4 * Math.sin(5.1 * k));
  const W = shape[shape.length - 1]!;
  const shifted = a.map((_, k) => a[k - (k % W) + ((k % W) + W - 1) % W]!);
  return { data: [...a, ...b, ...near, ...shifted], shape: [4, ...shape] };
}

/** X1 × X2 cases with every depth of the sweep (the last one from the angle table). */
const CROSS: [string, KernelOptions?][] = [['arora2019:depth=10'], ['tirer2021:depth=6'], ['resnet:depth=6,alpha=0.7', { angleTable: true }]];

/**
 * X2 for the cross cases: 7 rows (X1 has 11), float32-exact, with near-duplicates (1e−6, 1e−4 rad)
 * and an exact antipode of X1's first row, a scaled copy, and unrelated rows.
 */
function crossInputs(): number[][] {
  const base = [0.3, -1.2, 0.8, 0.5, 0.1];
  const rot = (a: number[], t: number) => [Math.cos(t) * a[0]! - Math.sin(t) * a[1]!, Math.sin(t) * a[0]! + Math.cos(t) * a[1]!, a[2]!, a[3]!, a[4]!];
  const rows = [
    rot(base, -1e-6),
    rot(base, 2e-4),
    base.map((v) => -v),
    base.map((v) => 7 * v),
    [-0.7, 0.05, 1.1, 0.0, -2.0],
    [12, 3, -8, 0.5, 1],
    [0.02, -0.01, 0.0, 0.03, 0.005],
  ];
  return rows.map((r) => r.map((v) => Math.fround(v)));
}

/** max |K_gpu − K_cpu| / √(d1[i]·d2[j]) over a [taps, n1, n2] result, diagonals [taps, n1] and [taps, n2]. */
function crossError(cpu: Float64Array, gpu: Float64Array, d1: Float64Array, d2: Float64Array, taps: number, n1: number, n2: number): number {
  let e = 0;
  for (let t = 0; t < taps; t++) {
    for (let i = 0; i < n1; i++) {
      for (let j = 0; j < n2; j++) {
        const k = t * n1 * n2 + i * n2 + j;
        const s = Math.sqrt(Math.abs(d1[t * n1 + i]! * d2[t * n2 + j]!));
        const diff = Math.abs(gpu[k]! - cpu[k]!);
        e = Math.max(e, s > 0 ? diff / s : diff);
      }
    }
  }
  return e;
}

const message = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

export async function run(): Promise<AgreementResult> {
  const t0 = performance.now();
  const ctx = await getGpu();
  if (!ctx) return { runtime: null, adapter: null, cases: [], ms: performance.now() - t0 };
  const X = accuracyInputs();
  const n = X.length;
  const cases: AgreementCase[] = [];

  for (const [name, arch, options] of SQUARE) {
    const c0 = performance.now();
    try {
      const cpu = kernelCpu(arch, X);
      const phases: Record<string, number> = {};
      const gpu = await kernel(arch, X, null, { ...options, backend: 'webgpu', ...(options?.angleTable ? { phases } : {}) });
      if (options?.angleTable && !phases.angleTableSegments) throw new Error('the angle table was not used');
      cases.push({
        name,
        shape: gpu.shape,
        backend: gpu.backend,
        adapter: gpu.adapter ?? null,
        nngp: normalisedError(cpu.nngp!, gpu.nngp!, n),
        ntk: normalisedError(cpu.ntk!, gpu.ntk!, n),
        ms: performance.now() - c0,
        error: null,
      });
    } catch (e) {
      cases.push({ name, shape: [], backend: null, adapter: null, nngp: null, ntk: null, ms: performance.now() - c0, error: message(e) });
    }
  }

  for (const [name, arch, shape, tiles] of CONV) {
    const c0 = performance.now();
    try {
      const images = convImages(shape);
      const cpu = kernelCpu(arch, images);
      if (tiles) {
        forceConvLayoutForTests('global');
        forceConvTilesForTests(true);
        layerDispatchesForTests();
      }
      const gpu = await kernel(arch, images, null, { backend: 'webgpu' }).finally(() => {
        forceConvLayoutForTests(null);
        forceConvTilesForTests(null);
      });
      if (tiles && layerDispatchesForTests().tiled === 0) throw new Error('no layer dispatch ran in halo tiles');
      cases.push({
        name,
        shape: gpu.shape,
        backend: gpu.backend,
        adapter: gpu.adapter ?? null,
        nngp: normalisedError(cpu.nngp!, gpu.nngp!, 4),
        ntk: normalisedError(cpu.ntk!, gpu.ntk!, 4),
        ms: performance.now() - c0,
        error: null,
      });
    } catch (e) {
      cases.push({ name, shape: [], backend: null, adapter: null, nngp: null, ntk: null, ms: performance.now() - c0, error: message(e) });
    }
  }

  const X2 = crossInputs();
  const n2 = X2.length;
  for (const [ref, options] of CROSS) {
    const name = `${ref} X1×X2 depths=all${options?.angleTable ? ' (angle table)' : ''}`;
    const c0 = performance.now();
    try {
      const cpu = kernelCpu(ref, X, X2, { depths: 'all' });
      const d1 = kernelCpu(ref, X, null, { depths: 'all', diagonal: true });
      const d2 = kernelCpu(ref, X2, null, { depths: 'all', diagonal: true });
      const phases: Record<string, number> = {};
      const gpu = await kernel(ref, X, X2, { ...options, depths: 'all', backend: 'webgpu', ...(options?.angleTable ? { phases } : {}) });
      if (options?.angleTable && !phases.angleTableSegments) throw new Error('the angle table was not used');
      const taps = cpu.depths.length;
      const shapeOk =
        JSON.stringify(gpu.shape) === JSON.stringify([taps, n, n2]) &&
        JSON.stringify(cpu.shape) === JSON.stringify([taps, n, n2]) &&
        JSON.stringify(gpu.depths) === JSON.stringify(cpu.depths);
      cases.push({
        name,
        shape: gpu.shape,
        backend: gpu.backend,
        adapter: gpu.adapter ?? null,
        nngp: crossError(cpu.nngp!, gpu.nngp!, d1.nngp!, d2.nngp!, taps, n, n2),
        ntk: crossError(cpu.ntk!, gpu.ntk!, d1.ntk!, d2.ntk!, taps, n, n2),
        ms: performance.now() - c0,
        error: shapeOk ? null : `shape/depths mismatch: gpu ${JSON.stringify(gpu.shape)} ${JSON.stringify(gpu.depths)}, cpu ${JSON.stringify(cpu.shape)} ${JSON.stringify(cpu.depths)}`,
      });
    } catch (e) {
      cases.push({ name, shape: [], backend: null, adapter: null, nngp: null, ntk: null, ms: performance.now() - c0, error: message(e) });
    }
  }

  const cg = await cgAgreement();
  return { runtime: ctx.runtime, adapter: describeAdapter(ctx.adapter), cases, cg, ms: performance.now() - t0 };
}
