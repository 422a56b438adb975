/** `webntk analyze`: JSON, CSV and SVG written together (or not at all), numbers equal to the API's, clear errors. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Papa from 'papaparse';
import { afterAll, describe, expect, it } from 'vitest';
import { cuspSlope, depthSweep, kernelProfile } from '../src/index.js';
import { main, type CliIO } from '../src/node/cli.js';
import { releaseNodeWebGPU } from '../src/node/webgpu.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cli-analyze-'));
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await releaseNodeWebGPU();
});
const tmp = (name: string) => path.join(dir, name);

export async function runCli(...argv: string[]) {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s) };
  const code = await main(argv, io);
  return { code, out, err };
}

function readOutputs(prefix: string) {
  const json = JSON.parse(fs.readFileSync(`${prefix}.json`, 'utf8')) as { analysis: string; data: Record<string, unknown>[]; summary: string[] };
  const csv = Papa.parse<string[]>(fs.readFileSync(`${prefix}.csv`, 'utf8').trim()).data;
  const svg = fs.readFileSync(`${prefix}.svg`, 'utf8');
  return { json, csv, svg };
}

describe('analyze profile', () => {
  it('writes the profile and cusp slope of each arch, equal to the API, with an SVG figure', async () => {
    const prefix = tmp('profile');
    const r = await runCli('analyze', 'profile', '--arch', 'tirer2021:depth=5,alpha=0.5', '--arch', 'mlp:depth=5', '--points', '19', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/cusp slope .* = 0\.138945/);
    const { json, csv, svg } = readOutputs(prefix);
    expect(json.analysis).toBe('profile');
    expect(json.data).toHaveLength(2);
    expect(json.data[0]!.cuspSlope).toBeCloseTo(await cuspSlope('tirer2021:depth=5,alpha=0.5'), 12);
    const p = await kernelProfile('mlp:depth=5', { points: 19 });
    expect(json.data[1]!.normalized).toEqual(p.normalized);
    expect(csv[0]).toEqual(['arch', 'theta', 'value', 'normalized']);
    expect(csv).toHaveLength(1 + 2 * 19);
    expect(Number(csv[20]![3])).toBe(p.normalized[0]);
    // A real Vega drawing: axes titles and one line per arch.
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('θ (radians)');
    expect(svg).toContain('mlp:depth=5');
  });
});

describe('analyze depth', () => {
  it('fits 1 − ρ_L ~ L^−2 for arora2019 and writes every depth', async () => {
    const prefix = tmp('depth');
    const r = await runCli('analyze', 'depth', '--arch', 'arora2019:depth=10000', '--rho', '0', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json, csv } = readOutputs(prefix);
    const d = json.data[0] as { gapPowerLaw: { exponent: number }; ntkNormalized: number[] };
    expect(d.gapPowerLaw.exponent).toBeCloseTo(-2, 1);
    const s = await depthSweep('arora2019:depth=10000', 0);
    expect(d.ntkNormalized).toEqual(s.ntkNormalized);
    expect(csv).toHaveLength(1 + 10001);
  });
});

describe('analyze: bad input', () => {
  it('exits 2 with one line naming the problem and leaves no file', async () => {
    const cases: [string[], RegExp][] = [
      [['analyze', 'profile', '--out', tmp('a')], /at least one --arch/],
      [['analyze', 'profile', '--arch', 'mlp:depth=2', '--points', '1', '--out', tmp('a')], /--points must be ≥ 2/],
      [['analyze', 'depth', '--arch', 'mlp:depth=2', '--rho', '2', '--out', tmp('a')], /--rho must be ≤ 1/],
      [['analyze', 'depth', '--arch', 'nosuch:depth=2', '--out', tmp('a')], /nosuch/],
      [['analyze', 'profile', '--arch', 'mlp:depth=2', '--out', path.join(dir, 'missing-dir', 'x')], /does not exist/],
    ];
    for (const [argv, msg] of cases) {
      const r = await runCli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('a.'))).toEqual([]);
  });
});
