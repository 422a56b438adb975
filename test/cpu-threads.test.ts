/**
 * The float64 CPU backend on worker threads (src/exec/cpu-threads.ts, Node's worker_threads run
 * from the TypeScript sources through tsx): results identical to the last bit for 1, 2 and 3
 * threads and to kernelCpu, the same blocks, progress per block, cancellation that terminates
 * every worker (and lets the process exit), the result's thread label, and --threads on the CLI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { kernel, kernelBlocks, kernelCpu, type KernelOptions } from '../src/api.js';
import type { WorkerSpawner } from '../src/exec/pool.js';
import { setWorkerSpawner } from '../src/exec/spawner.js';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import type { Matrix2D } from '../src/matrix.js';
import { Rng } from '../src/mc/rng.js';
import { main, EXIT_BAD_INPUT } from '../src/node/cli.js';
import { nodeWorkerSpawner, useNodeWorkers } from '../src/node/workers.js';
import type { GramBlock } from '../src/result.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function matrix(rows: number, cols: number, seed: number): Matrix2D {
  const rng = new Rng(seed);
  const data = Float64Array.from({ length: rows * cols }, () => rng.normal());
  // Near-duplicate, parallel, antipodal and zero rows: every first-layer path.
  if (rows > 6) {
    for (let k = 0; k < cols; k++) {
      data[1 * cols + k] = data[k]! * 3;
      data[2 * cols + k] = -data[k]!;
      data[3 * cols + k] = data[k]! + 1e-9 * (k % 3);
      data[4 * cols + k] = 0;
    }
  }
  return { data, rows, cols };
}

/** A spawner that counts the workers it started and those terminated. */
function counting(): WorkerSpawner & { spawned: number; terminated: number } {
  const inner = nodeWorkerSpawner();
  const s = {
    kind: inner.kind,
    callerComputes: inner.callerComputes,
    spawned: 0,
    terminated: 0,
    cores: () => inner.cores(),
    spawn(onMessage: (m: unknown) => void, onError: (e: Error) => void) {
      s.spawned++;
      const h = inner.spawn(onMessage, onError);
      return {
        post: h.post,
        terminate: () => {
          s.terminated++;
          h.terminate();
        },
      };
    },
  };
  return s;
}

beforeAll(() => useNodeWorkers());
afterEach(() => useNodeWorkers());
afterAll(() => setWorkerSpawner(null));

describe('worker threads: the same bits whatever the thread count', () => {
  const X = matrix(45, 7, 1);
  const Z = matrix(20, 7, 2);
  const cases: [string, Matrix2D | null, KernelOptions][] = [
    ['arora2019:depth=20', null, {}],
    ['arora2019:depth=20', Z, {}],
    ['tirer2021:depth=6,alpha=0.5', null, { depths: 'all' }],
    ['resnet:depth=10,gamma=0.5', Z, { get: 'ntk' }],
    ['densenet:depth=5', null, {}],
    ['huang2020:depth=8,gamma=0.75', null, {}],
  ];
  for (const [ref, x2, opts] of cases) {
    it(`${ref}${x2 ? ' X1 × X2' : ''}${opts.depths === 'all' ? ' (depth sweep)' : ''}`, async () => {
      const one = kernelCpu(ref, X, x2, opts);
      for (const threads of [1, 2, 3]) {
        const r = await kernel(ref, X, x2, { ...opts, threads, backend: 'cpu' });
        expect(r.threads).toBe(threads);
        expect(r.shape).toEqual(one.shape);
        for (const k of ['nngp', 'ntk'] as const) {
          if (one[k]) expect(r[k]).toEqual(one[k]);
          else expect(r[k]).toBeUndefined();
        }
      }
    });
  }

  it('blocks: the same tiles, in the same order, on 1 and 2 threads', async () => {
    const collect = async (threads: number) => {
      const out: (GramBlock & { threads?: number })[] = [];
      for await (const b of kernelBlocks('arora2019:depth=10', X, null, { threads, blockRows: 16 })) out.push(b);
      return out;
    };
    const [a, b] = [await collect(1), await collect(2)];
    expect(b.map((x) => x.threads)).toEqual(b.map(() => 2));
    expect(b.map(({ row0, col0, rows, cols, nngp, ntk }) => ({ row0, col0, rows, cols, nngp, ntk }))).toEqual(
      a.map(({ row0, col0, rows, cols, nngp, ntk }) => ({ row0, col0, rows, cols, nngp, ntk })),
    );
  });

  it('progress arrives per block; the whole-matrix call reports its stripes', async () => {
    const seen: [number, number][] = [];
    for await (const _ of kernelBlocks('arora2019:depth=3', X, null, { threads: 2, blockRows: 16, onProgress: (p) => seen.push([p.blocksDone, p.blocks]) })) void _;
    expect(seen).toEqual([1, 2, 3, 4, 5, 6].map((k) => [k, 6])); // 3 row blocks: 3 + 2 + 1 upper-triangle blocks
    const stripes: number[] = [];
    await kernel('arora2019:depth=3', X, null, { threads: 2, onProgress: (p) => stripes.push(p.blocksDone) });
    expect(stripes.at(-1)).toBe(2); // 45 rows: 2 stripes of 32 rows
  });
});

describe('worker threads: labels, refusals, cancellation', () => {
  const X = matrix(12, 4, 3);

  it('says why a computation runs on one thread', async () => {
    setWorkerSpawner(null);
    const none = await kernel('arora2019:depth=2', X, null, { threads: 2 });
    expect(none.threads).toBe(1);
    expect(none.threadsNote).toMatch(/no worker threads.*useNodeWorkers/);
    useNodeWorkers();
    const small = await kernel('arora2019:depth=2', X);
    expect(small.threads).toBe(1);
    expect(small.threadsNote).toMatch(/too little work/);
    const diag = await kernel('arora2019:depth=2', X, null, { threads: 2, diagonal: true });
    expect(diag.threadsNote).toMatch(/diagonal/);
    // The convolutional engine is separate: one thread, said so.
    const images = { data: new Float64Array(3 * 1 * 4 * 4).map((_, i) => Math.sin(i)), shape: [3, 1, 4, 4] };
    const conv = await kernel('cntk:depth=2', images, null, { threads: 2 });
    expect(conv.threads).toBe(1);
    expect(conv.threadsNote).toMatch(/fully connected/);
    expect(kernelCpu('arora2019:depth=2', X).threads).toBe(1);
  });

  it('refuses bad thread counts with one line', async () => {
    for (const bad of [0, -1, 1.5, 1000, Number.NaN, '2' as unknown as number]) {
      await expect(kernel('arora2019:depth=2', X, null, { threads: bad })).rejects.toThrow(/^threads must be a whole number from 1 to 256/);
    }
    expect(() => kernelCpu('arora2019:depth=2', X, null, { threads: 2 })).toThrow(/kernelCpu is synchronous/);
  });

  it('an abort mid-run rejects with AbortError and terminates every worker', async () => {
    const spawner = counting();
    setWorkerSpawner(spawner);
    const big = matrix(400, 16, 4);
    const ac = new AbortController();
    const run = kernel('arora2019:depth=200', big, null, {
      threads: 2,
      signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(spawner.spawned).toBe(1); // Node: this thread computes too, beside threads − 1 workers
    expect(spawner.terminated).toBe(1);
    // The same for blocks, and for an iteration the caller stops early.
    const blocks = kernelBlocks('arora2019:depth=50', big, null, { threads: 2, blockRows: 64 });
    for await (const _ of blocks) break;
    expect(spawner.terminated).toBe(spawner.spawned);
  });

  it('a cancelled run leaves nothing running: the process exits', () => {
    const script = [
      "import { kernel } from './src/api.ts';",
      "import { useNodeWorkers } from './src/node/workers.ts';",
      'useNodeWorkers();',
      'const n = 300, d = 8;',
      'const X = { data: Float64Array.from({ length: n * d }, (_, i) => Math.sin(i * 1.3)), rows: n, cols: d };',
      'const ac = new AbortController();',
      "setTimeout(() => ac.abort(), 300);",
      "kernel('arora2019:depth=2000', X, null, { threads: 2, signal: ac.signal }).then(() => console.log('finished'), (e) => console.log(e.name));",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe('AbortError');
    expect(r.status).toBe(0);
  });
});

describe('webntk gram --threads', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(join(tmpdir(), 'webntk-threads-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const run = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
    return { code, out, err };
  };

  it('writes the same bytes on 1 and 2 threads and says how many ran', async () => {
    const X = matrix(70, 5, 5);
    const x1 = join(dir, 'x.npy');
    fs.writeFileSync(x1, encodeNpy(X.data, [X.rows, X.cols]));
    const bytes: Buffer[] = [];
    for (const t of ['1', '2']) {
      const out = join(dir, `K${t}.npy`);
      const r = await run('gram', '--arch', 'arora2019:depth=5', '--x1', x1, '--out', out, '--threads', t, '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).threads).toBe(Number(t));
      bytes.push(fs.readFileSync(out));
    }
    expect(bytes[1]!.equals(bytes[0]!)).toBe(true);
    const K = parseNpy(bytes[0]!);
    expect(K.data).toEqual(kernelCpu('arora2019:depth=5', X, null, { get: 'ntk' }).ntk);
  });

  it('bad --threads values: exit 2 with one line', async () => {
    const x1 = join(dir, 'y.npy');
    fs.writeFileSync(x1, encodeNpy(new Float64Array(6), [3, 2]));
    for (const bad of ['0', '-2', '1.5', 'abc', '257', '']) {
      const r = await run('gram', '--arch', 'arora2019:depth=2', '--x1', x1, '--out', join(dir, 'bad.npy'), '--threads', bad);
      expect(r.code).toBe(EXIT_BAD_INPUT);
      const lines = r.err.split('\n').filter((l) => l.length > 0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/--threads must be a whole number from 1 to 256/);
      expect(fs.existsSync(join(dir, 'bad.npy'))).toBe(false);
    }
  });
});
