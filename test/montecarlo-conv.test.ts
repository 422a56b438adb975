/**
 * The conv Monte Carlo oracle (src/mc/conv.ts) against independent analytic kernels, with the
 * tolerance of test/mc-conv.ts (Richardson over widths 32 and 64, 128 networks each, Bonferroni z*).
 *
 * Expected values: test/data/conv-mc-reference.json, written by `python3 scripts/conv-mc-reference.py`
 * (numpy float64; the recursions of shared/research/wave2.md §1.1 as in wave2/convkernel.py, which
 * the script checks its 1-D ReLU cases against to 1e-12, extended there to 2-D, stride, avgPool,
 * biases, frozen layers, erf/leakyRelu/abRelu and dense heads). Its `wrong` entries are the analytic
 * kernels of deliberately wrong formulas, for the power test.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { monteCarloConv, type ImageBatch } from '../src/mc/conv.js';
import { monteCarlo } from '../src/mc/montecarlo.js';
import type { ResolvedConv, ResolvedLayer, ResolvedSpec } from '../src/spec/types.js';
import {
  compareConv,
  CONV_MC_OPTIONS,
  CONV_SUITE_COMPARISONS,
  CONV_Z_CRIT,
  loadConvReference,
  sampleConv,
  type ConvMcRuns,
} from './mc-conv.js';

const ref = loadConvReference();
const CASES = ref.cases;
const IMAGES = ref.images;

const runs = new Map<string, ConvMcRuns>();
function sampled(name: string): ConvMcRuns {
  let r = runs.get(name);
  if (!r) {
    const c = CASES.find((k) => k.name === name)!;
    r = sampleConv(c.spec, IMAGES[c.images], CONV_MC_OPTIONS);
    runs.set(name, r);
  }
  return r;
}

describe('conv Monte Carlo oracle agrees with the analytic conv recursions', () => {
  it('the Bonferroni count matches the suite, and the fixtures were cross-checked against convkernel.py', () => {
    expect(CASES.length * 12).toBe(CONV_SUITE_COMPARISONS);
    expect(ref.checkedAgainstConvkernel).toBe(108);
    expect(CONV_Z_CRIT).toBeGreaterThan(4.4);
    expect(CONV_Z_CRIT).toBeLessThan(4.7);
  });

  for (const c of CASES) {
    it(c.name, () => {
      const r = compareConv(sampled(c.name), c);
      expect(r.maxZ, r.detail.join('\n')).toBeLessThanOrEqual(CONV_Z_CRIT);
      // The check has resolution: a few per cent of the kernel's scale.
      expect(r.maxRelSe, r.detail.join('\n')).toBeLessThan(0.1);
    });
  }
});

describe('conv Monte Carlo check has power', () => {
  for (const w of ref.wrong) {
    it(`rejects: ${w.what}`, () => {
      const right = CASES.find((k) => k.name === w.case)!;
      // The wrong kernel really differs from the right one (at least 10% somewhere)...
      const diff = Math.max(...w.ntk.map((v, e) => Math.abs(v / right.ntk[e]! - 1)));
      expect(diff).toBeGreaterThan(0.1);
      // ...and the same tolerance that accepts the right one rejects it.
      const r = compareConv(sampled(w.case), w);
      expect(r.maxZ, r.detail.join('\n')).toBeGreaterThan(CONV_Z_CRIT);
    });
  }
});

const dense = (weightVar: number, biasVar = 0, trainable = true): ResolvedLayer => ({ type: 'dense', weightVar, biasVar, trainable });
const conv = (over: Partial<ResolvedConv> = {}): ResolvedConv => ({
  type: 'conv',
  filter: 3,
  stride: 1,
  padding: 'zero',
  weightVar: 1,
  biasVar: 0,
  trainable: true,
  ...over,
});
const conv1 = (weightVar: number, biasVar = 0, trainable = true): ResolvedConv =>
  conv({ filter: 1, padding: 'circular', weightVar, biasVar, trainable });
const resolved = (layers: ResolvedLayer[], readout: ResolvedLayer[], inputScale: 'none' | 'dim' = 'none'): ResolvedSpec => ({
  format: 'webntk-spec/1',
  inputScale,
  layers,
  readout,
  normalize: 'none',
  sweepStart: 0,
});

describe('conv oracle on one pixel with 1-wide filters is the vector oracle', () => {
  it('equals monteCarlo on the same random stream, sample by sample (biases, frozen layer, residual, erf)', () => {
    const X = [
      [1, 0, 0.5],
      [0.9, 1.2, 0],
      [-0.35, 0.21, 0.56],
    ];
    // The image's channels are the vector's coordinates: K0 = x·z/C0, i.e. inputScale "dim".
    const fc = resolved(
      [dense(1, 0.2), { type: 'relu' }, { type: 'residual', alpha: 0.5, beta: 1, branch: [dense(2), { type: 'erf' }, dense(1, 0, false)] }],
      [dense(2, 0.1)],
      'dim',
    );
    const cnn = resolved(
      [conv1(1, 0.2), { type: 'relu' }, { type: 'residual', alpha: 0.5, beta: 1, branch: [conv1(2), { type: 'erf' }, conv1(1, 0, false)] }],
      [{ type: 'flatten', weightVar: 2, biasVar: 0.1, trainable: true }],
      'dim',
    );
    const opts = { width: 16, samples: 4, seed: 3, keepSamples: true };
    const a = monteCarlo(fc, X, opts);
    const b = monteCarloConv(cnn, { data: X.flat(), shape: [3, 3, 1] }, opts);
    for (const k of ['nngp', 'ntk'] as const) {
      const u = a.perSample![k];
      const v = b.perSample![k];
      expect(v.length).toBe(u.length);
      for (let e = 0; e < u.length; e++) expect(Math.abs(v[e]! - u[e]!)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(u[e]!)));
    }
  });
});

describe('conv oracle follows inputScale', () => {
  it('"none" is "dim" with the images scaled by √C0, sample by sample (bias-free ReLU: both kernels scale by C0)', () => {
    const C0 = 3;
    const x = Array.from({ length: 2 * C0 * 5 }, (_, e) => Math.cos(0.9 * e + 0.2));
    const layers: ResolvedLayer[] = [conv({}), { type: 'relu' }, conv({ weightVar: 2, stride: 2 }), { type: 'relu' }];
    const readout: ResolvedLayer[] = [{ type: 'gap', weightVar: 2, biasVar: 0, trainable: true }];
    const opts = { width: 8, samples: 3, seed: 11, keepSamples: true };
    const dim = monteCarloConv(resolved(layers, readout, 'dim'), { data: x, shape: [2, C0, 5] }, opts);
    const none = monteCarloConv(resolved(layers, readout, 'none'), { data: x, shape: [2, C0, 5] }, opts);
    for (const k of ['nngp', 'ntk'] as const) {
      const u = dim.perSample![k];
      const v = none.perSample![k];
      for (let e = 0; e < u.length; e++) expect(Math.abs(v[e]! - C0 * u[e]!)).toBeLessThanOrEqual(1e-12 * Math.abs(C0 * u[e]!));
    }
  });
});

describe('conv oracle refuses bad input with one InputError', () => {
  const img: ImageBatch = { data: new Array(2 * 2 * 5).fill(0.5), shape: [2, 2, 5] };
  const opts = { width: 4, samples: 2 };
  const flat: ResolvedLayer = { type: 'flatten', weightVar: 1, biasVar: 0, trainable: true };
  const cases: [string, ResolvedSpec, ImageBatch, RegExp][] = [
    ['even filter', resolved([conv({ filter: 2 })], [flat]), img, /filter must be odd/],
    ['filter wider than the image', resolved([conv({ filter: 7 })], [flat]), img, /wider than the image/],
    ['filter list of the wrong rank', resolved([conv({ filter: [3, 3] })], [flat]), img, /2 entries, but the representation has 1 spatial axes/],
    ['stride 0', resolved([conv({ stride: 0 })], [flat]), img, /stride must be an integer ≥ 1/],
    ['pool window wider than the image', resolved([{ type: 'avgPool', window: 6, stride: 6 }], [flat]), img, /wider than the image/],
    ['dense on an image', resolved([conv({}), dense(1)], []), img, /dense layer reads a vector/],
    ['readout on a vector', resolved([conv({}), flat], [flat]), img, /flatten readout reads an image/],
    ['network ending with an image', resolved([conv({})], []), img, /reads a vector; put a readout/],
    ['eq pixel outside', resolved([conv({})], [{ type: 'eq', pixel: [5], weightVar: 1, biasVar: 0, trainable: true }]), img, /outside the 5 output pixels/],
    [
      'residual branch that changes the shape',
      resolved([conv({}), { type: 'residual', alpha: 1, beta: 1, branch: [conv({ stride: 2 })] }], [flat]),
      img,
      /same shape/,
    ],
    ['data of the wrong length', resolved([conv({})], [flat]), { data: [1, 2, 3], shape: [2, 2, 5] }, /needs 20 values, got 3/],
    ['a matrix instead of images', resolved([conv({})], [flat]), { data: [1, 2, 3, 4], shape: [2, 2] }, /shape \[N, C, P\] or \[N, C, H, W\]/],
    ['NaN in an image', resolved([conv({})], [flat]), { data: [...new Array<number>(19).fill(0.5), NaN], shape: [2, 2, 5] }, /image 1 is NaN/],
  ];
  for (const [what, spec, images, msg] of cases) {
    it(what, () => {
      expect(() => monteCarloConv(spec, images, opts)).toThrow(InputError);
      expect(() => monteCarloConv(spec, images, opts)).toThrow(msg);
    });
  }
  it('normalize "diagonal"', () => {
    const spec = { ...resolved([conv({})], [flat]), normalize: 'diagonal' as const };
    expect(() => monteCarloConv(spec, img, opts)).toThrow(/normalize "none"/);
  });
});

describe('conv oracle is exactly shift-invariant with circular padding and GAP', () => {
  it('each sampled network gives K(x, roll x) = K(x, x) and Θ(x, roll x) = Θ(x, x) (2-D, residual, bias)', () => {
    const C = 2;
    const [H, W] = [3, 4];
    const x = Array.from({ length: C * H * W }, (_, e) => Math.sin(1.7 * e + 0.3));
    // roll by (1, 2): y[c, i, j] = x[c, i − 1, j − 2] (mod H, W).
    const y = x.map((_, e) => {
      const c = Math.floor(e / (H * W));
      const i = Math.floor(e / W) % H;
      const j = e % W;
      return x[c * H * W + ((i + H - 1) % H) * W + ((j + W - 2) % W)]!;
    });
    const circ = (over: Partial<ResolvedConv>): ResolvedConv => conv({ padding: 'circular', ...over });
    const spec = resolved(
      [circ({ biasVar: 0.3 }), { type: 'relu' }, { type: 'residual', alpha: 0.7, beta: 1, branch: [circ({ weightVar: 2 }), { type: 'erf' }, circ({})] }],
      [{ type: 'gap', weightVar: 1, biasVar: 0.2, trainable: true }],
    );
    const r = monteCarloConv(spec, { data: [...x, ...y], shape: [2, C, H, W] }, { width: 8, samples: 3, seed: 5, keepSamples: true });
    for (const k of ['nngp', 'ntk'] as const) {
      const v = r.perSample![k];
      for (let t = 0; t < 3; t++) {
        const xx = v[t * 4]!;
        expect(Math.abs(v[t * 4 + 1]! - xx)).toBeLessThanOrEqual(1e-12 * Math.abs(xx));
        expect(Math.abs(v[t * 4 + 3]! - xx)).toBeLessThanOrEqual(1e-12 * Math.abs(xx));
      }
    }
  });
});
