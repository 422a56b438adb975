/**
 * `webntk analyze conv-decay | locality` and `analyze spectrum --random-multisphere`: the files
 * carry the library's numbers, and bad input is one line with exit code 2 and nothing written.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Papa from 'papaparse';
import { afterAll, describe, expect, it } from 'vitest';
import { conditioningVsDepth, convDecay, convLocality, multispherePoints } from '../src/index.js';
import { runCli } from './cli-run.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cli-analyze-conv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string) => path.join(dir, name);

function readOutputs(prefix: string) {
  const json = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as { analysis: string; data: Record<string, unknown>[]; summary: string[] };
  const csv = Papa.parse<string[]>(fs.readFileSync(`${prefix}.csv`, 'utf8').trim()).data;
  const svg = fs.readFileSync(`${prefix}.svg`, 'utf8');
  return { json, csv, svg };
}

describe('analyze conv-decay', () => {
  it('writes λ_k/λ₀ and local exponents equal to convDecay, with a figure', async () => {
    const prefix = tmp('decay');
    const arch = 'cntk:depth=3,readout=gap,pad=circular';
    const r = await runCli('analyze', 'conv-decay', '--arch', arch, '--arch', 'rescnn:depth=2,alpha=1', '--pixels', '3', '--grid', '16', '--depths', 'all', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/local exponents 1→2: /);
    const { json, csv, svg } = readOutputs(prefix);
    expect(json.analysis).toBe('conv-decay');
    const want = await convDecay(arch, { pixels: 3, grid: 16, depths: 'all' });
    const got = json.data[0] as unknown as { curves: { depth: number; kind: string; ratios: number[] }[]; kmax: number };
    expect(got.kmax).toBe(4);
    expect(got.curves.map((c) => c.ratios)).toEqual(want.curves.map((c) => c.ratios));
    expect(got.curves.map((c) => c.depth)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(csv[0]).toEqual(['arch', 'kernel', 'depth', 'k', 'ratio', 'local_exponent']);
    // 2 kernels × (3 + 3) depths × 4 degrees
    expect(csv).toHaveLength(1 + 2 * 6 * 4);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('degree k');
  });
});

describe('analyze locality', () => {
  it('writes far/near and pair ratios against depth, equal to convLocality', async () => {
    const prefix = tmp('locality');
    const arch = 'rescnn:depth=2,alpha=1';
    const r = await runCli('analyze', 'locality', '--arch', arch, '--pixels', '6', '--grid', '6', '--kind', 'ntk', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json, csv, svg } = readOutputs(prefix);
    const want = await convLocality(arch, { pixels: 6, grid: 6, depths: 'all', kinds: ['ntk'] });
    const got = json.data[0] as unknown as { points: { depth: number; farNear: number; pairRatio: number }[]; farPixel: number };
    expect(got.farPixel).toBe(3);
    expect(got.points.map((p) => [p.depth, p.farNear, p.pairRatio])).toEqual(want.points.map((p) => [p.depth, p.farNear, p.pairRatio]));
    expect(csv[0]!.slice(0, 5)).toEqual(['arch', 'kernel', 'depth', 'far_near', 'pair_ratio']);
    expect(csv).toHaveLength(1 + 3);
    expect(svg).toContain('far/near');
  });
});

describe('analyze spectrum --random-multisphere', () => {
  it('draws the seeded multi-sphere signals and gives conditioningVsDepth of them', async () => {
    const prefix = tmp('cond');
    const arch = 'rescnn:depth=4,alpha=1,readout=gap';
    const r = await runCli('analyze', 'spectrum', '--arch', arch, '--random-multisphere', '12,3,4', '--seed', '3', '--depths', '1,4', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json } = readOutputs(prefix);
    const [want] = await conditioningVsDepth([arch], multispherePoints(12, 3, 4, 3), { normalize: true, depths: [1, 4] });
    const got = json.data[0] as unknown as { nngp: { condition: number[] }; ntk: { condition: number[] } };
    expect(got.nngp.condition).toEqual(want!.nngp!.condition);
    expect(got.ntk.condition).toEqual(want!.ntk!.condition);
    expect(JSON.stringify(JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')).parameters)).toContain('multi-sphere');
  });
});

describe('bad input: one line, exit 2, nothing written', () => {
  const cases: [string, string[], RegExp][] = [
    ['gap with zero padding, after a valid arch', ['analyze', 'conv-decay', '--arch', 'rescnn:depth=2,alpha=1', '--arch', 'cntk:depth=2,readout=gap,pad=zero'], /zero padding/],
    ['a fully connected arch', ['analyze', 'locality', '--arch', 'arora2019:depth=2'], /fully connected/],
    ['an odd grid', ['analyze', 'conv-decay', '--arch', 'rescnn:depth=2,alpha=1', '--grid', '7'], /--grid must be even/],
    ['a grid beyond the limit', ['analyze', 'locality', '--arch', 'rescnn:depth=2,alpha=1', '--pixels', '9', '--grid', '16'], /kernel evaluations/],
    ['kmax beyond M/2', ['analyze', 'conv-decay', '--arch', 'rescnn:depth=2,alpha=1', '--grid', '8', '--kmax', '5'], /--kmax must be ≤ 4/],
    ['a depth not in the sweep', ['analyze', 'locality', '--arch', 'rescnn:depth=2,alpha=1', '--depths', '3'], /--depths: depth 3/],
    ['a bad --kind', ['analyze', 'conv-decay', '--arch', 'rescnn:depth=2,alpha=1', '--kind', 'gp'], /--kind must be/],
    ['multisphere for an FC arch', ['analyze', 'spectrum', '--arch', 'arora2019:depth=2', '--random-multisphere', '8,3,4'], /fully connected/],
    ['multisphere with two numbers', ['analyze', 'spectrum', '--arch', 'cntk:depth=2', '--random-multisphere', '8,3'], /N,C,P/],
    ['multisphere with one channel', ['analyze', 'spectrum', '--arch', 'cntk:depth=2', '--random-multisphere', '8,1,4'], /C ≥ 2/],
  ];
  for (const [name, argv, msg] of cases) {
    it(name, async () => {
      const prefix = tmp(`bad-${name.replace(/\W+/g, '-')}`);
      const r = await runCli(...argv, '--out', prefix);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(fs.existsSync(`${prefix}.json`)).toBe(false);
    });
  }
});
