import { describe, expect, it } from 'vitest';
import { kernelCpu, stax } from '../src/index.js';
import { compile } from '../src/program/compile.js';

const { dense, relu, repeat, residual, denseBlock, network } = stax;

describe('kernel program', () => {
  it('a network without a repeated part runs every layer exactly once', () => {
    // dense(1) → relu → dense(1) on x with x·x/d = 1: K = ½, Θ = ½·1 + ½ = 1.
    const spec = network({ inputScale: 'dim' }, dense(), relu(), dense());
    const p = compile(spec);
    expect(p.sweep).toBeNull();
    expect(p.suffix).toEqual([]);
    expect(p.depths).toEqual([0]);
    const r = kernelCpu(spec, [[1, 1]], null);
    expect(r.nngp![0]).toBeCloseTo(0.5, 15);
    expect(r.ntk![0]).toBeCloseTo(1, 15);
  });

  it('the last top-level repeat is the depth loop; readout and later layers form the suffix', () => {
    const spec = network(
      { inputScale: 'dim', readout: [dense({ trainable: false })], sweepStart: 3 },
      dense(),
      repeat(2, relu(), dense()),
      repeat(4, residual([dense(), relu(), dense()], { gamma: 1 })),
      relu(),
      dense(),
    );
    const p = compile(spec);
    expect(p.prefix).toEqual([
      { kind: 'ops', ops: [{ op: 'affine', weightVar: 1, biasVar: 0, trainable: true }] },
      {
        kind: 'loop',
        count: 2,
        body: [
          { op: 'act', act: { type: 'relu' } },
          { op: 'affine', weightVar: 1, biasVar: 0, trainable: true },
        ],
      },
    ]);
    expect(p.sweep!.count).toBe(4);
    // α = L^(−1) with L = 4 residual blocks: the mix weight is α² = 1/16.
    expect(p.sweep!.body.at(-1)).toEqual({ op: 'mix', bank: 1, skip: 1, branch: 1 / 16 });
    expect(p.suffix.map((o) => o.op)).toEqual(['act', 'affine', 'affine']);
    expect(p.depths).toEqual([3, 4, 5, 6, 7]);
    expect(p.residualBlocks).toBe(4);
    expect(p.banks).toBe(2);
  });

  it('a DenseNet depth loop keeps its running sum in bank 1 with per-iteration 1/l weights', () => {
    const p = compile(network({ inputScale: 'dim', readout: [dense()] }, dense(), denseBlock(4, { weightVar: 2 })));
    const load = p.sweep!.body.find((o) => o.op === 'load')!;
    expect(load.op === 'load' && Array.from(load.scale as Float64Array)).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
    expect(p.prefix.at(-1)).toMatchObject({ kind: 'ops', ops: expect.arrayContaining([{ op: 'clear', bank: 1 }]) });
  });

  it('nested repeats are unrolled, with a size limit', () => {
    const p = compile(network({}, dense(), repeat(3, repeat(2, relu(), dense()))));
    expect(p.sweep!.body.length).toBe(4);
    expect(() => compile(network({}, dense(), repeat(2, repeat(1000, repeat(1001, relu(), dense())))))).toThrow(
      /unrolls to more than/,
    );
  });
});
