/**
 * `webntk select` from files: the table and the report, --test refit and --pred-out, --shuffle,
 * the list parsers (src/node/lists.ts), every bad input (exit 2, one line, nothing written), and a
 * run on the embedded Fashion-MNIST subset.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selectModel } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { parseDepthList, parseRidgeList } from '../src/node/lists.js';
import { Rng } from '../src/mc/rng.js';
import { runCli } from './cli-run.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cli-select-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const tmp = (n: string) => path.join(dir, n);

const rng = new Rng(5);
const n = 30;
const m = 9;
const X = Array.from({ length: n }, () => Array.from({ length: 4 }, () => rng.normal()));
const T = Array.from({ length: m }, () => Array.from({ length: 4 }, () => rng.normal()));
const cls = (r: number[]) => (r[0]! + r[1]! > 0.4 ? 2 : r[2]! > 0 ? 1 : 0);
const y = X.map(cls);
const yt = T.map(cls);
const reg = (r: number[]) => Math.sin(r[0]!) + r[1]! * r[2]!;
const z = X.map(reg);
const zt = T.map(reg);
const Z2 = X.map((r) => [reg(r), r[3]!]);
fs.writeFileSync(tmp('X.npy'), encodeNpy(X.flat(), [n, 4]));
fs.writeFileSync(tmp('T.npy'), encodeNpy(T.flat(), [m, 4]));
fs.writeFileSync(tmp('y.npy'), encodeNpy(y, [n], 'int64'));
fs.writeFileSync(tmp('yt.npy'), encodeNpy(yt, [m], 'int64'));
fs.writeFileSync(tmp('z.npy'), encodeNpy(z, [n]));
fs.writeFileSync(tmp('zt.npy'), encodeNpy(zt, [m]));
fs.writeFileSync(tmp('Z2.npy'), encodeNpy(Z2.flat(), [n, 2]));

const base = ['select', '--arch', 'mlp:depth=4', '--train', tmp('X.npy')];
const cls3 = [...base, '--targets', tmp('y.npy'), '--classes', '3'];
const small = ['--depths', '1..3', '--ridge', '1e-3,1e-1', '--folds', '3'];
const withoutSeconds = (r: Record<string, unknown>) => ({ ...r, seconds: 0 });

describe('webntk select', () => {
  it('prints a table with the best row marked; --json prints the report; --out writes the same report', async () => {
    const r = await runCli(...cls3, ...small, '--kernel', 'nngp,ntk');
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^3-fold cross-validation of mlp:depth=4 on 30 training rows \(accuracy, 3 classes/);
    expect(lines[1]).toMatch(/^kernel\s+depth\s+ridge\s+accuracy$/);
    expect(lines.filter((l) => /^(nngp|ntk) /.test(l))).toHaveLength(2 * 3 * 2);
    expect(lines.filter((l) => l.endsWith('* best'))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/^best: (nngp|ntk), depth [123], ridge (0\.001|0\.1): accuracy 0\.\d{4}$/);

    const j = await runCli(...cls3, ...small, '--json', '--out', tmp('report.json'));
    expect(j.code, j.err).toBe(0);
    const report = JSON.parse(j.out);
    expect(report.metric).toBe('accuracy');
    expect(report.rows).toHaveLength(12);
    expect(Object.keys(report.rows[0]).slice(0, 5)).toEqual(['kernel', 'depth', 'ridge', 'score', 'folds']);
    expect(report.rows[0].folds).toHaveLength(3);
    expect(Object.keys(report.best)).toEqual(['kernel', 'depth', 'ridge', 'score']);
    expect(report).toMatchObject({ arch: 'mlp:depth=4', folds: 3, n: 30, outputs: 3, shuffle: null, backend: 'cpu', depths: [1, 2, 3], ridges: [0.001, 0.1] });
    expect(withoutSeconds(JSON.parse(fs.readFileSync(tmp('report.json'), 'utf8')))).toEqual(withoutSeconds(report));
    // The same numbers as the API.
    const api = await selectModel('mlp:depth=4', X, y, { classes: 3, depths: [1, 2, 3], ridges: [1e-3, 1e-1], folds: 3 });
    expect(report.rows.map((x: { score: number }) => x.score)).toEqual(api.rows.map((x) => x.score));
    expect(report.best).toEqual(api.best);
  });

  it('regression targets: the MSE, lowest is best', async () => {
    const r = await runCli(...base, '--targets', tmp('Z2.npy'), '--kernel', 'ntk', ...small, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.metric).toBe('mse');
    expect(report.outputs).toBe(2);
    expect(report.best.score).toBe(Math.min(...report.rows.map((x: { score: number }) => x.score)));
  });

  it('--test with --test-labels refits the best setting; --pred-out writes [m, k]; predict --ridge-rel reproduces it', async () => {
    const r = await runCli(...cls3, ...small, '--test', tmp('T.npy'), '--test-labels', tmp('yt.npy'), '--pred-out', tmp('P.npy'), '--out', tmp('r2.json'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/test accuracy 0\.\d{4} \(refitted on all 30 training rows, λ = [\d.e+-]+, 9 test rows\)/);
    const report = JSON.parse(fs.readFileSync(tmp('r2.json'), 'utf8'));
    expect(report.test).toMatchObject({ m, metric: 'accuracy', shape: [m, 3], predictions: tmp('P.npy') });
    const P = parseNpy(fs.readFileSync(tmp('P.npy')));
    expect(P.shape).toEqual([m, 3]);
    const { kernel, depth, ridge } = report.best;
    const p = await runCli('predict', '--arch', `mlp:depth=${depth}`, '--train', tmp('X.npy'), '--targets', tmp('y.npy'), '--classes', '3', '--test', tmp('T.npy'), '--kernel', kernel, '--ridge-rel', String(ridge), '--out', tmp('Q.npy'), '--json');
    expect(p.code, p.err).toBe(0);
    const Q = parseNpy(fs.readFileSync(tmp('Q.npy')));
    const scale = Math.max(...Array.from(Q.data, Math.abs));
    Q.data.forEach((v, i) => expect(Math.abs(P.data[i]! - v)).toBeLessThanOrEqual(1e-10 * scale));
    expect(JSON.parse(p.out).ridge).toBeCloseTo(report.test.lambda, 12);
  });

  it('--test-targets gives the test MSE; 1-D targets give 1-D predictions [m]', async () => {
    const r = await runCli(...base, '--targets', tmp('z.npy'), ...small, '--test', tmp('T.npy'), '--test-targets', tmp('zt.npy'), '--pred-out', tmp('p1.npy'), '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.test).toMatchObject({ metric: 'mse', shape: [m] });
    const P = parseNpy(fs.readFileSync(tmp('p1.npy')));
    expect(P.shape).toEqual([m]);
    const mse = zt.reduce((s, v, i) => s + (P.data[i]! - v) ** 2, 0) / m;
    expect(report.test.score).toBeCloseTo(mse, 12);
  });

  it('--shuffle SEED: the same seed gives the same report, another seed another order', async () => {
    const run = async (seed: string) => JSON.parse((await runCli(...cls3, ...small, '--shuffle', seed, '--json')).out);
    const a = await run('3');
    const b = await run('3');
    const c = await run('4');
    expect(withoutSeconds(a)).toEqual(withoutSeconds(b));
    expect(a.shuffle).toBe(3);
    expect(a.order).toHaveLength(n);
    expect(a.order).not.toEqual(c.order);
  });

  it('--help explains the rules and shows examples', async () => {
    const r = await runCli('select', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/fold i mod k/);
    expect(r.out).toMatch(/λ = r × the mean diagonal/);
    expect(r.out).toMatch(/Examples:\n\s+webntk select /);
  });

  it('--depths all is every depth of the sweep; --ridge log ranges', async () => {
    const r = await runCli(...cls3, '--depths', 'all', '--ridge', '1e-6..1e-1:6', '--folds', '2', '--kernel', 'nngp', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.depths).toEqual([0, 1, 2, 3, 4]);
    expect(report.ridges).toEqual([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]);
    expect(report.rows).toHaveLength(30);
  });
});

describe('depth and ridge lists (src/node/lists.ts)', () => {
  it('depths: lists, ranges, mixed, all; sorted without repeats', () => {
    expect(parseDepthList('1,2,5')).toEqual([1, 2, 5]);
    expect(parseDepthList('1..5')).toEqual([1, 2, 3, 4, 5]);
    expect(parseDepthList('7, 1..3, 2')).toEqual([1, 2, 3, 7]);
    expect(parseDepthList('4..4')).toEqual([4]);
    expect(parseDepthList('all', '--depths', { all: [0, 1, 2, 4, 8] })).toEqual([0, 1, 2, 4, 8]);
    expect(parseDepthList('ALL', '--depths', { all: [0, 1, 2], min: 1 })).toEqual([1, 2]);
  });
  it.each([
    ['', /--depths is empty/],
    ['1,,2', /empty item/],
    ['1.5', /"1.5" is not a depth/],
    ['a', /"a" is not a depth/],
    ['5..1', /runs backwards/],
    ['1..2..3', /not a range/],
    ['-1', /below 0/],
    ['all', /"all" needs an architecture's depth sweep/],
    ['1,all', /"all" cannot be combined/],
  ])('depths %j is an error', (s, msg) => {
    expect(() => parseDepthList(s)).toThrow(msg);
  });
  it('depths beyond max are an error', () => expect(() => parseDepthList('1..9', '--depths', { max: 8 })).toThrow(/depth 9 exceeds 8/));

  it('ridges: lists and inclusive log ranges', () => {
    expect(parseRidgeList('1e-4')).toEqual([1e-4]);
    expect(parseRidgeList('0.1,0,1e-3')).toEqual([0, 1e-3, 0.1]);
    expect(parseRidgeList('1e-6..1e-1:6')).toEqual([1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1]);
    expect(parseRidgeList('0,1e-4..1e-2:3')).toEqual([0, 1e-4, 1e-3, 1e-2]);
    const r = parseRidgeList('1e-3..1:4');
    expect(r).toHaveLength(4);
    expect(r[1]! / r[0]!).toBeCloseTo(10, 9);
    expect(parseRidgeList('2..2:1')).toEqual([2]);
  });
  it.each([
    ['', /--ridge is empty/],
    ['1e-3,', /empty item/],
    ['-1', /negative/],
    ['x', /"x" is not a ridge/],
    ['1e-6..1e-1', /needs a count/],
    ['0..1:3', /ends > 0/],
    ['1..1e-3:3', /runs backwards/],
    ['1e-3..1:0', /positive integer/],
    ['1e-3..1:2.5', /positive integer/],
    ['1e-3..1:1', /one value but two different ends/],
    ['inf', /not a ridge/],
  ])('ridges %j is an error', (s, msg) => {
    expect(() => parseRidgeList(s)).toThrow(msg);
  });
});

describe('analyze spectrum / fluctuations --depths take the same lists', () => {
  const depthsOf = (out: string) => JSON.parse(out.slice(out.indexOf('{'))).data[0].depths;
  it('spectrum: ranges and all', async () => {
    const a = await runCli('analyze', 'spectrum', '--arch', 'mlp:depth=4', '--random', '12,5', '--depths', '1..3', '--json');
    expect(a.code, a.err).toBe(0);
    expect(depthsOf(a.out)).toEqual([1, 2, 3]);
    const b = await runCli('analyze', 'spectrum', '--arch', 'mlp:depth=4', '--random', '12,5', '--depths', 'all', '--json');
    expect(b.code, b.err).toBe(0);
    expect(depthsOf(b.out)).toEqual([0, 1, 2, 3, 4]);
  });
  it('fluctuations: all is an error (no sweep of an arch), so is a backwards range', async () => {
    expect((await runCli('analyze', 'fluctuations', '--family', 'mlp', '--depths', 'all', '--widths', '8', '--samples', '2')).err).toMatch(/"all" needs an architecture's depth sweep/);
    const r = await runCli('analyze', 'fluctuations', '--family', 'mlp', '--depths', '3..1', '--widths', '8', '--samples', '2');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/runs backwards/);
  });
});

describe('webntk select: bad input → exit 2, one line, nothing written', () => {
  const out = () => tmp('never.json');
  const pred = () => tmp('never.npy');
  fs.writeFileSync(tmp('frac.npy'), encodeNpy([...y.slice(0, -1), 1.5], [n]));
  fs.writeFileSync(tmp('big.npy'), encodeNpy([...y.slice(0, -1), 3], [n], 'int64'));
  fs.writeFileSync(tmp('short.npy'), encodeNpy(z.slice(1), [n - 1]));
  fs.writeFileSync(tmp('badtl.npy'), encodeNpy([...yt.slice(1), -1], [m], 'int64'));

  it.each([
    ['--folds 1', [...cls3, '--folds', '1'], /--folds must be an integer ≥ 2/],
    ['--folds > n', [...cls3, '--folds', '31'], /31 folds for 30 training rows/],
    ['--folds not an integer', [...cls3, '--folds', '2.5'], /--folds must be an integer/],
    ['labels not integers', [...base, '--targets', tmp('frac.npy'), '--classes', '3'], /not an integer class label/],
    ['labels out of range', [...base, '--targets', tmp('big.npy'), '--classes', '3'], /outside 0 … 2/],
    ['test labels out of range', [...cls3, '--test', tmp('T.npy'), '--test-labels', tmp('badtl.npy')], /outside 0 … 2/],
    ['targets rows ≠ train rows', [...base, '--targets', tmp('short.npy')], /targets: 29 rows but there are 30 training inputs/],
    ['--test-labels without --classes', [...base, '--targets', tmp('z.npy'), '--test', tmp('T.npy'), '--test-labels', tmp('yt.npy')], /--test-labels needs --classes/],
    ['--pred-out without --test', [...cls3, '--pred-out', tmp('p.npy')], /--pred-out needs --test/],
    ['--test-labels and --test-targets', [...cls3, '--test', tmp('T.npy'), '--test-labels', tmp('yt.npy'), '--test-targets', tmp('zt.npy')], /not both/],
    ['--test-targets without --test', [...base, '--targets', tmp('z.npy'), '--test-targets', tmp('zt.npy')], /--test-targets needs --test/],
    ['an empty --ridge', [...cls3, '--ridge', ''], /--ridge is empty/],
    ['an empty --depths', [...cls3, '--depths', ''], /--depths is empty/],
    ['a negative ridge', [...cls3, '--ridge', '1e-3,-1'], /ridge -1 is negative/],
    ['a depth beyond the arch', [...cls3, '--depths', '1..5'], /depth 5 exceeds 4/],
    ['an unknown kernel', [...cls3, '--kernel', 'nngp,cntk'], /--kernel must be nngp, ntk or nngp,ntk/],
    ['a depth=inf arch', ['select', '--arch', 'huang2020:depth=inf,gamma=0.75', '--train', tmp('X.npy'), '--targets', tmp('z.npy')], /infinite-depth limit/],
  ])('%s', async (_, argv, msg) => {
    const r = await runCli(...argv, '--out', out());
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
    expect(fs.existsSync(out())).toBe(false);
    expect(fs.existsSync(pred())).toBe(false);
  });

  it('outputs: each with its extension, none an input, none a symbolic link; a missing input is an I/O error (exit 4)', async () => {
    const test = ['--test', tmp('T.npy'), '--test-labels', tmp('yt.npy')];
    const wrong = await runCli(...cls3, ...test, '--out', tmp('same.npy'), '--pred-out', tmp('same.json'));
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/same\.npy: this output is written as \.json/);
    const before = fs.readFileSync(tmp('X.npy'));
    const clobber = await runCli(...cls3, ...test, '--pred-out', tmp('X.npy'));
    expect(clobber.code).toBe(2);
    expect(clobber.err).toMatch(/--pred-out .*X\.npy is the same file as --train /);
    fs.symlinkSync(tmp('yt.npy'), tmp('link.json'));
    const viaLink = await runCli(...cls3, ...test, '--out', tmp('link.json'));
    expect(viaLink.code).toBe(2);
    expect(viaLink.err).toMatch(/link\.json is a symbolic link, not a regular file/);
    expect(fs.readFileSync(tmp('X.npy'))).toEqual(before);
    expect(fs.existsSync(tmp('same.npy'))).toBe(false);
    const missing = await runCli(...cls3, '--targets', tmp('nope.npy'), '--out', tmp('m.json'));
    expect(missing.code).toBe(4);
    expect(missing.err).toMatch(/^webntk: error: cannot read input .*nope\.npy: no such file or folder \(ENOENT\)\n$/);
  });
});

describe('webntk select on the embedded Fashion-MNIST subset', () => {
  it('picks a depth and ridge by 5-fold CV on 300 training images and reports the test accuracy', async () => {
    // The first 300 training and 100 test images of data/ (raw pixels), to keep the test short.
    const img = parseNpy(fs.readFileSync('data/fashion-train-images.npy'));
    const lab = parseNpy(fs.readFileSync('data/fashion-train-labels.npy'));
    const timg = parseNpy(fs.readFileSync('data/fashion-test-images.npy'));
    const tlab = parseNpy(fs.readFileSync('data/fashion-test-labels.npy'));
    const scale = (a: Float64Array) => Array.from(a, (v) => v / 255);
    fs.writeFileSync(tmp('fx.npy'), encodeNpy(scale(img.data.subarray(0, 300 * 784)), [300, 784]));
    fs.writeFileSync(tmp('fy.npy'), encodeNpy(Array.from(lab.data.subarray(0, 300)), [300], 'int64'));
    fs.writeFileSync(tmp('ftx.npy'), encodeNpy(scale(timg.data.subarray(0, 100 * 784)), [100, 784]));
    fs.writeFileSync(tmp('fty.npy'), encodeNpy(Array.from(tlab.data.subarray(0, 100)), [100], 'int64'));
    const r = await runCli('select', '--arch', 'arora2019:depth=6', '--train', tmp('fx.npy'), '--targets', tmp('fy.npy'), '--classes', '10',
      '--kernel', 'nngp,ntk', '--depths', '1..6', '--ridge', '1e-6..1e-1:6', '--folds', '5',
      '--test', tmp('ftx.npy'), '--test-labels', tmp('fty.npy'), '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.rows).toHaveLength(2 * 6 * 6);
    expect(report.best.score).toBeGreaterThan(0.6);
    expect(report.test.score).toBeGreaterThan(0.6);
  });
});
