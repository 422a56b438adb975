/**
 * Pixel geometry of the sampled conv nets (`mc/conv.ts`): output sizes and, per filter offset or
 * pooling tap, the input pixel each output pixel reads. Pixels are numbered row-major over the
 * spatial axes (2-D: i = i₁·W + i₂).
 *
 * - conv (filter q, stride s per axis): output size ⌈n/s⌉; output pixel I reads input s·I + a for
 *   a ∈ {−r..r}, r = (q−1)/2; "circular" takes that index mod n, "zero" reads nothing (−1) outside.
 * - avgPool (window w, stride s, no padding): output size ⌊(n − w)/s⌋ + 1; I reads s·I + b, b ∈ {0..w−1}.
 */
import { InputError } from '../errors.js';

/** For each tap (filter offset or pooling position), the input pixel read by each output pixel, −1 for none. */
export interface TapMaps {
  outDims: number[];
  maps: Int32Array[];
}

/** A per-axis parameter (one number for every axis, or one per axis) expanded to D values. */
export function perAxis(v: number | number[], D: number, what: string): number[] {
  const a = typeof v === 'number' ? new Array<number>(D).fill(v) : v;
  if (a.length !== D) throw new InputError(`${what} has ${a.length} entries, but the representation has ${D} spatial axes`);
  return a;
}

function checkInt(v: number, min: number, what: string): void {
  if (!Number.isInteger(v) || v < min) throw new InputError(`${what} must be an integer ≥ ${min}, got ${v}`);
}

/** Every combination of per-axis ranges [lo_d, hi_d], in row-major order. */
function taps(lo: number[], hi: number[]): number[][] {
  let out: number[][] = [[]];
  for (let d = 0; d < lo.length; d++) {
    const next: number[][] = [];
    for (const t of out) for (let a = lo[d]!; a <= hi[d]!; a++) next.push([...t, a]);
    out = next;
  }
  return out;
}

function sizeOf(dims: number[]): number {
  return dims.reduce((p, n) => p * n, 1);
}

/** Maps each output pixel I to the input pixel start(I) + tap on every axis (wrap: mod n; otherwise −1 outside). */
function buildMaps(inDims: number[], outDims: number[], stride: number[], tapList: number[][], wrap: boolean): Int32Array[] {
  const D = inDims.length;
  const P = sizeOf(outDims);
  return tapList.map((tap) => {
    const map = new Int32Array(P);
    for (let I = 0; I < P; I++) {
      let rest = I;
      let flat = 0;
      let inside = true;
      // Row-major decode of I, last axis fastest.
      const coord = new Array<number>(D);
      for (let d = D - 1; d >= 0; d--) {
        coord[d] = rest % outDims[d]!;
        rest = Math.floor(rest / outDims[d]!);
      }
      for (let d = 0; d < D; d++) {
        const n = inDims[d]!;
        let u = stride[d]! * coord[d]! + tap[d]!;
        if (wrap) u = ((u % n) + n) % n;
        else if (u < 0 || u >= n) inside = false;
        flat = flat * n + u;
      }
      map[I] = inside ? flat : -1;
    }
    return map;
  });
}

export function convMaps(
  inDims: number[],
  filter: number | number[],
  stride: number | number[],
  padding: 'circular' | 'zero',
): TapMaps {
  const D = inDims.length;
  const q = perAxis(filter, D, 'conv filter');
  const s = perAxis(stride, D, 'conv stride');
  for (let d = 0; d < D; d++) {
    checkInt(q[d]!, 1, 'conv filter');
    if (q[d]! % 2 === 0) throw new InputError(`conv filter must be odd, got ${q[d]}`);
    if (q[d]! > inDims[d]!) {
      throw new InputError(`conv filter ${q[d]} is wider than the image (${inDims[d]} pixels on axis ${d})`);
    }
    checkInt(s[d]!, 1, 'conv stride');
  }
  const outDims = inDims.map((n, d) => Math.ceil(n / s[d]!));
  const r = q.map((v) => (v - 1) / 2);
  return {
    outDims,
    maps: buildMaps(inDims, outDims, s, taps(r.map((v) => -v), r), padding === 'circular'),
  };
}

export function poolMaps(inDims: number[], window: number | number[], stride: number | number[]): TapMaps {
  const D = inDims.length;
  const w = perAxis(window, D, 'avgPool window');
  const s = perAxis(stride, D, 'avgPool stride');
  for (let d = 0; d < D; d++) {
    checkInt(w[d]!, 1, 'avgPool window');
    checkInt(s[d]!, 1, 'avgPool stride');
    if (w[d]! > inDims[d]!) {
      throw new InputError(`avgPool window ${w[d]} is wider than the image (${inDims[d]} pixels on axis ${d})`);
    }
  }
  const outDims = inDims.map((n, d) => Math.floor((n - w[d]!) / s[d]!) + 1);
  return {
    outDims,
    maps: buildMaps(inDims, outDims, s, taps(new Array<number>(D).fill(0), w.map((v) => v - 1)), false),
  };
}

/** Row-major index of `pixel` in an image of size `dims` (the eq readout's output pixel). */
export function pixelIndex(pixel: number[] | undefined, dims: number[]): number {
  const p = pixel ?? new Array<number>(dims.length).fill(0);
  if (p.length !== dims.length) {
    throw new InputError(`eq pixel has ${p.length} coordinates, but the representation has ${dims.length} spatial axes`);
  }
  let flat = 0;
  for (let d = 0; d < dims.length; d++) {
    const c = p[d]!;
    if (!Number.isInteger(c) || c < 0 || c >= dims[d]!) {
      throw new InputError(`eq pixel coordinate ${c} is outside the ${dims[d]} output pixels of axis ${d}`);
    }
    flat = flat * dims[d]! + c;
  }
  return flat;
}

/**
 * Refuses a layer that cannot read the representation it is given (an image where `spatial`, else a
 * vector): the one wording for both samplers of conv networks (mc/conv.ts, gpu/empirical-conv.ts).
 */
export function checkLayerReads(type: string, spatial: boolean): void {
  if (type === 'conv' && !spatial) throw new InputError('a conv layer reads an image, but here the representation is a vector');
  if (type === 'avgPool' && !spatial) throw new InputError('an avgPool layer reads an image, but here the representation is a vector');
  if ((type === 'eq' || type === 'flatten' || type === 'gap') && !spatial) throw new InputError(`a ${type} readout reads an image, but here the representation is a vector`);
  if (type === 'dense' && spatial) throw new InputError('a dense layer reads a vector; put a readout (eq, flatten or gap) before it');
}

/** A residual block's skip and branch must have the same shape (channels, pixels, scale). */
export function checkResidualShape(skip: { C: number; dims: readonly number[]; s: number }, branch: { C: number; dims: readonly number[]; s: number }): void {
  if (branch.C !== skip.C || branch.dims.join('×') !== skip.dims.join('×') || Math.abs(branch.s - skip.s) > 1e-15 * skip.s) {
    throw new InputError(
      `residual block: the branch maps ${skip.C} channels × [${skip.dims.join(', ')}] pixels to ${branch.C} × [${branch.dims.join(', ')}]; skip and branch must have the same shape`,
    );
  }
}
