/** `webntk analyze … --backend webgpu`: the analyses run on the GPU and agree with the float64 reference. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cuspSlope, gramSpectrum } from '../src/index.js';
import { spherePoints } from '../src/mc/rng.js';
import { runCli } from './cli-run.js';
import { releaseGpuForTests, requireGpu } from './gpu/setup.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cli-analyze-gpu-'));
beforeAll(async () => {
  await requireGpu();
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await releaseGpuForTests();
});


describe('analyze on WebGPU', () => {
  it('profile: the cusp slope on the GPU is within its error estimate of the float64 one', async () => {
    const prefix = path.join(dir, 'p');
    const r = await runCli('analyze', 'profile', '--arch', 'tirer2021:depth=5,alpha=1', '--points', '31', '--no-interpolant', '--backend', 'webgpu', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as { parameters: { backend: string }; data: { cuspSlope: number; cuspSlopeError: number }[] };
    expect(j.parameters.backend).toBe('webgpu');
    const ref = await cuspSlope('tirer2021:depth=5,alpha=1');
    expect(Math.abs(j.data[0]!.cuspSlope - ref)).toBeLessThanOrEqual(j.data[0]!.cuspSlopeError);
  });

  it('depth: on f32 results 1 − ρ_L is fitted only where it is resolved, and the fit says so', async () => {
    const prefix = path.join(dir, 'd');
    const r = await runCli('analyze', 'depth', '--arch', 'arora2019:depth=20000', '--backend', 'webgpu', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/below the resolution 0\.00001 beyond L = \d+/);
    const j = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as { data: { gapPowerLaw: { fit: { exponent: number }; range: [number, number] } }[] };
    const g = j.data[0]!.gapPowerLaw;
    expect(g.range[1]).toBeLessThan(5000);
    // Pre-asymptotic at L ~ 10³ (−1.97 in float64 too), but no longer noise.
    expect(Math.abs(g.fit.exponent + 2)).toBeLessThan(0.1);
  });

  it('spectrum --lanczos: the leading NTK eigenvalues with GPU products equal the dense float64 ones (f32 tolerance)', async () => {
    const X = spherePoints(120, 8, 5);
    const xCsv = path.join(dir, 'X.csv');
    fs.writeFileSync(xCsv, X.map((r) => r.join(',')).join('\n') + '\n');
    const prefix = path.join(dir, 's');
    const r = await runCli('analyze', 'spectrum', '--arch', 'densenet:depth=6', '--x', xCsv, '--kind', 'ntk', '--lanczos', '4', '--backend', 'webgpu', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as { data: { eigenvalues: number[]; backend: string }[] };
    expect(j.data[0]!.backend).toBe('webgpu');
    const dense = await gramSpectrum('densenet:depth=6', X, { kind: 'ntk', normalize: true });
    const lmax = dense.ntk!.eigenvalues[0]!;
    j.data[0]!.eigenvalues.forEach((v, i) => expect(Math.abs(v - dense.ntk!.eigenvalues[i]!)).toBeLessThan(1e-5 * lmax));
  });

  it('infinite: γ = ½ is the float64 ODE even when the table runs on the GPU; the table matches the reference values', async () => {
    const prefix = path.join(dir, 'i');
    const r = await runCli('analyze', 'infinite', '--depths', '10,100', '--gammas', '1,0.5', '--compare-depth', '10', '--backend', 'webgpu', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as { data: { table: { backend: string; rows: { values: number[]; limit: number }[] } } };
    expect(j.data.table.backend).toBe('webgpu');
    // seeds.md §3.6: 0.16267, 0.15955 (γ = 1) and 0.18907, 0.19247 (γ = ½) at L = 10, 100.
    expect(j.data.table.rows[0]!.values[0]).toBeCloseTo(0.16267, 5);
    expect(j.data.table.rows[1]!.values[1]).toBeCloseTo(0.19247, 5);
    expect(j.data.table.rows[1]!.limit).toBeCloseTo(0.192847, 6);
    fs.writeFileSync(path.join(dir, 'X2.csv'), '1,0\n0,1\n');
    const bad = await runCli('gram', '--arch', 'belfer2021:depth=inf,gamma=0.5', '--x1', path.join(dir, 'X2.csv'), '--backend', 'webgpu', '--out', path.join(dir, 'K.npy'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/only the CPU computes/);
  });
});
