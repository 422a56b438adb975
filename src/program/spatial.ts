/**
 * The spatial kernel program: what a convolutional spec does to the pixel-pair state of one input
 * pair (x, z) of images (wave2.md §1.1, the contract of issue 12).
 *
 * A spatial spec is split at its readout (eq, flatten or gap):
 * - the image part, a straight-line list of spatial ops (`prefix`), the depth loop (`sweep`) and the
 *   ops after it (`suffix`); repeats inside are unrolled;
 * - the readout's pooling R (K_R = R(K), Θ_R = R(Θ));
 * - the vector tail: the readout's dense layer and every layer after it, as an ordinary fully
 *   connected KernelProgram (program.ts), run by the scalar interpreter.
 *
 * The depth loop is the last top-level repeat of the spec, as for FC specs: in the image part (then
 * the readout and tail follow every depth) or in the tail (then the image part runs once).
 *
 * Which state the executor keeps is decided here (neural-tangents' `diagonal_spatial` idea): conv,
 * activations and residual sums never mix pixel-pair offsets (slabs), so with an eq or flatten
 * readout and no pooling only slab 0, the P diagonal pairs (i, i), is needed ("diagonal"); a gap
 * readout or an avgPool layer needs every pixel pair ("full").
 */
import { SpecError } from '../errors.js';
import { compile, countResidualBlocks, residualAlpha } from './compile.js';
import type { KernelProgram } from './program.js';
import type { Activation, ResolvedLayer, ResolvedSpatialReadout, ResolvedSpec, Spec } from '../spec/types.js';
import { isActivation, SPATIAL_READOUT_TYPES } from '../spec/types.js';
import { isSpatialSpec, resolveSpec } from '../spec/validate.js';
import { assertNever } from '../errors.js';

export type SpatialOp =
  /** K ← σ_w²·S(K) + σ_b², Θ ← σ_w²·S(Θ) + (trainable ? K : 0); S the mean over the filter shifts. */
  | {
      op: 'conv';
      filter: number | number[];
      stride: number | number[];
      padding: 'circular' | 'zero';
      weightVar: number;
      biasVar: number;
      trainable: boolean;
    }
  /** Entrywise on pixel pairs, with the per-pixel diagonals. */
  | { op: 'act'; act: Activation }
  /** K'[I, J] = mean over a, b in the window of K[sI + a, sJ + b] (mixes slabs: full state only). */
  | { op: 'pool'; window: number | number[]; stride: number | number[] }
  /** bank ← current state. */
  | { op: 'save'; bank: number }
  /** current ← skip·bank + branch·current (a residual sum, per pixel pair). */
  | { op: 'mix'; bank: number; skip: number; branch: number };

export interface SpatialProgram {
  kind: 'spatial';
  /** "dim": K0[i, j] = x[:, i]·z[:, j]/C; "none": without the 1/C. */
  inputScale: 'none' | 'dim';
  prefix: SpatialOp[];
  /** The depth loop of the image part; null when it has none (or the tail has it). */
  sweep: { count: number; body: SpatialOp[] } | null;
  suffix: SpatialOp[];
  /** The readout's pooling (its dense layer is the first layer of `tail`). */
  readout: { type: ResolvedSpatialReadout['type']; pixel?: number[] };
  /** The vector part: the readout's dense layer and everything after it. */
  tail: KernelProgram;
  /** "diagonal": slab 0 only (eq/flatten, no pooling); "full": every pixel pair (gap or avgPool). */
  state: 'diagonal' | 'full';
  /** Number of register banks of the image part (residual skips), ≥ 1. */
  banks: number;
  /** Depth label of each sweep entry. */
  depths: number[];
  residualBlocks: number;
}

/** Upper bound on the unrolled number of image ops. */
const MAX_SPATIAL_OPS = 1_000_000;

const isReadout = (l: ResolvedLayer): l is ResolvedSpatialReadout =>
  (SPATIAL_READOUT_TYPES as readonly string[]).includes(l.type);

/** Compiles a spatial spec (raw JSON or resolved) into its spatial program. */
export function compileSpatial(spec: Spec | ResolvedSpec): SpatialProgram {
  const resolved = resolveSpec(spec);
  if (!isSpatialSpec(resolved)) {
    throw new SpecError('layers', 'not a convolutional spec (no conv, avgPool or readout): use compile()');
  }
  const L = countResidualBlocks([...resolved.layers, ...resolved.readout]);

  // Where the readout is: top level of `layers` or of `readout` (validation ensures exactly one
  // spatial→vector step; it must not hide inside a repeat).
  const inLayers = resolved.layers.findIndex(isReadout);
  const inReadout = resolved.readout.findIndex(isReadout);
  const at = inLayers >= 0 ? { list: 'layers' as const, i: inLayers } : inReadout >= 0 ? { list: 'readout' as const, i: inReadout } : null;
  if (!at) {
    throw new SpecError('layers', 'the readout (eq, flatten or gap) must be a top-level layer of "layers" or "readout", not inside a repeat');
  }
  const image = at.list === 'layers' ? resolved.layers.slice(0, at.i) : resolved.layers;
  const imageAfter = at.list === 'readout' ? resolved.readout.slice(0, at.i) : [];
  const readoutLayer = (at.list === 'layers' ? resolved.layers : resolved.readout)[at.i] as ResolvedSpatialReadout;
  const tailLayers = at.list === 'layers' ? resolved.layers.slice(at.i + 1) : [];
  const tailReadout = at.list === 'layers' ? resolved.readout : resolved.readout.slice(at.i + 1);

  const tail = compile({
    inputScale: 'none',
    layers: [
      { type: 'dense', weightVar: readoutLayer.weightVar, biasVar: readoutLayer.biasVar, trainable: readoutLayer.trainable },
      ...tailLayers.map((l) => fixAlpha(l, L)),
    ],
    readout: tailReadout.map((l) => fixAlpha(l, L)),
    sweepStart: resolved.sweepStart,
  });
  const tailSweeps = tail.sweep !== null;

  // The image part's depth loop: its last top-level repeat, unless the tail has the loop.
  let sweepAt = -1;
  if (!tailSweeps) image.forEach((l, i) => (l.type === 'repeat' ? (sweepAt = i) : undefined));
  const e = new SpatialEmitter(L);
  const prefix: SpatialOp[] = [];
  const suffix: SpatialOp[] = [];
  let sweep: SpatialProgram['sweep'] = null;
  image.forEach((l, i) => {
    if (i < sweepAt || sweepAt < 0) e.layers([l], 1, prefix);
    else if (i === sweepAt && l.type === 'repeat') {
      const body: SpatialOp[] = [];
      e.layers(l.layers, 1, body);
      sweep = { count: l.count, body };
    } else e.layers([l], 1, suffix);
  });
  e.layers(imageAfter, 1, suffix);

  const ops = [...prefix, ...(sweep ? (sweep as { body: SpatialOp[] }).body : []), ...suffix];
  const state = readoutLayer.type === 'gap' || ops.some((o) => o.op === 'pool') ? 'full' : 'diagonal';
  const depths = tailSweeps
    ? tail.depths.slice()
    : Array.from({ length: sweep ? (sweep as { count: number }).count + 1 : 1 }, (_, t) => resolved.sweepStart + t);
  return {
    kind: 'spatial',
    inputScale: resolved.inputScale,
    prefix,
    sweep,
    suffix,
    readout: { type: readoutLayer.type, ...(readoutLayer.pixel ? { pixel: readoutLayer.pixel.slice() } : {}) },
    tail,
    state,
    banks: e.maxBank + 1,
    depths,
    residualBlocks: L,
  };
}

/** A residual block of the tail with α fixed from the whole network's L (the tail alone has fewer blocks). */
function fixAlpha(l: ResolvedLayer, L: number): ResolvedLayer {
  if (l.type === 'residual') {
    return { type: 'residual', alpha: residualAlpha(l, L), beta: l.beta, branch: l.branch.map((b) => fixAlpha(b, L)) };
  }
  if (l.type === 'repeat') return { ...l, layers: l.layers.map((b) => fixAlpha(b, L)) };
  return l;
}

class SpatialEmitter {
  maxBank = 0;
  private count = 0;
  constructor(private readonly L: number) {}

  private push(to: SpatialOp[], op: SpatialOp): void {
    if (++this.count > MAX_SPATIAL_OPS) {
      throw new SpecError('layers', `the network unrolls to more than ${MAX_SPATIAL_OPS} image operations (repeats too large)`);
    }
    to.push(op);
  }

  layers(layers: ResolvedLayer[], bank: number, to: SpatialOp[]): void {
    for (const l of layers) this.layer(l, bank, to);
  }

  private layer(l: ResolvedLayer, bank: number, to: SpatialOp[]): void {
    switch (l.type) {
      case 'conv':
        this.push(to, { op: 'conv', filter: l.filter, stride: l.stride, padding: l.padding, weightVar: l.weightVar, biasVar: l.biasVar, trainable: l.trainable });
        return;
      case 'avgPool':
        this.push(to, { op: 'pool', window: l.window, stride: l.stride });
        return;
      case 'residual': {
        this.maxBank = Math.max(this.maxBank, bank);
        const alpha = residualAlpha(l, this.L);
        this.push(to, { op: 'save', bank });
        this.layers(l.branch, bank + 1, to);
        this.push(to, { op: 'mix', bank, skip: l.beta * l.beta, branch: alpha * alpha });
        return;
      }
      case 'repeat':
        for (let i = 0; i < l.count; i++) this.layers(l.layers, bank, to);
        return;
      case 'eq':
      case 'flatten':
      case 'gap':
        throw new SpecError('layers', 'the readout (eq, flatten or gap) must be a top-level layer of "layers" or "readout", not inside a repeat');
      case 'dense':
      case 'denseBlock':
        // Validation refuses these on an image; reaching here is an internal error.
        throw new Error(`internal error: a ${l.type} layer in the image part of a spatial spec`);
      default:
        if (isActivation(l)) {
          this.push(to, { op: 'act', act: l });
          return;
        }
        assertNever(l, 'layer');
    }
  }
}
