/**
 * Empirical NNGP/NTK of sampled conv networks (src/empirical-conv.ts): the network for (width, seed)
 * is the conv Monte Carlo oracle's first sample for that seed (bit for bit); X1 × X2 is the block of
 * the stacked batch; the mean over seeds agrees with the analytic kernel (kernelCpu) within its
 * sampling error after Richardson extrapolation over widths (the rule of test/mc-conv.ts); the
 * spread shrinks with width; the CLI writes the same numbers from image files.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { empiricalKernel, kernelCpu, resolveSpec } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { monteCarloConv } from '../src/mc/conv.js';
import { parsePresetRef } from '../src/spec/presets.js';
import { runCli } from './cli-run.js';

function images(n: number, c: number, dims: number[], seed: number): { data: Float64Array; shape: number[] } {
  let s = seed >>> 0;
  const p = dims.reduce((a, b) => a * b, 1);
  const data = Float64Array.from({ length: n * c * p }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5);
  return { data, shape: [n, c, ...dims] };
}
const A = images(3, 2, [6], 1);
const B = images(2, 2, [6], 2);
const stacked = { data: Float64Array.from([...A.data, ...B.data]), shape: [5, 2, 6] };
const ARCHES = ['cntk:depth=2,readout=gap', 'rescnn:depth=2,alpha=0.5,readout=flatten'];

describe('empiricalKernel on conv specs', () => {
  it('is the conv Monte Carlo oracle’s first sample for the seed, bit for bit (1-D and 2-D, gap and flatten)', () => {
    for (const arch of ARCHES) {
      const spec = resolveSpec(parsePresetRef(arch));
      const mc = monteCarloConv(spec, A, { width: 6, samples: 2, seed: 11, keepSamples: true });
      const e = empiricalKernel(arch, A, null, { width: 6, seed: 11 });
      expect(Array.from(e.nngp!)).toEqual(Array.from(mc.perSample!.nngp.subarray(0, 9)));
      expect(Array.from(e.ntk!)).toEqual(Array.from(mc.perSample!.ntk.subarray(0, 9)));
      expect(e.shape).toEqual([3, 3]);
      expect(e.symmetric).toBe(true);
    }
    const img2 = images(2, 1, [4, 4], 3);
    const spec2 = resolveSpec(parsePresetRef('cntk:depth=1,readout=gap'));
    const mc2 = monteCarloConv(spec2, img2, { width: 4, samples: 2, seed: 0, keepSamples: true });
    expect(Array.from(empiricalKernel('cntk:depth=1,readout=gap', img2, null, { width: 4 }).ntk!)).toEqual(Array.from(mc2.perSample!.ntk.subarray(0, 4)));
  });

  it('X1 × X2 is the off-diagonal block of the stacked batch’s kernel', () => {
    const full = empiricalKernel(ARCHES[0]!, stacked, null, { width: 5, seed: 3 });
    const part = empiricalKernel(ARCHES[0]!, A, B, { width: 5, seed: 3 });
    expect(part.shape).toEqual([3, 2]);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) expect(part.ntk![i * 2 + j]).toBe(full.ntk![i * 5 + 3 + j]);
  });

  it('the mean over seeds is the analytic kernel within its sampling error; the spread shrinks like n^−½', () => {
    const arch = 'cntk:depth=2,readout=gap';
    const exact = kernelCpu(arch, A);
    const stats = (width: number, seeds: number) => {
      const m = { nngp: new Float64Array(9), ntk: new Float64Array(9) };
      const sq = { nngp: new Float64Array(9), ntk: new Float64Array(9) };
      for (let s = 0; s < seeds; s++) {
        const e = empiricalKernel(arch, A, null, { width, seed: 1000 * width + s });
        for (const k of ['nngp', 'ntk'] as const) {
          for (let t = 0; t < 9; t++) {
            m[k][t] = m[k][t]! + e[k]![t]! / seeds;
            sq[k][t] = sq[k][t]! + e[k]![t]! ** 2 / seeds;
          }
        }
      }
      const sd = (k: 'nngp' | 'ntk', t: number) => Math.sqrt(Math.max(sq[k][t]! - m[k][t]! ** 2, 0) * (seeds / (seeds - 1)));
      return { m, sd };
    };
    const seeds = 60;
    const n = stats(16, seeds);
    const n2 = stats(32, seeds);
    for (const k of ['nngp', 'ntk'] as const) {
      for (const t of [0, 1, 4]) {
        // Richardson: the O(1/n) bias cancels in 2μ(2n) − μ(n); its standard error combines both.
        const mu = 2 * n2.m[k][t]! - n.m[k][t]!;
        const se = Math.sqrt((4 * n2.sd(k, t) ** 2 + n.sd(k, t) ** 2) / seeds);
        expect(Math.abs(mu - exact[k]![t]!) / se, `${k}[${t}]`).toBeLessThan(4);
      }
      // sd(16)/sd(32) ≈ √2 on the diagonal.
      const ratio = n.sd(k, 0) / n2.sd(k, 0);
      expect(ratio, `${k} spread ratio`).toBeGreaterThan(1.1);
      expect(ratio, `${k} spread ratio`).toBeLessThan(2);
    }
  });

  it('refusals: a matrix for a conv spec, mismatched images', () => {
    expect(() => empiricalKernel('cntk:depth=2', [[1, 2, 3]], null, { width: 4 })).toThrow(/a conv spec needs images/);
    expect(() => empiricalKernel('cntk:depth=2', A, images(2, 3, [6], 5), { width: 4 })).toThrow(/x1 has 2 channels but x2 has 3/);
  });
});

describe('webntk empirical on conv specs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webntk-empirical-conv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('images in .npy give the API’s numbers', async () => {
    const f = join(dir, 'A.npy');
    writeFileSync(f, encodeNpy(A.data, A.shape));
    const r = await runCli('empirical', '--arch', ARCHES[1]!, '--width', '6', '--seed', '4', '--x1', f, '--get', 'nngp,ntk', '--out', join(dir, 'K-{kernel}.npy'));
    expect(r.code, r.err).toBe(0);
    const api = empiricalKernel(ARCHES[1]!, A, null, { width: 6, seed: 4 });
    expect(Array.from(parseNpy(readFileSync(join(dir, 'K-ntk.npy'))).data as Float64Array)).toEqual(Array.from(api.ntk!));
  });
});
