// `analyze dynamics`: drift of the empirical NTK falls with width; fields, notes and bad inputs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli-run.js';
import { empiricalKernel, kernelCpu, trainNetwork } from '../src/index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-dyn-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// 12 points on the unit circle in R² (fixed), target sin(2θ).
const xs = Array.from({ length: 12 }, (_, i) => [Math.cos((2 * Math.PI * i) / 12 + 0.1), Math.sin((2 * Math.PI * i) / 12 + 0.1)]);
const xFile = path.join(dir, 'x.csv');
const yFile = path.join(dir, 'y.csv');
fs.writeFileSync(xFile, xs.map((r) => r.join(',')).join('\n') + '\n');
fs.writeFileSync(yFile, xs.map((r) => String(2 * r[0]! * r[1]!)).join('\n') + '\n');

describe('analyze dynamics', () => {
  it('drift falls with width (slope < −0.3), rows/fit present, ReLU rate null with a note', async () => {
    const prefix = path.join(dir, 'dyn');
    const r = await runCli('analyze', 'dynamics', '--arch', 'mlp:depth=2', '--train', xFile, '--targets', yFile, '--test', xFile, '--widths', '32,256', '--steps', '20', '--seeds', '2', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/rates need smooth activations/);
    const j = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8'));
    const rows = j.data.rows as { width: number; seed: number; step: number; drift: number; driftTest: number; layerDrift: number[] }[];
    expect(rows.length).toBe(2 * 2 * 12); // widths × seeds × checkpoints 0, 1, 2, …, 20
    for (const row of rows) {
      expect(Number.isFinite(row.drift)).toBe(true);
      expect(Number.isFinite(row.driftTest)).toBe(true);
      expect(row.layerDrift.length).toBeGreaterThan(0);
    }
    // Lazy training: drift ∝ 1/width (slope −1); with 2 widths, 2 seeds and 20 steps the seed noise
    // is large, so only the sign and a loose bound are checked (the pilot gives ≈ −0.6 to −1).
    expect(j.data.fit.driftSlope).toBeLessThan(-0.3);
    expect(j.fit.driftSlope).toBe(j.data.fit.driftSlope); // the pinned top-level names
    expect(j.rows.length).toBe(rows.length);
    expect(j.data.runs.every((x: { initialRate: number | null }) => x.initialRate === null)).toBe(true);
    expect(fs.existsSync(`${prefix}.csv`) && fs.existsSync(`${prefix}.svg`)).toBe(true);
    // initFluctuation is ‖Θ₀ − Θ_∞‖/‖Θ_∞‖ against the analytic kernel, recomputed here from the API.
    for (const run of j.runs as { width: number; seed: number; initFluctuation: number }[]) {
      const e = empiricalKernel('mlp:depth=2', xs, null, { width: run.width, seed: run.seed }).ntk!;
      const k = kernelCpu('mlp:depth=2', xs).ntk!;
      let d = 0;
      let s = 0;
      k.forEach((v, i) => {
        d += (e[i]! - v) ** 2;
        s += v ** 2;
      });
      expect(run.initFluctuation).toBeCloseTo(Math.sqrt(d / s), 12);
    }
    // ∝ width^−½ in theory; with 2 seeds over 8× width only the sign and a loose band are checked.
    expect(j.fit.initFluctuationSlope).toBeLessThan(-0.2);
    expect(j.fit.initFluctuationSlope).toBeGreaterThan(-1);
    // Standard init: f_lin,0 = f₀, so both gaps are 0 at step 0; they shrink with width at the end.
    for (const row of rows.filter((x) => x.step === 0) as unknown as { linGap0: number; linGapInf: number }[]) expect([row.linGap0, row.linGapInf]).toEqual([0, 0]);
    expect(j.fit.linGap0Slope).toBeLessThan(-0.3);
    expect(j.fit.linGapInfSlope).toBeLessThan(-0.1);
  }, 60_000);

  it('--depths: rows carry the depth, one fit per depth; --init antisymmetric: f₀ = 0, rates null', async () => {
    const prefix = path.join(dir, 'depths');
    const r = await runCli('analyze', 'dynamics', '--arch', 'resnet:depth=1,gamma=1', '--train', xFile, '--targets', yFile, '--test', xFile, '--widths', '16,64', '--steps', '5', '--seeds', '1', '--depths', '1,3', '--init', 'antisymmetric', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8'));
    expect([...new Set(j.rows.map((x: { depth: number }) => x.depth))]).toEqual([1, 3]);
    expect(j.fit.perDepth.map((d: { depth: number }) => d.depth)).toEqual([1, 3]);
    // The depth-3 network is resnet:depth=3,gamma=1 (α = 1/3): its Θ₀ is the API's.
    const d3 = trainNetwork('resnet:depth=3,gamma=1', xs, xs.map((p) => 2 * p[0]! * p[1]!), { width: 64, seed: 0, steps: 0, init: 'antisymmetric' });
    const row = j.rows.find((x: { depth: number; width: number; step: number }) => x.depth === 3 && x.width === 64 && x.step === 0);
    expect(row.alignment).toBeGreaterThan(0);
    const e = empiricalKernel('resnet:depth=3,gamma=1', xs, null, { width: 64, seed: 0 }).ntk!;
    d3.checkpoints[0]!.ntk.forEach((v, i) => expect(v).toBeCloseTo(e[i]!, 12));
    // The pooled slope is the mean of the per-depth slopes (every depth has the same widths).
    const mean = (j.fit.perDepth[0].driftSlope + j.fit.perDepth[1].driftSlope) / 2;
    expect(j.fit.driftSlope).toBeCloseTo(mean, 10);
    expect(j.runs.every((x: { initialRate: number | null }) => x.initialRate === null)).toBe(true);
    expect(r.out).toMatch(/antisymmetric initialisation makes dΘ\/dt\|₀ = 0/);
    // f₀ = 0: the gaps are undefined (null) at step 0.
    expect(j.rows.filter((x: { step: number }) => x.step === 0).every((x: { linGap0: null }) => x.linGap0 === null)).toBe(true);
  }, 60_000);

  it('--samples: the width threshold is the smallest width whose every seed keeps λ_min(Θ_t) ≥ λ_min(Θ₀)/2', async () => {
    const prefix = path.join(dir, 'thr');
    const r = await runCli('analyze', 'dynamics', '--arch', 'mlp:depth=1,cb2=0.5', '--train', xFile, '--targets', yFile, '--widths', '4,8,16,64', '--steps', '20', '--seeds', '2', '--samples', '4,12', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8'));
    const wt = j.fit.widthThreshold as { samples: number[]; widths: (number | null)[]; exponent: number | null };
    expect(wt.samples).toEqual([4, 12]);
    const runs = j.data.thresholdRuns as { samples: number; width: number; seed: number; minRatio: number | null; pass: boolean }[];
    wt.samples.forEach((m, i) => {
      const mine = runs.filter((x) => x.samples === m);
      const passing = [4, 8, 16, 64].filter((w) => mine.filter((x) => x.width === w).length === 2 && mine.filter((x) => x.width === w).every((x) => x.pass));
      expect(wt.widths[i]).toBe(passing[0] ?? null);
      for (const x of mine) expect(x.pass).toBe(x.minRatio !== null && x.minRatio >= 0.5);
    });
    // One run recomputed (ReLU: the first run whose λ_min(Θ₀) > 0): λ_min over the checkpoints of a network trained on the first m points.
    const x0 = runs.find((x) => x.minRatio !== null)!;
    const t = trainNetwork('mlp:depth=1,cb2=0.5', xs.slice(0, x0.samples), xs.slice(0, x0.samples).map((p) => 2 * p[0]! * p[1]!), { width: x0.width, seed: x0.seed, steps: 20, checkpoints: [0, 1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20] });
    const { symmetricEigenvalues } = await import('../src/solve/symmetric-eigen.js');
    const lo = t.checkpoints.map((c) => Math.min(...symmetricEigenvalues(c.ntk, x0.samples)));
    expect(x0.minRatio).toBeCloseTo(Math.min(...lo) / lo[0]!, 10);
    const found = wt.widths.filter((w): w is number => w !== null);
    // (With a bias: bias-free ReLU Θ is singular on these antipodal pairs, and no width would pass.)
    expect(found.length).toBe(2);
    expect(wt.exponent).toBeCloseTo(Math.log(found[1]! / found[0]!) / Math.log(3), 10);
  }, 60_000);

  it.each([
    ['--widths', '0'],
    ['--steps', '-1'],
    ['--backend', 'tpu'],
    ['--depths', '0'],
    ['--lr', '0'],
    ['--init', 'mirror'],
    ['--samples', '1'],
    ['--samples', '13'],
  ])('bad input %s %s → exit 2, one line, no file', async (flag, value) => {
    const prefix = path.join(dir, `bad${flag}`);
    const r = await runCli('analyze', 'dynamics', '--arch', 'mlp:depth=2', '--train', xFile, '--targets', yFile, '--widths', '8', '--steps', '2', '--seeds', '1', flag, value, '--out', prefix);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n').length).toBe(1);
    expect(fs.existsSync(`${prefix}.json`)).toBe(false);
  });
});

describe('archAtDepth', () => {
  it("sets a preset's depth or a spec's one top-level repeat count, and refuses the rest", async () => {
    const { archAtDepth } = await import('../src/analysis/dynamics.js');
    expect(archAtDepth('resnet:depth=2,gamma=1', 5)).toBe('resnet:depth=5,gamma=1');
    expect(archAtDepth('mlp', 3)).toBe('mlp:depth=3');
    const spec = { layers: [{ type: 'dense' }, { type: 'repeat', count: 2, layers: [{ type: 'tanh' }, { type: 'dense' }] }] } as const;
    const at4 = archAtDepth(spec as never, 4) as unknown as { layers: { count?: number }[] };
    expect(at4.layers[1]!.count).toBe(4);
    expect(spec.layers[1].count).toBe(2); // the caller's spec is not changed
    expect(() => archAtDepth({ layers: [{ type: 'dense' }] }, 3)).toThrow(/exactly one top-level "repeat"/);
  });
});
