/**
 * Sharded Gram matrices (README "Sharded Gram matrices (array jobs)"): the shard assignment as a
 * pure function, `--shard auto`'s reading of the Slurm and Kubernetes variables, and the CLI as
 * separate processes — 4 shards run out of order, one killed by SIGTERM and rerun, merged and
 * compared byte for byte with the single-process gram; `--get nngp,ntk` with `--depths all`; the
 * merge's refusals; the README's Slurm and Kubernetes command lines with their variables simulated.
 *
 * The CLI runs as separate processes, transpiled from src/ (test/transpiled-cli.ts).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignShards, shardBlocks, shardGrid } from '../src/exec/shards.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { parseShard } from '../src/node/shard-option.js';
import { transpiledCli } from './transpiled-cli.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('shard assignment (src/exec/shards.ts)', () => {
  const cases: [number, number, boolean, number, number][] = [
    [40, 40, true, 4, 4],
    [40, 23, false, 6, 3],
    [1000, 1000, true, 64, 7],
    [5, 5, true, 16, 10],
    [100, 37, false, 10, 1],
    [333, 333, true, 10, 16],
  ];
  it.each(cases)('%i × %i (symmetric %s), blocks of %i, %i shards: every block exactly once, work balanced within one block', (n1, n2, sym, B, N) => {
    const grid = shardGrid(n1, n2, sym, B);
    // The grid covers the matrix (the upper triangle once when symmetric).
    const pairs = grid.reduce((a, b) => a + b.work, 0);
    expect(pairs).toBe(sym ? (n1 * (n1 + 1)) / 2 : n1 * n2);
    const shards = assignShards(grid, N);
    expect(shards).toHaveLength(N);
    const seen = new Map<string, number>();
    for (const s of shards) for (const b of s) seen.set(`${b.row0},${b.col0}`, (seen.get(`${b.row0},${b.col0}`) ?? 0) + 1);
    expect(seen.size).toBe(grid.length);
    expect([...seen.values()].every((c) => c === 1)).toBe(true);
    const loads = shards.map((s) => s.reduce((a, b) => a + b.work, 0));
    const maxWork = Math.max(...grid.map((b) => b.work));
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(maxWork);
    // Deterministic, and each shard alone computes the same list.
    for (let i = 0; i < N; i++) expect(shardBlocks(n1, n2, sym, B, i, N)).toEqual(shards[i]);
  });

  it('refuses a shard that does not exist and a count below 1', () => {
    expect(() => shardBlocks(10, 10, true, 4, 4, 4)).toThrow(/shard 4 of 4 does not exist/);
    expect(() => assignShards(shardGrid(10, 10, true, 4), 0)).toThrow(/positive whole number/);
  });
});

describe('--shard I/N and --shard auto (src/node/shard-option.ts)', () => {
  const slurm = (id: number, min: number, count: number, extra: Record<string, string> = {}) => ({
    SLURM_ARRAY_TASK_ID: String(id),
    SLURM_ARRAY_TASK_MIN: String(min),
    SLURM_ARRAY_TASK_MAX: String(min + count - 1),
    SLURM_ARRAY_TASK_COUNT: String(count),
    ...extra,
  });
  it('reads I/N, Slurm arrays that start anywhere (with a step) and Kubernetes indices', () => {
    expect(parseShard(undefined, undefined, {})).toBeNull();
    expect(parseShard('2/4', undefined, {})).toMatchObject({ index: 2, count: 4 });
    expect(parseShard('auto', undefined, slurm(3, 1, 4))).toMatchObject({ index: 2, count: 4 });
    expect(parseShard('auto', undefined, slurm(0, 0, 4))).toMatchObject({ index: 0, count: 4 });
    expect(parseShard('auto', '4', slurm(7, 5, 4))).toMatchObject({ index: 2, count: 4 });
    const stepped = { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '10', SLURM_ARRAY_TASK_STEP: '3', SLURM_ARRAY_TASK_COUNT: '4' };
    expect(parseShard('auto', undefined, stepped)).toMatchObject({ index: 2, count: 4 });
    expect(parseShard('auto', '4', { JOB_COMPLETION_INDEX: '3' })).toMatchObject({ index: 3, count: 4 });
  });
  it.each([
    ['3of4', undefined, {}, /--shard must be I\/N/],
    ['4/4', undefined, {}, /shard 4 does not exist among 4/],
    ['0/0', undefined, {}, /at least 1/],
    ['1/4', '3', {}, /--shards 3 disagrees/],
    [undefined, '4', {}, /--shards N goes with --shard auto/],
    ['auto', undefined, {}, /no array-job index in the environment/],
    ['auto', undefined, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4' }, /SLURM_ARRAY_TASK_MIN is not/],
    ['auto', undefined, { SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '9', SLURM_ARRAY_TASK_COUNT: '3' }, /not one evenly stepped range/],
    ['auto', undefined, { SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '3' }, /SLURM_ARRAY_TASK_ID must be a whole number/],
    ['auto', '5', slurm(1, 0, 4), /--shards 5 disagrees with Slurm/],
    ['auto', undefined, { JOB_COMPLETION_INDEX: '1' }, /needs --shards N/],
    ['auto', '4', { JOB_COMPLETION_INDEX: '4' }, /shard 4 does not exist among 4/],
    ['auto', '4', { JOB_COMPLETION_INDEX: '1', ...slurm(1, 0, 4) }, /both SLURM_ARRAY_TASK_ID .* and JOB_COMPLETION_INDEX/],
  ] as const)('--shard %s --shards %s %j: one clear error', (shard, shards, env, message) => {
    expect(() => parseShard(shard, shards, env)).toThrow(message);
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI as processes
// ---------------------------------------------------------------------------------------------

let CLI = '';
let removeBuild = () => {};
let dir = '';

interface Ran {
  code: number | null;
  err: string;
}

/** Runs the CLI in `cwd` with extra environment variables; `act(pid)` may signal it. */
function run(args: string[], opts: { cwd?: string; env?: Record<string, string>; act?: (pid: number) => Promise<void> } = {}): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
  for (const k of Object.keys(env)) if (/^(SLURM_|JOB_COMPLETION_INDEX$)/.test(k) && !(opts.env && k in opts.env)) delete env[k];
  delete env.WEBNTK_FILTERED_CHILD;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code, err }));
    opts.act?.(child.pid!).catch(fail);
  });
}

function npy(name: string, shape: number[], seed: number): string {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
  writeFileSync(join(dir, name), encodeNpy(data, shape, 'float64'));
  return name;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const oneLine = (r: Ran) => {
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  return lines[0]!;
};
const bytes = (name: string) => readFileSync(join(dir, name));
const temps = () => readdirSync(dir).filter((f) => f.includes('.tmp-'));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'webntk-shard-'));
  ({ cli: CLI, remove: removeBuild } = transpiledCli());
  npy('X.npy', [40, 5], 1);
  npy('T.npy', [23, 5], 2);
  npy('images.npy', [40, 1, 8, 8], 3);
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeBuild();
});

describe('webntk gram --shard and webntk merge', () => {
  it('4 shard processes out of order, one killed by SIGTERM mid-run and rerun: the merge equals the whole gram byte for byte', { timeout: 60_000 }, async () => {
    // A conv spec on images: slow enough (~1 s per shard) to be killed mid-run, and its blocks cover
    // the per-input pre-pass too. Blocks of 4 rows: 55 blocks of the upper triangle.
    const gram = ['gram', '--arch', 'cntk:depth=4,readout=gap', '--x1', 'images.npy', '--quiet'];
    const shard = (i: number, act?: (pid: number) => Promise<void>) => run([...gram, '--out', 'K.npy', '--shard', `${i}/4`, '--block-rows', '4'], act ? { act } : {});
    const killed = await shard(2, async (pid) => {
      const t = Date.now();
      while (temps().length === 0 && Date.now() - t < 30_000) await sleep(10);
      process.kill(pid, 'SIGTERM');
    });
    expect(killed.code, killed.err).toBe(143);
    expect(oneLine(killed)).toBe('webntk: interrupted (SIGTERM)');
    expect(existsSync(join(dir, 'K.npy.shard-2-of-4'))).toBe(false);
    expect(temps()).toEqual([]);

    const [whole, s3, s1] = await Promise.all([run([...gram, '--out', 'whole.npy']), shard(3), shard(1)]);
    for (const r of [whole, s3, s1]) expect(r.code, r.err).toBe(0);
    const early = await run(['merge', 'K.npy']);
    expect(early.code).toBe(2);
    expect(oneLine(early)).toBe('webntk: error: K.npy: missing 2 of 4 shards: 0, 2 (e.g. K.npy.shard-0-of-4); rerun those tasks');
    expect(existsSync(join(dir, 'K.npy'))).toBe(false);

    const [s0, s2] = await Promise.all([shard(0), shard(2)]);
    for (const r of [s0, s2]) expect(r.code, r.err).toBe(0);
    const merged = await run(['merge', 'K.npy']);
    expect(merged.code, merged.err).toBe(0);
    expect(merged.err).toMatch(/^merged K\.npy from 4 shards: ntk \[40, 40\] float64/);
    expect(bytes('K.npy').equals(bytes('whole.npy'))).toBe(true);
    expect(temps()).toEqual([]);
  });

  it('--get nngp,ntk with --depths all, X1 × X2 and float32: one shard file per kernel (--out with {kernel} or without: K.npy → K-nngp.npy, K-ntk.npy), each merged byte for byte', { timeout: 60_000 }, async () => {
    const gram = ['gram', '--arch', 'densenet:depth=6', '--x1', 'X.npy', '--get', 'nngp,ntk', '--depths', 'all', '--quiet'];
    for (const [x2, dtype] of [[[], 'float64'], [['--x2', 'T.npy'], 'float32']] as const) {
      const tag = x2.length ? 'rect' : 'sym';
      const whole = await run([...gram, ...x2, '--dtype', dtype, '--out', `W-${tag}-{kernel}.npy`]);
      expect(whole.code, whole.err).toBe(0);
      // --out D-rect.npy (no {kernel}) names the same files as D-rect-{kernel}.npy: D-rect-nngp.npy, D-rect-ntk.npy.
      const out = x2.length ? `D-${tag}.npy` : `D-${tag}-{kernel}.npy`;
      const shards = await Promise.all([2, 0, 1].map((i) => run([...gram, ...x2, '--dtype', dtype, '--out', out, '--shard', `${i}/3`, '--block-rows', '6'])));
      for (const r of shards) expect(r.code, r.err).toBe(0);
      expect(readdirSync(dir).filter((f) => f.startsWith(`D-${tag}-`)).sort()).toEqual(
        ['nngp', 'ntk'].flatMap((k) => [0, 1, 2].map((i) => `D-${tag}-${k}.npy.shard-${i}-of-3`)).sort(),
      );
      const merged = await run(['merge', `D-${tag}-nngp.npy`, `D-${tag}-ntk.npy`, '--quiet']);
      expect(merged.code, merged.err).toBe(0);
      for (const k of ['nngp', 'ntk']) expect(bytes(`D-${tag}-${k}.npy`).equals(bytes(`W-${tag}-${k}.npy`)), `${tag} ${k}`).toBe(true);
    }
  });

  it('on WebGPU: a fully connected spec merges byte for byte (layer recursion and angle table); a conv spec agrees to float32 rounding (each call scales its inputs)', { timeout: 90_000 }, async () => {
    for (const [arch, x, exact, tag, table] of [
      ['arora2019:depth=5', 'X.npy', true, 'fc', 'off'],
      ['arora2019:depth=5', 'X.npy', true, 'fc-table', 'on'],
      ['cntk:depth=2,readout=gap', 'images.npy', false, 'conv', 'auto'],
    ] as const) {
      const gram = ['gram', '--arch', arch, '--x1', x, '--backend', 'webgpu', '--angle-table', table, '--quiet'];
      const runs = await Promise.all([run([...gram, '--out', `G-${tag}.npy`]), ...[1, 0].map((i) => run([...gram, '--out', `H-${tag}.npy`, '--shard', `${i}/2`, '--block-rows', '16']))]);
      for (const r of runs) expect(r.code, r.err).toBe(0);
      expect((await run(['merge', `H-${tag}.npy`, '--quiet'])).code).toBe(0);
      if (exact) expect(bytes(`H-${tag}.npy`).equals(bytes(`G-${tag}.npy`))).toBe(true);
      else {
        const a = parseNpy(bytes(`G-${tag}.npy`)).data;
        const b = parseNpy(bytes(`H-${tag}.npy`)).data;
        const scale = Math.max(...Array.from(a, Math.abs));
        for (let k = 0; k < a.length; k++) expect(Math.abs(a[k]! - b[k]!)).toBeLessThan(1e-6 * scale);
      }
    }
  });

  it('merge refuses shards of a different spec, a different input file or webntk version, and missing shards: exit 2, one line, no output', { timeout: 60_000 }, async () => {
    const gram = (arch: string, x: string, i: number, out = 'M.npy') => run(['gram', '--arch', arch, '--x1', x, '--out', out, '--shard', `${i}/3`, '--block-rows', '8', '--quiet']);
    writeFileSync(join(dir, 'X2.npy'), bytes('X.npy'));
    const buf = readFileSync(join(dir, 'X2.npy'));
    buf[buf.length - 1] = buf[buf.length - 1]! ^ 1; // one bit of the last value: same shape, another file
    writeFileSync(join(dir, 'X2.npy'), buf);
    const ok = await Promise.all([gram('mlp:depth=3', 'X.npy', 0), gram('mlp:depth=4', 'X.npy', 1), gram('mlp:depth=3', 'X.npy', 2)]);
    for (const r of ok) expect(r.code, r.err).toBe(0);
    const refuse = async (pattern: RegExp) => {
      const r = await run(['merge', 'M.npy']);
      expect(r.code, r.err).toBe(2);
      expect(oneLine(r)).toMatch(pattern);
      expect(existsSync(join(dir, 'M.npy'))).toBe(false);
      expect(temps()).toEqual([]);
    };
    await refuse(/^webntk: error: .*M\.npy\.shard-1-of-3 and .*M\.npy\.shard-0-of-3 come from different runs: their spec \(--arch\) differs \("mlp:depth=4" vs "mlp:depth=3"\)$/);
    expect((await gram('mlp:depth=3', 'X2.npy', 1)).code).toBe(0);
    await refuse(/come from different runs: their input --x1 \(sha256\) differs/);
    expect((await gram('mlp:depth=3', 'X.npy', 1)).code).toBe(0);
    // Another webntk version: the manifest edited in place (same length).
    const s2 = join(dir, 'M.npy.shard-2-of-3');
    const kept = readFileSync(s2);
    writeFileSync(s2, Buffer.from(kept.toString('latin1').replace(/"webntk":"[^"]*"/, (m) => m.replace(/[0-9]/g, '9')), 'latin1'));
    await refuse(/their webntk version differs/);
    writeFileSync(s2, kept);
    unlinkSync(join(dir, 'M.npy.shard-1-of-3'));
    await refuse(/^webntk: error: M\.npy: missing 1 of 3 shards: 1 \(e\.g\. M\.npy\.shard-1-of-3\); rerun those tasks$/);
    expect((await gram('mlp:depth=3', 'X.npy', 1)).code).toBe(0);
    const merged = await run(['merge', 'M.npy', '--quiet']);
    expect(merged.code, merged.err).toBe(0);
  });

  it("the README's Slurm and Kubernetes command lines, with their variables simulated, write the right shards; no index is exit 2", { timeout: 60_000 }, async () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Sharded Gram matrices'));
    const slurmLine = section.split('\n').find((l) => l.startsWith('webntk gram') && l.includes('--shard auto'))!;
    expect(slurmLine).toBeDefined();
    const slurmArgs = slurmLine.split(/\s+/).slice(1);
    const k8s = JSON.parse(/command: (\[[^\]]*\])/s.exec(section)![1]!) as string[];
    const k8sArgs = k8s.slice(k8s.indexOf('gram'));
    const sub = join(dir, 'readme');
    mkdirSync(sub);
    copyFileSync(join(dir, 'X.npy'), join(sub, 'X.npy'));
    // Task 3 of `--array=1-4` is shard 2 of 4; Kubernetes index 1 is shard 1 of 4.
    const slurm = await run(slurmArgs, { cwd: sub, env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '4', SLURM_ARRAY_TASK_COUNT: '4' } });
    expect(slurm.code, slurm.err).toBe(0);
    const kube = await run(k8sArgs, { cwd: sub, env: { JOB_COMPLETION_INDEX: '1' } });
    expect(kube.code, kube.err).toBe(0);
    expect(readdirSync(sub).sort()).toEqual(['K.npy.shard-1-of-4', 'K.npy.shard-2-of-4', 'X.npy']);
    const none = await run(slurmArgs, { cwd: sub });
    expect(none.code).toBe(2);
    expect(oneLine(none)).toMatch(/^webntk: error: --shard auto: no array-job index in the environment/);
    const noMin = await run(slurmArgs, { cwd: sub, env: { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4' } });
    expect(noMin.code).toBe(2);
    expect(oneLine(noMin)).toMatch(/SLURM_ARRAY_TASK_MIN is not/);
    // The other two shards by hand, then the merge equals the single run.
    for (const i of [0, 3]) expect((await run([...slurmArgs.filter((a) => a !== 'auto' && a !== '--shard'), '--shard', `${i}/4`], { cwd: sub })).code).toBe(0);
    expect((await run(['merge', 'K.npy', '--quiet'], { cwd: sub })).code).toBe(0);
    expect((await run([...slurmArgs.filter((a) => a !== 'auto' && a !== '--shard'), '--out', 'W.npy'], { cwd: sub })).code).toBe(0);
    expect(readFileSync(join(sub, 'K.npy')).equals(readFileSync(join(sub, 'W.npy')))).toBe(true);
  });
});
