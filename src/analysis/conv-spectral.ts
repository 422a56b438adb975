/**
 * Mercer eigenvalues of convolutional kernels on the multi-circle (S¹)^P (Barzilai et al.;
 * wave2.md §1.5): signals of P pixels with C = 2 channels, each pixel's channel vector a point
 * (cos φ_i, sin φ_i) of the circle, under the uniform measure.
 *
 * Why one transform gives every eigenvalue:
 * - Eq and Flatten readouts read only the diagonal pixel pairs (i, i), whose input covariance is
 *   x_i·z_i = cos(φ_i(x) − φ_i(z)), and every per-pixel diagonal is the same (unit pixels). So the
 *   kernel is h(Δ) with Δ = φ(z) − φ(x): invariant under rotating each pixel, hence diagonalised by
 *   the characters e^{i k·φ}, with eigenvalue λ_k = the Fourier coefficient of h at k (the
 *   multivariate Funk–Hecke coefficient for ζ = 2). h(Δ) is the kernel between the constant signal
 *   x₀ (every pixel at angle 0) and the signal at angles Δ.
 * - GAP with circular padding, stride 1 and no pooling is the shift average of Flatten
 *   (GAP(x, z) = (1/P)Σ_s Flatten(x, roll_s z)), so it has Flatten's eigenvalues on the
 *   shift-symmetrised characters (one per shift orbit of k) and 0 on the rest. Against the constant
 *   x₀ the two kernels coincide, so the same transform of the GAP kernel gives those eigenvalues.
 *   With zero padding, strides, pooling or a nonlinear layer after the readout this identity fails,
 *   and such specs are refused.
 *
 * h depends on each Δ_i through cos Δ_i only (it is even in every coordinate), so its coefficients
 * are real and the kernel is evaluated on the half grid m_i ∈ {0 … M/2} of an M-point grid per
 * pixel ((M/2+1)^P evaluations instead of M^P); the transform is a cosine sum per axis
 * (trapezoid weights 1, 2, …, 2, 1 over M). A coefficient from the M-point grid is aliased: it is
 * Σ_j λ_{k + jM}, so degrees up to about M/4 are reliable for polynomial decay (the default).
 *
 * No FFT: the (M/2+1)^(P+1)·P operations of the separable cosine sums are negligible next to the
 * kernel evaluations, M need not be a power of two (12⁶ is the locality grid), and the half grid
 * is what the evenness saves.
 */
import { InputError } from '../errors.js';
import { kernel, program as archProgram, takesImages, toSpec, type Arch, type BackendChoice } from '../api.js';
import type { Backend } from '../exec/executor.js';
import { compileSpatial, type SpatialProgram } from '../program/spatial.js';
import type { KernelKind } from '../result.js';

/** Most kernel evaluations one grid may take ((M/2+1)^P). */
export const CONV_GRID_MAX_POINTS = 2 ** 21;

/** Grid images per kernel call: bounds the per-input pre-pass memory of the CPU executor. */
const CHUNK = 2048;

/**
 * |λ| at or below this fraction of λ₀ is round-off, reported as 0: float64 kernels on the CPU;
 * f32 kernels (WebGPU, once conv specs run there) resolve far less.
 */
export const CONV_COEFFICIENT_FLOOR: Readonly<Record<Backend, number>> = { cpu: 1e-12, webgpu: 1e-6 };

export interface ConvGridOptions {
  /** Pixels P of the 1-D signal (default 4). */
  pixels?: number;
  /** Points M per pixel of the angle grid, even (default 32). */
  grid?: number;
  /** Which depths of the arch's depth sweep: "last" (default), "all" or a list of sweep depths. */
  depths?: 'last' | 'all' | readonly number[];
  /** Which kernels (default both). */
  kinds?: readonly KernelKind[];
  backend?: BackendChoice;
}

/** The Fourier coefficients λ_k, k ∈ {0 … M/2}^P (index Σ_i k_i·(M/2+1)^i), per depth and kernel. */
export interface ConvCoefficients {
  arch: string;
  readout: 'eq' | 'flatten' | 'gap';
  pixels: number;
  grid: number;
  /** The output pixel of an eq readout (else 0): the "near" pixel of the locality measures. */
  outputPixel: number;
  depths: number[];
  kinds: KernelKind[];
  nngp?: Float64Array[];
  ntk?: Float64Array[];
  backend: Backend;
  /** Kernel evaluations ((M/2+1)^P) and the seconds they and the transform took. */
  evaluations: number;
  seconds: number;
}

const archLabel = (arch: Arch) => (typeof arch === 'string' ? arch : (toSpec(arch).name ?? 'spec'));

function checkGrid(pixels: number, grid: number): number {
  if (!Number.isInteger(pixels) || pixels < 1) throw new InputError(`pixels must be an integer ≥ 1, got ${String(pixels)}`);
  if (!Number.isInteger(grid) || grid < 4 || grid % 2 !== 0) throw new InputError(`grid must be an even integer ≥ 4 (points per pixel angle), got ${String(grid)}`);
  const points = (grid / 2 + 1) ** pixels;
  if (points > CONV_GRID_MAX_POINTS) {
    throw new InputError(`a grid of ${grid} angles on ${pixels} pixels needs ${points} kernel evaluations ((M/2+1)^P), above the limit of ${CONV_GRID_MAX_POINTS}: use fewer pixels or a coarser grid`);
  }
  return points;
}

/**
 * Whether the transform reads a spec's eigenvalues (see the header); an InputError that names the
 * reason otherwise.
 */
export function checkConvSpectralSpec(arch: Arch): SpatialProgram {
  if (!takesImages(arch)) throw new InputError(`${archLabel(arch)} is fully connected: the multi-sphere eigenvalues are for convolutional specs (use analyze decay for the sphere)`);
  const p = compileSpatial(toSpec(arch));
  if (p.state === 'full') {
    const ops = [...p.prefix, ...(p.sweep?.body ?? []), ...p.suffix];
    const why =
      p.readout.type !== 'gap'
        ? 'it pools (avgPool)'
        : ops.some((o) => o.op === 'pool')
          ? 'it pools (avgPool)'
          : ops.some((o) => o.op === 'conv' && o.padding !== 'circular')
            ? 'a conv has zero padding'
            : ops.some((o) => o.op === 'conv' && [o.stride].flat().some((s) => s !== 1))
              ? 'a conv has a stride'
              : tailActs(p)
                ? 'a nonlinear layer follows the gap readout'
                : null;
    if (why) {
      throw new InputError(
        `${archLabel(arch)}: ${why}, so its kernel is not the shift average of a pixel-rotation-invariant one and the multi-sphere transform does not give its eigenvalues (use an eq or flatten readout, or gap with circular padding, stride 1, no pooling and a linear readout)`,
      );
    }
  }
  return p;
}

function tailActs(p: SpatialProgram): boolean {
  const t = p.tail;
  const ops = [...t.prefix.flatMap((s) => (s.kind === 'ops' ? s.ops : s.body)), ...(t.sweep?.body ?? []), ...t.suffix];
  return ops.some((o) => o.op === 'act');
}

/** The half-grid signals [G, 2, P] (nchw): grid point g = Σ m_i·(M/2+1)^i has pixel i at angle 2π·m_i/M. */
export function circleGridSignals(pixels: number, grid: number, from = 0, to?: number): { data: Float64Array; shape: number[] } {
  const h = grid / 2 + 1;
  const end = to ?? h ** pixels;
  const data = new Float64Array((end - from) * 2 * pixels);
  for (let g = from; g < end; g++) {
    let r = g;
    const o = (g - from) * 2 * pixels;
    for (let i = 0; i < pixels; i++) {
      const m = r % h;
      r = (r - m) / h;
      const phi = (2 * Math.PI * m) / grid;
      data[o + i] = Math.cos(phi);
      data[o + pixels + i] = Math.sin(phi);
    }
  }
  return { data, shape: [end - from, 2, pixels] };
}

/**
 * The Fourier coefficients of a function h on the M-point grid per axis that is even in every
 * coordinate, from its values on the half grid (index Σ m_i·(M/2+1)^i): λ_k = (1/M^P)·Σ over the
 * full grid of h(2πm/M)·∏ cos(2π k_i m_i/M), for k ∈ {0 … M/2}^P (same indexing). Separable: one
 * cosine sum per axis.
 */
export function evenCosineTransform(values: Float64Array, pixels: number, grid: number): Float64Array {
  const h = grid / 2 + 1;
  if (values.length !== h ** pixels) throw new InputError(`evenCosineTransform: ${values.length} values for ${pixels} axes of ${h} half-grid points`);
  // A[k][m] = w_m·cos(2πkm/M)/M, w = 1 at m = 0 and M/2 (their own mirror images), 2 elsewhere.
  const A = new Float64Array(h * h);
  for (let k = 0; k < h; k++) {
    for (let m = 0; m < h; m++) {
      const w = m === 0 || m === h - 1 ? 1 : 2;
      // cos(2πkm/M) with km reduced mod M keeps the argument small (exact zeros and ±1 stay exact).
      A[k * h + m] = (w * Math.cos((2 * Math.PI * ((k * m) % grid)) / grid)) / grid;
    }
  }
  let cur = Float64Array.from(values);
  let next = new Float64Array(cur.length);
  const col = new Float64Array(h);
  for (let axis = 0, stride = 1; axis < pixels; axis++, stride *= h) {
    const block = stride * h;
    for (let b0 = 0; b0 < cur.length; b0 += block) {
      for (let s = 0; s < stride; s++) {
        for (let m = 0; m < h; m++) col[m] = cur[b0 + s + m * stride]!;
        for (let k = 0; k < h; k++) {
          let acc = 0;
          for (let m = 0; m < h; m++) acc += A[k * h + m]! * col[m]!;
          next[b0 + s + k * stride] = acc;
        }
      }
    }
    [cur, next] = [next, cur];
  }
  return cur;
}

/** Index of the multi-degree k (entries 0 … M/2) in a coefficient array. */
export function degreeIndex(k: readonly number[], grid: number): number {
  const h = grid / 2 + 1;
  let idx = 0;
  for (let i = k.length - 1; i >= 0; i--) {
    const v = k[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= h) throw new InputError(`degree ${v} at pixel ${i} is outside 0 … ${h - 1} (grid ${grid})`);
    idx = idx * h + v;
  }
  return idx;
}

/** The multi-degree with degree `k` at the given pixels and 0 elsewhere. */
export function harmonic(pixels: number, at: readonly number[], k = 1): number[] {
  const out = new Array<number>(pixels).fill(0);
  for (const p of at) out[((p % pixels) + pixels) % pixels] = k;
  return out;
}

/**
 * The Mercer eigenvalues λ_k of a conv spec on (S¹)^P for every multi-degree k ∈ {0 … M/2}^P, at
 * the chosen depths: the kernel between the constant signal and every half-grid signal, then the
 * cosine transform (see the header for why this is every eigenvalue and which specs qualify).
 */
export async function convCoefficients(arch: Arch, options: ConvGridOptions = {}): Promise<ConvCoefficients> {
  const t0 = performance.now();
  const pixels = options.pixels ?? 4;
  const grid = options.grid ?? 32;
  const points = checkGrid(pixels, grid);
  const p = checkConvSpectralSpec(arch);
  const kinds = [...new Set(options.kinds ?? (['nngp', 'ntk'] as const))];
  if (kinds.length === 0 || kinds.some((k) => k !== 'nngp' && k !== 'ntk')) throw new InputError(`kinds must be nngp and/or ntk, got ${JSON.stringify(options.kinds)}`);
  const sweep = archProgram(arch).depths;
  const want = options.depths ?? 'last';
  let depths: number[];
  if (want === 'last') depths = [sweep.at(-1)!];
  else if (want === 'all') depths = sweep.slice();
  else {
    if (!Array.isArray(want) || want.length === 0) throw new InputError('depths must be "last", "all" or a non-empty list of depths of the sweep');
    depths = [...new Set(want)].sort((a, b) => a - b);
    for (const t of depths) if (!sweep.includes(t)) throw new InputError(`depth ${String(t)} is not in the depth sweep of ${archLabel(arch)} (${sweep[0]} … ${sweep.at(-1)})`);
  }
  const all = !(depths.length === 1 && depths[0] === sweep.at(-1));
  const taps = depths.map((t) => (all ? sweep.indexOf(t) : 0));
  const x0 = new Float64Array(2 * pixels).fill(1, 0, pixels);
  const values: Record<KernelKind, Float64Array[]> = { nngp: [], ntk: [] };
  for (const k of kinds) values[k] = depths.map(() => new Float64Array(points));
  let backend: Backend = 'cpu';
  for (let g = 0; g < points; g += CHUNK) {
    const end = Math.min(points, g + CHUNK);
    const r = await kernel(arch, { data: x0, shape: [1, 2, pixels] }, circleGridSignals(pixels, grid, g, end), {
      get: kinds,
      depths: all ? 'all' : 'last',
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
    });
    backend = r.backend;
    const plane = end - g;
    for (const k of kinds) {
      const src = r[k]!;
      taps.forEach((tap, c) => values[k][c]!.set(src.subarray(tap * plane, (tap + 1) * plane), g));
    }
  }
  const out: ConvCoefficients = {
    arch: archLabel(arch),
    readout: p.readout.type,
    pixels,
    grid,
    outputPixel: p.readout.type === 'eq' ? (p.readout.pixel?.[0] ?? 0) : 0,
    depths,
    kinds,
    backend,
    evaluations: points,
    seconds: 0,
  };
  for (const k of kinds) out[k] = values[k].map((v) => evenCosineTransform(v, pixels, grid));
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

/** The local exponent p of λ ∝ k^(−p) between two degrees, or null when either eigenvalue is not resolved. */
export function localExponent(k1: number, l1: number, k2: number, l2: number, floor: number): number | null {
  if (!(l1 > floor) || !(l2 > floor) || k1 <= 0 || k2 <= k1) return null;
  return -Math.log(l2 / l1) / Math.log(k2 / k1);
}

export interface ConvDecayOptions extends ConvGridOptions {
  /** Highest single-pixel degree reported (default M/4: aliasing grows beyond it). */
  kmax?: number;
}

export interface ConvDecayCurve {
  depth: number;
  kind: KernelKind;
  lambda0: number;
  /** λ_(k,0,…,0)/λ₀ at the output pixel, k = 1 … kmax (index k − 1). */
  ratios: number[];
  /** Local exponents −ln(λ_k2/λ_k1)/ln(k2/k1) over octaves k → 2k ≤ kmax (null: not resolved). */
  octaves: { from: number; to: number; exponent: number | null }[];
  /** Local exponents between consecutive degrees k − 1 → k, k = 2 … kmax. */
  consecutive: (number | null)[];
}

export interface ConvDecay {
  arch: string;
  readout: string;
  pixels: number;
  grid: number;
  kmax: number;
  /** The pixel that carries the harmonic: the eq readout's output pixel (else 0). */
  pixel: number;
  curves: ConvDecayCurve[];
  backend: Backend;
  evaluations: number;
  seconds: number;
}

/**
 * Eigenvalue decay of a conv spec on (S¹)^P (Barzilai et al.'s claim 1): for the single-pixel
 * harmonics (k, 0, …, 0) at the output pixel, λ_k/λ₀ and the local exponents over k.
 */
export async function convDecay(arch: Arch, options: ConvDecayOptions = {}): Promise<ConvDecay> {
  const grid = options.grid ?? 32;
  const kmax = options.kmax ?? Math.floor(grid / 4);
  if (!Number.isInteger(kmax) || kmax < 1 || kmax > grid / 2) throw new InputError(`kmax must be an integer in 1 … M/2 = ${grid / 2}, got ${String(kmax)}`);
  const c = await convCoefficients(arch, { ...options, grid });
  const curves: ConvDecayCurve[] = [];
  for (const kind of c.kinds) {
    c[kind]!.forEach((lam, di) => {
      const l0 = lam[0]!;
      const floor = CONV_COEFFICIENT_FLOOR[c.backend] * Math.abs(l0);
      // Below the round-off floor an eigenvalue is reported as 0 (and gives no exponent).
      const at = (k: number) => {
        const v = lam[degreeIndex(harmonic(c.pixels, [c.outputPixel], k), grid)]!;
        return Math.abs(v) <= floor ? 0 : v;
      };
      const ks = Array.from({ length: kmax }, (_, i) => i + 1);
      const octaves: ConvDecayCurve['octaves'] = [];
      for (let k = 1; 2 * k <= kmax; k *= 2) octaves.push({ from: k, to: 2 * k, exponent: localExponent(k, at(k), 2 * k, at(2 * k), floor) });
      curves.push({
        depth: c.depths[di]!,
        kind,
        lambda0: l0,
        ratios: ks.map((k) => at(k) / l0),
        octaves,
        consecutive: ks.slice(1).map((k) => localExponent(k - 1, at(k - 1), k, at(k), floor)),
      });
    });
  }
  return { arch: c.arch, readout: c.readout, pixels: c.pixels, grid, kmax, pixel: c.outputPixel, curves, backend: c.backend, evaluations: c.evaluations, seconds: c.seconds };
}

export interface LocalityPoint {
  depth: number;
  kind: KernelKind;
  /** λ of the degree-1 harmonic on the far pixel (output + ⌊P/2⌋) over that on the output pixel. */
  farNear: number;
  /** λ(degree 1 on the output pixel and the far pixel) / λ(the output pixel and its neighbour). */
  pairRatio: number;
  lambdaNear: number;
  lambdaFar: number;
  lambdaPairNear: number;
  lambdaPairFar: number;
}

export interface Locality {
  arch: string;
  readout: string;
  pixels: number;
  grid: number;
  nearPixel: number;
  farPixel: number;
  points: LocalityPoint[];
  backend: Backend;
  evaluations: number;
  seconds: number;
}

/**
 * Locality of a conv kernel on (S¹)^P (Barzilai et al.'s claim 2, wave2.md §1.5): against depth,
 * far/near = λ(harmonic on the pixel opposite the output)/λ(harmonic on the output pixel) and the
 * pair ratio λ(output and opposite pixel)/λ(output and neighbouring pixel). Use P ≥ 2q: with fewer
 * pixels the first conv's patch already covers the far pixel and the eq kernel is symmetric in them.
 */
export async function convLocality(arch: Arch, options: ConvGridOptions = {}): Promise<Locality> {
  const pixels = options.pixels ?? 6;
  const grid = options.grid ?? 12;
  if (pixels < 3) throw new InputError(`locality needs at least 3 pixels (a neighbour and a far pixel), got ${pixels}`);
  const c = await convCoefficients(arch, { ...options, pixels, grid });
  const near = c.outputPixel;
  const far = (near + Math.floor(pixels / 2)) % pixels;
  const next = (near + 1) % pixels;
  const points: LocalityPoint[] = [];
  for (const kind of c.kinds) {
    c[kind]!.forEach((lam, di) => {
      // Below the round-off floor an eigenvalue is 0 (a pixel outside the receptive field), not noise to divide.
      const floor = CONV_COEFFICIENT_FLOOR[c.backend] * Math.abs(lam[0]!);
      const at = (px: number[]) => {
        const v = lam[degreeIndex(harmonic(pixels, px), grid)]!;
        return Math.abs(v) <= floor ? 0 : v;
      };
      const lambdaNear = at([near]);
      const lambdaFar = at([far]);
      const lambdaPairNear = at([near, next]);
      const lambdaPairFar = at([near, far]);
      const ratio = (a: number, b: number, what: string) => {
        if (!(b > 0)) throw new InputError(`${c.arch} at depth ${c.depths[di]}: the ${kind} eigenvalue of ${what} is ${b}, not positive: no locality ratio`);
        return a / b;
      };
      points.push({
        depth: c.depths[di]!,
        kind,
        farNear: ratio(lambdaFar, lambdaNear, `the output pixel's harmonic`),
        pairRatio: ratio(lambdaPairFar, lambdaPairNear, 'the neighbouring pair'),
        lambdaNear,
        lambdaFar,
        lambdaPairNear,
        lambdaPairFar,
      });
    });
  }
  return { arch: c.arch, readout: c.readout, pixels, grid, nearPixel: near, farPixel: far, points, backend: c.backend, evaluations: c.evaluations, seconds: c.seconds };
}
