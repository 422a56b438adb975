/**
 * Smoothness of kernel-regression interpolants on the circle (Tirer, Bruna & Giryes 2020, arXiv
 * 2009.10008, their released experiment): a few training points x = (cos t, sin t), the exact
 * kernel interpolant (diagonal loading λ) on a fine grid of test angles, and two numbers: the RMS
 * of its discrete second derivative (how wiggly/kinked it is) and its RMS error against the target
 * function. The NTK's cusp at θ = 0 puts kinks at the training points, which the second derivative
 * sees; a residual network with small α has a flatter cusp and a smoother interpolant.
 *
 * A convolutional spec takes the circle cos t·u + sin t·v in the plane of the seeded image pair
 * of image-pair.ts (shape `imageShape`), as the profile does.
 */
import { kernel, type Arch, type Backend, type BackendChoice } from '../api.js';
import { anglePoints } from './profile.js';
import { InputError } from '../errors.js';
import type { KernelKind } from '../result.js';
import { predictFromKernels } from '../predict.js';

export interface CircleInterpolantOptions {
  /** Training angles (default: Tirer et al.'s six, 2π·linspace(0, 1, 6) − π; t = ±π coincide). */
  trainAngles?: readonly number[];
  /** Target function of the angle (default 0.5 cos t + sin 4t). */
  target?: (t: number) => number;
  /** Test angles 2π·j/M for j = −M/2 … M/2 − 1 (default M = 4096). */
  testPoints?: number;
  /** Diagonal loading λ of K_XX (default 1e−10, as in the released code; needed because t = ±π coincide). */
  ridge?: number;
  /** Kernel (default "ntk"). */
  kind?: KernelKind;
  backend?: BackendChoice;
  /** Conv specs: the shape [C, H, W] or [C, P] of the image pair (default [1, 8, 8]). */
  imageShape?: readonly number[];
}

export interface CircleInterpolant {
  trainAngles: number[];
  testAngles: number[];
  /** The interpolant at the test angles. */
  prediction: number[];
  /** The target at the test angles. */
  target: number[];
  /** √mean((Δ²f/h²)²) over the interior test points (second differences, spacing h). */
  rmsSecondDerivative: number;
  /** √mean((f − target)²) over the test angles. */
  rmsError: number;
  /** Conditioning warnings of the solve (e.g. the coincident points t = ±π). */
  warnings: string[];
  backend: Backend;
}

/** The points at angles t on the unit circle of R² (fully connected) or in the image pair's plane (conv). */
const circle = (arch: Arch, angles: readonly number[], imageShape: readonly number[] | undefined) =>
  anglePoints(arch, angles, { dim: undefined, imageShape }, 'circle interpolant').z;

/** Tirer et al.'s interpolation experiment for one architecture. */
export async function circleInterpolant(arch: Arch, options: CircleInterpolantOptions = {}): Promise<CircleInterpolant> {
  const train = options.trainAngles ? [...options.trainAngles] : Array.from({ length: 6 }, (_, i) => 2 * Math.PI * (i / 5) - Math.PI);
  if (train.length < 1 || train.some((t) => !Number.isFinite(t))) throw new InputError('circle interpolant: trainAngles must be finite numbers, at least one');
  const M = options.testPoints ?? 4096;
  if (!Number.isInteger(M) || M < 4 || M % 2 !== 0) throw new InputError(`circle interpolant: testPoints must be an even integer ≥ 4, got ${String(M)}`);
  const ridge = options.ridge ?? 1e-10;
  if (!(ridge >= 0)) throw new InputError(`circle interpolant: ridge must be ≥ 0, got ${String(ridge)}`);
  const f = options.target ?? ((t: number) => 0.5 * Math.cos(t) + Math.sin(4 * t));
  const kind = options.kind ?? 'ntk';
  const h = (2 * Math.PI) / M;
  const test = Array.from({ length: M }, (_, j) => h * (j - M / 2));
  const backend = options.backend ?? 'cpu';
  const trainPoints = circle(arch, train, options.imageShape);
  const kxx = await kernel(arch, trainPoints, null, { get: kind, backend });
  const ktx = await kernel(arch, circle(arch, test, options.imageShape), trainPoints, { get: kind, backend });
  const y = train.map(f);
  for (const v of y) if (!Number.isFinite(v)) throw new InputError('circle interpolant: the target function returned a non-finite value');
  const core = predictFromKernels({ n: train.length, m: M, train: kxx[kind]!, testTrain: ktx[kind]! }, y, { kernel: kind, ridge });
  const pred = Array.from(core.mean[0]!);
  const tgt = test.map(f);
  let s2 = 0;
  for (let j = 1; j < M - 1; j++) s2 += ((pred[j + 1]! - 2 * pred[j]! + pred[j - 1]!) / (h * h)) ** 2;
  let e2 = 0;
  for (let j = 0; j < M; j++) e2 += (pred[j]! - tgt[j]!) ** 2;
  return {
    trainAngles: train,
    testAngles: test,
    prediction: pred,
    target: tgt,
    rmsSecondDerivative: Math.sqrt(s2 / (M - 2)),
    rmsError: Math.sqrt(e2 / M),
    warnings: core.warnings,
    backend: kxx.backend,
  };
}
