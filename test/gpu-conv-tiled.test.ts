/**
 * Convolutional kernels on WebGPU for slabs above the workgroup-memory limit: the 'global' layout
 * (shaders/conv_slab_global.wgsl: the slab states in a storage buffer, one dispatch per layer and
 * per readout) against the float64 CPU path, forced on small images and chosen by the adapter on
 * images whose slab really exceeds lavapipe's maxComputeWorkgroupStorageSize. Inputs: two random
 * images, a near-duplicate (1e−4 of the norm) and a shifted copy (test/gpu/inputs.ts). Error =
 * max |K_gpu − K_cpu| / √(K_cpu(x,x)·K_cpu(z,z)) over every depth of the sweep; printed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Arch } from '../src/index.js';
import {
  convLayout,
  convSteps,
  convTileEntries,
  convTiles,
  CONV_OP,
  CONV_REC,
  forceConvLayoutForTests,
  forceConvTilesForTests,
  forceSlabBatchForTests,
  layerDispatchesForTests,
  pairBlocks,
  stepTiles,
  workgroupBytes,
} from '../src/gpu/conv.js';
import { kernel } from '../src/index.js';
import type { GpuContext } from '../src/gpu/device.js';
import type { ImagesInput } from '../src/images.js';
import type { Layer, Spec } from '../src/spec/types.js';
import { convImages, releaseGpuForTests, requireGpu } from './gpu/setup.js';
import { compareConvWithCpu } from './gpu/conv-compare.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requireGpu();
});

const worst: string[] = [];
afterAll(async () => {
  forceConvLayoutForTests(null);
  forceConvTilesForTests(null);
  console.log(`WebGPU conv, global layout, worst normalised errors:\n${worst.join('\n')}`);
  await releaseGpuForTests();
});

const compare = (name: string, arch: Arch, X: ImagesInput, tol: number, depths: 'all' | 'last' = 'all') =>
  compareConvWithCpu(worst, name, arch, X, tol, depths);

/**
 * The fewest pixels whose slab (with `slots` state slots) cannot be resident in this device's
 * workgroup memory however few threads share it (8, the fewest the workgroup layout uses).
 */
function beyond(slots: number): number {
  let P = 64;
  while (workgroupBytes({ layout: 'workgroup', slots, maxEntries: P, threads: 8 }) <= ctx.limits.maxComputeWorkgroupStorageSize) P += 64;
  return P - 63;
}

const conv = (over: Partial<Extract<Layer, { type: 'conv' }>> = {}): Layer => ({ type: 'conv', ...over });
const pool = (window: number, stride?: number): Layer => ({ type: 'avgPool', window, ...(stride !== undefined ? { stride } : {}) });

describe('the dispatches of the global layout', () => {
  it('a new dispatch at every conv and around every readout, with the half that holds the state', () => {
    const kinds = [CONV_OP.init, CONV_OP.act, CONV_OP.conv, CONV_OP.act, CONV_OP.copyTo, CONV_OP.eq, CONV_OP.copyFrom, CONV_OP.conv, CONV_OP.conv, CONV_OP.mix, CONV_OP.flatten, CONV_OP.gap];
    const ops = new Uint32Array(kinds.length * CONV_REC);
    kinds.forEach((k, i) => (ops[i * CONV_REC] = k));
    const steps = convSteps(ops, { opStart: 0, opCount: kinds.length }, 0).map((s) => [s.opStart, s.opEnd, s.readout, s.parity]);
    expect(steps).toEqual([
      [0, 2, false, 0],
      [2, 5, false, 0],
      [5, 6, true, 1],
      [6, 7, false, 1],
      [7, 8, false, 1],
      [8, 10, false, 0],
      [10, 12, true, 1],
    ]);
  });

  it('the adapter picks it exactly where the workgroup layout would exceed maxComputeWorkgroupStorageSize', () => {
    for (const slots of [1, 2, 3]) {
      const P = beyond(slots);
      expect(convLayout(ctx, P, slots).layout).toBe('global');
      expect(workgroupBytes({ layout: 'workgroup', slots, maxEntries: P, threads: 8 })).toBeGreaterThan(ctx.limits.maxComputeWorkgroupStorageSize);
    }
    expect(convLayout(ctx, 36, 1).layout).not.toBe('global');
  });
});

describe("the 'lanes' layout's pair blocks (one pair per workgroup, unrolled taps)", () => {
  it('are for llvmpipe only: SwiftShader keeps the packed loops (its unrolled pipeline took > 150 s and lost the GPU process)', () => {
    const on = (adapter: Partial<GpuContext['adapter']>) => convLayout({ ...ctx, adapter: { ...ctx.adapter, ...adapter } }, 36, 1);
    // The adapter these tests run on is lavapipe: the unrolled path is the one they exercise.
    expect(convLayout(ctx, 36, 1)).toMatchObject({ layout: 'lanes', pairBlocksOk: true });
    expect(on({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)', device: '' }).pairBlocksOk).toBe(true);
    const swift = on({ description: '', device: '', vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true });
    expect(swift).toMatchObject({ layout: 'lanes', pairBlocksOk: false });
    const seg = (n: number) => [{ cnt: [n, n] as [number, number] }];
    expect(pairBlocks({ layout: 'lanes', pairBlocksOk: true, segments: seg(3) })).toBe(true); // 9 slabs (gap)
    expect(pairBlocks({ layout: 'lanes', pairBlocksOk: true, segments: seg(1) })).toBe(false); // eq, flatten
    expect(pairBlocks({ layout: 'lanes', pairBlocksOk: false, segments: seg(3) })).toBe(false);
    expect(pairBlocks({ layout: 'workgroup', pairBlocksOk: true, segments: seg(3) })).toBe(false);
  });
});

describe('forced on small images: every readout, both paddings, 1-D and 2-D, every depth (≤ 1e−5)', () => {
  beforeAll(() => forceConvLayoutForTests('global'));
  afterAll(() => forceConvLayoutForTests(null));
  const X1 = convImages(2, [10], 11);
  const X2 = convImages(3, [6, 6], 12);
  for (const readout of ['eq', 'flatten', 'gap']) {
    it(`cntk and rescnn depth 4, ${readout}, both paddings, 1-D and 2-D`, async () => {
      for (const [dim, X] of [['1-D', X1], ['2-D', X2]] as const) {
        for (const pad of ['circular', 'zero']) {
          await compare(`forced: cntk ${readout} ${pad} ${dim}`, `cntk:depth=4,readout=${readout},pad=${pad}`, X, 1e-5);
          await compare(`forced: rescnn ${readout} ${pad} ${dim}`, `rescnn:depth=4,alpha=0.7,readout=${readout},pad=${pad}`, X, 1e-5);
        }
      }
    });
  }

  it('a depth loop of ReLUs after a gap readout (the gaps before it in double-single, their low parts in the state buffer)', async () => {
    const spec: Spec = {
      layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, conv({ weightVar: 2 }), { type: 'gap', weightVar: 2 }, { type: 'repeat', count: 3, layers: [{ type: 'relu' }, { type: 'dense', weightVar: 2 }] }],
    };
    await compare('forced: loop in the tail, gap 1-D', spec, X1, 1e-5);
    await compare('forced: loop in the tail, gap 2-D', spec, X2, 1e-5);
  });

  it('stride 2, biases, a frozen conv, a residual block with erf, a dense tail', async () => {
    for (const readout of ['eq', 'flatten', 'gap'] as const) {
      const padding = readout === 'gap' ? 'circular' : 'zero';
      const spec: Spec = {
        layers: [
          conv({ biasVar: 0.1, padding, trainable: false }),
          { type: 'relu' },
          conv({ stride: readout === 'gap' ? 1 : 2, weightVar: 2, biasVar: 0.2, padding }),
          { type: 'repeat', count: 2, layers: [{ type: 'residual', alpha: 0.7, branch: [{ type: 'erf' }, conv({ padding, weightVar: 1.5, biasVar: 0.1 })] }] },
          { type: readout, weightVar: 2 },
          { type: 'dense', weightVar: 2, biasVar: 0.1 },
        ],
      };
      await compare(`forced: strided/biased/frozen/erf residual ${readout} ${padding} 2-D`, spec, X2, 1e-5);
      await compare(`forced: strided/biased/frozen/erf residual ${readout} ${padding} 1-D`, spec, X1, 1e-5);
    }
  });
});

describe('forced, with avgPool: the segments and the pool shader around the global layout', () => {
  beforeAll(() => forceConvLayoutForTests('global'));
  afterAll(() => forceConvLayoutForTests(null));
  for (const readout of ['eq', 'flatten', 'gap'] as const) {
    it(`pool 2/2 then a conv, and two pools (2/1, 2/2) on 8×8: ${readout}`, async () => {
      const one: Spec = { layers: [conv(), { type: 'relu' }, pool(2), conv({ weightVar: 2 }), { type: 'relu' }], readout: [{ type: readout }] };
      await compare(`forced: pool 2/2 ${readout} 6×6`, one, convImages(2, [6, 6], 22), 1e-5);
      await compare(`forced: pool 2/2 ${readout} 1-D 9`, one, convImages(2, [9], 21), 1e-5);
      const two: Spec = {
        layers: [conv(), { type: 'relu' }, pool(2, 1), conv({ weightVar: 2 }), { type: 'relu' }, pool(2), conv({ weightVar: 2 }), { type: 'relu' }],
        readout: [{ type: readout }],
      };
      await compare(`forced: two pools ${readout} 8×8`, two, convImages(1, [8, 8], 33), 1e-5);
    });
  }
});

describe("images whose slab exceeds the device's workgroup memory (the adapter's choice, not forced)", () => {
  // Sizes from the device's limit (lavapipe, 32 KiB: 2-D 52×52 and 1-D 2689 for one slot; rescnn's
  // two slots: 37×37 and 1-D 1345).
  it('2-D cntk depth 3: flatten and eq, both paddings', async () => {
    const s = Math.ceil(Math.sqrt(beyond(1)));
    const X = convImages(2, [s, s], 41);
    for (const [readout, pad] of [['flatten', 'zero'], ['flatten', 'circular'], ['eq', 'zero'], ['eq', 'circular']]) {
      await compare(`${s}×${s} cntk ${readout} ${pad}`, `cntk:depth=3,readout=${readout},pad=${pad}`, X, 1e-5);
    }
  });

  it('1-D cntk depth 3: flatten and eq, both paddings', async () => {
    const P = beyond(1);
    const X = convImages(1, [P], 42);
    for (const [readout, pad] of [['flatten', 'circular'], ['eq', 'zero']]) {
      await compare(`1-D ${P} cntk ${readout} ${pad}`, `cntk:depth=3,readout=${readout},pad=${pad}`, X, 1e-5);
    }
  });

  it('gap: a residual block (two slots), 1-D (zero padding) and 2-D (circular)', { timeout: 600_000 }, async () => {
    // The smallest net with a residual bank: P² pixel pairs per image pair make each case about a
    // minute on lavapipe and the float64 path together (both: 48 s here on a quiet machine, 200 s under load).
    const P = beyond(2);
    const s = Math.ceil(Math.sqrt(P));
    const spec = (padding: 'zero' | 'circular'): Spec => ({
      layers: [conv({ padding }), { type: 'residual', alpha: 0.7, branch: [{ type: 'relu' }, conv({ padding, weightVar: 2 })] }, { type: 'relu' }],
      readout: [{ type: 'gap' }],
    });
    await compare(`1-D ${P} residual gap zero`, spec('zero'), convImages(1, [P], 43), 1e-5);
    await compare(`${s}×${s} residual gap circular`, spec('circular'), convImages(1, [s, s], 44), 1e-5);
  });

});

describe("a pair's slabs in batches, as where they exceed one buffer (forced: 3 slabs per dispatch)", () => {
  beforeAll(() => {
    forceConvLayoutForTests('global');
    forceSlabBatchForTests(3);
  });
  afterAll(() => {
    forceSlabBatchForTests(null);
    forceConvLayoutForTests(null);
  });
  it('gap, both paddings, 1-D and 2-D, and a pool between segments', async () => {
    for (const pad of ['circular', 'zero']) {
      await compare(`batched: rescnn gap ${pad} 1-D`, `rescnn:depth=3,alpha=0.7,readout=gap,pad=${pad}`, convImages(2, [10], 11), 1e-5);
      await compare(`batched: cntk gap ${pad} 2-D`, `cntk:depth=3,readout=gap,pad=${pad}`, convImages(3, [6, 6], 12), 1e-5);
    }
    const pooled: Spec = { layers: [conv(), { type: 'relu' }, pool(2), conv({ weightVar: 2 }), { type: 'relu' }], readout: [{ type: 'gap' }] };
    await compare('batched: pool 2/2 gap 6×6', pooled, convImages(2, [6, 6], 22), 1e-5);
  });
});

/** Op records of the given kinds, each with its input and output grid, filter (q0, q1) and stride (s0, s1). */
function records(list: { kind: number; grid: [number, number]; out?: [number, number]; q?: [number, number]; s?: [number, number] }[]): Uint32Array<ArrayBuffer> {
  const ops = new Uint32Array(list.length * CONV_REC);
  list.forEach((r, i) => {
    const o = i * CONV_REC;
    const out = r.out ?? r.grid;
    ops.set([r.kind, ...r.grid, ...out], o);
    ops.set([...(r.q ?? [3, 3]), ...(r.s ?? [1, 1])], o + 13);
  });
  return ops;
}

describe('halo tiles of the global layout (conv_slab_global.wgsl: conv_tile; GPUs by default, forced on here)', () => {
  afterAll(() => {
    forceConvTilesForTests(null);
    forceConvLayoutForTests(null);
  });

  it('tiles of 8 × 8 entries on images, a row of 64 in 1-D, taller on narrow grids; only for a step that a conv begins on one grid', () => {
    const act = CONV_OP.act;
    const conv8 = records([{ kind: CONV_OP.conv, grid: [8, 8] }, { kind: act, grid: [8, 8] }, { kind: CONV_OP.copyTo, grid: [8, 8] }]);
    expect(stepTiles(conv8, { opStart: 0, opEnd: 3, readout: false, parity: 0 })).toEqual({ tile1: 8, tilesRow: 1, tilesSlab: 1, grid: [8, 8] });
    const big = records([{ kind: CONV_OP.conv, grid: [20, 20] }]);
    expect(stepTiles(big, { opStart: 0, opEnd: 1, readout: false, parity: 0 })).toEqual({ tile1: 8, tilesRow: 3, tilesSlab: 9, grid: [20, 20] });
    const oneD = records([{ kind: CONV_OP.conv, grid: [1, 100] }]);
    expect(stepTiles(oneD, { opStart: 0, opEnd: 1, readout: false, parity: 0 })).toEqual({ tile1: 64, tilesRow: 2, tilesSlab: 2, grid: [1, 100] });
    const narrow = records([{ kind: CONV_OP.conv, grid: [20, 3] }]);
    expect(stepTiles(narrow, { opStart: 0, opEnd: 1, readout: false, parity: 0 })).toEqual({ tile1: 4, tilesRow: 1, tilesSlab: 2, grid: [20, 3] });
    // A strided conv: its output grid.
    const strided = records([{ kind: CONV_OP.conv, grid: [16, 16], out: [8, 8], q: [5, 5], s: [2, 2] }, { kind: act, grid: [8, 8] }]);
    expect(stepTiles(strided, { opStart: 0, opEnd: 2, readout: false, parity: 0 })?.grid).toEqual([8, 8]);
    expect(convTileEntries(strided)).toBe((7 * 2 + 5) ** 2);
    expect(convTileEntries(conv8)).toBe(10 * 10);
    // Not tiled: a step that begins with another op, a readout, an op on another grid after the conv.
    const init = records([{ kind: CONV_OP.init, grid: [8, 8] }, { kind: act, grid: [8, 8] }]);
    expect(stepTiles(init, { opStart: 0, opEnd: 2, readout: false, parity: 0 })).toBeNull();
    expect(stepTiles(conv8, { opStart: 0, opEnd: 1, readout: true, parity: 0 })).toBeNull();
    const mixed = records([{ kind: CONV_OP.conv, grid: [8, 8] }, { kind: act, grid: [4, 4] }]);
    expect(stepTiles(mixed, { opStart: 0, opEnd: 2, readout: false, parity: 0 })).toBeNull();
    // The largest tile must fit the workgroup memory given to it; the other layouts never tile.
    expect(convTiles({ layout: 'global', ops: conv8, tileBytes: 1600 })).toBe(true);
    expect(convTiles({ layout: 'global', ops: conv8, tileBytes: 1599 })).toBe(false);
    expect(convTiles({ layout: 'global', ops: conv8, tileBytes: 0 })).toBe(false);
    expect(convTiles({ layout: 'workgroup', ops: conv8, tileBytes: 1 << 20 })).toBe(false);
    expect(convTiles({ layout: 'global', ops: init, tileBytes: 1 << 20 })).toBe(false);
  });

  it("GPUs tile by default, with the device's workgroup memory; CPU adapters (lavapipe) do not (measured slower there)", () => {
    forceConvLayoutForTests('global');
    const gpu = { ...ctx, adapter: { ...ctx.adapter, isFallbackAdapter: false, architecture: 'hopper', description: 'NVIDIA H200', device: '' } };
    expect(convLayout(gpu, 4096, 1).tileBytes).toBe(ctx.limits.maxComputeWorkgroupStorageSize);
    expect(convLayout(ctx, 4096, 1).tileBytes).toBe(0);
    forceConvTilesForTests(true);
    expect(convLayout(ctx, 4096, 1).tileBytes).toBe(ctx.limits.maxComputeWorkgroupStorageSize);
    forceConvTilesForTests(null);
    forceConvLayoutForTests(null);
  });

  // Each case: tiled (checked against the float64 path), then untiled: the same values bit for bit
  // (the tile holds the very values the taps read from the state buffer otherwise).
  const cases: [string, Arch, ImagesInput][] = [
    ['cntk gap zero 6×6 (partial tiles)', 'cntk:depth=4,readout=gap,pad=zero', convImages(3, [6, 6], 12)],
    ['cntk gap circular 1-D 70 (two tiles per row)', 'cntk:depth=3,readout=gap,pad=circular', convImages(2, [70], 13)],
    ['rescnn flatten zero 11×11, 5 × 5 filters (8 × 8 tiles and their remainders)', 'rescnn:depth=3,alpha=0.7,readout=flatten,pad=zero,filter=5', convImages(2, [11, 11], 14)],
    ['cntk eq circular 9×10 (wrapped halos)', 'cntk:depth=3,readout=eq,pad=circular', convImages(2, [9, 10], 15)],
    [
      'stride 2, 5 × 5, bias, a frozen conv, a residual erf block, eq, zero 13×13',
      {
        layers: [
          conv({ biasVar: 0.1, trainable: false }),
          { type: 'relu' },
          conv({ stride: 2, filter: 5, weightVar: 2, biasVar: 0.2 }),
          { type: 'repeat', count: 2, layers: [{ type: 'residual', alpha: 0.7, branch: [{ type: 'erf' }, conv({ weightVar: 1.5, biasVar: 0.1 })] }] },
          { type: 'eq', weightVar: 2 },
        ],
      },
      convImages(2, [13, 13], 16),
    ],
    ['a pool between segments, gap 6×6', { layers: [conv(), { type: 'relu' }, pool(2), conv({ weightVar: 2 }), { type: 'relu' }], readout: [{ type: 'gap' }] }, convImages(2, [6, 6], 22)],
  ];
  for (const [name, arch, X] of cases) {
    it(`bit for bit the untiled dispatch, and within 1e−5 of float64: ${name}`, async () => {
      forceConvLayoutForTests('global');
      forceConvTilesForTests(true);
      layerDispatchesForTests();
      const tiled = await compare(`tiled: ${name}`, arch, X, 1e-5);
      const ran = layerDispatchesForTests();
      expect(ran.tiled, 'tiled layer dispatches').toBeGreaterThan(0);
      forceConvTilesForTests(false);
      const plain = await kernel(arch, X, null, { backend: 'webgpu', depths: 'all' });
      expect(layerDispatchesForTests().tiled).toBe(0);
      forceConvTilesForTests(null);
      forceConvLayoutForTests(null);
      for (const k of ['nngp', 'ntk'] as const) {
        const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
        expect(bytes(tiled[k]!).equals(bytes(plain[k]!)), `${k} bit for bit`).toBe(true);
      }
    });
  }
});
