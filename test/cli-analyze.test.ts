/** `webntk analyze`: JSON, CSV and SVG written together (or not at all), numbers equal to the API's, clear errors. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Papa from 'papaparse';
import { afterAll, describe, expect, it } from 'vitest';
import { cuspSlope, depthSweep, kernelProfile } from '../src/index.js';
import { runCli } from './cli-run.js';
import { releaseNodeWebGPU } from '../src/node/webgpu.js';
import { oneHiddenCoefficient } from '../src/analysis/finite-width.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cli-analyze-'));
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await releaseNodeWebGPU();
});
const tmp = (name: string) => path.join(dir, name);


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
  it('fits 1 − ρ_L ~ L^−2 and the (3/8)·ln L/L settling of the NTK for arora2019, and writes every depth', async () => {
    const prefix = tmp('depth');
    const r = await runCli('analyze', 'depth', '--arch', 'arora2019:depth=10000', '--rho', '0', '--ntk-limit', '0.25', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json, csv, svg } = readOutputs(prefix);
    const d = json.data[0] as { gapPowerLaw: { fit: { exponent: number } }; ntkLnSlope: { slope: number }; ntkSettling: { fit: { exponent: number } }; ntkNormalized: number[] };
    expect(d.gapPowerLaw.fit.exponent).toBeCloseTo(-2, 1);
    // Hayou et al.: Θ_L/(L+1) − 1/4 ≈ (3/8)·ln L/L, so L·(r_L − 1/4) grows like (3/8)·ln L.
    expect(Math.abs(d.ntkLnSlope.slope - 0.375)).toBeLessThan(0.02);
    expect(d.ntkSettling.fit.exponent).toBeLessThan(-0.8);
    const s = await depthSweep('arora2019:depth=10000', 0);
    expect(d.ntkNormalized).toEqual(s.ntkNormalized);
    expect(csv).toHaveLength(1 + 10001);
    // The figure is thinned on its log axis; the CSV and JSON keep every depth.
    expect(svg.length).toBeLessThan(200_000);
  });
});

describe('analyze: bad input', () => {
  it('exits 2 with one line naming the problem and leaves no file', async () => {
    const cases: [string[], RegExp][] = [
      [['analyze', 'profile', '--out', tmp('a')], /at least one --arch/],
      [['analyze', 'profile', '--arch', 'mlp:depth=2', '--points', '1', '--out', tmp('a')], /--points must be ≥ 2/],
      [['analyze', 'depth', '--arch', 'mlp:depth=2', '--rho', '2', '--out', tmp('a')], /--rho must be ≤ 1/],
      [['analyze', 'depth', '--arch', 'nosuch:depth=2', '--out', tmp('a')], /nosuch/],
      // Sizes are checked before anything is allocated.
      [['analyze', 'profile', '--arch', 'mlp:depth=2', '--dim', '1e9', '--out', tmp('a')], /--dim must be ≤ 65536/],
      [['analyze', 'spectrum', '--arch', 'mlp:depth=2', '--random', '4000000000,10', '--lanczos', '5', '--out', tmp('a')], /exceeds 16384, the most a Lanczos run holds/],
      [['analyze', 'spectrum', '--arch', 'mlp:depth=2', '--random', '5000,10', '--out', tmp('a')], /use --lanczos k/],
    ];
    for (const [argv, msg] of cases) {
      const r = await runCli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('a.'))).toEqual([]);
  });

  it('an output folder that does not exist is an I/O error (exit 4), checked before any work', async () => {
    const r = await runCli('analyze', 'profile', '--arch', 'mlp:depth=2', '--out', path.join(dir, 'missing-dir', 'x'));
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/^webntk: error: cannot write .*missing-dir.*does not exist\n$/);
    expect(fs.existsSync(path.join(dir, 'missing-dir'))).toBe(false);
  });
});

describe('analyze decay, spectrum, infinite, fluctuations', () => {
  it('decay: the parity ratio λ₃/λ₂ of belfer2021 at depth 10 (seeds.md: 0.049 for γ = 1, 0.224 for γ = ½) and k^−2 on the circle', async () => {
    const prefix = tmp('decay');
    const r = await runCli('analyze', 'decay', '--arch', 'belfer2021:depth=10,gamma=1', '--arch', 'belfer2021:depth=10,gamma=0.5', '--kmax', '32', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json, csv } = readOutputs(prefix);
    const d = json.data as unknown as { parity: { ratio32: number }; fits: { even: { fit: { exponent: number } } } }[];
    expect(d[0]!.parity.ratio32).toBeCloseTo(0.049, 3);
    expect(d[1]!.parity.ratio32).toBeCloseTo(0.224, 3);
    expect(Math.abs(d[1]!.fits.even.fit.exponent + 2)).toBeLessThan(0.05);
    expect(csv[0]).toEqual(['arch', 'degree', 'eigenvalue', 'coefficient', 'multiplicity', 'status']);
    expect(csv).toHaveLength(1 + 2 * 33);
  });

  it('spectrum: the deep arora2019 NTK Gram of orthonormal inputs is double-constant, κ = (1+(n−1)b)/(1−b) with b from the depth sweep', async () => {
    const n = 6;
    const X = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
    const xCsv = tmp('eye.csv');
    fs.writeFileSync(xCsv, X.map((r) => r.join(',')).join('\n') + '\n');
    const prefix = tmp('spectrum');
    const r = await runCli('analyze', 'spectrum', '--arch', 'arora2019:depth=16', '--x', xCsv, '--kind', 'ntk', '--depths', '4,16', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json } = readOutputs(prefix);
    const d = json.data[0] as unknown as { depths: number[]; ntk: { condition: number[] } };
    expect(d.depths).toEqual([4, 16]);
    const s = await depthSweep('arora2019:depth=16', 0);
    [4, 16].forEach((L, i) => {
      const b = s.ntkNormalized[L]!;
      expect(d.ntk.condition[i]! / ((1 + (n - 1) * b) / (1 - b)) - 1).toBeLessThan(1e-10);
    });
  });

  it('infinite: the ResNTK table at ρ = 0 and its limits (seeds.md §3.6), and gram on a depth=inf reference', async () => {
    const prefix = tmp('infinite');
    const r = await runCli('analyze', 'infinite', '--depths', '10,100', '--gammas', '1,0.5,0', '--compare-depth', '20', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json } = readOutputs(prefix);
    const t = (json.data as unknown as { table: { rows: { gamma: number; values: number[]; limit: number | null }[] } }).table;
    expect(t.rows[0]!.values[0]).toBeCloseTo(0.16267, 5);
    expect(t.rows[0]!.limit).toBeCloseTo(1 / (2 * Math.PI), 12);
    expect(t.rows[1]!.values[1]).toBeCloseTo(0.19247, 5);
    expect(t.rows[1]!.limit).toBeCloseTo(0.192847, 6);
    expect(t.rows[2]!.limit).toBeNull();
    // The limit kernel itself through `gram`: unit inputs at ρ = 0 give the ODE value.
    const xCsv = tmp('x2.csv');
    fs.writeFileSync(xCsv, '1,0\n0,1\n');
    const g = await runCli('gram', '--arch', 'belfer2021:depth=inf,gamma=0.5', '--x1', xCsv, '--out', tmp('Kinf.csv'));
    expect(g.code, g.err).toBe(0);
    const K = fs.readFileSync(tmp('Kinf.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    expect(K[0]![1]).toBeCloseTo(0.192847, 6);
    const bad = await runCli('gram', '--arch', 'belfer2021:depth=inf,gamma=0.5', '--x1', xCsv, '--depths', 'all', '--out', tmp('Kbad.npy'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/depth=inf has one value/);
  });

  it('fluctuations: the relative variance of a one-hidden-layer NTK is near its exact 3/n; bad family names are refused', async () => {
    const prefix = tmp('fluct');
    const r = await runCli('analyze', 'fluctuations', '--family', 'mlp,densenet', '--depths', '1,2', '--widths', '16', '--samples', '200', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json, csv } = readOutputs(prefix);
    const cells = (json.data as unknown as { cells: { family: string; depth: number; diagonal: { relVar: number; relVarSE: number } }[] }).cells;
    const c = cells.find((x) => x.family === 'mlp' && x.depth === 1)!;
    // One hidden ReLU layer: Θ(x,x) is a mean of n iid unit terms with Var/mean² = 3 (see test/analysis-fluctuations.test.ts).
    expect(Math.abs(c.diagonal.relVar - 3 / 16)).toBeLessThan(4 * c.diagonal.relVarSE);
    expect(csv).toHaveLength(1 + 4);
    const bad = await runCli('analyze', 'fluctuations', '--family', 'vgg', '--out', tmp('b'));
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown --family "vgg"/);
  });

  it('fluctuations --predict: rows with the pinned names (family, depth, width, measured, stderr, predicted), the same CSV columns, the closed-form figure', async () => {
    const prefix = tmp('fluct-predict');
    const r = await runCli('analyze', 'fluctuations', '--predict', '--family', 'mlp,densenet', '--depths', '1,2', '--widths', '16,32', '--samples', '100', '--out', prefix);
    expect(r.code, r.err).toBe(0);
    const { json, csv, svg } = readOutputs(prefix);
    // The pinned rows sit at the JSON's top level (as analyze dynamics has them); data.rows is the same list.
    const rows = (json as unknown as { rows: Record<string, unknown>[] }).rows;
    expect(rows).toHaveLength(8);
    expect((json.data as unknown as { rows: Record<string, unknown>[] }).rows).toEqual(rows);
    for (const row of rows) {
      expect(typeof row.family).toBe('string');
      for (const k of ['depth', 'width', 'measured', 'stderr']) {
        expect(typeof row[k], `${String(row.family)} ${k}`).toBe('number');
        expect(Number.isFinite(row[k] as number)).toBe(true);
      }
      expect(row.stderr as number).toBeGreaterThan(0);
      expect('predicted' in row).toBe(true);
      // A number wherever a closed form was derived (the MLP here); null for the DenseNet, which has none.
      if (row.family === 'mlp') expect(typeof row.predicted).toBe('number');
      else expect(row.predicted).toBeNull();
    }
    for (const k of ['family', 'depth', 'width', 'measured', 'stderr', 'predicted']) expect(csv[0]).toContain(k);
    const mlp2 = rows.find((x) => x.family === 'mlp' && x.depth === 2 && x.width === 32)!;
    expect(mlp2.predicted).toBeCloseTo(58 / 9 / 32, 12); // L(11L+7)/(3(L+1)) at L = 2 (wave2 §3.3)
    const one = rows.find((x) => x.family === 'mlp' && x.depth === 1 && x.width === 16)!;
    expect(one.predicted).toBe(3 / 16);
    expect(one.predictedOffDiagonal).toBeCloseTo(4.6813710409 / 16, 9);
    const dn = rows.find((x) => x.family === 'densenet')!;
    expect(dn.predicted).toBeNull();
    const line = csv.find((c) => c[0] === 'densenet')!;
    expect(line[csv[0]!.indexOf('predicted')]).toBe('n/a');
    expect(Number(csv.find((c) => c[0] === 'mlp' && c[1] === '2' && c[2] === '32')![csv[0]!.indexOf('measured')])).toBe(mlp2.measured);
    expect(svg).toMatch(/closed form/);
    expect(r.out).toMatch(/mlp: measured\/predicted = /);
    expect(r.out).toMatch(/densenet: no closed-form comparison .*not derived/);
  });

  it('analyze --help lists every analysis, dynamics included; fluctuations --help documents --rho', async () => {
    const h = await runCli('analyze', '--help');
    expect(h.code).toBe(0);
    for (const k of ['profile', 'depth', 'spectrum', 'decay', 'conv-decay', 'locality', 'infinite', 'fluctuations', 'dynamics']) expect(h.out).toMatch(new RegExp(`\\b${k}\\b`));
    expect(h.out.replace(/\s+/g, ' ')).toMatch(/infinite, fluctuations, dynamics \(see each --help\)/);
    const f = await runCli('analyze', 'fluctuations', '--help');
    expect(f.code).toBe(0);
    expect(f.out).toContain('--rho <r>');
  });

  it('fluctuations --predict --rho 0: the generated pair at ρ = 0 and the one-hidden-layer 8.87/n off the diagonal; --rho outside [−1, 1] is exit 2', async () => {
    const r = await runCli('analyze', 'fluctuations', '--predict', '--family', 'mlp', '--depths', '1', '--widths', '16', '--samples', '50', '--rho', '0', '--json');
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out) as { parameters: { rho: number }; data: { rho: number; z: number[] }; rows: Record<string, number>[] };
    expect(json.parameters.rho).toBe(0);
    expect(json.data.rho).toBe(0);
    expect(json.data.z).toEqual([0, 1]);
    expect(json.rows[0]!.rho).toBe(0);
    expect(json.rows[0]!.predicted).toBe(3 / 16);
    expect(json.rows[0]!.predictedOffDiagonal).toBeCloseTo(oneHiddenCoefficient(0)! / 16, 14);
    expect(oneHiddenCoefficient(0)!).toBeCloseTo(8.87, 2);
    const bad = await runCli('analyze', 'fluctuations', '--family', 'mlp', '--depths', '1', '--widths', '8', '--samples', '4', '--rho', '1.5');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--rho must be ≤ 1, got 1\.5/);
  });
});
