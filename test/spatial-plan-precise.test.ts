/**
 * Which conv ops carry the gap in double-single (src/exec/spatial-plan.ts, markPrecise; record word
 * CONV_PRECISE): those whose gap's low part a later op of the segment reads, backwards from a
 * store (a pool follows) or a gap readout, through the slots the copies move it between. ReLU,
 * conv and the first layer compute the low part; the other activations and the residual sum write
 * it as 0, so what comes before them stays f32. A gap readout is preceded by double-single ops in a
 * network with a pool or with a nonlinearity after the readout (the near-duplicate's pooled
 * 1 − ρ ~ 1e−8 read by a ReLU; test/gpu-conv.test.ts), not otherwise (plans.precise false: the
 * shaders compile without the low parts).
 * Then the depth taps of a gap readout after strided convs: grouped by readout grid, a plan each,
 * whose slab-offset multipliers map the group's grid back through the strides.
 */
import { describe, expect, it } from 'vitest';
import { CONV_OP, CONV_PRECISE, CONV_REC } from '../src/gpu/conv.js';
import { markPrecise, mixedSignGaps, recordPlan, spatialGpuShapeRefusal, tapGroups } from '../src/exec/spatial-plan.js';
import { compileSpatial } from '../src/program/spatial.js';
import type { Layer, Spec } from '../src/spec/types.js';

type R = [kind: number, slot?: number, relu?: number];
const RELU: R = [CONV_OP.act, 0, 1];
const ERF: R = [CONV_OP.act, 0, 0];

/** Op records of these kinds, slots (word 13) and ReLU flags (word 14). */
function records(recs: R[]): number[] {
  return recs.flatMap(([kind, slot = 0, relu = 0]) => {
    const r = new Array<number>(CONV_REC).fill(0);
    r[0] = kind;
    r[13] = slot;
    r[14] = relu;
    return r;
  });
}

const precise = (words: number[]): number[] =>
  Array.from({ length: words.length / CONV_REC }, (_, k) => k).filter((k) => words[k * CONV_REC + CONV_PRECISE] !== 0);

/** The indices of the records markPrecise marks. */
function marked(recs: R[]): number[] {
  const words = records(recs);
  markPrecise(words, 0, recs.length);
  return precise(words);
}

describe('markPrecise', () => {
  const { init, conv, copyTo, copyFrom, mix, gap, eq, flatten, load, store } = CONV_OP;
  it('a chain of init, conv and ReLU before a gap readout or a store: every op', () => {
    expect(marked([[init], [conv], RELU, [conv], [gap]])).toEqual([0, 1, 2, 3]);
    expect(marked([[load], [conv], RELU, [store]])).toEqual([1, 2]);
  });
  it('eq and flatten read the high part only', () => {
    expect(marked([[init], [conv], RELU, [eq]])).toEqual([]);
    expect(marked([[init], [conv], [flatten]])).toEqual([]);
  });
  it('another activation ends the chain: what comes before it stays f32', () => {
    expect(marked([[init], [conv], ERF, [conv], RELU, [gap]])).toEqual([3, 4]);
  });
  it('a residual sum ends it too', () => {
    expect(marked([[init], [conv], [copyTo, 1], RELU, [conv], [mix, 1], RELU, [gap]])).toEqual([6]);
  });
  it('which gap readouts read a state that may hold negative correlations (mixedSignGaps)', () => {
    const gaps = (recs: R[]) => [...mixedSignGaps(records(recs), 0, recs.length).gaps];
    // init, conv, gap: the inputs' signs; a ReLU makes them ≥ 0, and a conv keeps that.
    expect(gaps([[init], [conv], [gap]])).toEqual([2]);
    expect(gaps([[init], [conv], RELU, [conv], [gap]])).toEqual([]);
    // Another activation (erf: word 14 = 0) may give either sign.
    expect(gaps([[init], [conv], ERF, [conv], [gap]])).toEqual([4]);
    // A residual sum of the stem (a bank, mixed) and a ReLU branch: mixed; of two ReLU states: ≥ 0.
    const res = (reluFirst: boolean): R[] => [[init], [conv], ...(reluFirst ? [RELU] : []), [copyTo, 1], RELU, [conv], RELU, [mix, 1], [gap]];
    expect(gaps(res(false))).toEqual([7]);
    expect(mixedSignGaps(records(res(false)), 0, 8).mixTerms.get(6)).toEqual({ bank: true, current: false });
    expect(gaps(res(true))).toEqual([]);
    // The copy kept for the depth taps carries the sign it was taken with.
    expect(gaps([[init], [conv], [copyTo, 2], RELU, [gap], [copyFrom, 2], [gap]])).toEqual([6]);
  });
  it('read for the sign (mixedSignGaps): a residual sum in double-single, with those of its terms that may be negative', () => {
    // rescnn's shape: a linear stem kept as the bank (either sign), a ReLU branch (≥ 0).
    const recs: R[] = [[init], [conv], [copyTo, 1], RELU, [conv], RELU, [conv], [mix, 1], [gap]];
    const words = records(recs);
    const signs = mixedSignGaps(words, 0, recs.length);
    expect([...signs.gaps]).toEqual([8]);
    markPrecise(words, 0, recs.length, signs);
    // The stem and the sum; the branch (nonnegative) stays f32.
    expect(precise(words)).toEqual([0, 1, 7]);
  });
  it('through the copies: a state restored from a slot, a state kept for the next tap', () => {
    // current → slot 2, erf, then current ← slot 2: the conv before the copy is read by the ReLU.
    expect(marked([[init], [conv], [copyTo, 2], ERF, [copyFrom, 2], RELU, [gap]])).toEqual([0, 1, 5]);
    // The copy in slot 2 is never read back: only the chain that reaches the readout.
    expect(marked([[init], [conv], [copyTo, 2], ERF, [conv], [gap]])).toEqual([4]);
    // Depth taps: each tap's readout, the state restored for the next depth.
    expect(marked([[init], [conv], [copyTo, 3], RELU, [gap], [copyFrom, 3], ERF, [gap]])).toEqual([0, 1, 3]);
  });
});

describe('recordPlan: the gap readout', () => {
  const conv: Layer = { type: 'conv', biasVar: 0.1 };
  const plan = (layers: Layer[]) => recordPlan(compileSpatial({ layers } as Spec), [6, 6], false, () => 0, () => 0, [0]);
  const flags = (p: ReturnType<typeof plan>) => Array.from({ length: p.ops.length / CONV_REC }, (_, k) => p.ops[k * CONV_REC + CONV_PRECISE]);
  it('a nonlinearity after it (directly or in a loop of the dense tail): the ops before it in double-single', () => {
    for (const tail of [[{ type: 'relu' }, { type: 'dense' }], [{ type: 'repeat', count: 2, layers: [{ type: 'dense' }, { type: 'erf' }] }]] as Layer[][]) {
      const p = plan([conv, { type: 'relu' }, conv, { type: 'gap' }, ...tail]);
      expect(p.precise).toBe(true);
      expect(flags(p).slice(0, -1)).toEqual([1, 1, 1, 1]); // init, conv, ReLU, conv (then the readout)
    }
  });
  it('only dense layers after it, or a flatten readout: no double-single (the shaders compile without it)', () => {
    for (const layers of [[conv, { type: 'relu' }, conv, { type: 'gap' }, { type: 'dense' }], [conv, { type: 'relu' }, conv, { type: 'flatten' }, { type: 'relu' }, { type: 'dense' }]] as Layer[][]) {
      const p = plan(layers);
      expect(p.precise).toBe(false);
      expect(flags(p).every((f) => f === 0)).toBe(true);
    }
  });
});

describe('recordPlan: gap taps after strided convs (a plan per readout grid)', () => {
  const conv = (stride = 1, padding: 'zero' | 'circular' = 'zero'): Layer => ({ type: 'conv', stride, padding });
  const loop: Spec = { layers: [conv(), { type: 'repeat', count: 2, layers: [conv(2), { type: 'relu' }] }], readout: [{ type: 'gap' }] };
  const suffix: Spec = { layers: [conv(), { type: 'repeat', count: 2, layers: [conv(), { type: 'relu' }] }], readout: [conv(2), { type: 'gap' }] };
  // Record word 9/10: the input's slab-offset multiplier M of each op; word 1/2 its dims.
  const field = (ops: Uint32Array, w: number) => Array.from({ length: ops.length / CONV_REC }, (_, k) => ops[k * CONV_REC + w]!);
  it('a strided conv in the loop: a group per tap, each ending on its own grid, M the stride product still to come', () => {
    const p = compileSpatial(loop);
    expect(tapGroups(p, [8, 8], true)).toEqual([[0], [1], [2]]);
    expect(tapGroups(p, [8, 8], false)).toEqual([[0]]);
    const plans = tapGroups(p, [8, 8], true).map((g) => recordPlan(p, [8, 8], true, () => 0, () => 0, g));
    expect(plans.map((r) => r.final)).toEqual([[8, 8], [4, 4], [2, 2]]);
    expect(plans.map((r) => r.segments[0]!.cnt)).toEqual([[8, 8], [4, 4], [2, 2]]);
    // The last plan: init and the first conv at M 4, the strided convs read 4 and 2, the ReLUs 2 and 1.
    const last = plans[2]!;
    expect(field(last.ops, 0)).toEqual([CONV_OP.init, CONV_OP.conv, CONV_OP.conv, CONV_OP.act, CONV_OP.conv, CONV_OP.act, CONV_OP.gap]);
    expect(field(last.ops, 9)).toEqual([4, 4, 4, 2, 2, 1, 1]);
    expect(field(last.ops, 11)).toEqual([4, 4, 2, 2, 1, 1, 1]);
    expect(last.tapIndex).toEqual([2]);
  });
  it('a strided conv after the loop: one group; the loop at M 2, each tap\'s suffix restored from the kept copy', () => {
    const p = compileSpatial(suffix);
    expect(tapGroups(p, [8], true)).toEqual([[0, 1, 2]]);
    const r = recordPlan(p, [8], true, () => 0, () => 0, [0, 1, 2]);
    expect(r.final).toEqual([1, 4]);
    const kinds = field(r.ops, 0);
    const M = field(r.ops, 10);
    kinds.forEach((k, i) => {
      if (k === CONV_OP.gap) expect(M[i]).toBe(1);
      if (k === CONV_OP.init) expect(M[i]).toBe(2);
    });
    expect(field(r.ops, 9).every((m) => m === 0)).toBe(true); // 1-D: one row, offset 0
  });
  it('circular padding with a stride that does not divide a tap\'s grid is refused, naming it; dividing ones are not', () => {
    const circ: Spec = { layers: [conv(1, 'circular'), { type: 'repeat', count: 2, layers: [conv(2, 'circular'), { type: 'relu' }] }], readout: [{ type: 'gap' }] };
    const p = compileSpatial(circ);
    expect(spatialGpuShapeRefusal(p, [8, 8], true)).toBeNull();
    expect(spatialGpuShapeRefusal(p, [10], true)).toMatch(/stride 2 on 5 pixels/);
    expect(spatialGpuShapeRefusal(compileSpatial(loop), [10], true)).toBeNull(); // zero padding: masked slabs
  });
});
