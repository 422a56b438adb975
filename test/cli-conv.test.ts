/**
 * The CLI with convolutional specs and image inputs (.npy [N, C, H, W] / [N, C, P], --layout nhwc):
 * gram, predict, select and analyze agree with the library on the same images, and every bad input
 * (a rank that does not fit the spec, filters and strides that do not fit the image, channels that
 * differ, a gap state beyond memory, WebGPU) is exit 2 with one line and no file written.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelCpu, predict } from '../src/index.js';
import { imagePair } from '../src/analysis/image-pair.js';
import { kernelProfile } from '../src/analysis/profile.js';
import { depthSweep } from '../src/analysis/depth.js';
import { conditioningVsDepth } from '../src/analysis/spectrum.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { Rng } from '../src/mc/rng.js';
import { runCli } from './cli-run.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cli-conv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const tmp = (n: string) => path.join(dir, n);

const rng = new Rng(5);
const values = (n: number) => Float64Array.from({ length: n }, () => rng.normal());
/** Images in nchw order, written as .npy; returns them as an ImagesInput. */
function images(name: string, shape: number[]): { data: Float64Array; shape: number[] } {
  const data = values(shape.reduce((a, b) => a * b, 1));
  fs.writeFileSync(tmp(name), encodeNpy(data, shape));
  return { data, shape };
}
const A2 = images('a2.npy', [4, 2, 6, 6]); // 2-D: N = 4, C = 2, 6×6
const B2 = images('b2.npy', [3, 2, 6, 6]);
const A1 = images('a1.npy', [5, 3, 10]); // 1-D: N = 5, C = 3, P = 10
const B1 = images('b1.npy', [2, 3, 10]);
images('c3.npy', [3, 3, 6, 6]); // 3 channels: does not pair with a2
fs.writeFileSync(tmp('X.npy'), encodeNpy(values(4 * 5), [4, 5]));
fs.writeFileSync(tmp('X.csv'), 'a,b\n1,2\n3,4\n');

/** [N, C, H, W] → [N, H, W, C]. */
function toNhwc(x: { data: Float64Array; shape: number[] }): Float64Array {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out[(i * h * w + p) * c + k] = x.data[(i * c + k) * h * w + p]!;
  return out;
}
fs.writeFileSync(tmp('a2-nhwc.npy'), encodeNpy(toNhwc(A2), [4, 6, 6, 2]));
fs.writeFileSync(tmp('b2-nhwc.npy'), encodeNpy(toNhwc(B2), [3, 6, 6, 2]));

const read = (p: string) => parseNpy(fs.readFileSync(p));

describe('webntk gram with conv specs', () => {
  it('2-D images: K equals kernelCpu on the same images (gap readout, both kernels, every depth)', async () => {
    const r = await runCli('gram', '--arch', 'cntk:depth=3,readout=gap', '--x1', tmp('a2.npy'), '--get', 'nngp,ntk', '--depths', 'all', '--out', tmp('K2-{kernel}.npy'));
    expect(r.code, r.err).toBe(0);
    const api = kernelCpu('cntk:depth=3,readout=gap', A2, null, { depths: 'all' });
    for (const k of ['nngp', 'ntk'] as const) {
      const K = read(tmp(`K2-${k}.npy`));
      expect(K.shape).toEqual([3, 4, 4]);
      expect(Array.from(K.data)).toEqual(Array.from(api[k]!));
    }
  });

  it('1-D signals with --x2, and --diagonal: equal to kernelCpu', async () => {
    const arch = 'rescnn:depth=2,alpha=0.5,readout=flatten';
    let r = await runCli('gram', '--arch', arch, '--x1', tmp('a1.npy'), '--x2', tmp('b1.npy'), '--out', tmp('K1.npy'));
    expect(r.code, r.err).toBe(0);
    const K = read(tmp('K1.npy'));
    expect(K.shape).toEqual([5, 2]);
    expect(Array.from(K.data)).toEqual(Array.from(kernelCpu(arch, A1, B1, { get: 'ntk' }).ntk!));
    r = await runCli('gram', '--arch', arch, '--x1', tmp('a1.npy'), '--diagonal', '--get', 'nngp', '--out', tmp('D1.npy'));
    expect(r.code, r.err).toBe(0);
    expect(Array.from(read(tmp('D1.npy')).data)).toEqual(Array.from(kernelCpu(arch, A1, null, { get: 'nngp', diagonal: true }).nngp!));
  });

  it('--layout nhwc reads [N, H, W, C] (both files) and gives the same K as the nchw files', async () => {
    const r = await runCli('gram', '--arch', 'cntk:depth=2', '--x1', tmp('a2-nhwc.npy'), '--layout', 'nhwc', '--x2', tmp('b2-nhwc.npy'), '--out', tmp('Kh.npy'));
    expect(r.code, r.err).toBe(0);
    expect(Array.from(read(tmp('Kh.npy')).data)).toEqual(Array.from(kernelCpu('cntk:depth=2', A2, B2, { get: 'ntk' }).ntk!));
  });
});

describe('predict, select and analyze with conv specs', () => {
  const y = Float64Array.from({ length: 5 }, (_, i) => (i % 2 === 0 ? 1 : -1));
  fs.writeFileSync(tmp('y.npy'), encodeNpy(y, [5]));

  it('predict: train/test images give the predictions of predict()', async () => {
    const arch = 'cntk:depth=2,readout=flatten';
    const r = await runCli('predict', '--arch', arch, '--train', tmp('a1.npy'), '--targets', tmp('y.npy'), '--test', tmp('b1.npy'), '--kernel', 'nngp', '--ridge', '1e-3', '--out', tmp('P.npy'));
    expect(r.code, r.err).toBe(0);
    const api = await predict(arch, A1, y, B1, { kernel: 'nngp', ridge: 1e-3 });
    expect(Array.from(read(tmp('P.npy')).data)).toEqual(Array.from(api.mean[0]!));
  });

  it('select: images for --train and --test', async () => {
    const r = await runCli('select', '--arch', 'cntk:depth=2,readout=flatten', '--train', tmp('a1.npy'), '--targets', tmp('y.npy'), '--test', tmp('b1.npy'), '--folds', '2', '--ridge', '1e-3,1e-1', '--pred-out', tmp('S.npy'));
    expect(r.code, r.err).toBe(0);
    expect(read(tmp('S.npy')).shape).toEqual([2]);
  });

  it('analyze spectrum --x images: the condition numbers of conditioningVsDepth', async () => {
    const r = await runCli('analyze', 'spectrum', '--arch', 'cntk:depth=2', '--x', tmp('a2.npy'), '--kind', 'ntk', '--depths', 'all', '--json');
    expect(r.code, r.err).toBe(0);
    const [api] = await conditioningVsDepth(['cntk:depth=2'], A2, { kind: 'ntk', normalize: true, depths: [1, 2] });
    expect(r.out).toContain(String(api!.ntk!.condition[1]));
  });

  it('the image pair: orthogonal, each with ‖·‖² = C·P, seeded', () => {
    const p = imagePair([2, 4, 5]);
    const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(dot(p.u, p.u)).toBeCloseTo(40, 10);
    expect(dot(p.v, p.v)).toBeCloseTo(40, 10);
    expect(Math.abs(dot(p.u, p.v))).toBeLessThan(1e-10);
    expect(Array.from(imagePair([2, 4, 5]).v)).toEqual(Array.from(p.v));
  });

  it('analyze profile: a conv spec is profiled over the image pair (--image-shape), an FC spec as before', async () => {
    const r = await runCli('analyze', 'profile', '--arch', 'cntk:depth=2', '--arch', 'mlp:depth=2', '--image-shape', '2,12', '--points', '5', '--no-interpolant', '--json');
    expect(r.code, r.err).toBe(0);
    const data = (JSON.parse(r.out) as { data: { values: number[] }[] }).data;
    const conv = await kernelProfile('cntk:depth=2', { points: 5, imageShape: [2, 12] });
    const fc = await kernelProfile('mlp:depth=2', { points: 5 });
    expect(data[0]!.values).toEqual(conv.values);
    expect(data[1]!.values).toEqual(fc.values);
    expect(conv.normalized[0]).toBe(1);
  });

  it('analyze depth: the pair at correlation ρ, u and ρu + √(1−ρ²)v', async () => {
    const r = await runCli('analyze', 'depth', '--arch', 'cntk:depth=3,readout=flatten', '--rho', '0.5', '--json');
    expect(r.code, r.err).toBe(0);
    const api = await depthSweep('cntk:depth=3,readout=flatten', 0.5);
    expect(api.imageShape).toEqual([1, 8, 8]);
    expect((JSON.parse(r.out) as { data: { ntk: number[] }[] }).data[0]!.ntk).toEqual(api.ntk);
  });
});

describe('presets and spec', () => {
  it('list cntk and rescnn with their citations', async () => {
    const p = await runCli('presets');
    expect(p.code).toBe(0);
    expect(p.out).toMatch(/^cntk: .*\n  Arora, Du, Hu, Li, Salakhutdinov, Wang\..*\(arXiv:1904\.11955\)/m);
    expect(p.out).toMatch(/^rescnn: .*\n  Barzilai, Geifman, Galun, Basri\..*\(arXiv:2211\.14810\)/m);
    const s = await runCli('spec', 'rescnn:depth=2,alpha=0.5');
    expect(s.code).toBe(0);
    expect(s.out).toContain('Barzilai, Geifman, Galun, Basri');
  });
});

describe('bad conv inputs: exit 2, one line, no file', () => {
  fs.writeFileSync(tmp('big.npy'), encodeNpy(new Float64Array(128 * 128), [1, 1, 128, 128]));
  fs.writeFileSync(
    tmp('stride.json'),
    JSON.stringify({ name: 'strided', layers: [{ type: 'conv', filter: 3, stride: 7 }, { type: 'relu' }], readout: [{ type: 'gap' }] }),
  );
  fs.writeFileSync(
    tmp('pool.json'),
    JSON.stringify({ name: 'pooled', layers: [{ type: 'conv', padding: 'circular', stride: 4 }, { type: 'relu' }, { type: 'avgPool', window: 2 }, { type: 'conv', filter: 1 }], readout: [{ type: 'gap' }] }),
  );
  const cases: [string, string[], RegExp][] = [
    ['an even filter', ['gram', '--arch', 'cntk:depth=2,filter=4', '--x1', tmp('a2.npy')], /filter: must be odd/],
    ['a filter wider than the image', ['gram', '--arch', 'cntk:depth=2,filter=7', '--x1', tmp('a2.npy')], /filter \(7×7\) is wider than the 6×6 image/],
    ['a stride that leaves no output pixel', ['gram', '--arch', tmp('stride.json'), '--x1', tmp('a2.npy')], /stride \(7×7\) is larger than the 6×6 image/],
    ['a [N, d] matrix to a conv spec', ['gram', '--arch', 'cntk:depth=2', '--x1', tmp('X.npy')], /shape \(4, 5\) is not images/],
    ['CSV to a conv spec', ['gram', '--arch', 'cntk:depth=2', '--x1', tmp('X.csv')], /CSV\/TSV holds a \[N, d\] matrix/],
    ['images to an FC spec', ['gram', '--arch', 'mlp:depth=2', '--x1', tmp('a2.npy')], /is images, but mlp:depth=2 is fully connected/],
    ['--layout with an FC spec', ['gram', '--arch', 'mlp:depth=2', '--x1', tmp('X.npy'), '--layout', 'nhwc'], /--layout applies to images/],
    ['x1 and x2 channels differ', ['gram', '--arch', 'cntk:depth=2', '--x1', tmp('a2.npy'), '--x2', tmp('c3.npy')], /x1 has 2 channels but x2 has 3/],
    ['1-D x2 for 2-D x1', ['gram', '--arch', 'cntk:depth=2', '--x1', tmp('a2.npy'), '--x2', tmp('a1.npy')], /channels|same size/],
    ['a gap state beyond memory', ['gram', '--arch', 'cntk:depth=2,readout=gap', '--x1', tmp('big.npy')], /GiB, above the limit/],
    ['WebGPU for a circular conv with a non-dividing stride before avgPool', ['gram', '--arch', tmp('pool.json'), '--x1', tmp('a2.npy'), '--backend', 'webgpu'], /a circular conv before an avgPool .* has no WebGPU kernel/],
    ['predict: test images of another size', ['predict', '--arch', 'cntk:depth=2', '--train', tmp('a1.npy'), '--targets', tmp('y.npy'), '--test', tmp('a2.npy'), '--kernel', 'ntk'], /channels|same size/],
    ['analyze decay with a conv spec', ['analyze', 'decay', '--arch', 'cntk:depth=2'], /analyze decay: --arch cntk:depth=2 is convolutional/],
    ['analyze spectrum --random with a conv spec', ['analyze', 'spectrum', '--arch', 'cntk:depth=2'], /give images with --x/],
    ['--image-shape with FC specs only', ['analyze', 'profile', '--arch', 'mlp:depth=2', '--image-shape', '1,4,4'], /--image-shape is for convolutional specs/],
    ['--dim with conv specs only', ['analyze', 'profile', '--arch', 'cntk:depth=2', '--dim', '3'], /--dim is for fully connected specs/],
    ['--image-shape with a zero axis', ['analyze', 'depth', '--arch', 'cntk:depth=2', '--image-shape', '1,0'], /--image-shape\[1\] must be ≥ 1/],
  ];
  for (const [what, argv, message] of cases) {
    it(what, async () => {
      const out = fs.mkdtempSync(path.join(dir, 'out-'));
      const target = argv[0] === 'analyze' ? ['--out', path.join(out, 'r')] : ['--out', path.join(out, 'K.npy')];
      const r = await runCli(...argv, ...target);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(fs.readdirSync(out)).toEqual([]);
    });
  }

  it('the webntk process: WebGPU with a circular strided conv before avgPool is exit 2 before any GPU work, nothing written', () => {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/node/cli.ts', 'gram', '--arch', tmp('pool.json'), '--x1', tmp('a2.npy'), '--backend', 'webgpu', '--out', path.join(out, 'K.npy')], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^webntk: error: a circular conv before an avgPool .* has no WebGPU kernel/)]);
    expect(fs.readdirSync(out)).toEqual([]);
  });
});
