/**
 * The executor interface (src/exec/): every CPU executor's blocks tile its whole result to the
 * last bit (X × X with transposed blocks, X1 × X2, the diagonal, a depth sweep); a new engine
 * plugs in through `syncExecutor` with its own input type; the API labels what was computed.
 * Independent values: the toy engine's kernel is the linear kernel x·z, computed here directly.
 */
import { describe, expect, it } from 'vitest';
import { kernel, kernelBlocks, kernelCpu, toSpec } from '../src/api.js';
import { syncExecutor, type RowAccess } from '../src/exec/blocks.js';
import { cpuExecutor } from '../src/exec/cpu.js';
import type { SyncExecutor } from '../src/exec/executor.js';
import { infiniteDepthLimit, limitExecutor } from '../src/exec/limit.js';
import type { Matrix2D } from '../src/matrix.js';
import { Rng } from '../src/mc/rng.js';
import { compile } from '../src/program/compile.js';
import { checkRequest, type GramBlock, type GramRequest, type GramResult } from '../src/result.js';

function matrix(rows: number, cols: number, seed: number): Matrix2D {
  const rng = new Rng(seed);
  return { data: Float64Array.from({ length: rows * cols }, () => rng.normal()), rows, cols };
}

/** Places blocks into whole planes (taps × rows × cols), checking that they tile them exactly once. */
function tile(blocks: Iterable<GramBlock>, taps: number, rows: number, cols: number, kinds: readonly ('nngp' | 'ntk')[]) {
  const out = Object.fromEntries(kinds.map((k) => [k, new Float64Array(taps * rows * cols).fill(NaN)])) as Record<string, Float64Array>;
  const seen = new Uint8Array(rows * cols);
  for (const b of blocks) {
    for (let i = 0; i < b.rows; i++) {
      for (let j = 0; j < b.cols; j++) {
        seen[(b.row0 + i) * cols + b.col0 + j]! += 1;
        for (const k of kinds) {
          for (let t = 0; t < taps; t++) out[k]![t * rows * cols + (b.row0 + i) * cols + b.col0 + j] = b[k]![t * b.rows * b.cols + i * b.cols + j]!;
        }
      }
    }
  }
  expect([...seen].every((s) => s === 1)).toBe(true);
  return out;
}

function expectTilesEqualWhole(ex: SyncExecutor, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest, blockRows: number): void {
  const whole = ex.gram(x1, x2, req);
  const taps = ex.depths(req).length;
  expect(whole.depths).toEqual(ex.depths(req));
  const cols = req.diagonal ? 1 : (x2 ?? x1).rows;
  const tiled = tile(ex.blocks(x1, x2, req, { blockRows }), taps, x1.rows, cols, req.get);
  for (const k of req.get) expect(tiled[k]).toEqual(whole[k]);
}

describe('CPU executors: blocks tile the whole result to the last bit', () => {
  const X = matrix(7, 3, 1);
  const Z = matrix(5, 3, 2);
  const requests: [string, Matrix2D | null, GramRequest][] = [
    ['X × X', null, { get: ['nngp', 'ntk'], diagonal: false, allDepths: false }],
    ['X1 × X2', Z, { get: ['ntk'], diagonal: false, allDepths: false }],
    ['diagonal', null, { get: ['nngp'], diagonal: true, allDepths: false }],
  ];
  it('the float64 program executor, with a depth sweep', () => {
    const ex = cpuExecutor(compile(toSpec('tirer2021:depth=4,alpha=0.5')));
    for (const [, x2, req] of requests) {
      expectTilesEqualWhole(ex, X, x2, req, 3);
      expectTilesEqualWhole(ex, X, x2, { ...req, allDepths: true }, 2);
    }
    expect(ex.depths({ get: ['ntk'], diagonal: false, allDepths: true })).toEqual([0, 1, 2, 3, 4]);
  });
  it('the infinite-depth limits (ODE and two-layer closed form)', () => {
    for (const ref of ['belfer2021:depth=inf,gamma=0.5', 'belfer2021:depth=inf,gamma=0.75']) {
      const ex = limitExecutor(infiniteDepthLimit(ref), null);
      expect(ex.backend).toBe('cpu');
      for (const [, x2, req] of requests) expectTilesEqualWhole(ex, X, x2, req, 3);
    }
  });
});

/** A toy input type: a list of vectors (not a Matrix2D), as a convolutional engine has images. */
interface Vectors {
  list: number[][];
}
const VECTOR_ROWS: RowAccess<Vectors> = {
  count: (x) => x.list.length,
  slice: (x, r0, rows) => ({ list: x.list.slice(r0, r0 + rows) }),
};

/** The toy engine: the linear kernel x·z (NNGP) and 2x·z (NTK), one depth. */
function linearGram(x1: Vectors, x2: Vectors | null, req: GramRequest): GramResult {
  const b = x2 ?? x1;
  const n1 = x1.list.length;
  const n2 = req.diagonal ? 1 : b.list.length;
  const nngp = new Float64Array(req.diagonal ? n1 : n1 * n2);
  for (let i = 0; i < n1; i++) {
    for (let j = 0; j < n2; j++) {
      const z = req.diagonal ? x1.list[i]! : b.list[j]!;
      nngp[i * n2 + j] = x1.list[i]!.reduce((s, v, k) => s + v * z[k]!, 0);
    }
  }
  return {
    ...(req.get.includes('nngp') ? { nngp } : {}),
    ...(req.get.includes('ntk') ? { ntk: nngp.map((v) => 2 * v) } : {}),
    shape: req.diagonal ? [n1] : [n1, n2],
    depths: [1],
    symmetric: !x2 && !req.diagonal,
    diagonal: req.diagonal,
    sweep: false,
  };
}

describe('a new engine is one implementation', () => {
  it('syncExecutor over its own input type streams row blocks equal to the directly computed x·z', () => {
    const rng = new Rng(3);
    const x: Vectors = { list: Array.from({ length: 5 }, () => [rng.normal(), rng.normal()]) };
    const ex = syncExecutor<Vectors>(
      { depths: () => [1], check: (a, b, req) => checkRequest({ data: new Float64Array(0), rows: 0, cols: a.list[0]!.length }, b ? { data: new Float64Array(0), rows: 0, cols: b.list[0]!.length } : null, req), gram: linearGram },
      VECTOR_ROWS,
    );
    const req: GramRequest = { get: ['nngp', 'ntk'], diagonal: false, allDepths: false };
    const blocks = [...ex.blocks(x, null, req, { blockRows: 2 })];
    // 5 rows in blocks of 2: upper-triangle blocks (0,0) (0,1) (0,2) (1,1) (1,2) (2,2), off-diagonal ones twice.
    expect(blocks.length).toBe(9);
    const got = tile(blocks, 1, 5, 5, ['nngp', 'ntk']);
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 5; j++) {
        const dot = x.list[i]![0]! * x.list[j]![0]! + x.list[i]![1]! * x.list[j]![1]!;
        expect(got['nngp']![i * 5 + j]).toBe(dot);
        expect(got['ntk']![i * 5 + j]).toBe(2 * dot);
      }
    }
    expect(() => ex.gram({ list: [[1, 2]] }, { list: [[1, 2, 3]] }, req)).toThrow(/x1 has 2 features/);
  });
});

describe('the API labels what was computed', () => {
  const X = [
    [1, 0],
    [0.6, 0.8],
  ];
  it('a preset reference: its resolved spec; a depth=inf reference: the limit, in words', async () => {
    const finite = kernelCpu('arora2019:depth=3', X);
    expect(finite.spec?.name).toBe('arora2019');
    expect(finite.spec?.layers.length).toBeGreaterThan(0);
    expect(finite.computed).toBe('arora2019:depth=3');
    expect(finite.limit).toBeUndefined();
    // Orthonormal-row diagonal of the depth-3 ReLU NTK: depth + 1 = 4 (Arora et al. 2019, as test/packaging).
    expect(finite.ntk![0]).toBeCloseTo(4, 12);
    const lim = await kernel('belfer2021:depth=inf,gamma=0.75', X, null, { backend: 'auto' });
    expect(lim.spec).toBeUndefined();
    expect(lim.limit?.regime).toBe('two-layer');
    expect(lim.computed).toMatch(/^belfer2021:depth=inf,gamma=0\.75: the infinite-depth limit of belfer2021 \(γ = 0\.75 > ½/);
    expect(lim.depths).toEqual([Infinity]);
  });

  it('an aborted signal stops kernel() and kernelBlocks() on the CPU before any work', async () => {
    const c = new AbortController();
    c.abort();
    await expect(kernel('arora2019:depth=3', X, null, { signal: c.signal })).rejects.toThrow(/abort/i);
    const run = async () => {
      for await (const _ of kernelBlocks('arora2019:depth=3', X, null, { signal: c.signal })) void _;
    };
    await expect(run()).rejects.toThrow(/abort/i);
  });
});
