/**
 * The op records of the WebGPU slab shader (shaders/conv_slab.wgsl) for a spatial program: the
 * program's ops in the one order `drive` runs them (so that op k reads the pre-pass diagonal k),
 * with the depth taps as copies and readouts, each op carrying its dims, the offsets of its
 * diagonals, the exponents of its input and output scales and the slab-offset multipliers.
 *
 * Which programs the slab shader runs (everything else is an InputError before any work):
 * no avgPool (it mixes slabs); for a gap readout, strided convs only before the depth loop (so that
 * every tap reads out the same slab grid).
 *
 * Slabs of a gap readout: with strides that divide the sizes, the circular slabs (i, (i + δ) mod n),
 * P of P entries, whatever the padding (slab δ of a conv's output reads slab s·δ of its input, and a
 * zero-padded conv simply drops the out-of-image shifts); otherwise, with zero padding only, the
 * slabs δ ∈ [−(n − 1), n − 1] with their out-of-image entries masked ((2n − 1)^D slabs, about 2^D
 * times the work), where a circular conv is refused (spatialGpuShapeRefusal).
 */
import { InputError } from '../errors.js';
import { CONV_OP, CONV_REC } from '../gpu/conv.js';
import type { SpatialOp, SpatialProgram } from '../program/spatial.js';
import type { Activation } from '../spec/types.js';
import { drive, eqPixel, pixels, type Machine } from '../cpu/spatial-geometry.js';

/** Why a program cannot run on the WebGPU slab shader at all (any images), or null. */
export function spatialGpuRefusal(p: SpatialProgram): string | null {
  const ops = [...p.prefix, ...(p.sweep?.body ?? []), ...p.suffix];
  if (ops.some((o) => o.op === 'pool')) {
    return 'avgPool mixes pixel-pair slabs and has no WebGPU kernel yet: use backend "cpu" (or "auto", which computes such specs on the CPU)';
  }
  if (p.readout.type === 'gap') {
    const strided = (list: readonly SpatialOp[]) => list.some((o) => o.op === 'conv' && [o.stride].flat().some((s) => s !== 1));
    if (strided([...(p.sweep?.body ?? []), ...p.suffix])) {
      return 'a gap readout after a strided conv inside or after the depth loop has no WebGPU kernel yet: use backend "cpu" (or "auto")';
    }
  }
  return null;
}

/** [n0, n1] of a 1-D or 2-D size (1-D as 1 × n). */
const as2 = (v: readonly number[]): [number, number] => (v.length === 1 ? [1, v[0]!] : [v[0]!, v[1]!]);
const axes = (v: number | number[], D: number): [number, number] => as2(typeof v === 'number' ? new Array<number>(D).fill(v) : v);

export interface RecordedPlan {
  ops: Uint32Array<ArrayBuffer>;
  acts: Activation[];
  maxEntries: number;
  slots: number;
  taps: number;
  /** The readout's dims of every tap (all equal for gap). */
  final: [number, number];
  zeroSlabs: boolean;
  /** Diagonal index (−1 = input covariance) read by each tap's readout, for its scale. */
  tapDiag: number[];
}

/**
 * Records the op stream. `off(k)` is the word offset of diagonal k (−1: the input's) in an
 * input's block and `exp(k)` its scale exponent.
 */
export function recordPlan(p: SpatialProgram, dims: readonly number[], allDepths: boolean, off: (k: number) => number, exp: (k: number) => number): RecordedPlan {
  const D = dims.length;
  const words: number[] = [];
  const fl = new Float32Array(1);
  const bits = (x: number) => {
    fl[0] = x;
    return new Uint32Array(fl.buffer)[0]!;
  };
  const acts: Activation[] = [];
  const actKey = new Map<string, number>();
  const keepSlot = p.banks;
  const slots = p.banks + 1;
  const keepNeeded = p.suffix.length > 0;
  const gap = p.readout.type === 'gap';
  // Slab-offset multiplier: the product of the strides still to come (strided convs come before the
  // depth loop for gap, so every tap has the same one).
  let M: [number, number] = gap ? [1, 1] : [0, 0];
  if (gap) {
    for (const o of [...p.prefix, ...(p.sweep?.body ?? []), ...p.suffix]) {
      if (o.op === 'conv') {
        const s = axes(o.stride, D);
        M = [M[0] * s[0], M[1] * s[1]];
      }
    }
  }
  let cur = { diag: -1, dims: as2(dims), M };
  let maxEntries = pixels(dims);
  const banks: (typeof cur)[] = [];
  let kept = cur;
  let cursor = 0;
  let taps = 0;
  const tapDiag: number[] = [];
  let final: [number, number] = cur.dims;
  const zeroSlabs = gap && firstNonDividing(p, dims) !== null;
  const shape = spatialGpuShapeRefusal(p, dims);
  if (shape) throw new InputError(shape);

  const rec = (kind: number, from: typeof cur, to: typeof cur, args: number[]) => {
    const r = [
      kind, from.dims[0], from.dims[1], to.dims[0], to.dims[1], off(from.diag), off(to.diag), exp(from.diag) >>> 0, exp(to.diag) >>> 0,
      from.M[0], from.M[1], to.M[0], to.M[1], ...args,
    ];
    while (r.length < CONV_REC) r.push(0);
    words.push(...r);
  };
  rec(CONV_OP.init, cur, cur, []);

  const m: Machine = {
    op(o: SpatialOp) {
      const k = cursor++;
      switch (o.op) {
        case 'conv': {
          const q = axes(o.filter, D);
          const s = axes(o.stride, D);
          const out = { diag: k, dims: [Math.ceil(cur.dims[0] / s[0]), Math.ceil(cur.dims[1] / s[1])] as [number, number], M: [cur.M[0] / s[0], cur.M[1] / s[1]] as [number, number] };
          const w = o.weightVar / (q[0] * q[1]);
          const b = o.biasVar === 0 ? 0 : o.biasVar * 2 ** -exp(cur.diag);
          rec(CONV_OP.conv, cur, out, [q[0], q[1], s[0], s[1], (o.padding === 'zero' ? 1 : 0) | (o.trainable ? 2 : 0), bits(Math.sqrt(w)), bits(w), bits(b), bits(Math.sqrt(b)), bits(w - Math.fround(w))]);
          cur = out;
          maxEntries = Math.max(maxEntries, pixels(out.dims));
          return;
        }
        case 'act': {
          const key = JSON.stringify(o.act);
          let c = actKey.get(key);
          if (c === undefined) {
            c = acts.length;
            acts.push(o.act);
            actKey.set(key, c);
          }
          const out = { ...cur, diag: k };
          rec(CONV_OP.act, cur, out, [c]);
          cur = out;
          return;
        }
        case 'save': {
          banks[o.bank] = cur;
          rec(CONV_OP.copyTo, cur, cur, [o.bank]);
          cur = { ...cur, diag: k };
          return;
        }
        case 'mix': {
          const skip = banks[o.bank]!;
          const out = { ...cur, diag: k };
          rec(CONV_OP.mix, cur, out, [o.bank, bits(o.skip), bits(o.branch), off(skip.diag), exp(skip.diag) >>> 0]);
          cur = out;
          return;
        }
        case 'pool':
          throw new InputError(spatialGpuRefusal(p) ?? 'avgPool has no WebGPU kernel yet');
      }
    },
    tapBegin() {
      kept = cur;
      if (keepNeeded) rec(CONV_OP.copyTo, cur, cur, [keepSlot]);
    },
    readout() {
      const kind = p.readout.type === 'eq' ? CONV_OP.eq : p.readout.type === 'flatten' ? CONV_OP.flatten : CONV_OP.gap;
      const eqAt = p.readout.type === 'eq' ? eqPixel(p.readout.pixel, D === 1 ? [cur.dims[1]] : cur.dims) : 0;
      if (gap && taps > 0 && (cur.dims[0] !== final[0] || cur.dims[1] !== final[1])) {
        throw new Error('internal error: gap taps at different sizes');
      }
      final = cur.dims;
      tapDiag.push(cur.diag);
      rec(kind, cur, cur, [taps++, eqAt]);
    },
    tapEnd() {
      if (keepNeeded) rec(CONV_OP.copyFrom, kept, kept, [keepSlot]);
      cur = kept;
    },
  };
  drive(p, allDepths, m);
  // Case numbers in a canonical order, so that programs with the same activations share a pipeline.
  const order = acts.map((a, k) => ({ key: JSON.stringify(a), k })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const renumber = new Map(order.map((o, c) => [o.k, c]));
  for (let r = 0; r < words.length; r += CONV_REC) if (words[r] === CONV_OP.act) words[r + 13] = renumber.get(words[r + 13]!)!;
  const sorted = order.map((o) => acts[o.k]!);
  return { ops: Uint32Array.from(words), acts: sorted, maxEntries, slots, taps, final, zeroSlabs, tapDiag };
}

/** The first conv (in the order drive runs them) whose stride does not divide its input size, or null. */
function firstNonDividing(p: SpatialProgram, dims: readonly number[]): { n: number; s: number } | null {
  const D = dims.length;
  let found: { n: number; s: number } | null = null;
  let cur = as2(dims);
  let kept = cur;
  drive(p, false, {
    op(o) {
      if (o.op === 'conv') {
        const s = axes(o.stride, D);
        const a = [0, 1].find((k) => cur[k]! % s[k]! !== 0);
        if (a !== undefined && !found) found = { n: cur[a]!, s: s[a]! };
        cur = [Math.ceil(cur[0] / s[0]), Math.ceil(cur[1] / s[1])];
      }
    },
    tapBegin() {
      kept = cur;
    },
    readout() {},
    tapEnd() {
      cur = kept;
    },
  });
  return found;
}

/**
 * Why the slab shader cannot run a program on images of these dims (beyond spatialGpuRefusal), or
 * null. A gap readout behind a stride that does not divide its input size runs on masked slabs, which
 * hold the pairs (i, i + δ) without wrap-around; a circular conv there reads pairs
 * (wrap(i + a), wrap(i + δ + a)) whose offset is δ ± n when one side wraps: another slab.
 */
export function spatialGpuShapeRefusal(p: SpatialProgram, dims: readonly number[]): string | null {
  if (p.readout.type !== 'gap') return null;
  const at = firstNonDividing(p, dims);
  if (!at) return null;
  const ops = [...p.prefix, ...(p.sweep?.body ?? []), ...p.suffix];
  if (!ops.some((o) => o.op === 'conv' && o.padding === 'circular')) return null;
  return `a gap readout on WebGPU cannot combine a circular conv with a conv whose stride does not divide its input size (stride ${at.s} on ${at.n} pixels): use backend "cpu" (or "auto")`;
}
