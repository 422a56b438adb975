/**
 * The main job (`npm start` = `webntk demo`) end to end, on a small slice so that it stays quick:
 * the IDX reader behind `--data` (gzip-compressed files written here from the embedded subset), the
 * preprocessing, both presets on WebGPU, the float64 solves, and the printed table. The embedded run
 * itself (2000/1000 images, half a minute) is timed by scripts/readme-timings.mjs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../src/io/npy.js';
import { runCli } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'webntk-main-job-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An IDX file (big-endian header: 0, 0, 0x08 = uint8, rank; then the dimensions) of `data`. */
function idx(dims: number[], data: Uint8Array): Uint8Array {
  const head = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  head.setUint8(2, 0x08);
  head.setUint8(3, dims.length);
  dims.forEach((d, i) => head.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(head.byteLength + data.length);
  out.set(new Uint8Array(head.buffer), 0);
  out.set(data, head.byteLength);
  return gzipSync(out);
}

function writeSplit(from: 'train' | 'test', to: 'train' | 't10k'): void {
  const img = parseNpy(readFileSync(join('data', `fashion-${from}-images.npy`)));
  const lab = parseNpy(readFileSync(join('data', `fashion-${from}-labels.npy`)));
  const n = img.shape[0]!;
  writeFileSync(join(dir, `${to}-images-idx3-ubyte.gz`), idx([n, 28, 28], Uint8Array.from(img.data)));
  writeFileSync(join(dir, `${to}-labels-idx1-ubyte.gz`), idx([n], Uint8Array.from(lab.data)));
}

describe('the main job', () => {
  it('webntk demo --data DIR: both presets, NNGP and NTK, accuracy well above chance, on WebGPU', { timeout: 180_000 }, async () => {
    writeSplit('train', 'train');
    writeSplit('test', 't10k');
    const r = await runCli('demo', '--data', dir, '--train-per-class', '30', '--test-per-class', '20', '--backend', 'webgpu');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^webntk main job: Fashion-MNIST, 300 training and 200 test images \(from .*\), 10 classes; kernels on WebGPU \(/);
    const [fc, conv] = r.out.split(/\nConvolutional: /);
    const rows = fc!.split('\n').filter((l) => /^(mlp|resnet)/.test(l));
    expect(rows.map((l) => l.split(/\s{2,}/).slice(0, 2).join(' '))).toEqual([
      'mlp:depth=3 nngp',
      'mlp:depth=3 ntk',
      'resnet:depth=8,gamma=0.5 nngp',
      'resnet:depth=8,gamma=0.5 ntk',
    ]);
    for (const l of rows) {
      const acc = Number(/(\d+\.\d)%/.exec(l)![1]);
      expect(acc, l).toBeGreaterThan(60); // 10 classes: chance is 10%; 300 training images give ~70–75%
    }
    // The conv table: the first 20/10 images of each class of the 300/200 (200 and 100), CNTK beside the MLP.
    expect(conv).toMatch(/^cntk:depth=5,readout=flatten on the 28×28 images \(shape \[N, 1, 28, 28\]\), the first 20 training and 10 test images of each class \(200 and 100\)/);
    const convRows = conv!.split('\n').slice(1).filter((l) => /^(cntk|mlp)/.test(l));
    expect(convRows.map((l) => l.split(/\s{2,}/).slice(0, 2).join(' '))).toEqual([
      'cntk:depth=5,readout=flatten nngp',
      'cntk:depth=5,readout=flatten ntk',
      'mlp:depth=3 nngp',
      'mlp:depth=3 ntk',
    ]);
    for (const l of convRows) expect(Number(/(\d+\.\d)%/.exec(l)![1]), l).toBeGreaterThan(55); // 200 training images: ~70–77%
    expect(r.out).toMatch(/Ridge: 0\.0001 × the mean diagonal of K\(train, train\)/);
  });

  it('webntk demo --data DIR --solver nystrom: the FC presets on landmarks, never the n × n kernel', { timeout: 180_000 }, async () => {
    writeSplit('train', 'train');
    writeSplit('test', 't10k');
    const r = await runCli('demo', '--data', dir, '--train-per-class', '30', '--test-per-class', '20', '--backend', 'cpu', '--solver', 'nystrom', '--landmarks', '150', '--landmark-choice', 'rp-cholesky');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Nyström regression on M = 150 landmarks \(rp-cholesky\), never the 300 × 300 kernel/);
    const rows = r.out.split('\n').filter((l) => /^(mlp|resnet)/.test(l));
    expect(rows.map((l) => l.split(/\s{2,}/).slice(0, 2).join(' '))).toEqual([
      'mlp:depth=3 nngp',
      'mlp:depth=3 ntk',
      'resnet:depth=8,gamma=0.5 nngp',
      'resnet:depth=8,gamma=0.5 ntk',
    ]);
    for (const l of rows) expect(Number(/(\d+\.\d)%/.exec(l)![1]), l).toBeGreaterThan(55); // half the 300 as landmarks
    expect(r.out).not.toMatch(/Convolutional/);
    const bad = await runCli('demo', '--data', dir, '--train-per-class', '3', '--solver', 'nystrom', '--landmarks', '31', '--backend', 'cpu');
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toBe('webntk: error: --landmarks 31 is more than the 30 training images');
  });

  it('webntk demo --data DIR --solver cg-matfree: the FC presets by CG on the never-stored kernel, the accuracy of the direct solve', { timeout: 300_000 }, async () => {
    writeSplit('train', 'train');
    writeSplit('test', 't10k');
    const args = ['demo', '--data', dir, '--train-per-class', '30', '--test-per-class', '20', '--backend', 'webgpu'];
    // --ridge-rel: the ridge both solvers use (the full set's cg-matfree needs 1e-1 to converge in tens of iterations).
    const r = await runCli(...args, '--solver', 'cg-matfree', '--cg-tol', '1e-8', '--ridge-rel', '1e-1');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Ridge: 0\.1 × the mean diagonal of K\(train, train\); NTK at t = ∞\./);
    expect(r.out).toMatch(/Matrix-free CG on the exact 300 × 300 kernel, never stored \(one pass over it per iteration, tolerance 1e-8\)/);
    expect(r.out).not.toMatch(/Convolutional/);
    const accuracies = (out: string) => out.split('\n').filter((l) => /^(mlp|resnet)/.test(l)).map((l) => l.split(/\s{2,}/).slice(0, 3).join(' '));
    const rows = r.out.split('\n').filter((l) => /^(mlp|resnet)/.test(l));
    expect(rows).toHaveLength(4);
    for (const l of rows) expect(l).toMatch(/pivoted Cholesky, rank \d+$/);
    // Nyström with every training image as a landmark is exact kernel ridge regression: the same accuracy per row.
    const exact = await runCli(...args, '--solver', 'nystrom', '--landmarks', '300', '--ridge-rel', '1e-1');
    expect(exact.code, exact.err).toBe(0);
    expect(accuracies(r.out)).toEqual(accuracies(exact.out));
    const bad = await runCli('demo', '--data', dir, '--solver', 'nystrom', '--cg-tol', '1e-3', '--backend', 'cpu');
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toBe('webntk: error: --cg-tol applies to --solver cg-matfree');
    for (const v of ['0', '-1', 'x', '']) {
      const badRidge = await runCli('demo', '--ridge-rel', v, '--backend', 'cpu');
      expect(badRidge.code).toBe(2);
      expect(badRidge.err.trim()).toBe(`webntk: error: --ridge-rel must be a positive number, got "${v}"`);
    }
  });

  it('a --data folder without the IDX files is one clear line', async () => {
    const r = await runCli('demo', '--data', join(dir, 'nowhere'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/^webntk: error: cannot read .*nowhere\/train-images-idx3-ubyte\.gz/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
