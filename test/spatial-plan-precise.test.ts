/**
 * Which conv ops carry the gap in double-single (src/exec/spatial-plan.ts, markPrecise; record word
 * CONV_PRECISE): those whose gap's low part a later op of the segment reads, backwards from a
 * store (a pool follows) or a gap readout, through the slots the copies move it between. ReLU,
 * conv and the first layer compute the low part; the other activations and the residual sum write
 * it as 0, so what comes before them stays f32. A gap readout is preceded by double-single ops in a
 * network with a pool or with a nonlinearity after the readout (the near-duplicate's pooled
 * 1 − ρ ~ 1e−8 read by a ReLU; test/gpu-conv.test.ts), not otherwise (plans.precise false: the
 * shaders compile without the low parts).
 */
import { describe, expect, it } from 'vitest';
import { CONV_OP, CONV_PRECISE, CONV_REC } from '../src/gpu/conv.js';
import { markPrecise, recordPlan } from '../src/exec/spatial-plan.js';
import { compileSpatial } from '../src/program/spatial.js';
import type { Layer, Spec } from '../src/spec/types.js';

type R = [kind: number, slot?: number, relu?: number];
const RELU: R = [CONV_OP.act, 0, 1];
const ERF: R = [CONV_OP.act, 0, 0];

/** The indices of the records markPrecise marks. */
function marked(recs: R[]): number[] {
  const words = recs.flatMap(([kind, slot = 0, relu = 0]) => {
    const r = new Array<number>(CONV_REC).fill(0);
    r[0] = kind;
    r[13] = slot;
    r[14] = relu;
    return r;
  });
  markPrecise(words, 0, recs.length);
  return recs.map((_, k) => k).filter((k) => words[k * CONV_REC + CONV_PRECISE] !== 0);
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
  it('another activation or a residual sum ends the chain: what comes before it stays f32', () => {
    expect(marked([[init], [conv], ERF, [conv], RELU, [gap]])).toEqual([3, 4]);
    expect(marked([[init], [conv], [copyTo, 1], RELU, [conv], [mix, 1], RELU, [gap]])).toEqual([6]);
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
