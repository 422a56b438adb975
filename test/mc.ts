/**
 * How the Monte Carlo tests decide agreement, with a tolerance derived from the sampling spread:
 *
 * 1. Run the oracle at widths n and 2n with independent seeds (S networks each). A finite-width
 *    mean is biased by O(1/n); Richardson extrapolation μ∞ = 2·μ(2n) − μ(n) removes that term, and
 *    its standard error is √(4·se(2n)² + se(n)²) with se = sample sd/√S.
 * 2. z = (μ∞ − analytic)/se for every entry and kernel. The analytic value must have |z| ≤ z*,
 *    where z* is the two-sided normal quantile at a family-wise false-alarm rate of 1e−3 spread
 *    over all comparisons of the suite (Bonferroni).
 * The random streams are seeded, so the suite is deterministic; the tolerance is what a correct
 * kernel passes with probability ≥ 0.999 over seeds. `test/montecarlo-power.test.ts` shows that
 * plausible wrong kernels fail it.
 */
import { kernelCpu, monteCarlo, type Spec } from '../src/index.js';
import { erf } from '../src/mc/montecarlo.js';

/** Three inputs in R³ with different norms and angles (one obtuse). */
export const MC_INPUTS = [
  [1, 0, 0],
  [0.9, 1.2, 0],
  [-0.35, 0.21, 0.56],
];

/** The presets checked against the oracle (test/montecarlo-presets.test.ts). */
export const PRESET_CASES = [
  'arora2019:depth=3',
  'jacot2018:depth=2,beta=0.5',
  'hayou2019:depth=3,sigmaW2=1.5,sigmaB2=0.3',
  'huang2020:depth=3,gamma=0.5',
  'belfer2021:depth=3,alpha=1',
  'tirer2021:depth=3,alpha=0.8',
  'resnet:depth=3,alpha=0.8,cw2=1.5,trainStem=false',
  'densenet:depth=3',
  'mlp:depth=2,cb2=0.2,inputScale=none',
];

/** Comparisons in the whole Monte Carlo suite (for Bonferroni): see the two test files. */
export const SUITE_COMPARISONS = 16 * 12;
export const FAMILY_ALPHA = 1e-3;

/** Standard normal quantile by bisection on Φ (accurate to 1e−12). */
export function normalQuantile(p: number): number {
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (0.5 * (1 + erf(mid / Math.SQRT2)) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export const Z_CRIT = normalQuantile(1 - FAMILY_ALPHA / (2 * SUITE_COMPARISONS));

export interface McComparison {
  /** Largest |z| over the 12 comparisons (6 distinct entries × 2 kernels). */
  maxZ: number;
  /** Largest standard error relative to the analytic value's scale √(K(x,x)K(z,z)). */
  maxRelSe: number;
  detail: string[];
}

export function compareWithMonteCarlo(
  sampled: string | Spec,
  analytic: string | Spec = sampled,
  opts: { width?: number; samples?: number; seed?: number } = {},
): McComparison {
  const width = opts.width ?? 64;
  const samples = opts.samples ?? 256;
  const seed = opts.seed ?? 1;
  const exact = kernelCpu(analytic, MC_INPUTS);
  const a = monteCarlo(sampled, MC_INPUTS, { width, samples, seed });
  const b = monteCarlo(sampled, MC_INPUTS, { width: 2 * width, samples, seed: seed + 1000 });
  const m = MC_INPUTS.length;
  let maxZ = 0;
  let maxRelSe = 0;
  const detail: string[] = [];
  for (const k of ['nngp', 'ntk'] as const) {
    for (let i = 0; i < m; i++) {
      for (let j = i; j < m; j++) {
        const e = i * m + j;
        const mu = 2 * b[k].mean[e]! - a[k].mean[e]!;
        const se = Math.sqrt(4 * b[k].stderr[e]! ** 2 + a[k].stderr[e]! ** 2);
        const value = exact[k]![e]!;
        const z = (mu - value) / se;
        const scale = Math.sqrt(Math.abs(exact[k]![i * m + i]! * exact[k]![j * m + j]!));
        maxZ = Math.max(maxZ, Math.abs(z));
        maxRelSe = Math.max(maxRelSe, se / scale);
        detail.push(`${k}[${i},${j}] analytic ${value.toPrecision(6)} sampled ${mu.toPrecision(6)} ± ${se.toPrecision(2)} (z = ${z.toFixed(2)})`);
      }
    }
  }
  return { maxZ, maxRelSe, detail };
}
