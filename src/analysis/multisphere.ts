/**
 * Random inputs on the multi-sphere (S^(C−1))^P (Geifman et al., Barzilai et al.): P pixels of C
 * channels, each pixel's channel vector drawn independently and uniformly on the unit sphere
 * S^(C−1) (a normalised Gaussian vector), reproducibly from a seed. Under this measure the Mercer
 * eigenfunctions of an Eq/Flatten conv kernel are products of per-pixel spherical harmonics.
 */
import { InputError } from '../errors.js';
import type { ImagesInput } from '../images.js';
import { Rng } from '../mc/rng.js';

/** Most values one call may draw (the images are held in one Float64Array). */
const MAX_VALUES = 2 ** 26;

/** Checks n, C, P: integers, n ≥ 1, C ≥ 2 (S^0 is two points), P ≥ 1, and the total size. */
export function checkMultisphereSize(n: number, channels: number, pixels: number, what = 'multisphere'): void {
  const ok = (v: number, min: number) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  if (!ok(n, 1) || !ok(channels, 2) || !ok(pixels, 1)) {
    throw new InputError(`${what}: N,C,P must be integers with N ≥ 1, C ≥ 2 (each pixel on S^(C−1)) and P ≥ 1; got ${n},${channels},${pixels}`);
  }
  if (n * channels * pixels > MAX_VALUES) throw new InputError(`${what}: ${n}×${channels}×${pixels} values are more than the ${MAX_VALUES} one call draws`);
}

/**
 * n seeded signals [n, C, P] (nchw) on the multi-sphere: every pixel's channel vector has unit
 * norm and is uniform on S^(C−1), independently of the other pixels and signals.
 */
export function multispherePoints(n: number, channels: number, pixels: number, seed = 0): ImagesInput {
  checkMultisphereSize(n, channels, pixels);
  if (!Number.isInteger(seed) || seed < 0) throw new InputError(`multisphere: seed must be an integer ≥ 0, got ${String(seed)}`);
  const rng = new Rng(seed);
  const data = new Float64Array(n * channels * pixels);
  const v = new Float64Array(channels);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < pixels; i++) {
      let ss = 0;
      // A zero vector has probability 0; redraw rather than divide by it.
      do {
        rng.fillNormal(v);
        ss = v.reduce((a, x) => a + x * x, 0);
      } while (!(ss > 1e-300));
      const r = 1 / Math.sqrt(ss);
      for (let c = 0; c < channels; c++) data[(s * channels + c) * pixels + i] = v[c]! * r;
    }
  }
  return { data, shape: [n, channels, pixels] };
}
