/**
 * Finite-width fluctuations of the empirical NTK over seeds (Littwin & Wolf, arXiv 2001.10460):
 * an exact finite-width check of the estimator, the depth/width behaviour of the four families,
 * and the mean against the infinite-width kernel. Seeds are fixed; every margin was chosen to hold
 * over seeds 0–8 with room to spare (see the comments at each check).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { kernelCpu } from '../src/api.js';
import { InputError } from '../src/errors.js';
import {
  FLUCTUATION_FAMILIES,
  widthFluctuations,
  type FluctuationCell,
  type FluctuationResult,
} from '../src/analysis/fluctuations.js';
import type { Spec } from '../src/spec/types.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

afterAll(releaseGpuForTests);

/** One hidden ReLU layer whose last dense layer is the network's output: f = √(2/n)·Σ v_i relu(w_i·x). */
const ONE_HIDDEN: Spec = {
  inputScale: 'none',
  layers: [{ type: 'dense', weightVar: 1 }, { type: 'relu' }, { type: 'dense', weightVar: 2 }],
};

/*
 * Exact finite-width moments of that network's NTK. With w_i ~ N(0, I), v_i ~ N(0, 1) and unit
 * inputs x, z at angle θ (ρ = cos θ), u_i = w_i·x and u'_i = w_i·z are standard normals with
 * correlation ρ, and
 *   ∂f/∂v_i = √(2/n) relu(u_i),   ∂f/∂w_i = √(2/n) v_i 1(u_i > 0) x,
 * so Θ(x, z) = (1/n) Σ_i T_i with iid per-unit terms
 *   T = 2·[relu(u) relu(u') + ρ·v²·1(u > 0) 1(u' > 0)].
 * Hence E[Θ] = E[T] and Var(Θ) = Var(T)/n exactly, i.e. Var/mean² = (E[T²]/E[T]² − 1)/n.
 * Cho & Saul's arc-cosine moments, with J0 = π − θ, J1 = sin θ + (π − θ) cos θ and
 * J2 = 3 sin θ cos θ + (π − θ)(1 + 2cos²θ):
 *   E[1(u>0)1(u'>0)] = J0/(2π),  E[relu(u)relu(u')] = J1/(2π),  E[relu(u)²relu(u')²] = J2/(2π).
 * With v independent of w, E[v²] = 1 and E[v⁴] = 3 (and 1(·)² = 1(·), relu·1 = relu):
 *   E[T]  = (J1 + ρ J0)/π,
 *   E[T²] = 4·[J2 + 2ρ J1 + 3ρ² J0]/(2π).
 * At θ = 0: E[T] = 2, E[T²] = 16, so Var/mean² of Θ(x, x) is exactly 3/n.
 */
function exactOneHidden(theta: number): { mean: number; relVar1: number } {
  const rho = Math.cos(theta);
  const J0 = Math.PI - theta;
  const J1 = Math.sin(theta) + (Math.PI - theta) * Math.cos(theta);
  const J2 = 3 * Math.sin(theta) * Math.cos(theta) + (Math.PI - theta) * (1 + 2 * Math.cos(theta) ** 2);
  const ET = (J1 + rho * J0) / Math.PI;
  const ET2 = (4 * (J2 + 2 * rho * J1 + 3 * rho * rho * J0)) / (2 * Math.PI);
  return { mean: ET, relVar1: ET2 / (ET * ET) - 1 };
}

const cell = (r: FluctuationResult, family: string, L: number, n: number): FluctuationCell => {
  const c = r.cells.find((q) => q.family === family && q.depth === L && q.width === n);
  if (!c) throw new Error(`no cell ${family} L=${L} n=${n}`);
  return c;
};

function allFinite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(allFinite);
  if (v && typeof v === 'object') return Object.values(v).every(allFinite);
  return true;
}

describe('finite-width fluctuations: the estimator against exact finite-width moments', () => {
  it('one hidden ReLU layer: Var/mean² of Θ(x,x) = 3/n and of Θ(x,z) at θ = π/3 match the closed form within 3 standard errors', async () => {
    const theta = Math.PI / 3;
    const r = await widthFluctuations({ families: [{ name: 'one', arch: () => ONE_HIDDEN }], depths: [1], widths: [8, 64], samples: 200, seed: 0 });
    expect(r.rho).toBeCloseTo(0.5, 14);
    const diag = exactOneHidden(0);
    const off = exactOneHidden(theta);
    expect(diag.mean).toBeCloseTo(2, 14);
    expect(diag.relVar1).toBeCloseTo(3, 14);
    for (const c of r.cells) {
      const n = c.width;
      for (const [e, ex] of [
        [c.diagonal, diag],
        [c.offDiagonal, off],
      ] as const) {
        // The infinite-width kernel from kernel() is the per-unit mean (no finite-width bias here).
        expect(e.limit).toBeCloseTo(ex.mean, 12);
        const want = ex.relVar1 / n;
        // The standard error must be small enough for the comparison to mean something.
        expect(e.relVarSE).toBeLessThan(0.2 * want);
        expect(Math.abs(e.relVar - want)).toBeLessThan(3 * e.relVarSE);
        expect(Math.abs(e.mean - ex.mean)).toBeLessThan(3 * e.meanSE);
      }
    }
  });

  it('bootstrap and delta-method standard errors agree to within 30 % (a sanity check of both)', async () => {
    const opts = { families: [{ name: 'one', arch: () => ONE_HIDDEN }], depths: [1], widths: [16], samples: 200, seed: 3 };
    const d = await widthFluctuations(opts);
    const b = await widthFluctuations({ ...opts, bootstrap: 400 });
    expect(b.errors).toBe('bootstrap:400');
    expect(b.cells[0]!.diagonal.relVar).toBe(d.cells[0]!.diagonal.relVar);
    for (const k of ['diagonal', 'offDiagonal'] as const) {
      const ratio = b.cells[0]![k].relVarSE / d.cells[0]![k].relVarSE;
      // 0.97–1.10 over seeds 0–7.
      expect(ratio).toBeGreaterThan(1 / 1.3);
      expect(ratio).toBeLessThan(1.3);
    }
  });

  it('the mlp family has the arora2019 kernel at every depth (the same network, written with its output layer last)', () => {
    const X = [
      [1, 0.2, -0.5],
      [0.3, -1, 0.4],
    ];
    for (const L of [1, 3, 8]) {
      const a = kernelCpu(FLUCTUATION_FAMILIES.mlp(L), X);
      const b = kernelCpu(`arora2019:depth=${L}`, X);
      a.ntk!.forEach((v, i) => expect(v).toBeCloseTo(b.ntk![i]!, 12));
      a.nngp!.forEach((v, i) => expect(v).toBeCloseTo(b.nngp![i]!, 12));
    }
  });
});

describe('finite-width fluctuations: depth and width behaviour of the four families', () => {
  // One run shared by the checks below: L ∈ {2, 16}, n ∈ {32, 64}, 200 networks per cell.
  let shared: Promise<FluctuationResult> | null = null;
  const run = () => (shared ??= widthFluctuations({ depths: [2, 16], widths: [32, 64], samples: 200, seed: 0 }));
  const ratio = (r: FluctuationResult, f: string, n: number) => cell(r, f, 16, n).diagonal.relVar / cell(r, f, 2, n).diagonal.relVar;

  it('the MLP and the ResNet with α = 1 fluctuate more and more with depth at fixed width', async () => {
    const r = await run();
    expect(r.backend).toBe('cpu');
    expect(allFinite(r)).toBe(true);
    for (const n of [32, 64]) {
      // Over seeds 0–8 the L = 16 / L = 2 ratio was 11–18 (MLP) and 6–19 (ResNet α = 1).
      expect(ratio(r, 'mlp', n)).toBeGreaterThan(5);
      expect(ratio(r, 'resnet-const', n)).toBeGreaterThan(4);
    }
    // ln(1 + v) grows linearly in L/n with a clearly positive slope (≈ 3 in seeds.md §3.1).
    const g = r.fits.find((f) => f.family === 'mlp')!.lnGrowth!;
    expect(g.slope).toBeGreaterThan(1.5);
    expect(g.slope).toBeGreaterThan(4 * g.slopeSE);
    // Var(ln Θ(x,x)) (= ln(1 + v) for a log-normal Θ) grows in proportion to L/n: through the
    // origin, with slope 3.5–4.3 over seeds 0–7.
    const lg = r.fits.find((f) => f.family === 'mlp')!.logVarGrowth!;
    expect(lg.slope).toBeGreaterThan(2);
    expect(lg.slope).toBeGreaterThan(5 * lg.slopeSE);
    expect(Math.abs(lg.intercept)).toBeLessThan(0.1);
  });

  it('the ResNet with α = L^(−½) stays flat in depth within its errors, and the DenseNet nearly so', async () => {
    const r = await run();
    for (const n of [32, 64]) {
      const a = cell(r, 'resnet-sqrt', 2, n).diagonal;
      const b = cell(r, 'resnet-sqrt', 16, n).diagonal;
      // Over seeds 0–8: |z| ≤ 2.3, ratio 0.85–1.6.
      expect(Math.abs(b.relVar - a.relVar)).toBeLessThan(3 * Math.hypot(a.relVarSE, b.relVarSE));
      expect(ratio(r, 'resnet-sqrt', n)).toBeGreaterThan(0.6);
      expect(ratio(r, 'resnet-sqrt', n)).toBeLessThan(1.8);
      // The DenseNet grows a little (ratio 1.05–1.6 over seeds 0–8), far less than the MLP.
      expect(ratio(r, 'densenet', n)).toBeLessThan(2.2);
      expect(ratio(r, 'densenet', n)).toBeLessThan(ratio(r, 'mlp', n) / 4);
      // At depth 16 the depth-scaled ResNet and the DenseNet are far closer to their limits.
      expect(b.relVar).toBeLessThan(cell(r, 'resnet-const', 16, n).diagonal.relVar / 3);
      expect(cell(r, 'densenet', 16, n).diagonal.relVar).toBeLessThan(cell(r, 'mlp', 16, n).diagonal.relVar / 3);
    }
  });

  it('the mean converges to kernel() within its standard error at width 64 (converging families, and every family at L = 2)', async () => {
    const r = await run();
    const X = [
      [1, 0],
      [0.5, Math.sqrt(3) / 2],
    ];
    for (const c of r.cells.filter((q) => q.width === 64)) {
      // The reference is the float64 CPU kernel of the same architecture.
      const ref = kernelCpu(FLUCTUATION_FAMILIES[c.family as keyof typeof FLUCTUATION_FAMILIES](c.depth), X, null, { get: 'ntk' }).ntk!;
      expect(c.diagonal.limit).toBeCloseTo(ref[0]!, 10);
      expect(c.offDiagonal.limit).toBeCloseTo(ref[1]!, 10);
      if (c.depth === 16 && (c.family === 'mlp' || c.family === 'resnet-const')) continue;
      // |z| ≤ 2.7 over seeds 0–8; the finite-width bias is below the noise of 200 samples here.
      for (const e of [c.diagonal, c.offDiagonal]) {
        expect(e.relDeviationSE).toBeGreaterThan(0);
        expect(Math.abs(e.relDeviation)).toBeLessThan(3.5 * e.relDeviationSE);
      }
    }
  });

  it('at fixed small depth the relative variance falls as 1/n (fitted exponent within ±0.2 of −1)', async () => {
    const r = await widthFluctuations({ families: ['mlp', 'densenet'], depths: [2], widths: [8, 16, 32, 64], samples: 200, seed: 0 });
    for (const f of r.fits) {
      expect(f.widthExponents).toHaveLength(1);
      // Over seeds 0–5: −0.90 … −1.15 (MLP), −0.95 … −1.14 (DenseNet).
      expect(Math.abs(f.widthExponents[0]!.exponent + 1)).toBeLessThan(0.2);
    }
  });

  it('cells are reproducible and independent of which other cells are run', async () => {
    const a = await widthFluctuations({ families: ['resnet-sqrt'], depths: [3], widths: [8], samples: 10, seed: 5 });
    const b = await widthFluctuations({ families: ['mlp', 'resnet-sqrt'], depths: [1, 3], widths: [8, 16], samples: 10, seed: 5 });
    const c = await widthFluctuations({ families: ['resnet-sqrt'], depths: [3], widths: [8], samples: 10, seed: 6 });
    expect(cell(b, 'resnet-sqrt', 3, 8)).toEqual(a.cells[0]);
    expect(c.cells[0]!.diagonal.relVar).not.toBe(a.cells[0]!.diagonal.relVar);
  });
});

describe('finite-width fluctuations: the reference kernel on WebGPU', () => {
  it('backend "webgpu" gives the same sampled statistics and the limits to f32 accuracy', async () => {
    await requireGpu();
    const opts = { families: ['mlp', 'resnet-sqrt', 'densenet'] as const, depths: [2, 6], widths: [16], samples: 20, seed: 1 };
    const cpu = await widthFluctuations({ ...opts, families: [...opts.families] });
    const gpu = await widthFluctuations({ ...opts, families: [...opts.families], backend: 'webgpu' });
    expect(gpu.backend).toBe('webgpu');
    gpu.cells.forEach((g, i) => {
      const c = cpu.cells[i]!;
      expect(g.diagonal.relVar).toBe(c.diagonal.relVar);
      for (const k of ['diagonal', 'offDiagonal'] as const) expect(Math.abs(g[k].limit / c[k].limit - 1)).toBeLessThan(1e-5);
    });
  });
});

describe('finite-width fluctuations: bad input', () => {
  const one = { families: ['mlp' as const], depths: [2], widths: [8], samples: 4 };
  it.each([
    ['width < 1', { ...one, widths: [0] }, /widths must be integers ≥ 1/],
    ['non-integer width', { ...one, widths: [2.5] }, /widths must be integers ≥ 1/],
    ['samples < 2', { ...one, samples: 1 }, /samples must be an integer ≥ 2/],
    ['empty families', { ...one, families: [] }, /families must be a non-empty list/],
    ['unknown family', { ...one, families: ['vgg'] }, /unknown family "vgg"/],
    ['empty depths', { ...one, depths: [] }, /depths must be a non-empty list/],
    ['depth 0', { ...one, depths: [0] }, /depths must be integers ≥ 1/],
    ['three input rows', { ...one, inputs: [[1], [2], [3]] }, /exactly two rows/],
    ['a zero input', { ...one, inputs: [[1, 0], [0, 0]] }, /must be non-zero/],
    ['bad kind', { ...one, kind: 'cntk' }, /kind must be/],
    ['too few bootstrap resamples', { ...one, bootstrap: 5 }, /bootstrap must be/],
    ['too large', { ...one, widths: [4096], samples: 1000 }, /too large.*maxWork/],
    ['time limit', { ...one, timeLimitSeconds: 1e-9 }, /timeLimitSeconds = 1e-9 exceeded/],
    ['family that builds a bad arch', { ...one, families: [{ name: 'bad', arch: (L: number) => `resnet:depth=${L}` }] }, /family "bad" at depth 2/],
  ])('%s gives an InputError', async (_what, opts, msg) => {
    const p = widthFluctuations(opts as never);
    await expect(p).rejects.toThrow(InputError);
    await expect(widthFluctuations(opts as never)).rejects.toThrow(msg);
  });
});
