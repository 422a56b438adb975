/** The GPU-vs-CPU accuracy suite: every preset at depths 1 … 10 000 (shared by the test and the README table script). */
import { dense, leakyRelu, network, repeat } from '../../src/spec/stax.js';
import type { Spec } from '../../src/spec/types.js';

export const ACCURACY_DEPTHS = [1, 10, 100, 1000, 10000];

/**
 * Preset references by depth: constant α up to depth 1000; beyond, ResNets whose (1 + α²)^L would
 * overflow float64 use α = L^(−γ).
 */
export function accuracyPresets(L: number): string[] {
  return [
    `arora2019:depth=${L}`,
    `jacot2018:depth=${L}`,
    `hayou2019:depth=${L},sigmaW2=2,sigmaB2=0.05`,
    `huang2020:depth=${L},gamma=0.5`,
    L <= 1000 ? `belfer2021:depth=${L},alpha=0.5` : `belfer2021:depth=${L},gamma=0.75`,
    `tirer2021:depth=${L},alpha=0.1`,
    L <= 1000 ? `resnet:depth=${L},alpha=0.8` : `resnet:depth=${L},gamma=0.5,alpha0=2`,
    `densenet:depth=${L}`,
    `mlp:depth=${L},cb2=0.2`,
  ];
}

/** The tolerance of the issue: 1e−5 up to depth 1000, 1e−4 at depth 10 000. */
export const toleranceAt = (L: number) => (L <= 1000 ? 1e-5 : 1e-4);

/**
 * Issue 14's deep cases with constant α (and a LeakyReLU MLP whose coefficients f32 cannot hold),
 * run on parallelInputs() and accuracyInputs() with tolerance 1e−5 at every depth.
 */
export const CONSTANT_ALPHA_CASES: readonly { name: string; spec: string | Spec }[] = [
  { name: 'resnet:depth=1000,alpha=0.8', spec: 'resnet:depth=1000,alpha=0.8' },
  { name: 'tirer2021:depth=500,alpha=1', spec: 'tirer2021:depth=500,alpha=1' },
  { name: 'tirer2021:depth=1000,alpha=1', spec: 'tirer2021:depth=1000,alpha=1' },
  { name: 'tirer2021:depth=3000,alpha=0.5', spec: 'tirer2021:depth=3000,alpha=0.5' },
  {
    name: 'LeakyReLU(0.2) MLP, depth 200, σ_w² = 1.9, σ_b² = 0.05',
    spec: network({ inputScale: 'dim' }, dense({ biasVar: 0.05 }), repeat(200, leakyRelu(0.2), dense({ weightVar: 1.9, biasVar: 0.05 }))),
  },
];
