/**
 * The `webntk gram` command: mostly in-process through `main(argv, io)`, plus a few runs of the
 * real process (through tsx) for the exit codes and the one-line stderr contract.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { kernelCpu, type Arch, type KernelOptions } from '../src/api.js';
import { encodeNpy, parseNpy, type NpyArray } from '../src/io/npy.js';
import { main, EXIT_BAD_INPUT, EXIT_IO, EXIT_OK } from '../src/node/cli.js';

// Lets one test make the final rename of the atomic write fail (everything else is the real fs).
const fsControl = vi.hoisted(() => ({ failRename: false }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return {
    ...actual,
    renameSync: (from: fs.PathLike, to: fs.PathLike) => {
      if (fsControl.failRename) throw Object.assign(new Error('ENOSPC: simulated failure'), { code: 'ENOSPC' });
      return actual.renameSync(from, to);
    },
  };
});

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PKG_VERSION = (JSON.parse(fs.readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

let dir = '';
let counter = 0;
/** A fresh path in the temporary folder (nothing is created). */
const tmp = (name: string): string => join(dir, `${counter++}-${name}`);

beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'webntk-cli-test-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fsControl.failRename = false;
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(...args: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

function spawnCli(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/node/cli.ts', ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Non-empty lines of a stream. */
const lines = (s: string): string[] => s.split('\n').filter((l) => l.length > 0);

function writeNpy(name: string, rows: number[][], dtype: 'float64' | 'float32' = 'float64'): string {
  const path = tmp(name);
  fs.writeFileSync(path, encodeNpy(rows.flat(), [rows.length, rows[0]!.length], dtype));
  return path;
}

function writeRaw(name: string, bytes: Uint8Array | string): string {
  const path = tmp(name);
  fs.writeFileSync(path, bytes);
  return path;
}

/** A .npy file with any descr (numpy's layout: header padded to 64 bytes, ended by '\n'). */
function rawNpy(descr: string, shape: number[], body: Uint8Array, fortranOrder = false): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeText}, }`;
  while ((10 + dict.length + 1) % 64 !== 0) dict += ' ';
  dict += '\n';
  const out = new Uint8Array(10 + dict.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  out.set(body, 10 + dict.length);
  return out;
}

function readOut(path: string): NpyArray {
  return parseNpy(fs.readFileSync(path), path);
}

/** Files in the temporary folder left by an atomic write that did not finish. */
const leftovers = (): string[] => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

/** Inputs (rows) with different norms, including a unit vector; 5 × 3. */
const X: number[][] = [
  [0.6, 0.8, 0], // unit norm
  [1.5, -0.2, 0.7],
  [-0.3, 0.9, 2.1],
  [0.01, 0.02, -0.005],
  [4, -2.5, 1],
];
/** A second set with the same number of features; 3 × 3 (n2 ≠ n1). */
const Y: number[][] = [
  [1, 0, 0],
  [-0.5, 0.25, 0.125],
  [2, 2, -1],
];

let xPath = '';
let yPath = '';
beforeAll(() => {
  xPath = writeNpy('X.npy', X);
  yPath = writeNpy('Y.npy', Y);
});

/** What the library computes for the same request. */
function expected(arch: Arch, x1: number[][], x2: number[][] | null, get: 'nngp' | 'ntk', opts: KernelOptions = {}) {
  const r = kernelCpu(arch, x1, x2, { ...opts, get });
  return { values: Array.from(r[get]!), shape: r.shape };
}

/** Runs gram successfully and returns the parsed output. */
async function gramOk(...args: string[]): Promise<NpyArray> {
  const out = tmp('K.npy');
  const r = await run('gram', ...args, '--out', out);
  expect(r.err, 'stderr of a successful run').not.toMatch(/error/);
  expect(r.code).toBe(EXIT_OK);
  expect(r.out).toBe('');
  // One progress line naming the output and the shape.
  expect(lines(r.err)).toHaveLength(1);
  expect(r.err).toContain(`wrote ${out}`);
  expect(fs.existsSync(out)).toBe(true);
  const arr = readOut(out);
  expect(arr.dtype).toBe('<f8');
  // C order, as the header says.
  expect(new TextDecoder().decode(fs.readFileSync(out).subarray(0, 128))).toContain("'fortran_order': False");
  expect(r.err).toContain(`[${arr.shape.join(', ')}]`);
  return arr;
}

describe('webntk gram: results', () => {
  it('arora2019 NTK of X × X: float64 [n1, n1], equal to kernelCpu, exactly symmetric, known diagonal', async () => {
    const depth = 3;
    const arr = await gramOk('--arch', `arora2019:depth=${depth}`, '--x1', xPath, '--get', 'ntk');
    expect(arr.shape).toEqual([5, 5]);
    const want = expected(`arora2019:depth=${depth}`, X, null, 'ntk');
    expect(want.shape).toEqual([5, 5]);
    expect(Array.from(arr.data)).toEqual(want.values);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) expect(arr.data[i * 5 + j]).toBe(arr.data[j * 5 + i]);
    }
    // Arora et al.: a unit input paired with itself gives NTK = L + 1.
    expect(arr.data[0]).toBeCloseTo(depth + 1, 12);
    // And the diagonal scales with the squared norm (ReLU kernels are positively homogeneous).
    const n2 = X[1]!.reduce((s, v) => s + v * v, 0);
    expect(arr.data[1 * 5 + 1]! / n2).toBeCloseTo(depth + 1, 12);
  });

  it('arora2019 NNGP: a unit input keeps K(x, x) = 1 (c_σ = 2)', async () => {
    const arr = await gramOk('--arch', 'arora2019:depth=4', '--x1', xPath, '--get', 'nngp');
    expect(Array.from(arr.data)).toEqual(expected('arora2019:depth=4', X, null, 'nngp').values);
    expect(arr.data[0]).toBeCloseTo(1, 13);
  });

  it('--get defaults to ntk', async () => {
    const arr = await gramOk('--arch', 'arora2019:depth=2', '--x1', xPath);
    expect(Array.from(arr.data)).toEqual(expected('arora2019:depth=2', X, null, 'ntk').values);
    expect(Array.from(arr.data)).not.toEqual(expected('arora2019:depth=2', X, null, 'nngp').values);
  });

  it('--x2 gives the [n1, n2] cross kernel (tirer2021:depth=5,alpha=0.1, nngp and ntk)', async () => {
    for (const get of ['nngp', 'ntk'] as const) {
      const arr = await gramOk('--arch', 'tirer2021:depth=5,alpha=0.1', '--x1', xPath, '--x2', yPath, '--get', get, '--backend', 'cpu');
      expect(arr.shape).toEqual([5, 3]);
      expect(Array.from(arr.data)).toEqual(expected('tirer2021:depth=5,alpha=0.1', X, Y, get).values);
    }
    // Swapping the sets transposes the matrix.
    const a = await gramOk('--arch', 'tirer2021:depth=5,alpha=0.1', '--x1', xPath, '--x2', yPath, '--get', 'ntk');
    const b = await gramOk('--arch', 'tirer2021:depth=5,alpha=0.1', '--x1', yPath, '--x2', xPath, '--get', 'ntk');
    expect(b.shape).toEqual([3, 5]);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 3; j++) expect(b.data[j * 5 + i]! / a.data[i * 3 + j]!).toBeCloseTo(1, 13);
    }
  });

  it('--x2 equal to x1 matches the symmetric X × X result', async () => {
    const sym = await gramOk('--arch', 'huang2020:depth=50,gamma=0.75', '--x1', xPath);
    const cross = await gramOk('--arch', 'huang2020:depth=50,gamma=0.75', '--x1', xPath, '--x2', xPath);
    expect(cross.shape).toEqual([5, 5]);
    for (let k = 0; k < 25; k++) expect(cross.data[k]! / sym.data[k]!).toBeCloseTo(1, 12);
  });

  it('--depths all for arora2019 gives [depth + 1, n1, n2]; the last slice is the full network', async () => {
    const depth = 3;
    const arr = await gramOk('--arch', `arora2019:depth=${depth}`, '--x1', xPath, '--x2', yPath, '--get', 'ntk', '--depths', 'all');
    expect(arr.shape).toEqual([depth + 1, 5, 3]);
    const want = expected(`arora2019:depth=${depth}`, X, Y, 'ntk', { depths: 'all' });
    expect(want.shape).toEqual(arr.shape);
    expect(Array.from(arr.data)).toEqual(want.values);
    const last = expected(`arora2019:depth=${depth}`, X, Y, 'ntk').values;
    expect(Array.from(arr.data.subarray(depth * 15))).toEqual(last);
    // Slice 0 is the network without hidden layers: Θ0 = Σ0 = x·z (raw inputs).
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 3; j++) {
        const dotXY = X[i]!.reduce((s, v, k) => s + v * Y[j]![k]!, 0);
        expect(arr.data[i * 3 + j]).toBeCloseTo(dotXY, 14);
      }
    }
  });

  it('--depths as a list or range (1,3..4) writes those planes of the sweep, in order; depths outside it are refused', async () => {
    const all = await gramOk('--arch', 'arora2019:depth=4', '--x1', xPath, '--x2', yPath, '--get', 'ntk', '--depths', 'all');
    const some = await gramOk('--arch', 'arora2019:depth=4', '--x1', xPath, '--x2', yPath, '--get', 'ntk', '--depths', '3..4,1');
    expect(some.shape).toEqual([3, 5, 3]);
    [1, 3, 4].forEach((t, i) => expect(Array.from(some.data.subarray(i * 15, (i + 1) * 15))).toEqual(Array.from(all.data.subarray(t * 15, (t + 1) * 15))));
    const out = tmp('K.npy');
    expectBadInput(await run('gram', '--arch', 'arora2019:depth=4', '--x1', xPath, '--depths', '2..9', '--out', out), /--depths: depth 9 exceeds 4, the architecture's depth/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('--depths all for huang2020:depth=50,gamma=0.75 matches the library sweep', async () => {
    const arr = await gramOk('--arch', 'huang2020:depth=50,gamma=0.75', '--x1', xPath, '--get', 'nngp', '--depths', 'all');
    const want = expected('huang2020:depth=50,gamma=0.75', X, null, 'nngp', { depths: 'all' });
    expect(arr.shape).toEqual(want.shape);
    expect(arr.shape).toEqual([51, 5, 5]);
    expect(Array.from(arr.data)).toEqual(want.values);
  });

  it('--diagonal gives [n1], equal to the diagonal of the full matrix; with --depths all [T, n1]', async () => {
    const full = await gramOk('--arch', 'jacot2018:depth=3,beta=0.2', '--x1', xPath, '--get', 'ntk');
    const diag = await gramOk('--arch', 'jacot2018:depth=3,beta=0.2', '--x1', xPath, '--get', 'ntk', '--diagonal');
    expect(diag.shape).toEqual([5]);
    expect(Array.from(diag.data)).toEqual(expected('jacot2018:depth=3,beta=0.2', X, null, 'ntk', { diagonal: true }).values);
    for (let i = 0; i < 5; i++) expect(diag.data[i]! / full.data[i * 5 + i]!).toBeCloseTo(1, 13);

    const sweep = await gramOk('--arch', 'arora2019:depth=2', '--x1', xPath, '--diagonal', '--depths', 'all', '--get', 'nngp');
    expect(sweep.shape).toEqual([3, 5]);
    expect(Array.from(sweep.data)).toEqual(
      expected('arora2019:depth=2', X, null, 'nngp', { diagonal: true, depths: 'all' }).values,
    );
  });

  it('a JSON spec file with a custom network works and matches kernelCpu(spec)', async () => {
    const spec = {
      inputScale: 'dim',
      layers: [
        { type: 'dense' },
        { type: 'repeat', count: 3, layers: [{ type: 'erf' }, { type: 'dense', weightVar: 1.5, biasVar: 0.1 }] },
      ],
    };
    const specPath = writeRaw('my-net.json', JSON.stringify(spec, null, 2));
    for (const get of ['nngp', 'ntk'] as const) {
      const arr = await gramOk('--arch', specPath, '--x1', xPath, '--x2', yPath, '--get', get);
      expect(arr.shape).toEqual([5, 3]);
      expect(Array.from(arr.data)).toEqual(expected(spec as unknown as Arch, X, Y, get).values);
    }
    // A spec file equal to a preset gives the preset's kernel.
    const asPreset = writeRaw('arora.json', JSON.stringify({ layers: [{ type: 'dense' }, { type: 'repeat', count: 2, layers: [{ type: 'relu' }, { type: 'dense', weightVar: 2 }] }] }));
    const a = await gramOk('--arch', asPreset, '--x1', xPath);
    expect(Array.from(a.data)).toEqual(expected('arora2019:depth=2', X, null, 'ntk').values);
  });

  it('float32 inputs are accepted (values widened exactly to float64)', async () => {
    const x32 = writeNpy('X32.npy', X, 'float32');
    const arr = await gramOk('--arch', 'mlp:depth=2,cb2=0.3', '--x1', x32, '--get', 'ntk');
    const widened = X.map((r) => r.map((v) => Math.fround(v)));
    expect(Array.from(arr.data)).toEqual(expected('mlp:depth=2,cb2=0.3', widened, null, 'ntk').values);
  });

  it('int32 (hand-built), big-endian and Fortran-order inputs are accepted', async () => {
    const ints = [
      [1, -2, 3],
      [0, 4, -1],
      [7, 7, 2],
      [-3, 0, 5],
    ];
    const body = new Uint8Array(12 * 4);
    const dv = new DataView(body.buffer);
    ints.flat().forEach((v, k) => dv.setInt32(k * 4, v, true));
    const i32 = writeRaw('I32.npy', rawNpy('<i4', [4, 3], body));
    const arr = await gramOk('--arch', 'densenet:depth=3', '--x1', i32, '--x2', yPath, '--get', 'ntk');
    expect(arr.shape).toEqual([4, 3]);
    expect(Array.from(arr.data)).toEqual(expected('densenet:depth=3', ints, Y, 'ntk').values);

    // The same values as big-endian float64 stored in Fortran (column-major) order.
    const be = new Uint8Array(12 * 8);
    const bv = new DataView(be.buffer);
    for (let j = 0, k = 0; j < 3; j++) for (let i = 0; i < 4; i++, k++) bv.setFloat64(k * 8, ints[i]![j]!, false);
    const f8 = writeRaw('F8.npy', rawNpy('>f8', [4, 3], be, true));
    const arr2 = await gramOk('--arch', 'densenet:depth=3', '--x1', f8, '--x2', yPath, '--get', 'ntk');
    expect(Array.from(arr2.data)).toEqual(Array.from(arr.data));
  });

  it('replaces an existing output file on success and leaves no temporary file', async () => {
    const out = tmp('existing.npy');
    fs.writeFileSync(out, 'old contents');
    const r = await run('gram', '--arch', 'arora2019:depth=2', '--x1', xPath, '--out', out);
    expect(r.code).toBe(EXIT_OK);
    expect(Array.from(readOut(out).data)).toEqual(expected('arora2019:depth=2', X, null, 'ntk').values);
    expect(leftovers()).toEqual([]);
  });
});

/**
 * Each case: the arguments (without --out) and what the one stderr line must say. Every case is run
 * once with no file at --out (none must appear) and once with a sentinel there (it must survive).
 */
interface BadCase {
  name: string;
  args: () => string[];
  message: RegExp;
  /** The exit code when it is not 2: a file the file system refuses to read is an I/O error (4). */
  code?: number;
}

const spec = (name: string, value: unknown): string => writeRaw(name, JSON.stringify(value));
const preset = (ref: string): string[] => ['--arch', ref, '--x1', xPath];

const BAD: BadCase[] = [
  {
    name: 'NaN in x1',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeNpy('nan.npy', [[1, 2, 3], [4, 5, NaN]])],
    message: /nan\.npy: entry at row 1, column 2 is NaN/,
  },
  {
    name: 'Infinity in x2',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', xPath, '--x2', writeNpy('inf.npy', [[1, 2, 3], [-Infinity, 5, 6]])],
    message: /inf\.npy: entry at row 1, column 0 is -Infinity/,
  },
  {
    name: 'Infinity in a float32 file',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeNpy('inf32.npy', [[Infinity, 2, 3]], 'float32')],
    message: /inf32\.npy: entry at row 0, column 0 is Infinity/,
  },
  {
    name: '1-D npy',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('v.npy', encodeNpy([1, 2, 3, 4, 5], [5]))],
    message: /v\.npy: expected a 2-D matrix .*shape \(5,\)/,
  },
  {
    name: '3-D npy (images to a fully connected spec)',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('t.npy', encodeNpy(new Array(12).fill(1), [2, 2, 3]))],
    message: /t\.npy: shape \(2, 2, 3\) is images, but arora2019:depth=2 is fully connected .*reshape the file to \[N, C·H·W\]/,
  },
  {
    name: '5-D npy',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('t5.npy', encodeNpy(new Array(32).fill(1), [2, 2, 2, 2, 2]))],
    message: /t5\.npy: expected a 2-D matrix .*shape \(2, 2, 2, 2, 2\)/,
  },
  {
    name: 'a matrix with no rows',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('empty-rows.npy', encodeNpy([], [0, 3]))],
    message: /empty-rows\.npy: has no rows/,
  },
  {
    name: 'x1 and x2 with different column counts',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', xPath, '--x2', writeNpy('four.npy', [[1, 2, 3, 4]])],
    message: /x1 has 3 features \(columns\) but x2 has 4/,
  },
  { name: 'unknown preset', args: () => preset('nope:depth=3'), message: /unknown preset "nope"/ },
  { name: 'unknown preset key', args: () => preset('arora2019:depth=3,width=10'), message: /arora2019: unknown parameter "width"/ },
  { name: 'depth=0', args: () => preset('arora2019:depth=0'), message: /arora2019: depth must be an integer ≥ 1, got 0/ },
  { name: 'non-integer depth', args: () => preset('huang2020:depth=2.5,alpha=0.1'), message: /depth must be an integer ≥ 1, got 2\.5/ },
  { name: 'non-numeric value', args: () => preset('tirer2021:depth=five'), message: /depth must be a finite number, got "five"/ },
  { name: 'NaN parameter', args: () => preset('tirer2021:alpha=nan'), message: /alpha must be a finite number, got NaN/ },
  { name: 'negative variance', args: () => preset('mlp:depth=2,cb2=-1'), message: /mlp: cb2 must be ≥ 0, got -1/ },
  { name: 'zero weight variance', args: () => preset('hayou2019:depth=3,sigmaW2=0'), message: /hayou2019: sigmaW2 must be > 0, got 0/ },
  { name: 'missing required parameter', args: () => preset('arora2019'), message: /arora2019: missing parameter "depth"/ },
  { name: 'both alpha and gamma', args: () => preset('huang2020:depth=3,alpha=0.1,gamma=0.5'), message: /exactly one of alpha/ },
  { name: 'malformed preset reference', args: () => preset('arora2019:depth'), message: /expected key=value, got "depth"/ },
  {
    name: 'missing x1 file',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', join(dir, 'does-not-exist.npy')],
    message: /cannot read input .*does-not-exist\.npy: no such file/,
    code: EXIT_IO,
  },
  {
    name: 'missing x2 file',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', xPath, '--x2', join(dir, 'nope2.npy')],
    message: /cannot read input .*nope2\.npy: no such file/,
    code: EXIT_IO,
  },
  {
    name: 'empty --x2 value',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', xPath, '--x2', ''],
    message: /cannot read input/,
    code: EXIT_IO,
  },
  {
    name: 'x1 is a directory',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', dir],
    message: /cannot read input .*: is a directory/,
    code: EXIT_IO,
  },
  {
    name: 'missing spec file',
    args: () => ['--arch', join(dir, 'no-such-spec.json'), '--x1', xPath],
    message: /cannot read spec file .*no-such-spec\.json: no such file/,
    code: EXIT_IO,
  },
  {
    name: 'input that is not an npy file',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('text.npy', '1,2,3\n4,5,6\n')],
    message: /text\.npy: not a \.npy file/,
  },
  {
    name: 'an npz (zip) archive',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('a.npz', new Uint8Array([0x50, 0x4b, 3, 4, 20, 0, 0, 0, 8, 0]))],
    message: /zip archive/,
  },
  {
    name: 'empty input file',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('zero.npy', new Uint8Array())],
    message: /zero\.npy: empty file/,
  },
  {
    name: 'truncated npy data',
    args: () => {
      const full = encodeNpy(X.flat(), [5, 3]);
      return ['--arch', 'arora2019:depth=2', '--x1', writeRaw('trunc.npy', full.subarray(0, full.length - 5))];
    },
    message: /trunc\.npy: truncated/,
  },
  {
    name: 'truncated npy header',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('trunc-h.npy', encodeNpy(X.flat(), [5, 3]).subarray(0, 30))],
    message: /trunc-h\.npy: truncated header/,
  },
  {
    name: 'unsupported dtype',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeRaw('c16.npy', rawNpy('<c16', [1, 1], new Uint8Array(16)))],
    message: /c16\.npy: unsupported dtype '<c16' \(complex\)/,
  },
  {
    name: 'invalid JSON spec (spread over several lines)',
    args: () => ['--arch', writeRaw('bad.json', '{\n  "layers": [\n    {"type": "dense"},\n  ]\n}\n'), '--x1', xPath],
    message: /spec file .*bad\.json is not valid JSON/,
  },
  {
    name: 'empty JSON spec file',
    args: () => ['--arch', writeRaw('empty.json', ''), '--x1', xPath],
    message: /empty\.json is not valid JSON/,
  },
  {
    name: 'spec with an unknown layer type',
    args: () => ['--arch', spec('lstm.json', { layers: [{ type: 'dense' }, { type: 'lstm', size: 3 }] }), '--x1', xPath],
    message: /layers\[1\]\.type: unknown layer type "lstm"/,
  },
  {
    name: 'spec with an unknown key',
    args: () => ['--arch', spec('key.json', { layers: [{ type: 'dense', width: 100 }] }), '--x1', xPath],
    message: /layers\[0\]\.width: unknown key/,
  },
  {
    name: 'spec with a negative variance',
    args: () => ['--arch', spec('negvar.json', { layers: [{ type: 'dense', biasVar: -0.5 }] }), '--x1', xPath],
    message: /layers\[0\]\.biasVar: must be ≥ 0 \(a variance\), got -0\.5/,
  },
  {
    name: 'spec with an activation on the raw input',
    args: () => ['--arch', spec('relu-first.json', { layers: [{ type: 'relu' }, { type: 'dense' }] }), '--x1', xPath],
    message: /layers\[0\]: .*put a dense layer before it/,
  },
  {
    name: 'spec that is not an object',
    args: () => ['--arch', spec('array.json', [1, 2, 3]), '--x1', xPath],
    message: /spec: must be an object/,
  },
  {
    name: '--diagonal together with --x2',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', xPath, '--x2', yPath, '--diagonal'],
    message: /diagonal is defined for x1 × x1 only/,
  },
  {
    name: 'inputs so large that the kernel overflows float64',
    args: () => ['--arch', 'arora2019:depth=2', '--x1', writeNpy('huge.npy', [[1e200, 0, 0], [0, 1e200, 0]])],
    message: /the kernel overflows float64/,
  },
];

/** Checks the bad-input contract for one run whose --out was `out`. */
function expectBadInput(r: Run, message: RegExp, code = EXIT_BAD_INPUT): void {
  expect(r.code).toBe(code);
  expect(r.out).toBe('');
  expect(r.err.endsWith('\n')).toBe(true);
  expect(lines(r.err), `stderr: ${JSON.stringify(r.err)}`).toHaveLength(1);
  expect(r.err).toMatch(/^webntk: error: /);
  expect(r.err).toMatch(message);
  expect(leftovers()).toEqual([]);
}

describe('webntk gram: bad input exits 2 with one line and no output', () => {
  it.each(BAD.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const args = c.args();
    const out = tmp('K.npy');
    expectBadInput(await run('gram', ...args, '--out', out), c.message, c.code);
    expect(fs.existsSync(out)).toBe(false);

    // An existing output is not clobbered.
    const sentinel = tmp('sentinel.npy');
    fs.writeFileSync(sentinel, 'sentinel: keep me');
    expectBadInput(await run('gram', ...args, '--out', sentinel), c.message, c.code);
    expect(fs.readFileSync(sentinel, 'utf8')).toBe('sentinel: keep me');
  });

  it('an output folder that does not exist', async () => {
    const out = join(dir, 'no-such-folder', 'K.npy');
    expectBadInput(await run('gram', ...preset('arora2019:depth=2'), '--out', out), /cannot write .*folder .*no-such-folder does not exist/, EXIT_IO);
    expect(fs.existsSync(dirname(out))).toBe(false);
  });

  it('an output path that is a directory', async () => {
    const out = tmp('outdir');
    fs.mkdirSync(out);
    expectBadInput(await run('gram', ...preset('arora2019:depth=2'), '--out', out), /cannot write .*: it is a directory/, EXIT_IO);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('an output path under a regular file', async () => {
    const file = writeRaw('plain-file', 'x');
    expectBadInput(await run('gram', ...preset('arora2019:depth=2'), '--out', join(file, 'K.npy')), /cannot write .*does not exist/, EXIT_IO);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  it('an empty --out value', async () => {
    const before = fs.readdirSync(process.cwd());
    expectBadInput(await run('gram', ...preset('arora2019:depth=2'), '--out', ''), /output/);
    expect(fs.readdirSync(process.cwd())).toEqual(before);
  });

  it('a file-system failure while writing (I/O error, exit 4) leaves the old output and no temporary file', async () => {
    const sentinel = tmp('sentinel.npy');
    fs.writeFileSync(sentinel, 'sentinel: keep me');
    fsControl.failRename = true;
    const r = await run('gram', ...preset('arora2019:depth=2'), '--out', sentinel);
    fsControl.failRename = false;
    expect(r.code).toBe(EXIT_IO);
    expect(r.err).toMatch(/^webntk: error: cannot write .*sentinel\.npy: no space left on the device \(ENOSPC\)\n$/);
    expect(fs.readFileSync(sentinel, 'utf8')).toBe('sentinel: keep me');
    expect(leftovers()).toEqual([]);
  });
});

describe('webntk gram: usage', () => {
  const required = (): string[] => ['--arch', 'arora2019:depth=2', '--x1', xPath, '--out', tmp('K.npy')];

  /** A usage error: exit 2, commander's message on stderr, nothing on stdout, no output file. */
  async function expectUsageError(args: string[], message: RegExp): Promise<void> {
    const r = await run(...args);
    expect(r.code).toBe(EXIT_BAD_INPUT);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
    const outAt = args.indexOf('--out');
    if (outAt >= 0) expect(fs.existsSync(args[outAt + 1]!)).toBe(false);
  }

  it('unknown options exit 2', async () => {
    await expectUsageError(['gram', ...required(), '--bogus'], /unknown option '--bogus'/);
    await expectUsageError(['gram', ...required(), '--depth', '3'], /unknown option '--depth'/);
  });

  it('missing required options exit 2', async () => {
    await expectUsageError(['gram', '--x1', xPath, '--out', tmp('K.npy')], /required option '--arch <spec>' not specified/);
    await expectUsageError(['gram', '--arch', 'arora2019:depth=2', '--out', tmp('K.npy')], /required option '--x1 <file>' not specified/);
    await expectUsageError(['gram', '--arch', 'arora2019:depth=2', '--x1', xPath], /required option '--out <file>' not specified/);
    await expectUsageError(['gram', ...required().slice(0, -1)], /argument missing/);
  });

  it('invalid choices and stray arguments exit 2', async () => {
    await expectUsageError(['gram', ...required(), '--get', 'both'], /--get: unknown kernel "both"/);
    await expectUsageError(['gram', ...required(), '--backend', 'cuda'], /'--backend <name>' argument 'cuda' is invalid/);
    await expectUsageError(['gram', ...required(), '--depths', 'first'], /--depths: "first" is not a depth \(an integer, a range a\.\.b, or all\)/);
    await expectUsageError(['gram', 'extra', ...required()], /too many arguments/);
    await expectUsageError(['gramm', ...required()], /unknown command 'gramm'/);
  });

  it('gram --help exits 0 and shows the options and examples', async () => {
    for (const flag of ['--help', '-h']) {
      const r = await run('gram', flag);
      expect(r.code).toBe(EXIT_OK);
      expect(r.err).toBe('');
      expect(r.out).toMatch(/^Usage: webntk gram \[options\]/);
      for (const opt of ['--arch', '--x1', '--x2', '--get', '--out', '--backend', '--diagonal', '--depths']) expect(r.out).toContain(opt);
      expect(r.out).toContain('Examples:');
      expect(r.out).toContain('webntk gram --arch arora2019:depth=5 --x1 X.npy --get ntk --out K.npy');
      expect(r.out).toContain('webntk gram --arch tirer2021:depth=5,alpha=0.1 --x1 X.npy --x2 T.npy --get nngp --out K.npy');
      expect(r.out).toContain('webntk gram --arch huang2020:depth=50,gamma=0.75 --x1 X.npy --depths all --out sweep.npy');
      expect(r.out).toContain('webntk gram --arch my-net.json --x1 X.npy --diagonal --out diag.csv');
    }
    // --help wins over everything else on the line: nothing is computed or written.
    const out = tmp('K.npy');
    const r = await run('gram', '--arch', 'arora2019:depth=2', '--x1', xPath, '--out', out, '--help');
    expect(r.code).toBe(EXIT_OK);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('--version exits 0 and prints the package version', async () => {
    const r = await run('--version');
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toBe(`${PKG_VERSION}\n`);
  });
});

describe('webntk gram: the real process', () => {
  it('exits 0 on success and writes the same matrix as the library', () => {
    const out = tmp('K.npy');
    const r = spawnCli('gram', '--arch', 'tirer2021:depth=5,alpha=0.1', '--x1', xPath, '--x2', yPath, '--get', 'ntk', '--out', out);
    expect(r.err).toMatch(/^wrote .*K\.npy: ntk \[5, 3\] float64 \(tirer2021, cpu float64, [\d.]+ s\)\n$/);
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    const arr = readOut(out);
    expect(arr.dtype).toBe('<f8');
    expect(arr.shape).toEqual([5, 3]);
    expect(Array.from(arr.data)).toEqual(expected('tirer2021:depth=5,alpha=0.1', X, Y, 'ntk').values);
  });

  it('exits 2 with exactly one stderr line for bad inputs, leaving no output', () => {
    const nan = writeNpy('nan-proc.npy', [[1, NaN, 3]]);
    const badJson = writeRaw('bad-proc.json', '{\n  "layers": [\n    {"type": "dense"},\n  ]\n}\n');
    const cases: [string[], RegExp][] = [
      [['--arch', 'arora2019:depth=2', '--x1', nan], /nan-proc\.npy: entry at row 0, column 1 is NaN/],
      [['--arch', badJson, '--x1', xPath], /bad-proc\.json is not valid JSON/],
      [['--arch', 'arora2019:depth=0', '--x1', xPath], /depth must be an integer ≥ 1, got 0/],
    ];
    for (const [args, message] of cases) {
      const out = tmp('K.npy');
      const r = spawnCli('gram', ...args, '--out', out);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.split('\n'), `stderr: ${JSON.stringify(r.err)}`).toEqual([expect.stringMatching(/^webntk: error: /), '']);
      expect(r.err).toMatch(message);
      expect(fs.existsSync(out)).toBe(false);
    }
    expect(leftovers()).toEqual([]);
  });

  it('exits 2 for an unknown option, 0 for --version and gram --help', () => {
    const bad = spawnCli('gram', '--arch', 'arora2019:depth=2', '--x1', xPath, '--out', tmp('K.npy'), '--nope');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown option '--nope'/);

    const v = spawnCli('--version');
    expect(v.code).toBe(0);
    expect(v.out).toBe(`${PKG_VERSION}\n`);

    const h = spawnCli('gram', '--help');
    expect(h.code).toBe(0);
    expect(h.out).toContain('Examples:');
    expect(h.out).toContain('webntk gram --arch huang2020:depth=50,gamma=0.75');
  });
});
