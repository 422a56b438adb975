/**
 * The op records of the WebGPU slab shader (shaders/conv_slab.wgsl) for a spatial program: the
 * program's ops in the one order `drive` runs them (so that op k reads the pre-pass diagonal k),
 * with the depth taps as copies and readouts, each op carrying its dims, the offsets of its
 * diagonals, the exponents of its input and output scales and the slab-offset multipliers.
 *
 * Segments: an avgPool mixes slabs, so the op stream is split at every pool into segments, each a
 * dispatch of the slab shader over its own set of slabs (a rectangle of offsets at the segment's
 * end grid). A segment followed by a pool ends with a store of each slab's state to a global
 * buffer; the pool shader (shaders/conv_pool.wgsl) turns those into the next segment's slabs, which
 * begins with a load instead of the layer-0 init.
 *
 * Slab sets: eq/flatten end on slab 0. A gap readout runs, where the strides of its segment divide
 * the sizes, the circular slabs (i, (i + δ) mod n), P of P entries, whatever the padding (slab δ
 * of a conv's output reads slab s·δ of its input, and a zero-padded conv simply drops the
 * out-of-image shifts); otherwise the masked slabs δ ∈ [−(n − 1), n − 1] with their out-of-image
 * entries masked ((2n − 1)^D slabs, about 2^D times the work). The segment before a pool (window w,
 * stride s) runs the input offsets s·δ′ + c, c ∈ [−(w − 1), w − 1], of every offset δ′ the next
 * segment starts with: their hull, clipped to the image, as masked slabs (or the circular partition
 * where that is fewer slabs and the strides divide the sizes). Masked slabs do not
 * wrap, so a segment with a circular conv (whose wrap-around pairs would lie in other masked slabs)
 * runs the whole circular partition instead (the pool reads any pair from it), which needs the
 * segment's strides to divide the sizes; otherwise it is refused.
 *
 * Depth taps and strides: a gap readout needs every pixel pair of its tap's grid, and one segment's
 * slabs are one rectangle of offsets at one grid. With a strided conv in the depth loop the taps read
 * out different grids, so the taps are grouped by readout grid (tapGroups: consecutive taps) and each
 * group runs as its own plan: the program up to the group's last readout, without the earlier taps'
 * suffixes, copies and readouts, its last segment's slabs at the group's grid. Offsets map back
 * through the strides as everywhere (slab δ at the end grid is δ·M at an op whose remaining stride
 * product is M); a segment's M is the stride product at its store or last readout, along the
 * loop's path (a tap's suffix, strided or not, runs off it: its copy restores the state). The taps
 * of one grid have no stride between them on any axis where it is wider than one pixel (a stride
 * s ≥ 2 in the loop shrinks every later readout grid wider than 1: ⌈n/S⌉ > ⌈n/(sS)⌉), and on a
 * 1-pixel axis every offset is 0 (M is 0 there). eq and flatten
 * read slab 0 only: one plan. Extra cost: a plan per grid, each up to its last tap.
 *
 * Refused (InputError before any work, "auto" computes on the CPU): a readout before a pool (an
 * avgPool inside or after the depth loop with depths "all"), a residual block around a pool, and
 * the circular convs with non-dividing strides above (for a gap readout: a circular conv with a
 * conv, before a group's readout, whose stride does not divide its input size).
 */
import { InputError } from '../errors.js';
import { CONV_OP, CONV_PRECISE, CONV_REC, type ConvPool, type ConvSegment } from '../gpu/conv.js';
import { programOps, type KernelProgram } from '../program/program.js';
import type { SpatialOp, SpatialProgram } from '../program/spatial.js';
import type { Activation } from '../spec/types.js';
import { drive, eqPixel, pixels } from '../cpu/spatial-geometry.js';

/**
 * Why a program cannot run on the WebGPU slab shader at all (any images), or null. Every refusal
 * depends on the images' dims (spatialGpuShapeRefusal); kept for the API's shape-free check.
 */
export function spatialGpuRefusal(_p: SpatialProgram): string | null {
  return null;
}

type V2 = [number, number];

/** [n0, n1] of a 1-D or 2-D size (1-D as 1 × n). */
const as2 = (v: readonly number[]): V2 => (v.length === 1 ? [1, v[0]!] : [v[0]!, v[1]!]);
const axes = (v: number | number[], D: number): V2 => as2(typeof v === 'number' ? new Array<number>(D).fill(v) : v);

/**
 * The program's ops in drive's order, as one list (taps included); `k` is the op's index in drive's
 * order (its diagonal), `tap` the tap's ordinal (the readout's output index).
 */
type Event = { kind: 'op'; op: SpatialOp; k: number } | { kind: 'tapBegin'; tap: number } | { kind: 'readout'; tap: number } | { kind: 'tapEnd'; tap: number };

function allEvents(p: SpatialProgram, allDepths: boolean): Event[] {
  const ev: Event[] = [];
  let k = 0;
  let tap = 0;
  drive(p, allDepths, {
    op: (op) => ev.push({ kind: 'op', op, k: k++ }),
    tapBegin: () => ev.push({ kind: 'tapBegin', tap }),
    readout: () => ev.push({ kind: 'readout', tap }),
    tapEnd: () => ev.push({ kind: 'tapEnd', tap: tap++ }),
  });
  return ev;
}

/**
 * The events of one dispatch group of taps (tapGroups): up to the readout of its last tap, without
 * the taps before it (their suffix ops, copies and readouts: nothing of them reaches the group's taps).
 */
function events(p: SpatialProgram, allDepths: boolean, group: readonly number[]): Event[] {
  const last = group[group.length - 1]!;
  const out: Event[] = [];
  let skipping = false;
  for (const e of allEvents(p, allDepths)) {
    if (e.kind === 'tapBegin') skipping = !group.includes(e.tap);
    if (!skipping) out.push(e);
    if (e.kind === 'tapEnd') skipping = false;
    if (e.kind === 'readout' && e.tap === last) break;
  }
  return out;
}

/**
 * The taps in groups of consecutive taps, one slab-shader plan each. A gap readout needs every
 * pixel pair of its tap's grid, and the slab offsets of a segment are one rectangle at one grid:
 * taps whose readout grids differ (a strided conv inside the depth loop) cannot share it, so each
 * grid's taps run as their own plan (the program up to the group's last tap, the earlier taps
 * dropped). eq and flatten read slab 0 only: one group.
 */
export function tapGroups(p: SpatialProgram, dims: readonly number[], allDepths: boolean): number[][] {
  const D = dims.length;
  const groups: { grid: V2; taps: number[] }[] = [];
  let cur = as2(dims);
  let kept = cur;
  for (const e of allEvents(p, allDepths)) {
    if (e.kind === 'tapBegin') kept = cur;
    else if (e.kind === 'tapEnd') cur = kept;
    else if (e.kind === 'op') cur = opDims(e.op, cur, D);
    else {
      const g = groups[groups.length - 1];
      if (g && (p.readout.type !== 'gap' || (g.grid[0] === cur[0] && g.grid[1] === cur[1]))) g.taps.push(e.tap);
      else groups.push({ grid: cur, taps: [e.tap] });
    }
  }
  return groups.map((g) => g.taps);
}

/** The dims after an op (conv and pool change them). */
function opDims(o: SpatialOp, cur: V2, D: number): V2 {
  if (o.op === 'conv') {
    const s = axes(o.stride, D);
    return [Math.ceil(cur[0] / s[0]), Math.ceil(cur[1] / s[1])];
  }
  if (o.op === 'pool') {
    const w = axes(o.window, D);
    const s = axes(o.stride, D);
    return [Math.floor((cur[0] - w[0]) / s[0]) + 1, Math.floor((cur[1] - w[1]) / s[1]) + 1];
  }
  return cur;
}

/** A segment's slab set and geometry, before recording. */
interface SegGeom {
  /** Offsets at the segment's end grid: lo and count per axis. */
  lo: V2;
  cnt: V2;
  /** Product of the conv strides in the segment (the start offsets are δ·M). */
  M: V2;
  end: V2;
  /** Any circular conv in the segment, and the first stride that does not divide its input size. */
  circular: boolean;
  nonDividing: { n: number; s: number } | null;
  /** The circular partition (i, (i + δ) mod n), δ ∈ [0, n); else masked offsets, no wrap-around. */
  wrap: boolean;
}

interface Analysis {
  segs: SegGeom[];
  refusal: string | null;
}

const POOL_HINT = 'use backend "cpu" (or "auto", which computes such specs on the CPU)';

const onlyZero = (g: Pick<SegGeom, 'lo' | 'cnt'>) => g.lo[0] === 0 && g.lo[1] === 0 && g.cnt[0] === 1 && g.cnt[1] === 1;

/**
 * The segments of a program on images of these dims, or why the slab shader cannot run it.
 * Backwards from the readout: each segment runs the masked hull of the pair offsets the next one's
 * pool reads, or, where it has a circular conv (whose wrap-around pairs would lie in other masked
 * slabs), the whole circular partition, which needs its strides to divide the sizes.
 */
function analyse(p: SpatialProgram, dims: readonly number[], allDepths: boolean, group: readonly number[]): Analysis {
  const D = dims.length;
  const gap = p.readout.type === 'gap';
  const segs: SegGeom[] = [];
  const pools: { w: V2; s: V2; out: V2 }[] = [];
  let cur = as2(dims);
  let kept = cur;
  // P: the product of the conv strides since the segment's start along the path to the current
  // state (a tap's suffix runs off the loop's path: tapEnd restores it). A segment's M is P at its
  // store or at its last readout, so that an op's slab-offset multiplier M / P(op) is the product
  // of the strides between it and the readout it reaches (the same for every tap of the group: on
  // an axis whose readout grid exceeds 1, the taps of one grid have no stride between them).
  let P: V2 = [1, 1];
  let keptP = P;
  const fresh = (): SegGeom => ({ lo: [0, 0], cnt: [1, 1], M: [1, 1], end: cur, circular: false, nonDividing: null, wrap: false });
  let seg = fresh();
  const bankSeg: number[] = [];
  let refusal: string | null = null;
  // A readout before a pool, anywhere in the program (the groups drop the taps before theirs).
  let readoutSeen = false;
  for (const e of allEvents(p, allDepths)) {
    if (e.kind === 'readout') readoutSeen = true;
    else if (e.kind === 'op' && e.op.op === 'pool' && readoutSeen) {
      refusal ??= `an avgPool inside or after the depth loop with depths "all" has no WebGPU kernel (a readout before a pool): ${POOL_HINT}`;
    }
  }
  for (const e of events(p, allDepths, group)) {
    if (e.kind === 'tapBegin') {
      kept = cur;
      keptP = P;
    } else if (e.kind === 'tapEnd') {
      cur = kept;
      P = keptP;
    } else if (e.kind === 'readout') {
      seg.M = P;
      seg.end = cur;
    } else {
      const o = e.op;
      if (o.op === 'conv') {
        const s = axes(o.stride, D);
        const a = [0, 1].find((k) => cur[k]! % s[k]! !== 0);
        if (a !== undefined && !seg.nonDividing) seg.nonDividing = { n: cur[a]!, s: s[a]! };
        P = [P[0] * s[0], P[1] * s[1]];
        seg.circular ||= o.padding === 'circular';
        cur = opDims(o, cur, D);
      } else if (o.op === 'save') bankSeg[o.bank] = segs.length;
      else if (o.op === 'mix') {
        if (bankSeg[o.bank] !== segs.length) refusal ??= `a residual block around an avgPool has no WebGPU kernel: ${POOL_HINT}`;
      } else if (o.op === 'pool') {
        const w = axes(o.window, D);
        const s = axes(o.stride, D);
        segs.push({ ...seg, M: P, end: cur });
        cur = opDims(o, cur, D);
        pools.push({ w, s, out: cur });
        P = [1, 1];
        seg = fresh();
      }
    }
  }
  // The last segment ends at the group's last readout (seg.M and seg.end set there).
  segs.push(seg);
  const hasPool = pools.length > 0;
  const wrapAll = (g: SegGeom) => {
    g.wrap = true;
    g.lo = [0, 0];
    g.cnt = [g.end[0], g.end[1]];
  };
  const circularRefusal = (at: { n: number; s: number }) =>
    hasPool
      ? `a circular conv before an avgPool (or before a gap readout after one) with a conv whose stride does not divide its input size (stride ${at.s} on ${at.n} pixels) has no WebGPU kernel: ${POOL_HINT}`
      : `a gap readout on WebGPU cannot combine a circular conv with a conv whose stride does not divide its input size (stride ${at.s} on ${at.n} pixels): use backend "cpu" (or "auto")`;
  // The last segment: slab 0 for eq/flatten; for gap the circular partition where its strides
  // divide the sizes (n slabs per axis), else the masked offsets (2n − 1).
  const last = segs[segs.length - 1]!;
  if (gap) {
    if (!last.nonDividing) wrapAll(last);
    else {
      last.lo = [-(last.end[0] - 1), -(last.end[1] - 1)];
      last.cnt = [2 * last.end[0] - 1, 2 * last.end[1] - 1];
      if (last.circular) refusal ??= circularRefusal(last.nonDividing);
    }
  }
  for (let g = segs.length - 2; g >= 0; g--) {
    const next = segs[g + 1]!;
    const { w, s, out } = pools[g]!;
    const here = segs[g]!;
    for (const k of [0, 1]) {
      // J − I of the pooled pairs the next segment starts with: its offsets times M, or any when they wrap.
      const d0 = next.wrap ? -(out[k]! - 1) : next.lo[k]! * next.M[k]!;
      const d1 = next.wrap ? out[k]! - 1 : (next.lo[k]! + next.cnt[k]! - 1) * next.M[k]!;
      const n = here.end[k]!;
      const lo = Math.max(-(n - 1), s[k]! * d0 - (w[k]! - 1));
      const hi = Math.min(n - 1, s[k]! * d1 + (w[k]! - 1));
      here.lo[k] = lo;
      here.cnt[k] = hi - lo + 1;
    }
    if (here.circular && !onlyZero(here)) {
      if (here.nonDividing) refusal ??= circularRefusal(here.nonDividing);
      else wrapAll(here);
    } else if (!here.nonDividing && here.cnt[0] * here.cnt[1] > here.end[0] * here.end[1]) {
      // The circular partition holds every pair once: fewer slabs than a wide hull (gap after a pool: 8×8 pooled to 4×4 needs 15² masked offsets, 8² circular).
      wrapAll(here);
    }
  }
  return { segs, refusal };
}

/**
 * Why the slab shader cannot run a program on images of these dims (beyond spatialGpuRefusal), or
 * null: see analyse (a circular conv on masked slabs reads pairs (wrap(i + a), wrap(i + δ + a))
 * whose offset is δ ± n when one side wraps: another slab).
 */
export function spatialGpuShapeRefusal(p: SpatialProgram, dims: readonly number[], allDepths = false): string | null {
  for (const g of tapGroups(p, dims, allDepths)) {
    const why = analyse(p, dims, allDepths, g).refusal;
    if (why) return why;
  }
  return null;
}

export interface RecordedPlan {
  ops: Uint32Array<ArrayBuffer>;
  acts: Activation[];
  maxEntries: number;
  slots: number;
  taps: number;
  /** The program's taps (ordinals) that this plan reads out, in its output order. */
  tapIndex: number[];
  /** The readout's dims of every tap (all equal for gap). */
  final: [number, number];
  /** Diagonal index (−1 = input covariance) read by each tap's readout, for its scale. */
  tapDiag: number[];
  segments: ConvSegment[];
  pools: ConvPool[];
  /** Whether some op carries the gap in double-single (CONV_PRECISE): the shaders then hold its low part. */
  precise: boolean;
}

/**
 * Records the op stream of one group of taps (tapGroups). `off(k)` is the word offset of diagonal
 * k (−1: the input's) in an input's block and `exp(k)` its scale exponent.
 */
export function recordPlan(
  p: SpatialProgram, dims: readonly number[], allDepths: boolean, off: (k: number) => number, exp: (k: number) => number, group: readonly number[],
): RecordedPlan {
  const D = dims.length;
  const an = analyse(p, dims, allDepths, group);
  if (an.refusal) throw new InputError(an.refusal);
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
  const totalTaps = group.length;
  const keepNeeded = p.suffix.length > 0;
  // Slab-offset multiplier: the product of the strides still to come in the segment (0 on an axis
  // with offset 0 only: every op reads offset 0 there).
  const M0 = (g: SegGeom): V2 => [g.lo[0] === 0 && g.cnt[0] === 1 ? 0 : g.M[0], g.lo[1] === 0 && g.cnt[1] === 1 ? 0 : g.M[1]];
  let segIndex = 0;
  let cur = { diag: -1, dims: as2(dims), M: M0(an.segs[0]!) };
  let maxEntries = pixels(dims);
  const banks: (typeof cur)[] = [];
  let kept = cur;
  let taps = 0;
  let tapsBegun = 0;
  let tapsEnded = 0;
  const tapDiag: number[] = [];
  let final: [number, number] = cur.dims;
  const segments: ConvSegment[] = [];
  const pools: ConvPool[] = [];
  let segStart = 0;

  const rec = (kind: number, from: typeof cur, to: typeof cur, args: number[]) => {
    const r = [
      kind, from.dims[0], from.dims[1], to.dims[0], to.dims[1], off(from.diag), off(to.diag), exp(from.diag) >>> 0, exp(to.diag) >>> 0,
      from.M[0], from.M[1], to.M[0], to.M[1], ...args,
    ];
    while (r.length < CONV_REC) r.push(0);
    words.push(...r);
  };
  const closeSegment = (store: boolean) => {
    const g = an.segs[segIndex]!;
    if (store) rec(CONV_OP.store, cur, cur, []);
    // A pool follows, or a gap readout in a program with a pool or whose dense tail has a
    // nonlinearity: the segment's ops whose gap it reads carry it in double-single (ds_gaps.wgsl), for
    // the sums over off-diagonal pixel pairs (a near-duplicate's pooled 1 − ρ ~ 1e−8 is the size of
    // their f32 rounding, and a ReLU after it reads it ~1e4 times amplified).
    // Otherwise a gap readout of a state whose correlations may be negative (mixedSignGaps) reads
    // its gaps in double-single too: its sum over pixel pairs may cancel to far below its terms.
    const end = words.length / CONV_REC;
    if (store || (p.readout.type === 'gap' && (pools.length > 0 || tailHasAct(p.tail)))) markPrecise(words, segStart, end);
    else if (p.readout.type === 'gap') markPrecise(words, segStart, end, mixedSignGaps(words, segStart, end));
    segments.push({ opStart: segStart, opCount: words.length / CONV_REC - segStart, lo: [g.lo[0], g.lo[1]], cnt: [g.cnt[0], g.cnt[1]], wrap: g.wrap, entries: pixels(cur.dims) });
    segStart = words.length / CONV_REC;
  };
  rec(CONV_OP.init, cur, cur, []);

  const m = {
    op(o: SpatialOp, k: number) {
      switch (o.op) {
        case 'conv': {
          const q = axes(o.filter, D);
          const s = axes(o.stride, D);
          const out = { diag: k, dims: [Math.ceil(cur.dims[0] / s[0]), Math.ceil(cur.dims[1] / s[1])] as V2, M: [cur.M[0] / s[0], cur.M[1] / s[1]] as V2 };
          const w = o.weightVar / (q[0] * q[1]);
          const b = o.biasVar === 0 ? 0 : o.biasVar * 2 ** -exp(cur.diag);
          // Words 24 and 25: the low parts of √w and b, for the double-single gaps (word 23, markPrecise).
          rec(CONV_OP.conv, cur, out, [
            q[0], q[1], s[0], s[1], (o.padding === 'zero' ? 1 : 0) | (o.trainable ? 2 : 0), bits(Math.sqrt(w)), bits(w), bits(b), bits(Math.sqrt(b)), bits(w - Math.fround(w)),
            0, bits(Math.sqrt(w) - Math.fround(Math.sqrt(w))), bits(b - Math.fround(b)),
          ]);
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
          // Word 14: a ReLU, whose gap can be computed in double-single (markPrecise).
          rec(CONV_OP.act, cur, out, [c, o.act.type === 'relu' ? 1 : 0]);
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
        case 'pool': {
          const w = axes(o.window, D);
          const s = axes(o.stride, D);
          const from = an.segs[segIndex]!;
          closeSegment(true);
          segIndex++;
          const next = an.segs[segIndex]!;
          const out = { diag: k, dims: [Math.floor((cur.dims[0] - w[0]) / s[0]) + 1, Math.floor((cur.dims[1] - w[1]) / s[1]) + 1] as V2, M: M0(next) };
          pools.push({
            inDims: cur.dims, outDims: out.dims, window: w, stride: s,
            din: off(cur.diag), dout: off(k), ein: exp(cur.diag), eout: exp(k),
            inLo: [from.lo[0], from.lo[1]], inCnt: [from.cnt[0], from.cnt[1]], inWrap: from.wrap,
            outLo: [next.lo[0], next.lo[1]], outCnt: [next.cnt[0], next.cnt[1]], outM: out.M, outWrap: next.wrap,
          });
          cur = out;
          rec(CONV_OP.load, cur, cur, []);
          return;
        }
      }
    },
    tapBegin() {
      kept = cur;
      // The last tap's copy is never read back (nothing runs after it).
      if (keepNeeded && ++tapsBegun < totalTaps) rec(CONV_OP.copyTo, cur, cur, [keepSlot]);
    },
    readout() {
      const kind = p.readout.type === 'eq' ? CONV_OP.eq : p.readout.type === 'flatten' ? CONV_OP.flatten : CONV_OP.gap;
      const eqAt = p.readout.type === 'eq' ? eqPixel(p.readout.pixel, D === 1 ? [cur.dims[1]] : cur.dims) : 0;
      if (p.readout.type === 'gap' && taps > 0 && (cur.dims[0] !== final[0] || cur.dims[1] !== final[1])) {
        throw new Error('internal error: gap taps at different sizes');
      }
      if (p.readout.type === 'gap' && cur.M.some((v) => v !== 0 && v !== 1)) throw new Error('internal error: a gap readout off its slab grid');
      final = cur.dims;
      tapDiag.push(cur.diag);
      rec(kind, cur, cur, [taps++, eqAt]);
    },
    tapEnd() {
      if (keepNeeded && ++tapsEnded < totalTaps) rec(CONV_OP.copyFrom, kept, kept, [keepSlot]);
      cur = kept;
    },
  };
  for (const e of events(p, allDepths, group)) {
    if (e.kind === 'op') m.op(e.op, e.k);
    else if (e.kind === 'tapBegin') m.tapBegin();
    else if (e.kind === 'readout') m.readout();
    else m.tapEnd();
  }
  closeSegment(false);
  // Case numbers in a canonical order, so that programs with the same activations share a pipeline.
  const order = acts.map((a, k) => ({ key: JSON.stringify(a), k })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const renumber = new Map(order.map((o, c) => [o.k, c]));
  for (let r = 0; r < words.length; r += CONV_REC) if (words[r] === CONV_OP.act) words[r + 13] = renumber.get(words[r + 13]!)!;
  const sorted = order.map((o) => acts[o.k]!);
  let precise = false;
  for (let r = 0; r < words.length; r += CONV_REC) precise ||= words[r + CONV_PRECISE] !== 0;
  return { ops: Uint32Array.from(words), acts: sorted, maxEntries, slots, taps, tapIndex: [...group], final, tapDiag, segments, pools, precise };
}

/**
 * Marks (word CONV_PRECISE) the ops of records [from, to), one segment, whose gap's low part a
 * later op of the segment reads: backwards from the store and the gap readouts, through the slots
 * (0: the current state; banks and the copy kept for the taps) that the copies move it between.
 * init, conv and ReLU compute it from their inputs' (a marked op's input is live too); the other
 * activations read the high parts alone and write a low part of 0, so what comes before them is
 * left in f32 (it would change nothing there). A residual sum ends the chain too, except in a
 * reading for the sign (`only`, from mixedSignGaps: only its gap readouts start one), where it
 * computes its gap in double-single from the terms that may be of either sign.
 */
export function markPrecise(words: number[], from: number, to: number, only?: MixedSigns): void {
  const live = new Set<number>();
  for (let k = to - 1; k >= from; k--) {
    const r = k * CONV_REC;
    const slot = words[r + 13]!;
    switch (words[r]) {
      case CONV_OP.store:
        live.add(0);
        break;
      case CONV_OP.gap:
        if (!only || only.gaps.has(k)) live.add(0);
        break;
      case CONV_OP.copyTo: // slot ← current
        if (live.delete(slot)) live.add(0);
        break;
      case CONV_OP.copyFrom: // current ← slot
        if (live.delete(0)) live.add(slot);
        break;
      case CONV_OP.conv:
        if (live.has(0)) words[r + CONV_PRECISE] = 1;
        break;
      case CONV_OP.init:
        if (live.delete(0)) words[r + CONV_PRECISE] = 1;
        break;
      case CONV_OP.act:
        if (words[r + 14] === 0) live.delete(0);
        else if (live.has(0)) words[r + CONV_PRECISE] = 1;
        break;
      case CONV_OP.mix: // current ← cs·slot + cb·current
        // Reading for the sign (only): the sum in double-single, and those of its terms that may be
        // of either sign (a term ≥ 0 sums without cancelling: its f32 gaps are not amplified).
        // Otherwise the sum ends the chain.
        if (live.delete(0) && only) {
          words[r + CONV_PRECISE] = 1;
          const t = only.mixTerms.get(k)!;
          if (t.bank) live.add(slot);
          if (t.current) live.add(0);
        }
        break;
      case CONV_OP.load:
        live.delete(0);
        break;
      default: // eq, flatten: read the high parts only
    }
  }
}

/** Where a segment's states may hold negative correlations (mixedSignGaps). */
export interface MixedSigns {
  /** The gap readouts (record indices) whose state may hold negative correlations. */
  gaps: Set<number>;
  /** Per residual sum (record index): whether its bank term and its current term may. */
  mixTerms: Map<number, { bank: boolean; current: boolean }>;
}

/**
 * The gap readouts (record indices) among records [from, to), one segment, whose state may hold
 * negative correlations, and the residual sums' terms that may: the inputs' (init, or a pooled
 * state loaded), kept through convs (weights and bias ≥ 0 average the taps) until a ReLU makes them
 * ≥ 0 (κ1 ≥ 0); another activation may make them of either sign; a residual sum is ≥ 0 where both
 * its terms are. Such a readout's sum over the P² pixel pairs can cancel to far below its terms: a
 * linear stem on one-channel images, where ρ0 = ±1, read out by gap (rescnn's depth 0) is the mean
 * pixel squared, ~1e−5 of the terms, and the terms' f32 gaps left 5e−5 of it (normalised).
 */
export function mixedSignGaps(words: number[], from: number, to: number): MixedSigns {
  const nonneg = new Map<number, boolean>();
  let cur = false;
  const out = new Set<number>();
  const mixTerms = new Map<number, { bank: boolean; current: boolean }>();
  for (let k = from; k < to; k++) {
    const r = k * CONV_REC;
    const slot = words[r + 13]!;
    switch (words[r]) {
      case CONV_OP.init:
      case CONV_OP.load:
        cur = false;
        break;
      case CONV_OP.act:
        cur = words[r + 14] === 1;
        break;
      case CONV_OP.copyTo:
        nonneg.set(slot, cur);
        break;
      case CONV_OP.copyFrom:
        cur = nonneg.get(slot) ?? false;
        break;
      case CONV_OP.mix: {
        const bankNonneg = nonneg.get(slot) ?? false;
        mixTerms.set(k, { bank: !bankNonneg, current: !cur });
        cur = cur && bankNonneg;
        break;
      }
      case CONV_OP.gap:
        if (!cur) out.add(k);
        break;
      default: // conv keeps the sign; store, eq, flatten change nothing
    }
  }
  return { gaps: out, mixTerms };
}

/** Whether the dense tail after the readout has a nonlinearity anywhere (prefix, loops, sweep, suffix). */
function tailHasAct(t: KernelProgram): boolean {
  return programOps(t).some((o) => o.op === 'act');
}
