/**
 * CG checkpoints (solve/cg.ts `onIteration`/`resume`; `webntk predict --solver cg-matfree
 * --cg-checkpoint`): a solve resumed from any saved iteration ends bit for bit where the
 * uninterrupted one does, in the API and across processes (the CLI killed by SIGKILL mid-solve and
 * rerun); a state from another system, a checkpoint from another run and a damaged file are
 * refused in one line (exit 2) and left in place.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import { encodeNpy } from '../src/io/npy.js';
import { Rng } from '../src/mc/rng.js';
import { solveCg, type CgState } from '../src/solve/cg.js';
import { runCli } from './cli-run.js';
import { transpiledCli } from './transpiled-cli.js';

/** A deep copy: CG updates its arrays in place. */
const copy = (s: CgState): CgState => ({
  ...s,
  x: s.x.slice(),
  r: s.r.slice(),
  p: s.p.slice(),
  rz: s.rz.slice(),
  active: [...s.active],
  alphas: [...s.alphas],
  betas: [...s.betas],
  residuals: s.residuals.slice(),
});

describe('solveCg: onIteration and resume', () => {
  // A random SPD K = AAᵀ/m with a spread spectrum, three right-hand sides.
  const n = 120;
  const k = 3;
  const rng = new Rng(7);
  const A = Float64Array.from({ length: n * n }, () => rng.normal());
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += A[i * n + t]! * A[j * n + t]! * 0.97 ** t;
      K[i * n + j] = s / n;
    }
  }
  const Y = Float64Array.from({ length: n * k }, () => rng.normal());
  const mul = async (P: Float64Array, kk: number) => {
    const out = new Float64Array(n * kk);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let c = 0; c < kk; c++) out[i * kk + c] = out[i * kk + c]! + K[i * n + j]! * P[j * kk + c]!;
    return out;
  };
  const ridge = 1e-2;
  const opts = { tol: 1e-9, rank: 10 };

  it('a run resumed from iteration 0, 1, 5 or 17 ends bit for bit as the uninterrupted one', async () => {
    const states: CgState[] = [];
    const whole = await solveCg(n, k, Y, ridge, K, mul, { ...opts, onIteration: (s) => void states.push(copy(s)) });
    expect(whole.converged).toBe(true);
    expect(whole.iterations).toBeGreaterThan(20);
    expect(states.map((s) => s.iteration)).toEqual(Array.from({ length: whole.iterations + 1 }, (_, i) => i));
    // The reported residuals are the stopping rule's: the last one meets the tolerance, the first is ‖y‖/‖y‖.
    expect(Math.max(...states.at(-1)!.residuals)).toBeLessThanOrEqual(1e-9);
    expect(whole.preconditioner).toBe('pivoted Cholesky, rank 10');
    expect([...states[0]!.residuals]).toEqual([1, 1, 1]);
    for (const at of [0, 1, 5, 17]) {
      const seen: number[] = [];
      const resumed = await solveCg(n, k, Y, ridge, K, mul, { ...opts, resume: copy(states[at]!), onIteration: (s) => void seen.push(s.iteration) });
      expect(resumed.iterations).toBe(whole.iterations);
      expect(resumed.x).toEqual(whole.x);
      expect(resumed.relativeResidual).toBe(whole.relativeResidual);
      expect(resumed.conditionEstimate).toBe(whole.conditionEstimate);
      expect(seen[0]).toBe(at + 1);
    }
    // maxIterations counts the resumed iterations: a state at the cap runs none.
    const capped = await solveCg(n, k, Y, ridge, K, mul, { ...opts, maxIterations: 5, resume: copy(states[5]!) });
    expect(capped.iterations).toBe(5);
    expect(capped.x).toEqual(states[5]!.x);
    // ... and builds no preconditioner: at n = 60 000 its pivot columns take minutes.
    let columnCalls = 0;
    const rows = {
      diag: Float64Array.from({ length: n }, (_, i) => K[i * n + i]!),
      columns: async (idx: number[]) => {
        columnCalls++;
        const out = new Float64Array(n * idx.length);
        for (let i = 0; i < n; i++) idx.forEach((j, c) => (out[i * idx.length + c] = K[i * n + j]!));
        return out;
      },
    };
    const idle = await solveCg(n, k, Y, ridge, rows, mul, { ...opts, maxIterations: 5, resume: copy(states[5]!) });
    expect(idle.x).toEqual(states[5]!.x);
    expect(columnCalls).toBe(0);
    const finished = await solveCg(n, k, Y, ridge, rows, mul, { ...opts, resume: copy(states.at(-1)!) });
    expect(finished.x).toEqual(whole.x);
    expect(columnCalls).toBe(0);
    // The same rows with an iteration left do build it.
    await solveCg(n, k, Y, ridge, rows, mul, { ...opts, maxIterations: 6, resume: copy(states[5]!) });
    expect(columnCalls).toBeGreaterThan(0);
  });

  it("a resumed run leaves the caller's state as it was; another --cg-tol: a looser one stops at once, a tighter one does not restart stopped columns", async () => {
    const states: CgState[] = [];
    const whole = await solveCg(n, k, Y, ridge, K, mul, { ...opts, onIteration: (s) => void states.push(copy(s)) });
    const mid = copy(states[6]!);
    const before = copy(mid);
    const resumed = await solveCg(n, k, Y, ridge, K, mul, { ...opts, resume: mid });
    expect(resumed.x).toEqual(whole.x);
    expect(mid).toEqual(before);
    // Looser: every column's saved residual already meets 10 × its largest: no iteration, converged.
    const loose = Math.max(...mid.residuals) * 10;
    let products = 0;
    const counted = async (P: Float64Array, kk: number) => (products++, mul(P, kk));
    const stop = await solveCg(n, k, Y, ridge, K, counted, { ...opts, tol: loose, resume: copy(mid) });
    expect(stop.iterations).toBe(6);
    expect(stop.converged).toBe(true);
    expect(stop.x).toEqual(mid.x);
    expect(products).toBe(1); // the true residual only
    // Tighter than the finished run's rule: nothing restarts, and the result says it did not converge.
    const tight = await solveCg(n, k, Y, ridge, K, mul, { ...opts, tol: 1e-12, resume: copy(states.at(-1)!) });
    expect(tight.iterations).toBe(whole.iterations);
    expect(tight.x).toEqual(whole.x);
    expect(tight.converged).toBe(false);
  });

  it('refuses a state of another system: ridge, sizes, preconditioner', async () => {
    let last: CgState | null = null;
    await solveCg(n, k, Y, ridge, K, mul, { ...opts, maxIterations: 2, onIteration: (s) => void (last = copy(s)) });
    const s = last!;
    await expect(solveCg(n, k, Y, 2 * ridge, K, mul, { ...opts, resume: s })).rejects.toThrow(/another system \(ridge 0.01, this run 0.02\)/);
    await expect(solveCg(n, k, Y, ridge, K, mul, { ...opts, rank: 0, resume: s })).rejects.toThrow(/preconditioner "pivoted Cholesky, rank 10", this run "Jacobi \(diagonal\)"/);
    const Y2 = Y.subarray(0, n * 2);
    await expect(solveCg(n, 2, Y2, ridge, K, mul, { ...opts, resume: s })).rejects.toThrow(InputError);
  });
});

describe('webntk predict --cg-checkpoint', () => {
  let dir = '';
  let cli = '';
  let removeBuild = () => {};
  const tmp = (f: string) => join(dir, f);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'webntk-cgck-'));
    ({ cli, remove: removeBuild } = transpiledCli());
    const rng = new Rng(11);
    const n = 400;
    writeFileSync(tmp('X.npy'), encodeNpy(Float64Array.from({ length: n * 6 }, () => rng.normal()), [n, 6]));
    writeFileSync(tmp('T.npy'), encodeNpy(Float64Array.from({ length: 30 * 6 }, () => rng.normal()), [30, 6]));
    writeFileSync(tmp('y.npy'), encodeNpy(Float64Array.from({ length: n * 2 }, () => rng.normal()), [n, 2]));
  }, 60_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    removeBuild();
  });
  // A slow solve (small ridge, Jacobi, tight tolerance: hundreds of iterations) to be killed mid-run.
  const args = (out: string, ...extra: string[]) => [
    'predict', '--arch', 'arora2019:depth=3', '--train', tmp('X.npy'), '--targets', tmp('y.npy'), '--test', tmp('T.npy'), '--kernel', 'nngp',
    '--solver', 'cg-matfree', '--ridge-rel', '1e-6', '--cg-rank', '0', '--cg-tol', '1e-9', '--out', tmp(out), ...extra,
  ];
  const iterationIn = (file: string): number => {
    try {
      const b = readFileSync(file);
      const at = 'webntk-cg-checkpoint 1\n'.length;
      return (JSON.parse(b.subarray(at + 4, at + 4 + b.readUInt32LE(at)).toString('utf8')) as { iteration: number }).iteration;
    } catch {
      return -1;
    }
  };
  const child = (argv: string[], killAt?: { file: string; iteration: number }) =>
    new Promise<{ code: number | null; signal: string | null; err: string }>((done, fail) => {
      const c = spawn(process.execPath, [cli, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      c.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      c.on('error', fail);
      c.on('close', (code, signal) => {
        clearInterval(poll);
        done({ code, signal, err });
      });
      const poll = setInterval(() => {
        if (killAt && iterationIn(killAt.file) >= killAt.iteration) c.kill('SIGKILL');
      }, 5);
    });

  it('killed by SIGKILL mid-solve and rerun: the predictions equal the uninterrupted run byte for byte', { timeout: 120_000 }, async () => {
    const whole = await child(args('whole.npy'));
    expect(whole.code, whole.err).toBe(0);
    const ck = tmp('ck.bin');
    const killed = await child(args('P.npy', '--cg-checkpoint', ck), { file: ck, iteration: 3 });
    expect(killed.signal, killed.err).toBe('SIGKILL');
    expect(existsSync(tmp('P.npy'))).toBe(false);
    const at = iterationIn(ck);
    expect(at).toBeGreaterThanOrEqual(3);
    expect(killed.err).toMatch(/CG iteration 2: relative residual \d\.\d\de[+-]\d+ \(largest of 2\), \d+ s, saved to /);
    const rerun = await child(args('P.npy', '--cg-checkpoint', ck));
    expect(rerun.code, rerun.err).toBe(0);
    expect(rerun.err).toMatch(new RegExp(`resuming CG from .*ck\\.bin at iteration ${at}\\n`));
    expect(rerun.err).not.toMatch(new RegExp(`CG iteration ${at}:`));
    expect(readFileSync(tmp('P.npy')).equals(readFileSync(tmp('whole.npy')))).toBe(true);
    // The finished state predicts another test set with no further iteration.
    const again = await runCli(...args('Q.npy', '--cg-checkpoint', ck, '--json'));
    expect(again.code, again.err).toBe(0);
    const s = JSON.parse(again.out) as { cg: { iterations: number; converged: boolean } };
    expect(s.cg.converged).toBe(true);
    expect(again.err).not.toMatch(/CG iteration/);
    expect(readFileSync(tmp('Q.npy')).equals(readFileSync(tmp('whole.npy')))).toBe(true);
  });

  it('another run, a damaged file, another solver: one line, exit 2, the file left as it was', { timeout: 60_000 }, async () => {
    const ck = tmp('ck2.bin');
    const first = await runCli(...args('R.npy', '--cg-checkpoint', ck, '--cg-max-iter', '2', '--quiet'));
    expect(first.code, first.err).toBe(0);
    expect(first.err).not.toMatch(/CG iteration/);
    const saved = readFileSync(ck);
    writeFileSync(tmp('junk.bin'), 'not a checkpoint');
    for (const [extra, message] of [
      [['--ridge-rel', '1e-3'], /--cg-checkpoint .*ck2\.bin: saved by a different run \(ridgeRel: "1e-6" there, "1e-3" here\); delete it or give another path/],
      [['--kernel', 'ntk'], /saved by a different run \(kernel: "nngp" there, "ntk" here\)/],
      [['--targets', tmp('X.npy')], /saved by a different run \(targets: "[0-9a-f]{64}" there, "[0-9a-f]{64}" here\)/],
      [['--solver', 'cg'], /--cg-checkpoint applies to --solver cg-matfree/],
      [['--cg-checkpoint', tmp('X.npy')], /--cg-checkpoint .*X\.npy is the same file as --train .*X\.npy: writing it would destroy the input/],
    ] as const) {
      const bad = await runCli(...args('S.npy', '--cg-checkpoint', ck), ...extra);
      expect(bad.code, bad.err).toBe(2);
      expect(bad.err).toMatch(message);
      expect(bad.err.trim().split('\n')).toHaveLength(1);
      expect(readFileSync(ck).equals(saved)).toBe(true);
      expect(existsSync(tmp('S.npy'))).toBe(false);
    }
    const junk = await runCli(...args('S.npy', '--cg-checkpoint', tmp('junk.bin')));
    expect(junk.code).toBe(2);
    expect(junk.err).toMatch(/junk\.bin: not a webntk CG checkpoint \(delete it or give another path\)/);
    writeFileSync(tmp('cut.bin'), saved.subarray(0, saved.length - 8));
    const cut = await runCli(...args('S.npy', '--cg-checkpoint', tmp('cut.bin')));
    expect(cut.code).toBe(2);
    expect(cut.err).toMatch(/cut\.bin: \d+ bytes, expected \d+ for 400 × 2 \(a damaged file: delete it to start over\)/);
    // A header that is JSON but not a CG state (a field missing).
    const at = 'webntk-cg-checkpoint 1\n'.length;
    const header = JSON.parse(saved.subarray(at + 4, at + 4 + saved.readUInt32LE(at)).toString('utf8')) as Record<string, unknown>;
    delete header.active;
    const h2 = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(h2.length);
    writeFileSync(tmp('hollow.bin'), Buffer.concat([saved.subarray(0, at), len, h2, saved.subarray(at + 4 + saved.readUInt32LE(at))]));
    const hollow = await runCli(...args('S.npy', '--cg-checkpoint', tmp('hollow.bin')));
    expect(hollow.code, hollow.err).toBe(2);
    expect(hollow.err.trim()).toMatch(/hollow\.bin: its header lacks fields of a CG state \(a damaged file: delete it to start over\)$/);
    // The fingerprint passes but the system does not (as another device's diagonal under --backend auto would).
    const other = JSON.parse(saved.subarray(at + 4, at + 4 + saved.readUInt32LE(at)).toString('utf8')) as { ridge: number };
    other.ridge *= 2;
    const h3 = Buffer.from(JSON.stringify(other), 'utf8');
    len.writeUInt32LE(h3.length);
    writeFileSync(tmp('other.bin'), Buffer.concat([saved.subarray(0, at), len, h3, saved.subarray(at + 4 + saved.readUInt32LE(at))]));
    const sys = await runCli(...args('S.npy', '--cg-checkpoint', tmp('other.bin')));
    expect(sys.code, sys.err).toBe(2);
    expect(sys.err.trim().split('\n').at(-1)).toMatch(/^webntk: error: --cg-checkpoint .*other\.bin: the saved state belongs to another system \(ridge [0-9.e-]+, this run [0-9.e-]+\); delete it or give another path to start over$/);
    const empty = await runCli(...args('S.npy', '--cg-checkpoint', ''));
    expect(empty.code).toBe(2);
    expect(empty.err.trim()).toBe('webntk: error: the checkpoint path (--cg-checkpoint) is empty');
  });
});
