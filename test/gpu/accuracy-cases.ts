/** The GPU-vs-CPU accuracy suite: every preset at depths 1 … 10 000 (shared by the test and the README table script). */
export const ACCURACY_DEPTHS = [1, 10, 100, 1000, 10000];

/** Preset references by depth. ResNets whose (1 + α²)^L would overflow float64 use α = L^(−γ). */
export function accuracyPresets(L: number): string[] {
  return [
    `arora2019:depth=${L}`,
    `jacot2018:depth=${L}`,
    `hayou2019:depth=${L},sigmaW2=2,sigmaB2=0.05`,
    `huang2020:depth=${L},gamma=0.5`,
    L <= 1000 ? `belfer2021:depth=${L},alpha=0.5` : `belfer2021:depth=${L},gamma=0.75`,
    `tirer2021:depth=${L},alpha=0.1`,
    L <= 100 ? `resnet:depth=${L},alpha=0.8` : `resnet:depth=${L},gamma=0.5,alpha0=2`,
    `densenet:depth=${L}`,
    `mlp:depth=${L},cb2=0.2`,
  ];
}

/** The tolerance of the issue: 1e−5 up to depth 1000, 1e−4 at depth 10 000. */
export const toleranceAt = (L: number) => (L <= 1000 ? 1e-5 : 1e-4);
