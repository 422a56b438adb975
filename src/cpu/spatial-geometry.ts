/**
 * Geometry of a spatial program on images of a given size: output sizes with their checks, the
 * source-pixel tables of conv and pooling, and the one op order (`drive`) that the dry-run check,
 * the per-input pre-pass and the pair executor all follow.
 */
import { InputError } from '../errors.js';
import type { SpatialOp, SpatialProgram } from '../program/spatial.js';

function perAxis(v: number | number[], D: number, what: string): number[] {
  if (typeof v === 'number') return new Array<number>(D).fill(v);
  if (v.length !== D) {
    throw new InputError(`${what} lists ${v.length} axes but the images have ${D} spatial ${D === 1 ? 'axis' : 'axes'}`);
  }
  return v.slice();
}

const show = (dims: readonly number[]) => dims.join('×');

/** Output size of a conv (centres s·I, I < ⌈n/s⌉) with its checks. */
function convDims(op: Extract<SpatialOp, { op: 'conv' }>, dims: number[], label: string): number[] {
  const q = perAxis(op.filter, dims.length, `${label}: filter`);
  const s = perAxis(op.stride, dims.length, `${label}: stride`);
  return dims.map((n, k) => {
    if (q[k]! > n) throw new InputError(`${label}: the filter (${q.join('×')}) is wider than the ${show(dims)} image`);
    if (s[k]! > n) throw new InputError(`${label}: the stride (${s.join('×')}) is larger than the ${show(dims)} image, so no output pixel beyond the first exists`);
    return Math.ceil(n / s[k]!);
  });
}

/** Output size of an average pool (no padding) with its checks. */
function poolDims(op: Extract<SpatialOp, { op: 'pool' }>, dims: number[], label: string): number[] {
  const w = perAxis(op.window, dims.length, `${label}: window`);
  const s = perAxis(op.stride, dims.length, `${label}: stride`);
  return dims.map((n, k) => {
    if (w[k]! > n) throw new InputError(`${label}: the window (${w.join('×')}) is wider than the ${show(dims)} image, so it leaves no output pixel`);
    return Math.floor((n - w[k]!) / s[k]!) + 1;
  });
}

/**
 * Source pixels of each output pixel: table[I·m + a] = flat input pixel read by offset a of output
 * pixel I, or −1 when zero padding puts it outside the image. Cached per op and input size.
 */
const tables = new WeakMap<SpatialOp, Map<string, { table: Int32Array; m: number; out: number[] }>>();

export function sourceTable(op: Extract<SpatialOp, { op: 'conv' | 'pool' }>, dims: number[]): { table: Int32Array; m: number; out: number[] } {
  let byDims = tables.get(op);
  if (!byDims) tables.set(op, (byDims = new Map()));
  const key = dims.join(',');
  const hit = byDims.get(key);
  if (hit) return hit;
  const D = dims.length;
  const conv = op.op === 'conv';
  const out = conv ? convDims(op, dims, 'conv') : poolDims(op, dims, 'avgPool');
  const width = perAxis(conv ? op.filter : op.window, D, '');
  const stride = perAxis(op.stride, D, '');
  // Offsets per axis: −r..r for a centred filter, 0..w−1 for a pooling window.
  const offs = width.map((q) => Array.from({ length: q }, (_, a) => (conv ? a - (q - 1) / 2 : a)));
  const m = width.reduce((a, b) => a * b, 1);
  const Pout = out.reduce((a, b) => a * b, 1);
  const table = new Int32Array(Pout * m);
  const coord = new Array<number>(D).fill(0);
  for (let I = 0; I < Pout; I++) {
    let rest = I;
    for (let k = D - 1; k >= 0; k--) {
      coord[k] = rest % out[k]!;
      rest = Math.floor(rest / out[k]!);
    }
    for (let a = 0; a < m; a++) {
      let restA = a;
      let flat = 0;
      let valid = true;
      for (let k = 0; k < D; k++) {
        const stridePart = Math.floor(restA / offs.slice(k + 1).reduce((x, o) => x * o.length, 1));
        restA -= stridePart * offs.slice(k + 1).reduce((x, o) => x * o.length, 1);
        let src = stride[k]! * coord[k]! + offs[k]![stridePart]!;
        const n = dims[k]!;
        if (conv && op.padding === 'circular') src = ((src % n) + n) % n;
        else if (src < 0 || src >= n) valid = false;
        flat = flat * n + src;
      }
      table[I * m + a] = valid ? flat : -1;
    }
  }
  const entry = { table, m, out };
  byDims.set(key, entry);
  return entry;
}

/** The flat index of the eq readout's pixel, checked against the output size. */
export function eqPixel(pixel: number[] | undefined, dims: number[]): number {
  if (!pixel) return 0;
  if (pixel.length !== dims.length) {
    throw new InputError(`the eq readout's pixel [${pixel.join(', ')}] has ${pixel.length} coordinates but the representation is ${dims.length}-D (${show(dims)})`);
  }
  let flat = 0;
  pixel.forEach((p, k) => {
    if (p >= dims[k]!) throw new InputError(`the eq readout's pixel [${pixel.join(', ')}] is outside the ${show(dims)} output`);
    flat = flat * dims[k]! + p;
  });
  return flat;
}

// ---- the op sequence ---------------------------------------------------------------------------

/** What runs the op sequence: the geometry check, the per-input pre-pass and the pair executor. */
export interface Machine {
  op(op: SpatialOp): void;
  /** Before the ops after the depth loop: keep the state of this depth. */
  tapBegin(): void;
  /** The readout (and vector tail) of sweep entry `tap`. */
  readout(tap: number): void;
  /** Back to the kept state, for the next depth. */
  tapEnd(): void;
}

/** Runs the ops in the one order every machine (and the pre-pass cursor) relies on. */
export function drive(p: SpatialProgram, allDepths: boolean, m: Machine): void {
  for (const op of p.prefix) m.op(op);
  const tap = (t: number) => {
    m.tapBegin();
    for (const op of p.suffix) m.op(op);
    m.readout(t);
    m.tapEnd();
  };
  if (!p.sweep) {
    tap(0);
    return;
  }
  if (allDepths) tap(0);
  for (let i = 0; i < p.sweep.count; i++) {
    for (const op of p.sweep.body) m.op(op);
    if (allDepths) tap(i + 1);
  }
  if (!allDepths) tap(p.sweep.count);
}

/** Dry run over the geometry: every size check before any work, and the state size. */
export class GeometryMachine implements Machine {
  dims: number[];
  maxPixels: number;
  /** Pixels summed over every op executed (the pre-pass keeps one diagonal per op). */
  diagonalValues = 0;
  private banks: number[][] = [];
  private kept: number[] = [];
  private n = 0;
  constructor(private readonly p: SpatialProgram, dims: number[]) {
    this.dims = dims.slice();
    this.maxPixels = pixels(dims);
  }
  op(op: SpatialOp): void {
    this.n++;
    const label = `layer ${this.n} (${op.op === 'pool' ? 'avgPool' : op.op})`;
    switch (op.op) {
      case 'conv':
        this.dims = convDims(op, this.dims, label);
        break;
      case 'pool':
        this.dims = poolDims(op, this.dims, label);
        break;
      case 'save':
        this.banks[op.bank] = this.dims.slice();
        break;
      case 'mix': {
        const skip = this.banks[op.bank]!;
        if (skip.length !== this.dims.length || skip.some((d, k) => d !== this.dims[k])) {
          throw new InputError(`${label}: a residual branch turns the ${show(skip)} representation into ${show(this.dims)}; the skip and the branch must have the same size`);
        }
        break;
      }
      case 'act':
        break;
    }
    this.maxPixels = Math.max(this.maxPixels, pixels(this.dims));
    this.diagonalValues += pixels(this.dims);
  }
  tapBegin(): void {
    this.kept = this.dims.slice();
  }
  readout(): void {
    if (this.p.readout.type === 'eq') eqPixel(this.p.readout.pixel, this.dims);
  }
  tapEnd(): void {
    this.dims = this.kept;
  }
}

export const pixels = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Bytes one pair's state needs (see MAX_SPATIAL_STATE_BYTES), from the geometry dry run. */
export function pairStateBytes(p: SpatialProgram, g: GeometryMachine): number {
  const entries = p.state === 'full' ? g.maxPixels * g.maxPixels : g.maxPixels;
  // g, h, Θ per entry; the current state, its next value, the tap copy and one per residual bank.
  return 3 * 8 * entries * (p.banks + 3);
}
