/**
 * Full-batch gradient descent on WebGPU (src/gpu/train.ts under the loop of src/mc/train.ts)
 * against the float64 CPU training of the same network (same width and seed): predictions, test
 * predictions, losses, Θ_t and its test × train block at every checkpoint within TOL of the CPU's
 * (max |gpu − cpu| / max |cpu| per array), drift within DRIFT_TOL. Measured on lavapipe, width 256,
 * 200 steps, 16 training and 8 test points in R⁴ (seed 3), over the ReLU MLP, the tanh MLP and
 * the ResNet: predictions ≤ 4.3e−7, Θ_t and its layers ≤ 2.8e−7, losses ≤ 7.6e−8, drift within
 * 1.2e−8 (final drifts 0.016–0.071): the weights are double-single on the device, so f32 rounding
 * does not build up over the steps (with plain f32 updates the ReLU MLP's Θ_t was off by 4.0e−2 and
 * its drift by 2.6e−3: these tests fail). TOL leaves a margin of about 25. Then
 * dynamicsSweep and `analyze dynamics --backend webgpu` against the CPU, and the refusals.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamicsSweep, trainNetwork, type Spec } from '../src/index.js';
import type { TrainOptions, TrainResult } from '../src/mc/train.js';
import { spherePoints } from '../src/mc/rng.js';
import { runCli } from './cli-run.js';
import { BINDING_LIMIT, GEMM_SUBMIT } from '../src/gpu/empirical.js';
import { maxRelDiff, releaseGpuForTests, requireGpu } from './gpu/setup.js';

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

const TOL = 1e-5;
const DRIFT_TOL = 1e-6;

// 16 training and 8 test points on the sphere of radius 2 in R⁴; a smooth target (as test/train.test.ts).
const pts = spherePoints(24, 4, 3).map((v) => v.map((x) => 2 * x));
const X = pts.slice(0, 16);
const T = pts.slice(16);
const y = X.map((v) => Math.sin(v[0]!) + 0.5 * v[1]! * v[2]!);

const tanh: Spec = {
  inputScale: 'dim',
  layers: [{ type: 'dense', biasVar: 0.1 }, { type: 'tanh' }, { type: 'dense', weightVar: 1.5 }, { type: 'tanh' }, { type: 'dense', biasVar: 0.05 }],
} as Spec;

/** The worst disagreement of a GPU training with the CPU's, per quantity. */
function compare(cpu: TrainResult, gpu: TrainResult): { f: number; theta: number; drift: number; loss: number } {
  expect(gpu.checkpoints.map((c) => c.step)).toEqual(cpu.checkpoints.map((c) => c.step));
  expect(gpu.losses.length).toBe(cpu.losses.length);
  expect(Object.keys(gpu).sort()).toEqual(Object.keys(cpu).sort());
  let f = maxRelDiff(gpu.predictions, cpu.predictions);
  let theta = 0;
  let drift = 0;
  cpu.checkpoints.forEach((c, i) => {
    const g = gpu.checkpoints[i]!;
    expect(Object.keys(g).sort()).toEqual(Object.keys(c).sort());
    expect(g.layers.length).toBe(c.layers.length);
    f = Math.max(f, maxRelDiff(g.predictions, c.predictions), maxRelDiff(g.predictionsTest!, c.predictionsTest!));
    theta = Math.max(theta, maxRelDiff(g.ntk, c.ntk), maxRelDiff(g.ntkTest!, c.ntkTest!));
    c.layers.forEach((L, l) => (theta = Math.max(theta, maxRelDiff(g.layers[l]!, L))));
    drift = Math.max(drift, Math.abs(g.drift - c.drift), Math.abs(g.driftTest! - c.driftTest!));
    expect(g.t).toBeCloseTo(c.t, 4);
  });
  return { f, theta, drift, loss: maxRelDiff(gpu.losses, cpu.losses) };
}

describe('trainNetwork on WebGPU: the CPU network, trained to f32 accuracy', () => {
  it.each([
    ['ReLU MLP (mlp:depth=3)', 'mlp:depth=3' as Spec | string],
    ['tanh MLP', tanh],
    ['ResNet (resnet:depth=2,alpha=0.8)', 'resnet:depth=2,alpha=0.8'],
  ])('%s, width 256, 200 steps', async (_, arch) => {
    const o = { width: 256, seed: 3, steps: 200, checkpoints: [0, 1, 100, 200], xTest: T };
    const cpu = trainNetwork(arch, X, y, o);
    const gpu = await trainNetwork(arch, X, y, { ...o, backend: 'webgpu' });
    // The default step η = n/λ_max(Θ₀) from the device's Θ₀.
    expect(Math.abs(gpu.lr - cpu.lr) / cpu.lr).toBeLessThan(TOL);
    const e = compare(cpu, gpu);
    expect(e.f).toBeLessThan(TOL);
    expect(e.theta).toBeLessThan(TOL);
    expect(e.loss).toBeLessThan(TOL);
    expect(e.drift).toBeLessThan(DRIFT_TOL);
    // It did train: the loss fell and the kernel moved.
    expect(gpu.losses[200]!).toBeLessThan(0.2 * gpu.losses[0]!);
    expect(gpu.checkpoints[3]!.drift).toBeGreaterThan(1e-3);
  }, 120_000);

  it('antisymmetric init (f₀ = 0 exactly) and a DenseNet with a given step', async () => {
    for (const [arch, init, lr] of [
      ['mlp:depth=2', 'antisymmetric', undefined],
      ['densenet:depth=2', 'standard', 0.3],
    ] as const) {
      const o: Omit<TrainOptions, 'backend'> = { width: 64, seed: 1, steps: 30, checkpoints: [0, 10, 30], xTest: T, init, ...(lr !== undefined ? { lr } : {}) };
      const cpu = trainNetwork(arch, X, y, o);
      const gpu = await trainNetwork(arch, X, y, { ...o, backend: 'webgpu' });
      if (init === 'antisymmetric') expect(Array.from(gpu.checkpoints[0]!.predictions).every((v) => v === 0)).toBe(true);
      if (lr !== undefined) expect(gpu.lr).toBe(lr);
      expect(gpu.init).toBe(init);
      // f₀ = 0 makes the step-0 relative measure of f meaningless: compare the later checkpoints.
      const e = compare({ ...cpu, checkpoints: cpu.checkpoints.slice(1) }, { ...gpu, checkpoints: gpu.checkpoints.slice(1) });
      expect(e.f).toBeLessThan(TOL);
      expect(e.theta).toBeLessThan(TOL);
      expect(e.drift).toBeLessThan(DRIFT_TOL);
    }
  }, 60_000);

  it('the GEMMs in many submitted blocks (as at large width) give the same training', async () => {
    const o = { width: 96, seed: 2, steps: 10, checkpoints: [0, 10], xTest: T };
    const saved = GEMM_SUBMIT.macs;
    GEMM_SUBMIT.macs = 2 ** 10;
    try {
      const e = compare(trainNetwork('resnet:depth=2,alpha=0.8', X, y, o), await trainNetwork('resnet:depth=2,alpha=0.8', X, y, { ...o, backend: 'webgpu' }));
      expect(e.f).toBeLessThan(TOL);
      expect(e.theta).toBeLessThan(TOL);
    } finally {
      GEMM_SUBMIT.macs = saved;
    }
  }, 60_000);

  it('matrices larger than one storage binding (windows of rows, K in chunks, updates in chunks) give the same training', async () => {
    const o = { width: 96, seed: 2, steps: 10, checkpoints: [0, 10], xTest: T };
    const saved = BINDING_LIMIT.bytes;
    BINDING_LIMIT.bytes = 4096;
    try {
      for (const arch of ['mlp:depth=2,cb2=0.5', 'densenet:depth=2']) {
        const e = compare(trainNetwork(arch, X, y, o), await trainNetwork(arch, X, y, { ...o, backend: 'webgpu' }));
        expect(e.f).toBeLessThan(TOL);
        expect(e.theta).toBeLessThan(TOL);
      }
    } finally {
      BINDING_LIMIT.bytes = saved;
    }
  }, 60_000);

  it('refuses, in one line: a numerical activation without WGSL, a conv spec, a step that diverges', async () => {
    const swish = { type: 'numerical', name: 'swish', fn: (u: number) => u / (1 + Math.exp(-u)), deriv: (u: number) => 1 / (1 + Math.exp(-u)) } as never;
    const spec = { layers: [{ type: 'dense' }, swish, { type: 'dense' }] } as unknown as Spec;
    await expect(trainNetwork(spec, X, y, { width: 8, steps: 1, backend: 'webgpu' })).rejects.toThrow(/do not support the swish \(numerical\) activation yet .* use backend "cpu"/);
    await expect(trainNetwork('cntk:depth=2', X, y, { width: 8, steps: 1, backend: 'webgpu' })).rejects.toThrow(/dense specs only .* a convolutional spec cannot be trained yet/);
    await expect(trainNetwork('mlp:depth=2', X, y, { width: 8, steps: 50, lr: 1e6, backend: 'webgpu' })).rejects.toThrow(/^gradient descent diverged at step \d+ .*larger width$/);
    await expect(dynamicsSweep(spec, X, y, 16, { widths: [8], seeds: 1, steps: 1, backend: 'webgpu' })).rejects.toThrow(/swish \(numerical\)/);
  });
});

describe('dynamicsSweep on WebGPU', () => {
  it('the rows, runs and fits of the CPU sweep, to f32 accuracy', async () => {
    const o = { widths: [32, 128], seeds: 2, steps: 20, xTest: T, samples: [8, 16] };
    const cpu = dynamicsSweep('mlp:depth=2,cb2=0.5', X, y, 16, o);
    const gpu = await dynamicsSweep('mlp:depth=2,cb2=0.5', X, y, 16, { ...o, backend: 'webgpu' });
    expect(gpu.rows.length).toBe(cpu.rows.length);
    expect(gpu.runs.length).toBe(cpu.runs.length);
    expect(gpu.thresholdRuns.map((r) => [r.samples, r.width, r.seed, r.pass])).toEqual(cpu.thresholdRuns.map((r) => [r.samples, r.width, r.seed, r.pass]));
    expect(gpu.notes).toEqual(cpu.notes);
    cpu.rows.forEach((c, i) => {
      const g = gpu.rows[i]!;
      expect(Object.keys(g)).toEqual(Object.keys(c));
      expect([g.depth, g.width, g.seed, g.step]).toEqual([c.depth, c.width, c.seed, c.step]);
      for (const k of ['t', 'loss', 'lambdaMax', 'alignment'] as const) expect(Math.abs(g[k] - c[k])).toBeLessThanOrEqual(TOL * Math.abs(c[k]));
      // λ_min and the gaps are differences of O(1) numbers: absolute, on the scale of λ_max and of 1.
      expect(Math.abs(g.lambdaMin - c.lambdaMin) / c.lambdaMax).toBeLessThan(TOL);
      for (const k of ['drift', 'driftTest', 'linGap0', 'linGapInf'] as const) expect(Math.abs(g[k]! - c[k]!)).toBeLessThan(DRIFT_TOL * 10);
      c.layerDrift.forEach((v, l) => expect(Math.abs(g.layerDrift[l]! - v)).toBeLessThan(DRIFT_TOL));
    });
    expect(gpu.fit.driftSlopeAtT!).toBeCloseTo(cpu.fit.driftSlopeAtT!, 4);
    expect(gpu.fit.widthThreshold!.widths).toEqual(cpu.fit.widthThreshold!.widths);
  }, 120_000);
});

describe('the initial rate on WebGPU', () => {
  it('the central difference with ε = 0.1·η in f32 agrees with the float64 CPU one (ε = 10⁻³·η) within a few percent', async () => {
    const { initialRate } = await import('../src/analysis/dynamics.js');
    for (const width of [64, 256]) {
      const eta = trainNetwork(tanh, X, y, { width, seed: 2, steps: 0 }).lr;
      const cpu = initialRate(tanh, X, y, { width, seed: 2, eps: 1e-3 * eta });
      const gpu = await initialRate(tanh, X, y, { width, seed: 2, eps: 0.1 * eta, backend: 'webgpu' });
      // The same difference on the CPU at ε = 0.1·η: what is truncation (O(ε²)), what is f32.
      const cpuWide = initialRate(tanh, X, y, { width, seed: 2, eps: 0.1 * eta });
      console.log(`width ${width}: rate CPU ${cpu} (ε = 1e−3·η), CPU ${cpuWide} and WebGPU ${gpu} (ε = 0.1·η)`);
      expect(Math.abs(gpu - cpu) / cpu).toBeLessThan(0.03);
      // At equal ε the device's f32 passes (double-single weights) leave far less than that.
      expect(Math.abs(gpu - cpuWide) / cpuWide).toBeLessThan(1e-4);
    }
    // dynamicsSweep on the device uses ε = 0.1·η and says so.
    const sweep = await dynamicsSweep(tanh, X, y, 16, { widths: [64], seeds: 1, steps: 2, backend: 'webgpu' });
    const eta = sweep.runs[0]!.lr;
    expect(sweep.runs[0]!.initialRate!).toBeCloseTo(await initialRate(tanh, X, y, { width: 64, seed: 0, eps: 0.1 * eta, backend: 'webgpu' }), 6);
    expect(sweep.notes.join('\n')).toMatch(/ε = 0\.1·η \(f32/);
  }, 120_000);
});

describe('webntk analyze dynamics --backend webgpu', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-gpu-dyn-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const xFile = path.join(dir, 'x.csv');
  const yFile = path.join(dir, 'y.csv');
  const tFile = path.join(dir, 't.csv');
  fs.writeFileSync(xFile, X.map((r) => r.join(',')).join('\n') + '\n');
  fs.writeFileSync(yFile, y.join('\n') + '\n');
  fs.writeFileSync(tFile, T.map((r) => r.join(',')).join('\n') + '\n');
  const args = ['analyze', 'dynamics', '--arch', 'resnet:depth=2,gamma=1', '--train', xFile, '--targets', yFile, '--test', tFile, '--widths', '16,64', '--steps', '10', '--seeds', '1'];

  it('writes the JSON, CSV and SVG of the CPU run (exit 0), the numbers to f32 accuracy', async () => {
    const gp = path.join(dir, 'gpu');
    const cp = path.join(dir, 'cpu');
    const g = await runCli(...args, '--backend', 'webgpu', '--out', gp);
    expect(g.code, g.err).toBe(0);
    const c = await runCli(...args, '--out', cp);
    expect(c.code, c.err).toBe(0);
    for (const ext of ['json', 'csv', 'svg']) expect(fs.existsSync(`${gp}.${ext}`)).toBe(true);
    const jg = JSON.parse(fs.readFileSync(`${gp}.json`, 'utf8'));
    const jc = JSON.parse(fs.readFileSync(`${cp}.json`, 'utf8'));
    expect(jg.parameters.backend).toBe('webgpu');
    expect(jc.parameters.backend).toBe('cpu');
    expect(Object.keys(jg).sort()).toEqual(Object.keys(jc).sort());
    expect(jg.rows.length).toBe(jc.rows.length);
    jc.rows.forEach((r: { drift: number; loss: number }, i: number) => {
      expect(Math.abs(jg.rows[i].drift - r.drift)).toBeLessThan(DRIFT_TOL * 10);
      expect(Math.abs(jg.rows[i].loss - r.loss) / r.loss).toBeLessThan(TOL);
    });
    // The CSV: the same header and rows (the numbers differ in their last digits).
    const csvG = fs.readFileSync(`${gp}.csv`, 'utf8').trim().split('\n');
    const csvC = fs.readFileSync(`${cp}.csv`, 'utf8').trim().split('\n');
    expect(csvG[0]).toBe(csvC[0]);
    expect(csvG.length).toBe(csvC.length);
  }, 120_000);

  it.each([
    ['a conv spec', ['--arch', 'cntk:depth=2'], /dense specs only .* a convolutional spec cannot be trained yet/],
    ['a step that diverges', ['--lr', '1e6', '--steps', '50'], /gradient descent diverged/],
  ])('refuses %s: exit 2, one line, no file', async (_, extra, msg) => {
    const prefix = path.join(dir, 'bad');
    const r = await runCli(...args, ...extra, '--backend', 'webgpu', '--out', prefix);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(`${prefix}.json`)).toBe(false);
  });
});
