/**
 * Closed-form finite-width corrections (src/analysis/finite-width.ts): the pinned values of
 * ../shared/research/wave2.md §3.3, a mutation check (a formula with one wrong coefficient fails
 * the pinned values, and a wrong prediction fails the Monte Carlo check), the spec recognition,
 * and the float64 Monte Carlo sampler against the predictions within 3 standard errors plus the
 * O(1/n²) allowance (fixed seed; ~15 s).
 */
import { describe, expect, it } from 'vitest';
import { toSpec } from '../src/api.js';
import {
  mlpCoefficient,
  mlpRecipeCoefficient,
  oneHiddenCoefficient,
  predictFluctuation,
  resnetCoefficient,
  secondOrderAllowance,
} from '../src/analysis/finite-width.js';
import { FLUCTUATION_FAMILIES, widthFluctuations, type FluctuationCell } from '../src/analysis/fluctuations.js';
import { InputError } from '../src/errors.js';
import type { Spec } from '../src/spec/types.js';

interface Formulas {
  oneHidden: (rho: number) => number | null;
  mlp: (L: number) => number;
  recipe: (trained: boolean[]) => number | null;
  resnet: (L: number, alpha: number) => number;
}

/**
 * Known values, wave2.md §3.3: one hidden layer 3, 4.68, 8.87, 136 at ρ = 1, ½, 0, −½ (exact);
 * 5 with only one of its layers trained; the MLP L(11L+7)/(3(L+1)) as fractions (3, 58/9, 68/5,
 * 760/27, 976/17 at L = 1, 2, 4, 8, 16); the ResNet sum's values printed by wave2/fluct.py
 * (res_pred: 3.444, 5.594, 9.639, 17.460, 32.889 for α = 1; 4.040, 4.334, 4.427, 4.440 for
 * α = L^−½ at L = 2 … 16) and its limits, slope 23/12 for α = 1 and level 53/12 for α = L^−½.
 * Returns the failed checks (empty: all hold).
 */
function pinnedFailures(f: Formulas): string[] {
  const bad: string[] = [];
  const near = (what: string, got: number | null, want: number, tol: number) => {
    if (got === null || !(Math.abs(got - want) <= tol)) bad.push(`${what}: ${got} vs ${want}`);
  };
  near('one hidden ρ = 1', f.oneHidden(1), 3, 1e-12);
  near('one hidden ρ = ½', f.oneHidden(0.5), 4.68, 0.005);
  near('one hidden ρ = 0', f.oneHidden(0), 8.87, 0.005);
  near('one hidden ρ = −½', f.oneHidden(-0.5), 136, 0.5);
  near('readout only', f.recipe([false, true]), 5, 1e-12);
  near('first layer only', f.recipe([true, false]), 5, 1e-12);
  const fractions: [number, number][] = [[1, 3], [2, 58 / 9], [4, 68 / 5], [8, 760 / 27], [16, 976 / 17]];
  for (const [L, v] of fractions) {
    near(`mlp L = ${L}`, f.mlp(L), v, 1e-12);
    near(`recipe all trained L = ${L}`, f.recipe(new Array<boolean>(L + 1).fill(true)), v, 1e-11);
  }
  const res1: [number, number][] = [[1, 3.444], [2, 5.594], [4, 9.639], [8, 17.46], [16, 32.889]];
  for (const [L, v] of res1) near(`resnet α = 1, L = ${L}`, f.resnet(L, 1), v, 0.0006);
  const resS: [number, number][] = [[2, 4.04], [4, 4.334], [8, 4.427], [16, 4.44]];
  for (const [L, v] of resS) near(`resnet α = L^−½, L = ${L}`, f.resnet(L, L ** -0.5), v, 0.0006);
  near('resnet α = 1 slope', (f.resnet(4000, 1) - f.resnet(2000, 1)) / 2000, 23 / 12, 1e-4);
  near('resnet α = L^−½ level', f.resnet(20000, 20000 ** -0.5), 53 / 12, 1e-3);
  return bad;
}

/**
 * The share recipe written out independently (wave2 §3.3): factor variance `v` (5) and
 * Cov(R_k, Q_{k+1}) = `cov` (1), in units of 1/n. With (5, 1) it must equal mlpRecipeCoefficient.
 */
function recipe(trained: boolean[], v: number, cov: number): number {
  const L = trained.length - 1;
  const idx = trained.flatMap((t, i) => (t ? [i + 1] : []));
  const share = (pred: (l: number) => boolean) => idx.filter(pred).length / idx.length;
  let s = 0;
  for (let k = 1; k <= L; k++) s += v * share((l) => l > k) ** 2 + 2 * cov * share((l) => l > k) * share((l) => l < k + 1);
  for (let k = 2; k <= L + 1; k++) s += v * share((l) => l < k) ** 2;
  return s;
}

const real: Formulas = { oneHidden: oneHiddenCoefficient, mlp: mlpCoefficient, recipe: mlpRecipeCoefficient, resnet: resnetCoefficient };

describe('finite-width closed forms: known values (wave2.md §3.3)', () => {
  it('the closed forms give every pinned value', () => {
    expect(pinnedFailures(real)).toEqual([]);
    // The share recipe and the closed form agree at every depth, not only at the pinned ones.
    for (let L = 1; L <= 40; L++) expect(mlpRecipeCoefficient(new Array<boolean>(L + 1).fill(true))).toBeCloseTo(mlpCoefficient(L), 10);
    // … and the independent transcription of the recipe agrees on every trained-layer mask up to L = 5.
    for (let L = 1; L <= 5; L++) {
      for (let mask = 1; mask < 2 ** (L + 1); mask++) {
        const t = Array.from({ length: L + 1 }, (_, i) => ((mask >> i) & 1) === 1);
        expect(mlpRecipeCoefficient(t)).toBeCloseTo(recipe(t, 5, 1), 12);
      }
    }
  });

  it('mutation check: one wrong coefficient in any formula fails the pinned values', () => {
    const mutants: [string, Partial<Formulas>][] = [
      ['mlp 11 → 12', { mlp: (L) => (L * (12 * L + 7)) / (3 * (L + 1)) }],
      ['mlp 7 → 8', { mlp: (L) => (L * (11 * L + 8)) / (3 * (L + 1)) }],
      ['mlp Hanin–Nica 5·L', { mlp: (L) => 5 * L }],
      ['recipe factor variance 5 → 6', { recipe: (t) => recipe(t, 6, 1) }],
      ['recipe without the cross covariance', { recipe: (t) => recipe(t, 5, 0) }],
      ['recipe with cross covariance 2', { recipe: (t) => recipe(t, 5, 2) }],
      ['one hidden: E[v⁴] = 3 → 2', {
        oneHidden: (rho) => {
          const t = Math.acos(rho);
          const J0 = Math.PI - t;
          const J1 = Math.sin(t) + J0 * rho;
          const J2 = 3 * Math.sin(t) * rho + J0 * (1 + 2 * rho * rho);
          return (2 * Math.PI * (J2 + 2 * rho * J1 + 2 * rho * rho * J0)) / (J1 + rho * J0) ** 2 - 1;
        },
      }],
      ['resnet 4A² → 3A²', { resnet: (L, a) => resnetCoefficient(L, a) - (((1 + a * a + 2 * L * a * a) / (2 * (1 + a * a + L * a * a))) ** 2) }],
      ['resnet α⁴ coefficient 2 → 3', { resnet: (L, a) => {
        // Adds the missing α⁴·(f_k² + g_k²) per block: the coefficient of (4α² + 2α⁴) becomes (4α² + 3α⁴).
        const a2 = a * a, m = 1 + a2, Z = 2 * (m + L * a2);
        let extra = 0;
        for (let k = 1; k <= L; k++) extra += a2 * a2 * (((m + 2 * a2 * (L - k)) / (m * Z)) ** 2 + ((m + 2 * a2 * (k - 1)) / (m * Z)) ** 2);
        return resnetCoefficient(L, a) + extra;
      } }],
    ];
    for (const [name, m] of mutants) expect(pinnedFailures({ ...real, ...m }), name).not.toEqual([]);
  });

  it('the O(1/n²) allowance is 0 where c/n is exact and ½(5L/n)² otherwise', () => {
    expect(secondOrderAllowance(1, 64, true)).toBe(0);
    expect(secondOrderAllowance(4, 64, false)).toBeCloseTo(0.5 * (20 / 64) ** 2, 15);
  });
});

describe('finite-width closed forms: which specs get a prediction', () => {
  const p = (arch: Parameters<typeof toSpec>[0], rho = 0.5, kind: 'ntk' | 'nngp' = 'ntk') => predictFluctuation(toSpec(arch), rho, kind);

  it('the fluctuation families: MLP, ResNet α = 1 and α = L^−½ get their closed forms; the DenseNet none, with the reason', () => {
    for (const L of [1, 2, 5, 16]) {
      expect(p(FLUCTUATION_FAMILIES.mlp(L)).diagonal).toBeCloseTo(mlpCoefficient(L), 12);
      expect(p(FLUCTUATION_FAMILIES['resnet-const'](L)).diagonal).toBeCloseTo(resnetCoefficient(L, 1), 12);
      expect(p(FLUCTUATION_FAMILIES['resnet-sqrt'](L)).diagonal).toBeCloseTo(resnetCoefficient(L, L ** -0.5), 12);
      const d = p(FLUCTUATION_FAMILIES.densenet(L));
      expect(d.diagonal).toBeNull();
      expect(d.model).toMatch(/DenseNet.*not derived/);
    }
    const one = p(FLUCTUATION_FAMILIES.mlp(1));
    expect(one.exact).toBe(true);
    expect(one.offDiagonal).toBeCloseTo(oneHiddenCoefficient(0.5)!, 14);
    expect(p(FLUCTUATION_FAMILIES.mlp(2)).offDiagonal).toBeNull();
  });

  it('only the product α²·c_v²·c_w² of a ResNet enters; the mlp preset (frozen layers there? no: all trained) is recognised too', () => {
    expect(p('resnet:depth=6,alpha=1.4142135623730951,cw2=1').diagonal).toBeCloseTo(resnetCoefficient(6, 1), 12);
    expect(p('resnet:depth=6,alpha=0.5').diagonal).toBeCloseTo(resnetCoefficient(6, 0.5), 12);
  });

  it('frozen MLP layers follow the share recipe; biases, other activations, frozen ResNet layers, the NNGP get null with a reason', () => {
    const frozenFirst: Spec = {
      inputScale: 'none',
      layers: [{ type: 'dense', weightVar: 1, trainable: false }, { type: 'relu' }, { type: 'dense', weightVar: 2 }, { type: 'relu' }, { type: 'dense', weightVar: 2 }],
    };
    // Trained terms 2, 3 of 3: c^R = (1, ½), c^Q_2 = 0, c^Q_3 = ½: 5(1 + ¼) + 5·¼ + 2·(½·½) = 8.
    expect(p(frozenFirst).diagonal).toBeCloseTo(8, 12);
    expect(p(frozenFirst).model).toMatch(/frozen/);
    const biased: Spec = { inputScale: 'none', layers: [{ type: 'dense', weightVar: 1, biasVar: 0.1 }, { type: 'relu' }, { type: 'dense', weightVar: 2 }] };
    expect(p(biased).diagonal).toBeNull();
    expect(p(biased).model).toMatch(/bias/);
    const tanh: Spec = { inputScale: 'none', layers: [{ type: 'dense', weightVar: 1 }, { type: 'tanh' }, { type: 'dense', weightVar: 2 }] };
    expect(p(tanh).diagonal).toBeNull();
    expect(p('resnet:depth=3,alpha=1,trainStem=false').model).toMatch(/every layer trained/);
    expect(p(FLUCTUATION_FAMILIES.mlp(3), 0.5, 'nngp').diagonal).toBeNull();
  });
});

describe('finite-width closed forms: bad input', () => {
  it('smallDepthCut must be a finite number > 0 (one InputError line)', async () => {
    for (const cut of [0, -1, Infinity, Number.NaN]) {
      await expect(widthFluctuations({ families: ['mlp'], depths: [1], widths: [8], samples: 4, smallDepthCut: cut })).rejects.toThrow(InputError);
      await expect(widthFluctuations({ families: ['mlp'], depths: [1], widths: [8], samples: 4, smallDepthCut: cut })).rejects.toThrow(/^fluctuations: smallDepthCut must be a finite number > 0, got [^\n]*$/);
    }
  });

  it('a family with no closed form and kind "nngp" get null predictions and no closed-form fit, never NaN', async () => {
    const r = await widthFluctuations({ families: ['densenet', 'mlp'], depths: [1], widths: [16], samples: 20, kind: 'nngp' });
    for (const c of r.cells) {
      expect(c.prediction.diagonal).toBeNull();
      expect(c.prediction.allowance).toBe(0);
    }
    expect(r.fits.every((f) => f.closedForm === null)).toBe(true);
  });
});

describe('finite-width closed forms against the Monte Carlo sampler (float64, seed 0)', () => {
  const within = (c: FluctuationCell, pred: number) => Math.abs(c.diagonal.relVar - pred) <= 3 * c.diagonal.relVarSE + c.prediction.allowance;

  it('MLP L = 2–4 at n = 64, 128, ResNet α = 1 at L = 4, n = 64, a frozen-first MLP: measured = predicted within 3 SE + the O(1/n²) allowance; wrong predictions fail', async () => {
    const frozenFirst = {
      name: 'mlp-frozen-first',
      arch: (L: number): Spec => ({
        inputScale: 'none',
        layers: [
          { type: 'dense', weightVar: 1, trainable: false },
          { type: 'repeat', count: L - 1, layers: [{ type: 'relu' }, { type: 'dense', weightVar: 2 }] },
          { type: 'relu' },
          { type: 'dense', weightVar: 2 },
        ],
      }),
    };
    const mlp = await widthFluctuations({ families: ['mlp', frozenFirst], depths: [2, 3, 4], widths: [64, 128], samples: 1200, seed: 0 });
    const res = await widthFluctuations({ families: ['resnet-const'], depths: [4], widths: [64], samples: 1200, seed: 0 });
    const cells = [...mlp.cells, ...res.cells];
    for (const c of cells) {
      const pred = c.prediction.diagonal!;
      expect(pred, `${c.family} L=${c.depth}`).not.toBeNull();
      expect(within(c, pred), `${c.family} L=${c.depth} n=${c.width}: ${c.diagonal.relVar} ± ${c.diagonal.relVarSE} vs ${pred} (+${c.prediction.allowance})`).toBe(true);
    }
    // Mutations of the prediction: each fails in at least one cell. Margins over seeds 0–5 (|measured −
    // wrong|/tolerance in the worst-rejected cell): 5·L/n ≥ 2.3, ×1.4 ≥ 1.9, ×0.7 ≥ 1.6, the all-trained value
    // for the frozen-first MLP ≥ 1.0 (1.6 at seed 0); the right predictions stay ≤ 0.63 of the tolerance.
    const mlpCells = mlp.cells.filter((c) => c.family === 'mlp');
    const wrong: [string, (c: FluctuationCell) => number][] = [
      ['Hanin–Nica 5·L/n as the leading order', (c) => (5 * c.depth) / c.width],
      ['coefficient × 1.4', (c) => 1.4 * c.prediction.diagonal!],
      ['coefficient × 0.7', (c) => 0.7 * c.prediction.diagonal!],
      ['the all-trained MLP value for the frozen-first MLP', (c) => (c.family === 'mlp' ? c.prediction.diagonal! : mlpCoefficient(c.depth) / c.width)],
    ];
    for (const [name, f] of wrong) expect(cells.some((c) => !within(c, f(c))), name).toBe(true);
    expect(mlpCells.length).toBe(6);
  }, 60_000);

  it('ResNet α = L^−½ (resnet-sqrt) at L = 4: the width-extrapolated coefficient within 4 batch standard errors of the sum; α = 1’s value rejected', async () => {
    // n·v = c + d/n + O(1/n²) at fixed L, so 2·(n·v)(2n) − (n·v)(n) = c + O(1/n²): Richardson's
    // extrapolation removes the leading remainder, leaving the sampling error as the tolerance. That
    // error is measured from independent batches (seeds): the delta-method standard error of v is too
    // small here by about 2× (the kernel's skewed tail), e.g. 1600 networks at seeds 0–5 gave
    // extrapolated values 3.3–5.6 with delta errors of ~0.4 each.
    const L = 4;
    const B = 8;
    const batches: number[] = [];
    let pred = NaN;
    for (let seed = 0; seed < B; seed++) {
      const r = await widthFluctuations({ families: ['resnet-sqrt'], depths: [L], widths: [64, 128], samples: 200, seed });
      const [a, b] = r.cells as [FluctuationCell, FluctuationCell];
      pred = a.prediction.coefficient!;
      expect(b.prediction.coefficient).toBe(pred);
      batches.push(2 * 128 * b.diagonal.relVar - 64 * a.diagonal.relVar);
    }
    expect(pred).toBeCloseTo(resnetCoefficient(L, 1 / Math.sqrt(L)), 12);
    const mean = batches.reduce((x, y) => x + y, 0) / B;
    const se = Math.sqrt(batches.reduce((x, y) => x + (y - mean) ** 2, 0) / (B - 1) / B);
    console.log(`resnet-sqrt L = ${L}, ${B} batches of 200 networks at n = 64 and 128: extrapolated n·v = ${mean.toFixed(3)} ± ${se.toFixed(3)} against ${pred.toFixed(3)} (α = 1: ${resnetCoefficient(L, 1).toFixed(3)})`);
    // 4 standard errors: the batch error has B − 1 = 7 degrees of freedom (P(|t₇| > 4) ≈ 0.5 %).
    expect(Math.abs(mean - pred)).toBeLessThanOrEqual(4 * se);
    expect(Math.abs(mean - resnetCoefficient(L, 1))).toBeGreaterThan(4 * se);
  }, 60_000);

  it('frozen layers anywhere (middle, readout, alternating) follow the share recipe within 3 SE + the allowance', async () => {
    // Seed 7, 3000 networks at n = 128 gave n·v = 10.06 ± 0.28, 11.27 ± 0.29, 11.30 ± 0.34 against 9.667, 11.444, 11.000.
    const mk = (mask: boolean[]) => ({
      name: `mask-${mask.map(Number).join('')}`,
      arch: (): Spec => ({
        inputScale: 'none',
        layers: mask.flatMap((t, i) => [...(i ? [{ type: 'relu' as const }] : []), { type: 'dense' as const, weightVar: i ? 2 : 1, trainable: t }]),
      }),
    });
    const masks = [[true, false, true, true], [true, true, true, false], [false, true, false, true]];
    const r = await widthFluctuations({ families: masks.map(mk), depths: [3], widths: [128], samples: 2000, seed: 7 });
    r.cells.forEach((c, i) => {
      expect(c.prediction.coefficient).toBeCloseTo(recipe(masks[i]!, 5, 1), 12);
      expect(c.prediction.model).toMatch(/frozen/);
      expect(within(c, c.prediction.diagonal!), `${c.family}: ${c.diagonal.relVar * 128} vs ${c.prediction.coefficient}`).toBe(true);
    });
  }, 60_000);

  it('one hidden layer at ρ = 0 (rho option): Θ(x,z) matches the exact 8.87/n within 3 SE, and the ρ = ½ value 4.68/n is rejected', async () => {
    const r = await widthFluctuations({ families: ['mlp'], depths: [1], widths: [64], samples: 3000, seed: 0, rho: 0 });
    expect(r.rho).toBe(0);
    expect(r.z).toEqual([0, 1]);
    const c = r.cells[0]!;
    expect(c.prediction.offDiagonal).toBeCloseTo(oneHiddenCoefficient(0)! / 64, 14);
    const d = Math.abs(c.offDiagonal.relVar - c.prediction.offDiagonal!);
    console.log(`one hidden layer, ρ = 0, n = 64, 3000 networks: n·Var/mean² of Θ(x,z) = ${(64 * c.offDiagonal.relVar).toFixed(3)} ± ${(64 * c.offDiagonal.relVarSE).toFixed(3)} against ${oneHiddenCoefficient(0)!.toFixed(3)} (z = ${(d / c.offDiagonal.relVarSE).toFixed(2)}); diagonal ${(64 * c.diagonal.relVar).toFixed(3)} ± ${(64 * c.diagonal.relVarSE).toFixed(3)} against 3`);
    expect(d).toBeLessThanOrEqual(3 * c.offDiagonal.relVarSE);
    expect(Math.abs(c.diagonal.relVar - 3 / 64)).toBeLessThanOrEqual(3 * c.diagonal.relVarSE);
    // The closed form at the wrong correlation is far outside the errors: the check sees ρ.
    expect(Math.abs(c.offDiagonal.relVar - oneHiddenCoefficient(0.5)! / 64)).toBeGreaterThan(3 * c.offDiagonal.relVarSE);
  });

  it('one hidden layer at ρ = 1: z = x, so Θ(x,z) is the diagonal entry and both match 3/n within 3 SE', async () => {
    const r = await widthFluctuations({ families: ['mlp'], depths: [1], widths: [32], samples: 2000, seed: 1, rho: 1 });
    const c = r.cells[0]!;
    expect(r.z).toEqual(r.x);
    expect(c.prediction.offDiagonal).toBeCloseTo(3 / 32, 14);
    expect(c.offDiagonal.relVar).toBe(c.diagonal.relVar);
    console.log(`one hidden layer, ρ = 1, n = 32, 2000 networks: n·Var/mean² = ${(32 * c.diagonal.relVar).toFixed(3)} ± ${(32 * c.diagonal.relVarSE).toFixed(3)} against 3`);
    expect(Math.abs(c.diagonal.relVar - 3 / 32)).toBeLessThanOrEqual(3 * c.diagonal.relVarSE);
  });

  it('rho: a number in [−1, 1], and not together with inputs (one InputError line)', async () => {
    for (const rho of [1.5, -2, Number.NaN]) await expect(widthFluctuations({ families: ['mlp'], depths: [1], widths: [8], samples: 4, rho })).rejects.toThrow(/^fluctuations: rho must be a number in \[−1, 1\]/);
    await expect(widthFluctuations({ families: ['mlp'], depths: [1], widths: [8], samples: 4, rho: 0, inputs: [[1, 0], [0, 1]] })).rejects.toThrow(/give inputs or rho, not both/);
  });

  it('one hidden layer: Θ(x,z) at ρ = ½ matches the exact 4.68/n within 3 SE (no allowance: exact)', async () => {
    const r = await widthFluctuations({ families: ['mlp'], depths: [1], widths: [64, 128], samples: 2000, seed: 0 });
    for (const c of r.cells) {
      expect(c.prediction.exact).toBe(true);
      expect(c.prediction.offDiagonal).toBeCloseTo(oneHiddenCoefficient(0.5)! / c.width, 14);
      expect(Math.abs(c.offDiagonal.relVar - c.prediction.offDiagonal!)).toBeLessThanOrEqual(3 * c.offDiagonal.relVarSE);
      expect(Math.abs(c.diagonal.relVar - 3 / c.width)).toBeLessThanOrEqual(3 * c.diagonal.relVarSE);
    }
  });
});
