/**
 * The inputs of the one-angle analyses (profile, cusp slope, circle interpolant, depth sweep) for
 * a convolutional spec. A fully connected spec takes unit vectors e₁, e₂ ∈ R^dim; a conv spec
 * takes images, so the analyses use a fixed pair u, v of images of a given shape ([C, H, W] or
 * [C, P]) in their place: seeded Gaussian images made orthogonal (Gram–Schmidt), each scaled so
 * that its mean per-pixel squared norm over the channels, divided by C, is 1 (‖u‖² = ‖v‖² = C·P).
 * Then cos θ·u + sin θ·v has that same scale at every θ, and ⟨u, cos θ·u + sin θ·v⟩/(C·P) = cos θ:
 * only the angle varies, as with e₁ and e₂ (the per-pixel norms and correlations do vary, as the
 * pixels of real images do).
 */
import { InputError } from '../errors.js';
import type { ImagesInput } from '../images.js';
import { Rng } from '../mc/rng.js';

/** The default shape: one channel, 8×8 pixels (small enough for a gap readout's pixel-pair state). */
export const DEFAULT_IMAGE_SHAPE: readonly number[] = [1, 8, 8];

/** The seed of the pair (fixed, so that every run and every arch sees the same images). */
export const IMAGE_PAIR_SEED = 12;

/** Most values one image of the pair may have. */
const MAX_IMAGE_VALUES = 2 ** 20;

export interface ImagePair {
  /** [C, H, W] or [C, P]. */
  shape: number[];
  u: Float64Array;
  v: Float64Array;
}

/** Checks an image shape: [C, H, W] or [C, P], integers ≥ 1, at least two values per image. */
export function checkImageShape(shape: readonly number[], what = 'imageShape'): number[] {
  const s = Array.isArray(shape) ? [...shape] : [];
  if ((s.length !== 2 && s.length !== 3) || s.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
    throw new InputError(`${what} must be C,H,W (2-D images) or C,P (1-D signals), positive integers; got ${Array.isArray(shape) ? shape.join(',') : String(shape)}`);
  }
  const values = s.reduce((a, b) => a * b, 1);
  if (values < 2) throw new InputError(`${what} ${s.join(',')} holds one value: two orthogonal images need at least two`);
  if (values > MAX_IMAGE_VALUES) throw new InputError(`${what} ${s.join(',')} holds ${values} values per image (at most ${MAX_IMAGE_VALUES})`);
  return s;
}

/** The seeded orthogonal pair u, v of `shape`, each with ‖·‖² = C·P (see the header). */
export function imagePair(shape: readonly number[] = DEFAULT_IMAGE_SHAPE): ImagePair {
  const s = checkImageShape(shape);
  const size = s.reduce((a, b) => a * b, 1);
  const rng = new Rng(IMAGE_PAIR_SEED);
  const u = new Float64Array(size);
  const v = new Float64Array(size);
  rng.fillNormal(u);
  rng.fillNormal(v);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((acc, x, i) => acc + x * b[i]!, 0);
  const uu = dot(u, u);
  const c = dot(u, v) / uu;
  for (let i = 0; i < size; i++) v[i] = v[i]! - c * u[i]!;
  const su = Math.sqrt(size / uu);
  const sv = Math.sqrt(size / dot(v, v));
  for (let i = 0; i < size; i++) {
    u[i] = u[i]! * su;
    v[i] = v[i]! * sv;
  }
  return { shape: s, u, v };
}

/** Images a·u + b·v, one per (a, b), as an ImagesInput [N, C, …] (nchw). */
export function pairImages(pair: ImagePair, coefficients: readonly (readonly [number, number])[]): ImagesInput {
  const size = pair.u.length;
  const data = new Float64Array(coefficients.length * size);
  coefficients.forEach(([a, b], k) => {
    for (let i = 0; i < size; i++) data[k * size + i] = a * pair.u[i]! + b * pair.v[i]!;
  });
  return { data, shape: [coefficients.length, ...pair.shape] };
}
