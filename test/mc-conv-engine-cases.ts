/**
 * The cases of the engine-vs-Monte-Carlo conv suite (test/montecarlo-conv-engine.test.ts,
 * scripts/mc-conv-report.ts): each a spec (preset reference or JSON spec) and a small seeded image
 * batch, 1-D or 2-D. Together they cover every conv preset (cntk: each readout × both paddings;
 * rescnn: alpha, alpha0 + gamma, β ≠ 1, each readout) and every spatial layer type and option;
 * `features` lists what a spec exercises, so the test can check that nothing on `REQUIRED_FEATURES`
 * is left uncovered when a case is edited.
 *
 * Also the deliberately wrong kernels of the power test, each as the engine's kernel of a changed
 * spec (derivations at `wrongSpec`).
 */
import { kernelCpu, toSpec, type Arch } from '../src/api.js';
import { convMaps, poolMaps } from '../src/mc/conv-geometry.js';
import type { ImageBatch } from '../src/mc/conv.js';
import { Rng } from '../src/mc/rng.js';
import type { ResolvedLayer, ResolvedSpec, Spec } from '../src/spec/types.js';
import { bonferroniZ, sampleConv, type ConvMcRuns } from './mc-conv.js';

/** N images of C channels on `dims`, standard normal values from a seeded stream, shape [N, C, ...dims]. */
export function seededImages(N: number, C: number, dims: number[], seed: number): ImageBatch {
  const rng = new Rng(seed);
  const size = N * C * dims.reduce((p, n) => p * n, 1);
  return { data: Array.from({ length: size }, () => rng.normal()), shape: [N, C, ...dims] };
}

/** 1-D: 4 signals, 3 channels, 7 pixels (odd, so stride 2 has a ragged edge); 2-D: 3 images, 2 channels, 4×4. */
export const ENGINE_IMAGES: Record<'1d' | '2d', ImageBatch> = {
  '1d': seededImages(4, 3, [7], 2024),
  '2d': seededImages(3, 2, [4, 4], 2025),
};

export interface EngineCase {
  name: string;
  arch: Arch;
  images: '1d' | '2d';
}

const spec = (s: Spec): Spec => ({ format: 'webntk-spec/1', normalize: 'none', ...s });

export const ENGINE_CASES: EngineCase[] = [
  // cntk: every readout × both paddings, 1-D and 2-D.
  { name: 'cntk:depth=2,readout=gap,pad=zero', arch: 'cntk:depth=2,readout=gap,pad=zero', images: '2d' },
  { name: 'cntk:depth=2,readout=gap,pad=circular', arch: 'cntk:depth=2,readout=gap,pad=circular', images: '1d' },
  { name: 'cntk:depth=2,readout=flatten,pad=zero', arch: 'cntk:depth=2,readout=flatten,pad=zero', images: '1d' },
  { name: 'cntk:depth=2,readout=flatten,pad=circular', arch: 'cntk:depth=2,readout=flatten,pad=circular', images: '2d' },
  { name: 'cntk:depth=3,readout=eq,pad=zero,filter=5', arch: 'cntk:depth=3,readout=eq,pad=zero,filter=5', images: '1d' },
  { name: 'cntk:depth=2,readout=eq,pad=circular', arch: 'cntk:depth=2,readout=eq,pad=circular', images: '2d' },
  // rescnn: alpha, alpha0 + gamma, β ≠ 1, each readout.
  { name: 'rescnn:depth=2,alpha=0.8', arch: 'rescnn:depth=2,alpha=0.8', images: '1d' },
  { name: 'rescnn:depth=2,alpha0=1,gamma=0.5,readout=gap,pad=zero', arch: 'rescnn:depth=2,alpha0=1,gamma=0.5,readout=gap,pad=zero', images: '2d' },
  { name: 'rescnn:depth=2,alpha=0.6,beta=0.8,readout=flatten,pad=zero', arch: 'rescnn:depth=2,alpha=0.6,beta=0.8,readout=flatten,pad=zero', images: '1d' },
  { name: 'rescnn:depth=1,alpha=0.9,beta=1.2,readout=eq', arch: 'rescnn:depth=1,alpha=0.9,beta=1.2,readout=eq', images: '2d' },
  // Layer types and options.
  {
    name: 'stride 2 zero conv + biases, erf, circular conv, tanh, flatten with bias (1-D)',
    images: '1d',
    arch: spec({
      layers: [
        { type: 'conv', filter: 3, stride: 2, padding: 'zero', weightVar: 1.5, biasVar: 0.2 },
        { type: 'erf' },
        { type: 'conv', padding: 'circular', weightVar: 2, biasVar: 0.1 },
        { type: 'tanh' },
      ],
      readout: [{ type: 'flatten', weightVar: 1.5, biasVar: 0.1 }],
    }),
  },
  {
    name: 'filter [3, 1] circular, leakyRelu, frozen [1, 3] conv, eq pixel [2, 1] (2-D)',
    images: '2d',
    arch: spec({
      layers: [
        { type: 'conv', filter: [3, 1], padding: 'circular' },
        { type: 'leakyRelu', slope: 0.1 },
        { type: 'conv', filter: [1, 3], weightVar: 2, trainable: false },
        { type: 'leakyRelu', slope: 0.3 },
      ],
      readout: [{ type: 'eq', pixel: [2, 1], weightVar: 2 }],
    }),
  },
  {
    name: 'abRelu, avgPool 2 stride 1, stride [2, 1] conv, gelu, gap with bias (2-D)',
    images: '2d',
    arch: spec({
      layers: [
        { type: 'conv', weightVar: 1 },
        { type: 'abRelu', a: -0.3, b: 1.1 },
        { type: 'avgPool', window: 2, stride: 1 },
        { type: 'conv', stride: [2, 1], weightVar: 2 },
        { type: 'gelu' },
      ],
      readout: [{ type: 'gap', weightVar: 2, biasVar: 0.05 }],
    }),
  },
  {
    name: 'avgPool 2 (stride = window), relu, eq pixel [1] (1-D)',
    images: '1d',
    arch: spec({
      layers: [
        { type: 'conv', padding: 'circular' },
        { type: 'relu' },
        { type: 'avgPool', window: 2 },
        { type: 'conv', weightVar: 2, biasVar: 0.1 },
        { type: 'relu' },
      ],
      readout: [{ type: 'eq', pixel: [1], weightVar: 2 }],
    }),
  },
  {
    name: '2 residual blocks (erf, frozen inner conv, β = 0.9), gap, relu, dense head (1-D)',
    images: '1d',
    arch: spec({
      layers: [
        { type: 'conv', filter: 5 },
        {
          type: 'repeat',
          count: 2,
          layers: [
            {
              type: 'residual',
              alpha: 0.7,
              beta: 0.9,
              branch: [{ type: 'conv', weightVar: 2 }, { type: 'erf' }, { type: 'conv', padding: 'circular', trainable: false }],
            },
          ],
        },
        { type: 'relu' },
      ],
      readout: [{ type: 'gap', weightVar: 2 }, { type: 'relu' }, { type: 'dense', weightVar: 2, biasVar: 0.1 }],
    }),
  },
  {
    name: 'inputScale none: stride 2 circular conv, relu, 1×1 conv, flatten (2-D)',
    images: '2d',
    arch: spec({
      inputScale: 'none',
      layers: [{ type: 'conv', stride: 2, padding: 'circular' }, { type: 'relu' }, { type: 'conv', filter: 1, weightVar: 2 }, { type: 'relu' }],
      readout: [{ type: 'flatten', weightVar: 2 }],
    }),
  },
];

/** What a suite of cases must exercise between them. */
export const REQUIRED_FEATURES = [
  'preset cntk readout=gap pad=zero',
  'preset cntk readout=gap pad=circular',
  'preset cntk readout=flatten pad=zero',
  'preset cntk readout=flatten pad=circular',
  'preset cntk readout=eq pad=zero',
  'preset cntk readout=eq pad=circular',
  'preset rescnn alpha',
  'preset rescnn alpha0+gamma',
  'preset rescnn beta≠1',
  'preset rescnn readout=gap',
  'preset rescnn readout=flatten',
  'preset rescnn readout=eq',
  'images 1-D',
  'images 2-D',
  'conv stride>1',
  'conv padding=zero',
  'conv padding=circular',
  'conv per-axis filter',
  'conv bias',
  'conv frozen',
  'avgPool',
  'residual',
  'eq chosen pixel',
  'readout bias',
  'dense after readout',
  'inputScale=none',
  'inputScale=dim',
  'act relu',
  'act erf',
  'act leakyRelu',
  'act abRelu',
  'act gelu',
  'act tanh',
];

/** The features a case exercises (names as in REQUIRED_FEATURES). */
export function features(c: EngineCase): string[] {
  const out = new Set<string>([`images ${c.images === '1d' ? '1-D' : '2-D'}`]);
  if (typeof c.arch === 'string') {
    const [name, params = ''] = c.arch.split(':');
    const p = Object.fromEntries(params.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
    const readout = p.readout ?? (name === 'cntk' ? 'gap' : 'eq');
    const pad = p.pad ?? (name === 'cntk' ? 'zero' : 'circular');
    if (name === 'cntk') out.add(`preset cntk readout=${readout} pad=${pad}`);
    if (name === 'rescnn') {
      out.add(`preset rescnn readout=${readout}`);
      if (p.alpha !== undefined) out.add('preset rescnn alpha');
      if (p.alpha0 !== undefined && p.gamma !== undefined) out.add('preset rescnn alpha0+gamma');
      if (p.beta !== undefined && Number(p.beta) !== 1) out.add('preset rescnn beta≠1');
    }
  }
  const s = toSpec(c.arch);
  out.add(`inputScale=${s.inputScale}`);
  let afterReadout = false;
  const walk = (layers: ResolvedLayer[]): void => {
    for (const l of layers) {
      switch (l.type) {
        case 'conv':
          if ([l.stride].flat().some((v) => v > 1)) out.add('conv stride>1');
          if (Array.isArray(l.filter) && new Set(l.filter).size > 1) out.add('conv per-axis filter');
          out.add(`conv padding=${l.padding}`);
          if (l.biasVar > 0) out.add('conv bias');
          if (!l.trainable) out.add('conv frozen');
          break;
        case 'avgPool':
          out.add('avgPool');
          break;
        case 'residual':
          out.add('residual');
          walk(l.branch);
          break;
        case 'repeat':
          walk(l.layers);
          break;
        case 'eq':
        case 'flatten':
        case 'gap':
          if (l.type === 'eq' && l.pixel?.some((v) => v > 0)) out.add('eq chosen pixel');
          if (l.biasVar > 0) out.add('readout bias');
          afterReadout = true;
          break;
        case 'dense':
          if (afterReadout) out.add('dense after readout');
          break;
        case 'denseBlock':
          break;
        default:
          out.add(`act ${l.type}`);
      }
    }
  };
  walk([...s.layers, ...s.readout]);
  return [...out];
}

/** Pixels of the image the readout reads (output sizes through conv strides and pooling). */
export function readoutPixels(s: ResolvedSpec, dims: number[]): number {
  let cur = dims;
  let P: number | null = null;
  const walk = (layers: ResolvedLayer[]): void => {
    for (const l of layers) {
      if (P !== null) return;
      if (l.type === 'conv') cur = convMaps(cur, l.filter, l.stride, l.padding).outDims;
      else if (l.type === 'avgPool') cur = poolMaps(cur, l.window, l.stride).outDims;
      else if (l.type === 'repeat') for (let i = 0; i < l.count; i++) walk(l.layers);
      else if (l.type === 'eq' || l.type === 'flatten' || l.type === 'gap') P = cur.reduce((p, n) => p * n, 1);
      // A residual block keeps the shape (its branch must), so it changes nothing here.
    }
  };
  walk([...s.layers, ...s.readout]);
  if (P === null) throw new Error('the spec has no readout');
  return P;
}

export type WrongVariant = 'norm-q' | 'readout-sum';

/**
 * The spec whose engine kernel IS a deliberately wrong formula for `s` (exactly, not approximately):
 * - 'norm-q', the conv normaliser 1/q₁ instead of 1/(q₁⋯q_D): the wrong shift-sum is
 *   (∏q_d/q₁)·S(K), and S enters the conv update only as σ_w²·S(K), σ_w²·S(Θ); so it is the
 *   engine's kernel with every conv's weightVar multiplied by ∏q_d/q₁ (= q for a square 2-D filter
 *   q×q; 1 in 1-D, where the two normalisers agree).
 * - 'readout-sum', a sum instead of a mean in the readout: flatten Σ_i K[i, i] = P·R(K), gap
 *   (sum pooling, v = Σ_i g_i) Σ_{i,j} K[i, j] = P²·R(K), P the readout image's pixels; R enters
 *   only as σ²·R(K), σ²·R(Θ) (the readout's biasVar and everything after it unchanged), so it is
 *   the engine's kernel with the readout's weightVar multiplied by P (flatten) or P² (gap).
 *   Undefined for eq (no sum to get wrong).
 */
export function wrongSpec(s: ResolvedSpec, variant: WrongVariant, dims: number[]): { spec: ResolvedSpec; factor: number } {
  let factor = 1;
  const P = readoutPixels(s, dims);
  const map = (layers: ResolvedLayer[]): ResolvedLayer[] =>
    layers.map((l): ResolvedLayer => {
      if (l.type === 'repeat') return { ...l, layers: map(l.layers) };
      if (l.type === 'residual') return { ...l, branch: map(l.branch) };
      if (variant === 'norm-q' && l.type === 'conv') {
        const q = [l.filter].flat();
        const full = q.length === 1 ? q[0]! ** dims.length : q.reduce((p, v) => p * v, 1);
        factor = full / q[0]!;
        return { ...l, weightVar: l.weightVar * factor };
      }
      if (variant === 'readout-sum' && (l.type === 'flatten' || l.type === 'gap')) {
        factor = l.type === 'flatten' ? P : P * P;
        return { ...l, weightVar: l.weightVar * factor };
      }
      if (variant === 'readout-sum' && l.type === 'eq') throw new Error('an eq readout has no mean to turn into a sum');
      return l;
    });
  return { spec: { ...s, layers: map(s.layers), readout: map(s.readout) }, factor };
}

/**
 * What the suite runs: widths 32 and 64 (Richardson), 128 networks each, twice as many for an eq
 * readout (one pixel, nothing averaged: about √2 more spread per network); case k has its own seed.
 */
export const ENGINE_MC_OPTIONS = { width: 32, samples: 128 };
export const engineSeed = (k: number): number => 4099 + 7919 * k;
export function engineSamples(c: EngineCase): number {
  const eq = toSpec(c.arch).readout.some((l) => l.type === 'eq') || toSpec(c.arch).layers.some((l) => l.type === 'eq');
  return eq ? 2 * ENGINE_MC_OPTIONS.samples : ENGINE_MC_OPTIONS.samples;
}

/** Comparisons of the suite (Bonferroni): per case, the m(m + 1)/2 distinct entries of an m-image batch × 2 kernels. */
export const ENGINE_SUITE_COMPARISONS = ENGINE_CASES.reduce((n, c) => {
  const m = ENGINE_IMAGES[c.images].shape[0]!;
  return n + m * (m + 1);
}, 0);
export const ENGINE_Z_CRIT = bonferroniZ(ENGINE_SUITE_COMPARISONS);

/** The oracle's runs for case k (the suite's widths, samples and seed). */
export function sampleEngineCase(k: number): ConvMcRuns {
  const c = ENGINE_CASES[k]!;
  return sampleConv(toSpec(c.arch), ENGINE_IMAGES[c.images], { width: ENGINE_MC_OPTIONS.width, samples: engineSamples(c), seed: engineSeed(k) });
}

/** The engine's NNGP and NTK (float64 CPU, the public API) of `arch` on a batch. */
export function engineKernels(arch: Arch, images: ImageBatch): { nngp: Float64Array; ntk: Float64Array; backend: string } {
  const r = kernelCpu(arch, images);
  return { nngp: r.nngp!, ntk: r.ntk!, backend: r.backend };
}
