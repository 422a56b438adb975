/** The CLI as a product: both kernels in one pass, float32 output, CSV in and out, JSON summaries, spec, bench, streaming. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelCpu, resolveSpec } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { runCli } from './cli-run.js';
import { releaseNodeWebGPU } from '../src/node/webgpu.js';
import { Rng } from '../src/mc/rng.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cli-product-'));
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await releaseNodeWebGPU();
});
const tmp = (name: string) => path.join(dir, name);


const X = [
  [0.3, -1.2, 0.8],
  [1.5, 0.2, -0.4],
  [-0.7, 0.9, 0.1],
  [0.05, 0.6, -1.3],
];
const xNpy = tmp('X.npy');
fs.writeFileSync(xNpy, encodeNpy(X.flat(), [4, 3]));

describe('gram', () => {
  it('--get nngp,ntk writes both kernels in one pass to the {kernel} paths', async () => {
    const r = await runCli('gram', '--arch', 'densenet:depth=3', '--x1', xNpy, '--get', 'nngp,ntk', '--out', tmp('K-{kernel}.npy'));
    expect(r.code, r.err).toBe(0);
    const ref = kernelCpu('densenet:depth=3', X);
    expect(Array.from(parseNpy(fs.readFileSync(tmp('K-nngp.npy'))).data)).toEqual(Array.from(ref.nngp!));
    expect(Array.from(parseNpy(fs.readFileSync(tmp('K-ntk.npy'))).data)).toEqual(Array.from(ref.ntk!));
    expect(r.err.trim().split('\n')).toHaveLength(2);
  });

  it('--get nngp,ntk --out K.npy (no {kernel}): K-nngp.npy and K-ntk.npy, both named in the summary; as .csv too', async () => {
    const r = await runCli('gram', '--arch', 'densenet:depth=3', '--x1', xNpy, '--get', 'nngp,ntk', '--out', tmp('P.npy'));
    expect(r.code, r.err).toBe(0);
    const ref = kernelCpu('densenet:depth=3', X);
    expect(Array.from(parseNpy(fs.readFileSync(tmp('P-nngp.npy'))).data)).toEqual(Array.from(ref.nngp!));
    expect(Array.from(parseNpy(fs.readFileSync(tmp('P-ntk.npy'))).data)).toEqual(Array.from(ref.ntk!));
    expect(fs.existsSync(tmp('P.npy'))).toBe(false);
    const lines = r.err.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^wrote .*P-nngp\.npy: nngp /);
    expect(lines[1]).toMatch(/^wrote .*P-ntk\.npy: ntk /);
    const c = await runCli('gram', '--arch', 'densenet:depth=3', '--x1', xNpy, '--get', 'nngp,ntk', '--out', tmp('P.csv'), '--json');
    expect(c.code, c.err).toBe(0);
    expect(JSON.parse(c.out).outputs.map((o: { path: string }) => path.basename(o.path))).toEqual(['P-nngp.csv', 'P-ntk.csv']);
    // A derived name that is an input is refused before anything is written (exit 2, no file).
    fs.copyFileSync(xNpy, tmp('In-ntk.npy'));
    const clash = await runCli('gram', '--arch', 'densenet:depth=3', '--x1', tmp('In-ntk.npy'), '--get', 'nngp,ntk', '--out', tmp('In.npy'));
    expect(clash.code).toBe(2);
    expect(clash.err.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(tmp('In-nngp.npy'))).toBe(false);
    expect(Array.from(parseNpy(fs.readFileSync(tmp('In-ntk.npy'))).data)).toEqual(X.flat());
  });

  it('--dtype float32 writes float32 values (the float64 result rounded once)', async () => {
    const r = await runCli('gram', '--arch', 'tirer2021', '--x1', xNpy, '--dtype', 'float32', '--out', tmp('K32.npy'));
    expect(r.code, r.err).toBe(0);
    const a = parseNpy(fs.readFileSync(tmp('K32.npy')));
    expect(a.dtype).toBe('<f4');
    const ref = kernelCpu('tirer2021', X).ntk!;
    expect(Array.from(a.data)).toEqual(Array.from(ref, (v) => Math.fround(v)));
  });

  it('reads CSV (with a header) and writes CSV that round-trips exactly', async () => {
    fs.writeFileSync(tmp('X.csv'), 'f1,f2,f3\n' + X.map((r) => r.join(',')).join('\n') + '\n');
    const r = await runCli('gram', '--arch', 'arora2019:depth=2', '--x1', tmp('X.csv'), '--out', tmp('K.csv'));
    expect(r.code, r.err).toBe(0);
    const rows = fs.readFileSync(tmp('K.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    const ref = kernelCpu('arora2019:depth=2', X).ntk!;
    expect(rows.flat()).toEqual(Array.from(ref));
    const sweep = await runCli('gram', '--arch', 'arora2019:depth=2', '--x1', xNpy, '--depths', 'all', '--out', tmp('S.csv'));
    expect(sweep.code).toBe(2);
    expect(sweep.err).toMatch(/CSV holds one matrix/);
    expect(fs.existsSync(tmp('S.csv'))).toBe(false);
  });

  it('--json prints a machine-readable summary on stdout, --quiet prints nothing', async () => {
    const j = await runCli('gram', '--arch', 'mlp:depth=2', '--x1', xNpy, '--json', '--out', tmp('J.npy'));
    expect(j.code).toBe(0);
    expect(j.err).toBe('');
    const s = JSON.parse(j.out) as { outputs: { kernel: string; shape: number[] }[]; backend: string; seconds: number };
    expect(s.outputs[0]).toMatchObject({ kernel: 'ntk', shape: [4, 4] });
    expect(s.backend).toBe('cpu');
    const q = await runCli('gram', '--arch', 'mlp:depth=2', '--x1', xNpy, '--quiet', '--out', tmp('Q.npy'));
    expect([q.code, q.out, q.err]).toEqual([0, '', '']);
  });

  it('streams a multi-block WebGPU result into the file at the right places (including mirrored blocks)', async () => {
    const rng = new Rng(5);
    const n = 2100; // more than one block on lavapipe's 128 MiB bindings
    const big = Array.from({ length: n }, () => Array.from({ length: 4 }, () => Math.fround(rng.normal())));
    fs.writeFileSync(tmp('B.npy'), encodeNpy(big.flat(), [n, 4], 'float32'));
    const r = await runCli('gram', '--arch', 'arora2019:depth=3', '--x1', tmp('B.npy'), '--backend', 'webgpu', '--out', tmp('BK.npy'), '--json');
    expect(r.code, r.err).toBe(0);
    const k = parseNpy(fs.readFileSync(tmp('BK.npy')));
    expect(k.shape).toEqual([n, n]);
    // Rows on both sides of the first block boundary, against the CPU reference.
    const rows = [0, 1, 1919, 1920, 1921, n - 1];
    const ref = kernelCpu('arora2019:depth=3', rows.map((i) => big[i]!), big);
    rows.forEach((i, a) => {
      for (let j = 0; j < n; j += 97) {
        const cpu = ref.ntk![a * n + j]!;
        const scale = Math.sqrt(kernelCpu('arora2019:depth=3', [big[i]!, big[j]!], null, { diagonal: true }).ntk!.reduce((p, v) => p * v, 1));
        expect(Math.abs(k.data[i * n + j]! - cpu) / scale).toBeLessThan(1e-5);
      }
    });
  });
});

describe('spec, bench, presets', () => {
  it('spec prints a description and the resolved JSON, which resolves to itself', async () => {
    const r = await runCli('spec', 'huang2020:depth=50,gamma=0.75');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Huang, Wang, Tao, Zhao/);
    expect(r.out).toMatch(/α = 1·L\^\(−0\.75\) = 0\.0531/);
    const json = r.out.slice(r.out.indexOf('{'));
    const spec = JSON.parse(json);
    expect(resolveSpec(spec)).toEqual(spec);
    const only = await runCli('spec', 'tirer2021', '--json');
    expect(() => JSON.parse(only.out)).not.toThrow();
    fs.writeFileSync(tmp('net.json'), only.out);
    const back = await runCli('gram', '--arch', tmp('net.json'), '--x1', xNpy, '--out', tmp('N.npy'));
    expect(back.code).toBe(0);
    expect(Array.from(parseNpy(fs.readFileSync(tmp('N.npy'))).data)).toEqual(Array.from(kernelCpu('tirer2021', X).ntk!));
    expect((await runCli('spec', 'nosuch')).code).toBe(2);
  });

  it('bench runs a case on both backends and reports their agreement', async () => {
    const r = await runCli('bench', '--case', 'arora2019,128,8,5', '--json');
    expect(r.code, r.err).toBe(0);
    const b = JSON.parse(r.out) as { runtime: string; adapter: string | null; cpuSeconds: number; webgpuSeconds: number; maxNormalisedDifference: number }[];
    expect(b).toHaveLength(1);
    expect(b[0]!.runtime).toMatch(/^node /);
    expect(b[0]!.adapter).toMatch(/\S/);
    expect(b[0]!.cpuSeconds).toBeGreaterThan(0);
    expect(b[0]!.webgpuSeconds).toBeGreaterThan(0);
    expect(b[0]!.maxNormalisedDifference).toBeLessThan(1e-5);
    expect((await runCli('bench', '--case', 'arora2019,0,8,5')).code).toBe(2);
  });

  it('every command has --help with an example', async () => {
    for (const c of ['gram', 'merge', 'info', 'bench', 'spec', 'presets', 'demo']) {
      const r = await runCli(c, '--help');
      expect(r.code).toBe(0);
      expect(r.out, c).toMatch(/Examples?:\n\s+webntk /);
    }
  });
});
