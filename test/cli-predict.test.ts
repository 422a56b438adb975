/** `webntk predict` from files: outputs, accuracy, variance, warnings and bad targets. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { predict } from '../src/index.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { runCli as run } from './cli-run.js';
import { Rng } from '../src/mc/rng.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webntk-cli-predict-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const tmp = (n: string) => path.join(dir, n);

const rng = new Rng(11);
const X = Array.from({ length: 30 }, () => Array.from({ length: 4 }, () => rng.normal()));
const T = Array.from({ length: 8 }, () => Array.from({ length: 4 }, () => rng.normal()));
const y = X.map((r) => (r[0]! + r[1]! > 0 ? 1 : 0));
const yt = T.map((r) => (r[0]! + r[1]! > 0 ? 1 : 0));
fs.writeFileSync(tmp('X.npy'), encodeNpy(X.flat(), [30, 4]));
fs.writeFileSync(tmp('T.npy'), encodeNpy(T.flat(), [8, 4]));
fs.writeFileSync(tmp('y.npy'), encodeNpy(y, [30]));
fs.writeFileSync(tmp('yt.npy'), encodeNpy(yt, [8]));
const base = ['predict', '--arch', 'mlp:depth=3', '--train', tmp('X.npy'), '--test', tmp('T.npy')];

describe('webntk predict', () => {
  it('NNGP with variance writes the same predictions as the API', async () => {
    const r = await run(...base, '--targets', tmp('y.npy'), '--kernel', 'nngp', '--ridge', '1e-3', '--out', tmp('P.npy'), '--variance', tmp('V.npy'));
    expect(r.code, r.err).toBe(0);
    const api = await predict('mlp:depth=3', X, y, T, { kernel: 'nngp', ridge: 1e-3, variance: true });
    const P = parseNpy(fs.readFileSync(tmp('P.npy')));
    expect(P.shape).toEqual([8]); // 1-D targets give 1-D predictions
    expect(Array.from(P.data)).toEqual(Array.from(api.mean[0]!));
    expect(Array.from(parseNpy(fs.readFileSync(tmp('V.npy'))).data)).toEqual(Array.from(api.variance!));
  });

  it('NTK at several times with class labels prints the accuracy at each and stacks the output', async () => {
    const r = await run(...base, '--targets', tmp('y.npy'), '--classes', '2', '--test-labels', tmp('yt.npy'), '--kernel', 'ntk', '--time', '0,1,inf', '--out', tmp('Q.npy'));
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(3);
    expect(r.out).toMatch(/test accuracy at t = 0: \d+\.\d\d%/);
    const Q = parseNpy(fs.readFileSync(tmp('Q.npy')));
    expect(Q.shape).toEqual([3, 8, 2]);
    expect(Array.from(Q.data.subarray(0, 16)).every((v) => v === 0)).toBe(true); // t = 0: the zero-mean output
  });

  it('a duplicate training point with ridge 0 warns with the condition number and a suggested ridge; no NaN', async () => {
    const Xd = [...X, X[3]!];
    fs.writeFileSync(tmp('Xd.npy'), encodeNpy(Xd.flat(), [31, 4]));
    fs.writeFileSync(tmp('yd.npy'), encodeNpy([...y, y[3]!], [31]));
    const r = await run('predict', '--arch', 'mlp:depth=3', '--train', tmp('Xd.npy'), '--test', tmp('T.npy'), '--targets', tmp('yd.npy'), '--kernel', 'ntk', '--out', tmp('D.npy'));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/webntk: warning: .*condition number/);
    expect(r.err).toMatch(/ridge/);
    expect(r.err).toMatch(/--ridge-rel [\d.e+-]+ \(relative to the mean diagonal/);
    expect(r.err).toMatch(/`webntk select` chooses the depth and the relative ridge by cross-validation/);
    expect(Array.from(parseNpy(fs.readFileSync(tmp('D.npy'))).data).every(Number.isFinite)).toBe(true);
  });

  it.each([
    ['targets of the wrong length', () => encodeNpy([1, 2, 3], [3]), [], /3|30/],
    ['NaN targets', () => encodeNpy([...y.slice(0, 29), NaN], [30]), [], /NaN|finite/],
    ['non-integer labels with --classes', () => encodeNpy([...y.slice(0, 29), 0.5], [30]), ['--classes', '2'], /integer|label/],
    ['labels out of range', () => encodeNpy([...y.slice(0, 29), 7], [30]), ['--classes', '2'], /range|label|7/],
  ] as const)('bad targets: %s → exit 2, one line, no output', async (_, make, extra, msg) => {
    fs.writeFileSync(tmp('bad.npy'), make());
    const out = tmp('never.npy');
    const r = await run(...base, '--targets', tmp('bad.npy'), ...extra, '--kernel', 'ntk', '--out', out);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('--ridge-rel r is λ = r × the mean diagonal of K_XX, the same predictions as that absolute --ridge', async () => {
    const a = await run(...base, '--targets', tmp('y.npy'), '--kernel', 'ntk', '--ridge-rel', '1e-2', '--out', tmp('R1.npy'), '--json');
    expect(a.code, a.err).toBe(0);
    const ja = JSON.parse(a.out);
    expect(ja.relativeRidge).toBe(1e-2);
    const api = await predict('mlp:depth=3', X, y, T, { kernel: 'ntk', relativeRidge: 1e-2 });
    expect(ja.ridge).toBe(api.ridge);
    const b = await run(...base, '--targets', tmp('y.npy'), '--kernel', 'ntk', '--ridge', String(api.ridge), '--out', tmp('R2.npy'));
    expect(b.code, b.err).toBe(0);
    expect(Array.from(parseNpy(fs.readFileSync(tmp('R1.npy'))).data)).toEqual(Array.from(parseNpy(fs.readFileSync(tmp('R2.npy'))).data));
    const both = await run(...base, '--targets', tmp('y.npy'), '--kernel', 'ntk', '--ridge', '1', '--ridge-rel', '1', '--out', tmp('R3.npy'));
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--ridge \(absolute λ\) or --ridge-rel .*not both/);
    expect((await run(...base, '--targets', tmp('y.npy'), '--kernel', 'ntk', '--ridge-rel', '-1', '--out', tmp('R3.npy'))).code).toBe(2);
    expect(fs.existsSync(tmp('R3.npy'))).toBe(false);
  });

  it('--json writes "inf" for t = ∞; 1-D targets at several times give [T, m], matrix targets [T, m, k]', async () => {
    const r = await run(...base, '--targets', tmp('y.npy'), '--kernel', 'ntk', '--time', '1,inf', '--ridge', '1e-3', '--out', tmp('S.npy'), '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.times).toEqual([1, 'inf']);
    expect(j.shape).toEqual([2, 8]);
    expect(parseNpy(fs.readFileSync(tmp('S.npy'))).shape).toEqual([2, 8]);
    fs.writeFileSync(tmp('y2.npy'), encodeNpy(y.flatMap((v) => [v, 1 - v]), [30, 2]));
    const r2 = await run(...base, '--targets', tmp('y2.npy'), '--kernel', 'ntk', '--time', '1,inf', '--ridge', '1e-3', '--out', tmp('S2.npy'), '--json');
    expect(JSON.parse(r2.out).shape).toEqual([2, 8, 2]);
    fs.writeFileSync(tmp('y1.npy'), encodeNpy(y, [30, 1]));
    const r3 = await run(...base, '--targets', tmp('y1.npy'), '--kernel', 'nngp', '--out', tmp('S3.npy'));
    expect(r3.code, r3.err).toBe(0);
    expect(parseNpy(fs.readFileSync(tmp('S3.npy'))).shape).toEqual([8, 1]); // [n, 1] targets stay 2-D
  });

  it('usage errors: --time with NNGP, --variance with NTK, a negative ridge', async () => {
    expect((await run(...base, '--targets', tmp('y.npy'), '--kernel', 'nngp', '--time', '1', '--out', tmp('a.npy'))).code).toBe(2);
    expect((await run(...base, '--targets', tmp('y.npy'), '--kernel', 'ntk', '--variance', tmp('v.npy'), '--out', tmp('a.npy'))).code).toBe(2);
    expect((await run(...base, '--targets', tmp('y.npy'), '--kernel', 'ntk', '--ridge', '-1', '--out', tmp('a.npy'))).code).toBe(2);
  });
});
