/**
 * Kernels as functions of depth for one pair of unit inputs at a given correlation, every depth
 * from one pass (the `depths: "all"` sweep of the CPU reference) — the depth limits and rates of
 * Hayou, Doucet & Rousseau (arXiv 1905.13654): for `arora2019`, Θ_L/(L+1) → 1/4 with rate
 * (3/8)·ln L/L at ρ = 0, and 1 − ρ_L ~ 9π²/(2L²).
 *
 * A convolutional spec takes images: x = u and z = ρu + √(1 − ρ²)·v with u, v the seeded orthogonal
 * image pair of image-pair.ts (shape `imageShape`, default 1,8,8, each with ‖·‖² = C·P).
 */
import { takesImages, kernel, type Arch, type Backend, type BackendChoice, type KernelInput } from '../api.js';
import { InputError } from '../errors.js';
import { DEFAULT_IMAGE_SHAPE, imagePair, pairImages } from './image-pair.js';

export interface DepthSweep {
  /** Input correlation ρ₀ = ⟨x, z⟩ of the unit inputs. */
  rho: number;
  /** Depths 0 … L of the architecture's depth loop. */
  depths: number[];
  /** NNGP correlation K_L(x, z)/K_L(x, x) at each depth. */
  nngpCorrelation: number[];
  /** 1 − NNGP correlation, as (K_L(x,x) − K_L(x,z))/K_L(x,x): absolute error ≈ 1e−16 on the CPU, ≈ 1e−7 on WebGPU (f32 results). */
  nngpGap: number[];
  /** Θ_L(x, z)/Θ_L(x, x) at each depth. */
  ntkNormalized: number[];
  /** Θ_L(x, z) itself (for arora2019, Θ_L(x,x) = L + 1). */
  ntk: number[];
  /** Θ_L(x, x). */
  ntkDiagonal: number[];
  /** Conv specs: the shape of the image pair. */
  imageShape?: number[];
  /** Where it was computed. */
  backend: Backend;
}

/** Every depth of `arch`'s depth loop (its last repeat) for x = e₁, z = ρ e₁ + √(1 − ρ²) e₂. */
export async function depthSweep(arch: Arch, rho: number, options: { backend?: BackendChoice; imageShape?: readonly number[] } = {}): Promise<DepthSweep> {
  if (typeof rho !== 'number' || !(rho >= -1 && rho <= 1)) throw new InputError(`depth sweep: rho must be in [−1, 1], got ${String(rho)}`);
  const s = Math.sqrt((1 - rho) * (1 + rho));
  let x: KernelInput = [[1, 0]];
  let z: KernelInput = [[rho, s]];
  let imageShape: number[] | undefined;
  if (takesImages(arch)) {
    const pair = imagePair(options.imageShape ?? DEFAULT_IMAGE_SHAPE);
    x = pairImages(pair, [[1, 0]]);
    z = pairImages(pair, [[rho, s]]);
    imageShape = pair.shape;
  } else if (options.imageShape !== undefined) {
    throw new InputError('depth sweep: imageShape is for convolutional specs (a fully connected spec takes unit vectors)');
  }
  const backend = options.backend ?? 'cpu';
  const r = await kernel(arch, x, z, { depths: 'all', backend });
  const d = await kernel(arch, x, null, { depths: 'all', diagonal: true, backend });
  const L = r.depths.length;
  const pick = (a: Float64Array) => Array.from(a.subarray(0, L));
  const k = pick(r.nngp!);
  const kd = pick(d.nngp!);
  const t = pick(r.ntk!);
  const td = pick(d.ntk!);
  return {
    rho,
    depths: [...r.depths],
    nngpCorrelation: k.map((v, i) => v / kd[i]!),
    nngpGap: k.map((v, i) => (kd[i]! - v) / kd[i]!),
    ntkNormalized: t.map((v, i) => v / td[i]!),
    ntk: t,
    ntkDiagonal: td,
    ...(imageShape ? { imageShape } : {}),
    backend: r.backend,
  };
}

/**
 * Least-squares line y ≈ intercept + slope·x, with the root-mean-square residual; null with fewer
 * than two points or when the x values are all equal.
 */
export function fitLine(xs: readonly number[], ys: readonly number[]): { slope: number; intercept: number; rmsResidual: number } | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (ys[i]! - intercept - slope * xs[i]!) ** 2;
  return { slope, intercept, rmsResidual: Math.sqrt(ss / n) };
}

/**
 * Least-squares fit of y ≈ c·x^p on log–log axes (x, y > 0): { exponent p, prefactor c, and the
 * root-mean-square residual of the fit in ln y }.
 */
export function fitPowerLaw(xs: readonly number[], ys: readonly number[]): { exponent: number; prefactor: number; rmsLogResidual: number } {
  if (xs.length !== ys.length || xs.length < 2) throw new InputError('fitPowerLaw: need two or more (x, y) pairs of equal length');
  const lx = xs.map((v, i) => {
    if (!(v > 0) || !(ys[i]! > 0)) throw new InputError(`fitPowerLaw: x and y must be > 0 (pair ${i}: ${v}, ${ys[i]})`);
    return Math.log(v);
  });
  const f = fitLine(lx, ys.map(Math.log));
  if (!f) throw new InputError('fitPowerLaw: the x values must not all be equal');
  return { exponent: f.slope, prefactor: Math.exp(f.intercept), rmsLogResidual: f.rmsResidual };
}
