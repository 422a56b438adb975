/**
 * The engine (kernelCpu, gap-form float64 interpreter) against the independent ρ-form reference
 * (reference-interpreter.ts) at 1e−12 relative, NNGP and NTK, X×X and X1×X2, every depth of the
 * sweep, on custom specs that exercise what the presets do not: biases inside residual branches
 * (sums of kernels with different correlations), frozen layers, nested residual blocks with β ≠ 1 and
 * alpha0·L^(−gamma), DenseNet blocks with both concats, every closed-form activation, normalize and
 * inputScale; then every preset at two parameter sets.
 *
 * Inputs (reference-specs.ts): five rows in R⁴ with different norms (1.1 to 2.2, so the bias terms of the gap forms that
 * vanish for equal norms are live) and pairwise cosines between −0.71 and 0.87, so no pair is a
 * near-duplicate; the reference reports the smallest 1 − |ρ| it met at any activation (`minGap`)
 * and each case checks it stays above 1e−3, where the plain ρ form loses at most ~1e−15/√(2·1e−3) per
 * layer. Entries near zero (cosines of −0.003 give cross kernels that nearly cancel) are compared
 * relative to 1e−2 of their diagonal scale √(K(x,x)K(z,z)) instead of their own value.
 */
import { describe, expect, it } from 'vitest';
import { kernelCpu } from '../src/api.js';
import { PRESETS, presetSpec } from '../src/spec/presets.js';
import type { Spec } from '../src/spec/types.js';
import { referenceKernels, type RefResult } from './reference-interpreter.js';
import { CUSTOM, X, Z } from './reference-specs.js';

const TOL = 1e-12;

/** Diagonal K(x_i, x_i) of each depth, from the reference. */
function diagonals(spec: Spec, rows: number[][]): { nngp: number[][]; ntk: number[][] } {
  const r = referenceKernels(spec, rows);
  const pick = (m: Float64Array[]) => m.map((a) => rows.map((_, i) => a[i * rows.length + i]!));
  return { nngp: pick(r.nngp), ntk: pick(r.ntk) };
}

/**
 * Worst error of the engine against the reference over every depth and entry, relative to
 * max(|reference|, 1e−2·√(K(x,x)K(z,z))).
 */
export function compare(spec: Spec, x1: number[][], x2?: number[][], minGap = 1e-3): { nngp: number; ntk: number; ref: RefResult } {
  const ref = referenceKernels(spec, x1, x2);
  const eng = kernelCpu(spec, x1, x2 ?? null, { depths: 'all' });
  expect(eng.depths).toEqual(ref.depths);
  expect(ref.minGap, 'some correlation came near ±1: the plain ρ form is not a 1e−12 reference there').toBeGreaterThan(minGap);
  const d1 = diagonals(spec, x1);
  const d2 = x2 ? diagonals(spec, x2) : d1;
  const n1 = x1.length;
  const n2 = (x2 ?? x1).length;
  const worst = { nngp: 0, ntk: 0 };
  for (let t = 0; t < ref.depths.length; t++) {
    for (const kind of ['nngp', 'ntk'] as const) {
      const e = eng[kind]!;
      for (let i = 0; i < n1; i++) {
        for (let j = 0; j < n2; j++) {
          const r = ref[kind][t]![i * n2 + j]!;
          const v = e[t * n1 * n2 + i * n2 + j]!;
          expect(Number.isFinite(v), `${kind} depth ${ref.depths[t]} [${i},${j}] is ${v}`).toBe(true);
          const scale = Math.sqrt(Math.abs(d1[kind][t]![i]! * d2[kind][t]![j]!));
          // Both zero (an NTK with nothing trained yet) is agreement, not 0/0.
          const err = v === r ? 0 : Math.abs(v - r) / Math.max(Math.abs(r), 1e-2 * scale);
          worst[kind] = Math.max(worst[kind], err);
        }
      }
    }
  }
  return { ...worst, ref };
}

/** Engine = reference at TOL on X×X and X×Z. */
function expectAgrees(spec: Spec, minGap = 1e-3): void {
  for (const [x1, x2] of [[X, undefined], [X, Z]] as const) {
    const w = compare(spec, x1, x2, minGap);
    expect(w.nngp, `${spec.name ?? 'spec'} NNGP ${x2 ? 'X×Z' : 'X×X'}`).toBeLessThanOrEqual(TOL);
    expect(w.ntk, `${spec.name ?? 'spec'} NTK ${x2 ? 'X×Z' : 'X×X'}`).toBeLessThanOrEqual(TOL);
  }
}

describe('engine = independent ρ-form reference at 1e−12 (custom specs)', () => {
  for (const spec of CUSTOM) it(spec.name!, () => expectAgrees(spec));
});

/** Two parameter sets per preset (the second with biases, gamma or the other options where it has them). */
const PRESET_PARAMS: Record<string, Record<string, unknown>[]> = {
  arora2019: [{ depth: 3 }, { depth: 6 }],
  jacot2018: [{ depth: 3 }, { depth: 5, beta: 0.7 }],
  hayou2019: [{ depth: 3 }, { depth: 5, sigmaW2: 1.3, sigmaB2: 0.2 }],
  huang2020: [{ depth: 3, alpha: 0.7 }, { depth: 5, gamma: 0.5, alpha0: 1.5 }],
  belfer2021: [{ depth: 3, alpha: 1.3 }, { depth: 5, gamma: 0.75 }],
  tirer2021: [{ depth: 3 }, { depth: 5, alpha: 1.5 }],
  resnet: [{ depth: 3, alpha: 0.6 }, { depth: 5, gamma: 0.5, alpha0: 2, cw2: 1.5, cv2: 0.7, trainStem: false, trainReadout: false }],
  densenet: [{ depth: 3 }, { depth: 5, cw2: 1.2, concat: 'sum' }],
  mlp: [{ depth: 3 }, { depth: 5, cw2: 1.1, cb2: 0.3, inputScale: 'none' }],
};

describe('engine = independent ρ-form reference at 1e−12 (every preset)', () => {
  it('covers every preset', () => {
    expect(Object.keys(PRESET_PARAMS).sort()).toEqual(PRESETS.map((p) => p.name).sort());
  });
  for (const p of PRESETS) {
    for (const params of PRESET_PARAMS[p.name] ?? []) {
      it(`${p.name} ${JSON.stringify(params)}`, () => expectAgrees({ ...presetSpec(p.name, params), name: p.name }));
    }
  }
});
