/**
 * Comparing any conv spec's kernels (analytic fixtures, or the engine's `kernelCpu`) with the conv
 * Monte Carlo oracle, by the rule of test/mc.ts: Richardson extrapolation over widths n and 2n
 * (independent seeds), z = (μ∞ − analytic)/se per entry and kernel, and a Bonferroni tolerance at a
 * family-wise false-alarm rate of 1e−3 over the suite's comparisons (each suite counts its own).
 */
import { readFileSync } from 'node:fs';
import { monteCarloConv, type ImageBatch } from '../src/mc/conv.js';
import type { MonteCarloResult } from '../src/mc/montecarlo.js';
import type { ResolvedSpec } from '../src/spec/types.js';
import { FAMILY_ALPHA, normalQuantile } from './mc.js';

/** Comparisons in the conv Monte Carlo suite (test/montecarlo-conv.test.ts: 14 cases × 6 entries × 2 kernels). */
export const CONV_SUITE_COMPARISONS = 14 * 12;
/** The two-sided normal quantile at a family-wise false-alarm rate of 1e−3 over `comparisons` (Bonferroni). */
export function bonferroniZ(comparisons: number): number {
  return normalQuantile(1 - FAMILY_ALPHA / (2 * comparisons));
}
export const CONV_Z_CRIT = bonferroniZ(CONV_SUITE_COMPARISONS);
/** What the suite runs: widths 32 and 64, 128 networks each, a fixed seed. */
export const CONV_MC_OPTIONS = { width: 32, samples: 128, seed: 7 };

/** One analytic configuration of test/data/conv-mc-reference.json (scripts/conv-mc-reference.py). */
export interface ConvRefCase {
  name: string;
  images: '1d' | '2d';
  spec: ResolvedSpec;
  /** N × N row-major. */
  nngp: number[];
  ntk: number[];
}

export interface ConvReference {
  /** Values the script checked against wave2/convkernel.py before writing. */
  checkedAgainstConvkernel: number;
  images: Record<'1d' | '2d', ImageBatch>;
  cases: ConvRefCase[];
  /** Analytic kernels of deliberately wrong formulas (power test), each for the spec of `case`. */
  wrong: { what: string; case: string; variant: string; nngp: number[]; ntk: number[] }[];
}

export function loadConvReference(): ConvReference {
  return JSON.parse(readFileSync(new URL('./data/conv-mc-reference.json', import.meta.url), 'utf8')) as ConvReference;
}

export interface ConvMcOptions {
  /** Channels of the narrower network (the other has twice as many; default 48). */
  width?: number;
  /** Networks sampled per width (default 96). */
  samples?: number;
  seed?: number;
}

/** The oracle's runs at widths n and 2n, reusable for several analytic candidates. */
export interface ConvMcRuns {
  narrow: MonteCarloResult;
  wide: MonteCarloResult;
}

export interface ConvMcRow {
  kernel: 'nngp' | 'ntk';
  i: number;
  j: number;
  analytic: number;
  /** Richardson-extrapolated Monte Carlo mean and its standard error. */
  mean: number;
  se: number;
  z: number;
}

export interface ConvMcComparison {
  maxZ: number;
  /** Largest standard error relative to √(K(x,x)·K(z,z)) of the analytic kernel. */
  maxRelSe: number;
  rows: ConvMcRow[];
  detail: string[];
}

export function sampleConv(spec: ResolvedSpec, images: ImageBatch, opts: ConvMcOptions = {}): ConvMcRuns {
  const width = opts.width ?? 48;
  const samples = opts.samples ?? 96;
  const seed = opts.seed ?? 1;
  return {
    narrow: monteCarloConv(spec, images, { width, samples, seed }),
    wide: monteCarloConv(spec, images, { width: 2 * width, samples, seed: seed + 1000 }),
  };
}

/** z-scores of `analytic` (m × m NNGP and NTK, row-major) against the runs, over the pairs i ≤ j. */
export function compareConv(runs: ConvMcRuns, analytic: { nngp: ArrayLike<number>; ntk: ArrayLike<number> }): ConvMcComparison {
  const { narrow: a, wide: b } = runs;
  const m = a.m;
  let maxZ = 0;
  let maxRelSe = 0;
  const rows: ConvMcRow[] = [];
  const detail: string[] = [];
  for (const kernel of ['nngp', 'ntk'] as const) {
    const exact = analytic[kernel];
    for (let i = 0; i < m; i++) {
      for (let j = i; j < m; j++) {
        const e = i * m + j;
        const mean = 2 * b[kernel].mean[e]! - a[kernel].mean[e]!;
        const se = Math.sqrt(4 * b[kernel].stderr[e]! ** 2 + a[kernel].stderr[e]! ** 2);
        const value = exact[e]!;
        const z = (mean - value) / se;
        const scale = Math.sqrt(Math.abs(exact[i * m + i]! * exact[j * m + j]!));
        maxZ = Math.max(maxZ, Math.abs(z));
        maxRelSe = Math.max(maxRelSe, se / scale);
        rows.push({ kernel, i, j, analytic: value, mean, se, z });
        detail.push(`${kernel}[${i},${j}] analytic ${value.toPrecision(6)} sampled ${mean.toPrecision(6)} ± ${se.toPrecision(2)} (z = ${z.toFixed(2)})`);
      }
    }
  }
  return { maxZ, maxRelSe, rows, detail };
}

/**
 * One call for the lead: sample `spec` on `images` and compare with `analytic` (e.g.
 * `kernelCpu(spec, images)` once the engine carries conv specs). Agreement: maxZ ≤ CONV_Z_CRIT.
 */
export function compareConvWithMonteCarlo(
  spec: ResolvedSpec,
  images: ImageBatch,
  analytic: { nngp: ArrayLike<number>; ntk: ArrayLike<number> },
  opts: ConvMcOptions = {},
): ConvMcComparison {
  return compareConv(sampleConv(spec, images, opts), analytic);
}
