/**
 * Compiles a resolved spec into a kernel program (see program.ts). Nested repeats are unrolled;
 * top-level repeats and DenseNet blocks become loops, the last of them being the depth loop.
 */
import { SpecError } from '../errors.js';
import { resolveSpec } from '../spec/validate.js';
import type { ResolvedLayer, ResolvedSpec, Spec } from '../spec/types.js';
import type { KernelProgram, Op, Step } from './program.js';

/** Upper bound on the unrolled size of a loop body or straight-line part. */
const MAX_UNROLLED_OPS = 2_000_000;

/** Number of residual blocks in a list of layers, repeats multiplied out. */
export function countResidualBlocks(layers: ResolvedLayer[]): number {
  let n = 0;
  for (const l of layers) {
    if (l.type === 'residual') n += 1 + countResidualBlocks(l.branch);
    else if (l.type === 'repeat') n += l.count * countResidualBlocks(l.layers);
  }
  return n;
}

/** α of a residual block in a network with L residual blocks. */
export function residualAlpha(layer: Extract<ResolvedLayer, { type: 'residual' }>, L: number): number {
  if (layer.alpha !== undefined) return layer.alpha;
  return (layer.alpha0 ?? 1) * Math.pow(L, -(layer.gamma ?? 0));
}

class Emitter {
  ops: Op[] = [];
  constructor(
    private readonly L: number,
    private readonly maxBank: { value: number },
  ) {}

  push(op: Op): void {
    if (this.ops.length >= MAX_UNROLLED_OPS) {
      throw new SpecError('layers', `the network unrolls to more than ${MAX_UNROLLED_OPS} operations (nested repeats too large)`);
    }
    this.ops.push(op);
  }

  /** Emits `layers`; `bank` is the first free bank for skips and accumulators. */
  layers(layers: ResolvedLayer[], bank: number): void {
    for (const l of layers) this.layer(l, bank);
  }

  layer(l: ResolvedLayer, bank: number): void {
    switch (l.type) {
      case 'dense':
        this.push({ op: 'affine', weightVar: l.weightVar, biasVar: l.biasVar, trainable: l.trainable });
        return;
      case 'residual': {
        this.use(bank);
        const alpha = residualAlpha(l, this.L);
        this.push({ op: 'save', bank });
        this.layers(l.branch, bank + 1);
        this.push({ op: 'mix', bank, skip: l.beta * l.beta, branch: alpha * alpha });
        return;
      }
      case 'denseBlock': {
        this.use(bank);
        this.push({ op: 'clear', bank });
        for (let i = 1; i <= l.depth; i++) {
          for (const op of denseBlockLayer(l, bank, l.concat === 'mean' ? 1 / i : 1)) this.push(op);
        }
        return;
      }
      case 'repeat':
        for (let i = 0; i < l.count; i++) this.layers(l.layers, bank);
        return;
      case 'conv':
      case 'avgPool':
      case 'eq':
      case 'flatten':
      case 'gap':
        throw new SpecError('layers', `a ${l.type} layer needs the spatial program (compileSpatial)`);
      default:
        this.push({ op: 'act', act: l });
    }
  }

  use(bank: number): void {
    this.maxBank.value = Math.max(this.maxBank.value, bank);
  }
}

/** One layer of a DenseNet block: activation, add to the concatenation, dense over it. */
function denseBlockLayer(
  l: Extract<ResolvedLayer, { type: 'denseBlock' }>,
  bank: number,
  scale: number | Float64Array,
): Op[] {
  return [
    { op: 'act', act: l.activation },
    { op: 'accumulate', bank },
    { op: 'load', bank, scale },
    { op: 'affine', weightVar: l.weightVar, biasVar: l.biasVar, trainable: l.trainable },
  ];
}

/** Compiles a spec (raw JSON or already resolved) into its kernel program. */
export function compile(spec: Spec | ResolvedSpec): KernelProgram {
  const resolved = resolveSpec(spec);
  const L = countResidualBlocks([...resolved.layers, ...resolved.readout]);
  const maxBank = { value: 0 };

  // The depth loop is the last top-level repeat or DenseNet block.
  let sweepAt = -1;
  resolved.layers.forEach((l, i) => {
    if (l.type === 'repeat' || l.type === 'denseBlock') sweepAt = i;
  });

  const prefix: Step[] = [];
  const straight = () => {
    const last = prefix[prefix.length - 1];
    if (last && last.kind === 'ops') return last.ops;
    const step: Step = { kind: 'ops', ops: [] };
    prefix.push(step);
    return step.ops;
  };
  const emitTo = (target: Op[], layers: ResolvedLayer[], bank = 1) => {
    const e = new Emitter(L, maxBank);
    e.layers(layers, bank);
    for (const op of e.ops) target.push(op);
  };

  for (let i = 0; i < (sweepAt < 0 ? resolved.layers.length : sweepAt); i++) {
    const l = resolved.layers[i]!;
    if (l.type === 'repeat' && l.count > 1) {
      const e = new Emitter(L, maxBank);
      e.layers(l.layers, 1);
      prefix.push({ kind: 'loop', count: l.count, body: e.ops });
    } else {
      emitTo(straight(), [l]);
    }
  }

  let sweep: KernelProgram['sweep'] = null;
  if (sweepAt >= 0) {
    const l = resolved.layers[sweepAt]!;
    if (l.type === 'repeat') {
      const e = new Emitter(L, maxBank);
      e.layers(l.layers, 1);
      sweep = { count: l.count, body: e.ops };
    } else if (l.type === 'denseBlock') {
      maxBank.value = Math.max(maxBank.value, 1);
      straight().push({ op: 'clear', bank: 1 });
      const scale = new Float64Array(l.depth);
      for (let i = 0; i < l.depth; i++) scale[i] = l.concat === 'mean' ? 1 / (i + 1) : 1;
      sweep = { count: l.depth, body: denseBlockLayer(l, 1, scale) };
    }
  }

  // A DenseNet depth loop keeps its running sum in bank 1; the suffix must not overwrite it.
  const suffixBank = sweepAt >= 0 && resolved.layers[sweepAt]!.type === 'denseBlock' ? 2 : 1;
  const suffix: Op[] = [];
  const afterSweep = sweepAt >= 0 ? resolved.layers.slice(sweepAt + 1) : [];
  emitTo(suffix, [...afterSweep, ...resolved.readout], suffixBank);

  const taps = sweep ? sweep.count + 1 : 1;
  const depths = Array.from({ length: taps }, (_, t) => resolved.sweepStart + t);
  return {
    banks: maxBank.value + 1,
    inputScale: resolved.inputScale,
    prefix,
    sweep,
    suffix,
    normalize: resolved.normalize,
    depths,
    residualBlocks: L,
  };
}
