/**
 * The ENGINE's conv kernels (kernelCpu on images, float64 CPU) against the conv Monte Carlo oracle
 * (src/mc/conv.ts), for every conv preset and spatial layer type (cases: test/mc-conv-engine-cases.ts).
 * Rule of test/mc-conv.ts: widths 32 and 64, 128 networks each, Richardson extrapolation, every
 * entry within the Bonferroni z* of this suite's own comparisons (Σ over cases of m(m + 1): the
 * m(m + 1)/2 distinct entries of an m-image batch × NNGP and NTK), family-wise false alarm 1e−3.
 *
 * Power: the same sampled runs against the engine's kernel of a changed spec that IS a wrong
 * formula (the conv normaliser 1/q instead of 1/q^D; a sum instead of a mean in flatten and gap;
 * derivations at `wrongSpec`) must be rejected far above z*. That the changed spec equals the wrong
 * formula is checked against the independent numpy kernels of those formulas (conv-mc-reference.json).
 */
import { describe, expect, it } from 'vitest';
import { toSpec } from '../src/api.js';
import { compareConv, loadConvReference, type ConvMcRuns } from './mc-conv.js';
import {
  ENGINE_CASES,
  ENGINE_IMAGES,
  ENGINE_SUITE_COMPARISONS,
  ENGINE_Z_CRIT,
  engineKernels,
  features,
  REQUIRED_FEATURES,
  sampleEngineCase,
  wrongSpec,
  type WrongVariant,
} from './mc-conv-engine-cases.js';

const runs = new Map<number, ConvMcRuns>();
function sampled(k: number): ConvMcRuns {
  let r = runs.get(k);
  if (!r) {
    r = sampleEngineCase(k);
    runs.set(k, r);
  }
  return r;
}
const indexOf = (name: string): number => {
  const k = ENGINE_CASES.findIndex((c) => c.name === name);
  if (k < 0) throw new Error(`no case ${name}`);
  return k;
};

describe('conv engine agrees with the Monte Carlo oracle', () => {
  it('the cases cover every conv preset and spatial layer type, and the Bonferroni count is the suite', () => {
    const covered = new Set(ENGINE_CASES.flatMap(features));
    expect(REQUIRED_FEATURES.filter((f) => !covered.has(f))).toEqual([]);
    // 10 cases of 4 one-dimensional signals (20 comparisons each) and 6 of 3 images (12 each).
    expect(ENGINE_SUITE_COMPARISONS).toBe(ENGINE_CASES.reduce((n, c) => n + (c.images === '1d' ? 20 : 12), 0));
    expect(ENGINE_Z_CRIT).toBeGreaterThan(4.5);
    expect(ENGINE_Z_CRIT).toBeLessThan(4.8);
  });

  ENGINE_CASES.forEach((c, k) => {
    it(c.name, { timeout: 60_000 }, () => {
      const engine = engineKernels(c.arch, ENGINE_IMAGES[c.images]);
      expect(engine.backend).toBe('cpu');
      const r = compareConv(sampled(k), engine);
      const m = ENGINE_IMAGES[c.images].shape[0]!;
      expect(r.rows.length).toBe(m * (m + 1));
      expect(r.maxZ, r.detail.join('\n')).toBeLessThanOrEqual(ENGINE_Z_CRIT);
      // The check has resolution: a few per cent of the kernel's scale.
      expect(r.maxRelSe, r.detail.join('\n')).toBeLessThan(0.075);
    });
  });
});

describe('conv engine check has power', () => {
  const POWER: [string, string, WrongVariant, number][] = [
    ['conv normaliser 1/q instead of 1/q^D (2-D, gap)', 'cntk:depth=2,readout=gap,pad=zero', 'norm-q', 3],
    ['conv normaliser 1/q instead of 1/q^D (2-D, flatten)', 'cntk:depth=2,readout=flatten,pad=circular', 'norm-q', 3],
    ['flatten as a sum instead of a mean (×P)', 'cntk:depth=2,readout=flatten,pad=zero', 'readout-sum', 7],
    ['gap as a sum instead of a mean (×P²)', 'cntk:depth=2,readout=gap,pad=circular', 'readout-sum', 49],
    ['rescnn: gap as a sum instead of a mean (2-D, ×P²)', 'rescnn:depth=2,alpha0=1,gamma=0.5,readout=gap,pad=zero', 'readout-sum', 256],
  ];
  for (const [what, name, variant, factor] of POWER) {
    it(`rejects: ${what}`, { timeout: 60_000 }, () => {
      const k = indexOf(name);
      const c = ENGINE_CASES[k]!;
      const images = ENGINE_IMAGES[c.images];
      const wrong = wrongSpec(toSpec(c.arch), variant, images.shape.slice(2));
      expect(wrong.factor).toBe(factor);
      const r = compareConv(sampled(k), engineKernels(wrong.spec, images));
      expect(r.maxZ, r.detail.join('\n')).toBeGreaterThan(3 * ENGINE_Z_CRIT);
    });
  }

  it('in 1-D the two conv normalisers agree (1/q = 1/q^1): that mistake shows only in 2-D', () => {
    expect(wrongSpec(toSpec('cntk:depth=2'), 'norm-q', [7]).factor).toBe(1);
    expect(wrongSpec(toSpec('cntk:depth=2'), 'norm-q', [4, 4]).factor).toBe(3);
    expect(wrongSpec(toSpec({ layers: [{ type: 'conv', filter: [3, 5] }], readout: [{ type: 'gap' }] }), 'norm-q', [4, 6]).factor).toBe(5);
  });

  it('each changed spec is exactly the wrong formula: the engine matches numpy\'s kernels of those formulas to 1e−12', () => {
    const ref = loadConvReference();
    const as: Record<string, WrongVariant> = { 'norm-q': 'norm-q', 'gap-sum': 'readout-sum' };
    let checked = 0;
    for (const w of ref.wrong) {
      const variant = as[w.variant];
      if (!variant) continue; // edge-norm has no spec form (a per-pixel normaliser)
      const c = ref.cases.find((x) => x.name === w.case)!;
      const images = ref.images[c.images];
      const e = engineKernels(wrongSpec(c.spec, variant, images.shape.slice(2)).spec, images);
      for (const kind of ['nngp', 'ntk'] as const) {
        w[kind].forEach((v, i) => expect(Math.abs(e[kind][i]! - v)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(v))));
      }
      checked++;
    }
    expect(checked).toBe(3);
  });
});
