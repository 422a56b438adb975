/**
 * Reports of the analyses: what `webntk analyze` writes (JSON, a CSV table, an SVG figure) and
 * prints, built from the analysis results so that the CLI, the paper scripts and a browser page
 * share one rendering. Nothing here computes a kernel.
 */
import type { Figure } from '../plot/chart.js';
import type { DepthSweep } from './depth.js';
import { fitPowerLaw } from './depth.js';
import type { Profile } from './profile.js';
import type { CircleInterpolant } from './smoothness.js';
import type { SpectralDecay } from './spectral.js';
import type { ArchConditioning, LeadingEigenvalues } from './spectrum.js';
import type { FluctuationResult } from './fluctuations.js';
import type { DepthTable } from './infinite.js';

export type Cell = number | string;

export interface AnalysisReport {
  /** The analysis kind, e.g. "profile". */
  analysis: string;
  /** The inputs that produced it (archs, options, backend). */
  parameters: Record<string, unknown>;
  /** Every number, JSON-serialisable. */
  data: unknown;
  /** A flat table of the main numbers (the CSV). */
  table: { columns: string[]; rows: Cell[][] };
  figure: Figure;
  /** Lines for the terminal. */
  summary: string[];
}

const fmt = (v: number, digits = 6) => (Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v));

/** Every k-th entry (figures do not need 4096 points per line). */
const thin = <T>(xs: readonly T[], k: number) => xs.filter((_, i) => i % k === 0);

/**
 * Profiles of several archs with their cusp slopes, and (when given) the smoothness of their
 * kernel-regression interpolants in Tirer et al.'s circle experiment.
 */
export function profileReport(
  items: readonly { arch: string; profile: Profile; cusp: { slope: number; errorEstimate: number }; interpolant?: CircleInterpolant }[],
  parameters: Record<string, unknown>,
): AnalysisReport {
  const rows: Cell[][] = [];
  for (const { arch, profile } of items) profile.angles.forEach((t, i) => rows.push([arch, t, profile.values[i]!, profile.normalized[i]!]));
  const kind = items[0]?.profile.kind ?? 'ntk';
  return {
    analysis: 'profile',
    parameters,
    data: items.map(({ arch, profile, cusp, interpolant }) => ({
      arch,
      ...profile,
      cuspSlope: cusp.slope,
      cuspSlopeError: cusp.errorEstimate,
      ...(interpolant ? { interpolant } : {}),
    })),
    table: { columns: ['arch', 'theta', 'value', 'normalized'], rows },
    figure: {
      title: `${kind.toUpperCase()} profile on the sphere`,
      panels: [
        {
          title: 'K(θ)/K(0) for unit inputs at angle θ',
          x: { title: 'θ (radians)' },
          y: { title: 'K(θ)/K(0)' },
          series: items.map(({ arch, profile }) => ({ name: arch, x: profile.angles, y: profile.normalized })),
        },
        ...(items.some((i) => i.interpolant)
          ? [
              {
                title: `Interpolants of ${items.find((i) => i.interpolant)!.interpolant!.trainAngles.length} points on the circle (Tirer et al.)`,
                x: { title: 't (radians)' },
                y: { title: 'f(t)' },
                series: [
                  ...items
                    .filter((i) => i.interpolant)
                    .map(({ arch, interpolant: r }) => ({ name: arch, x: thin(r!.testAngles, 8), y: thin(r!.prediction, 8) })),
                  (() => {
                    const r = items.find((i) => i.interpolant)!.interpolant!;
                    return { name: 'target', x: thin(r.testAngles, 8), y: thin(r.target, 8) };
                  })(),
                ],
              },
            ]
          : []),
      ],
    },
    summary: items.map(
      ({ arch, profile, cusp, interpolant: r }) =>
        `${arch}: K(0) = ${fmt(profile.k0)}, cusp slope −K'(0⁺)/K(0) = ${fmt(cusp.slope)} (± ${fmt(cusp.errorEstimate, 2)})` +
        (r ? `; interpolant: RMS f'' = ${fmt(r.rmsSecondDerivative, 4)}, RMS error ${fmt(r.rmsError, 4)}` : ''),
    ),
  };
}

/**
 * Depth sweeps of several archs at one input correlation: the normalised NTK and 1 − ρ_L against
 * depth, with a power-law fit of 1 − ρ_L over the last decade of depths (Hayou et al.: exponent −2).
 */
export function depthReport(items: readonly { arch: string; sweep: DepthSweep }[], parameters: Record<string, unknown>): AnalysisReport {
  const rows: Cell[][] = [];
  const fits = items.map(({ arch, sweep }) => {
    sweep.depths.forEach((L, i) =>
      rows.push([arch, L, sweep.nngpCorrelation[i]!, sweep.nngpGap[i]!, sweep.ntk[i]!, sweep.ntkDiagonal[i]!, sweep.ntkNormalized[i]!]),
    );
    const Lmax = sweep.depths.at(-1)!;
    const pick = sweep.depths.map((L, i) => [L, sweep.nngpGap[i]!] as const).filter(([L, g]) => L >= Math.max(1, Lmax / 10) && g > 0);
    const fit = pick.length >= 2 ? fitPowerLaw(pick.map((p) => p[0]), pick.map((p) => p[1])) : null;
    return { arch, gapFit: fit, range: pick.length >= 2 ? [pick[0]![0], Lmax] : null };
  });
  const positive = (xs: number[]) => xs.map((v) => Math.max(v, 0));
  return {
    analysis: 'depth',
    parameters,
    data: items.map(({ arch, sweep }, i) => ({ arch, ...sweep, gapPowerLaw: fits[i]!.gapFit, gapFitRange: fits[i]!.range })),
    table: { columns: ['arch', 'depth', 'nngp_correlation', 'nngp_gap', 'ntk', 'ntk_diagonal', 'ntk_normalized'], rows },
    figure: {
      title: `Kernels against depth L ≥ 1 at input correlation ρ = ${String(parameters.rho)}`,
      panels: [
        {
          title: 'Normalised NTK Θ_L(x,z)/Θ_L(x,x)',
          x: { title: 'depth L', scale: 'log' },
          y: { title: 'Θ_L(x,z)/Θ_L(x,x)' },
          series: items.map(({ arch, sweep }) => ({ name: arch, x: sweep.depths.slice(1), y: sweep.ntkNormalized.slice(1) })),
          rules: [{ y: 0.25, label: '1/4' }],
        },
        {
          title: '1 − ρ_L (NNGP correlation gap)',
          x: { title: 'depth L', scale: 'log' },
          y: { title: '1 − ρ_L', scale: 'log' },
          series: items.map(({ arch, sweep }) => ({ name: arch, x: sweep.depths.slice(1), y: positive(sweep.nngpGap.slice(1)) })),
        },
      ],
    },
    summary: items.map(({ arch, sweep }, i) => {
      const f = fits[i]!;
      const last = sweep.depths.length - 1;
      return (
        `${arch}: at L = ${sweep.depths[last]}: Θ_L/Θ_L(x,x) = ${fmt(sweep.ntkNormalized[last]!)}, 1 − ρ_L = ${fmt(sweep.nngpGap[last]!)}` +
        (f.gapFit ? `; 1 − ρ_L ≈ ${fmt(f.gapFit.prefactor, 4)}·L^${fmt(f.gapFit.exponent, 4)} over L ∈ [${f.range![0]}, ${f.range![1]}]` : '')
      );
    }),
  };
}

/**
 * Mercer eigenvalues per degree on the sphere for several archs (Belfer et al.): λ_k against k on
 * log–log axes, even and odd degrees as separate series, with the fitted exponents and the parity
 * balance. Degrees within the noise floor are tabulated with their status but not drawn.
 */
export function decayReport(items: readonly { arch: string; decay: SpectralDecay }[], parameters: Record<string, unknown>): AnalysisReport {
  const rows: Cell[][] = [];
  for (const { arch, decay: d } of items) {
    d.degrees.forEach((k, i) => rows.push([arch, k, d.eigenvalues[i]!, d.coefficients[i]!, d.multiplicities[i]!, d.status[i]!]));
  }
  const series = items.flatMap(({ arch, decay: d }) =>
    (['even', 'odd'] as const).map((par) => {
      const ks = d.degrees.filter((k, i) => k >= 1 && k % 2 === (par === 'even' ? 0 : 1) && d.status[i] === 'signal');
      return { name: `${arch} (${par} k)`, x: ks, y: ks.map((k) => d.eigenvalues[k]!), mark: 'line+points' as const };
    }),
  ).filter((s) => s.x.length > 0);
  const dim = items[0]?.decay.dim ?? 2;
  const fitText = (f: SpectralDecay['fits']['even']) => (f.fit ? `k^${fmt(f.fit.exponent, 4)}` : `no fit (${f.stoppedAt?.reason ?? 'too few degrees'})`);
  return {
    analysis: 'decay',
    parameters,
    data: items.map(({ arch, decay }) => ({ arch, ...decay })),
    table: { columns: ['arch', 'degree', 'eigenvalue', 'coefficient', 'multiplicity', 'status'], rows },
    figure: {
      title: `Spectral decay of the ${(items[0]?.decay.kind ?? 'ntk').toUpperCase()} on S^${dim - 1} (degrees above the noise floor)`,
      panels: [{ title: 'Mercer eigenvalue λ_k per degree k', x: { title: 'degree k', scale: 'log' }, y: { title: 'λ_k', scale: 'log' }, series }],
    },
    summary: items.map(({ arch, decay: d }) => {
      const r = d.parity.ratio32;
      const ratio = r === null ? 'n/a' : d.parity.ratio32Resolved ? fmt(r, 4) : `0 (|λ₃/λ₂| ≤ ${fmt(d.parity.ratio32Bound ?? 0, 2)}, noise)`;
      return `${arch}: even ${fitText(d.fits.even)}, odd ${fitText(d.fits.odd)}; λ₃/λ₂ = ${ratio}; odd/even energy ${d.parity.oddEvenEnergy === null ? 'n/a' : fmt(d.parity.oddEvenEnergy, 4)}${d.nonNegative ? '' : '; NEGATIVE eigenvalues beyond the noise floor'}`;
    }),
  };
}

/**
 * Condition numbers against depth for several archs (Barzilai et al.), one panel per kernel, and
 * the eigenvalues at the deepest chosen depth when they were kept.
 */
export function spectrumReport(items: readonly { arch: string; result: ArchConditioning }[], parameters: Record<string, unknown>): AnalysisReport {
  const kinds = (['nngp', 'ntk'] as const).filter((k) => items.some((i) => i.result[k]));
  const rows: Cell[][] = [];
  for (const { arch, result: r } of items) {
    for (const k of kinds) {
      const c = r[k];
      if (!c) continue;
      r.depths.forEach((L, i) => rows.push([arch, k, L, c.condition[i]!, c.lambdaMax[i]!, c.lambdaMin[i]!, c.resolved[i] ? 'yes' : 'no']));
    }
  }
  const panels: Figure['panels'][number][] = kinds.map((k) => ({
    title: `${k.toUpperCase()}: condition number λmax/λmin`,
    x: { title: 'depth L', scale: 'log' as const },
    y: { title: 'κ', scale: 'log' as const },
    series: items.map(({ arch, result: r }) => ({ name: arch, x: r.depths, y: r[k]!.condition, mark: 'line+points' as const })),
  }));
  const withEigs = items.filter((i) => kinds.some((k) => i.result[k]?.eigenvalues));
  for (const k of kinds) {
    if (!withEigs.some((i) => i.result[k]?.eigenvalues)) continue;
    panels.push({
      title: `${k.toUpperCase()} eigenvalues at the deepest depth`,
      x: { title: 'index i', scale: 'log' },
      y: { title: 'λ_i', scale: 'log' },
      series: withEigs.map(({ arch, result: r }) => {
        const e = r[k]!.eigenvalues!.at(-1)!;
        return { name: `${arch} (L = ${r.depths.at(-1)})`, x: Array.from(e, (_, i) => i + 1), y: Array.from(e) };
      }),
    });
  }
  const n = items[0]?.result.n ?? 0;
  return {
    analysis: 'spectrum',
    parameters,
    data: items.map(({ arch, result }) => ({ ...result, arch })),
    table: { columns: ['arch', 'kernel', 'depth', 'condition', 'lambda_max', 'lambda_min', 'resolved'], rows },
    figure: { title: `Conditioning against depth (n = ${n}${items[0]?.result.normalized ? ', unit-diagonal Grams' : ''})`, panels },
    summary: items.flatMap(({ arch, result: r }) =>
      kinds
        .filter((k) => r[k])
        .map((k) => `${arch} ${k}: κ = ${r.depths.map((L, i) => `${fmt(r[k]!.condition[i]!, 4)} (L=${L})`).join(', ')}${r[k]!.warnings.some((w) => w) ? ' [warnings in the JSON]' : ''}`),
    ),
  };
}

/** The k leading eigenvalues by Lanczos, one series per arch. */
export function leadingReport(items: readonly { arch: string; result: LeadingEigenvalues }[], parameters: Record<string, unknown>): AnalysisReport {
  const rows: Cell[][] = [];
  for (const { arch, result: r } of items) Array.from(r.eigenvalues).forEach((v, i) => rows.push([arch, i + 1, v, r.residualBounds[i]!]));
  return {
    analysis: 'spectrum-leading',
    parameters,
    data: items.map(({ arch, result }) => ({ ...result, arch })),
    table: { columns: ['arch', 'index', 'eigenvalue', 'residual_bound'], rows },
    figure: {
      title: `Leading eigenvalues by Lanczos (n = ${items[0]?.result.n ?? 0})`,
      panels: [
        {
          title: `${(items[0]?.result.kind ?? 'ntk').toUpperCase()} eigenvalues`,
          x: { title: 'index i', scale: 'log' },
          y: { title: 'λ_i', scale: 'log' },
          series: items.map(({ arch, result: r }) => ({ name: arch, x: Array.from(r.eigenvalues, (_, i) => i + 1), y: Array.from(r.eigenvalues), mark: 'line+points' as const })),
        },
      ],
    },
    summary: items.map(
      ({ arch, result: r }) =>
        `${arch}: λ₁ … λ_${r.eigenvalues.length} = ${Array.from(r.eigenvalues.slice(0, 5), (v) => fmt(v, 5)).join(', ')}${r.eigenvalues.length > 5 ? ', …' : ''}; ${r.iterations} Lanczos steps, ${r.converged ? 'converged' : 'NOT converged'} (${r.product} products)`,
    ),
  };
}

/**
 * Finite-width fluctuations (Littwin & Wolf): the relative variance Var/mean² of the empirical
 * NTK over sampled networks against depth, one series per family and width, with the fitted
 * growth rates.
 */
export function fluctuationsReport(r: FluctuationResult, parameters: Record<string, unknown>): AnalysisReport {
  const rows: Cell[][] = r.cells.map((c) => [
    c.family,
    c.depth,
    c.width,
    c.samples,
    c.diagonal.relVar,
    c.diagonal.relVarSE,
    c.diagonal.logVar ?? 'n/a',
    c.diagonal.mean,
    c.diagonal.limit,
    c.offDiagonal.relVar,
    c.offDiagonal.relVarSE,
  ]);
  const keys = [...new Set(r.cells.map((c) => `${c.family}|${c.width}`))];
  const series = keys.map((k) => {
    const [family, width] = k.split('|');
    const cs = r.cells.filter((c) => c.family === family && String(c.width) === width).sort((a, b) => a.depth - b.depth);
    return { name: `${family}, n = ${width}`, x: cs.map((c) => c.depth), y: cs.map((c) => c.diagonal.relVar), mark: 'line+points' as const };
  });
  const slopeText = (s: { slope: number; slopeSE: number } | null) => (s ? `${fmt(s.slope, 3)} ± ${fmt(s.slopeSE, 2)}` : 'n/a');
  return {
    analysis: 'fluctuations',
    parameters,
    data: r,
    table: {
      columns: ['family', 'depth', 'width', 'samples', 'relvar_diag', 'relvar_diag_se', 'var_log_diag', 'mean_diag', 'limit_diag', 'relvar_offdiag', 'relvar_offdiag_se'],
      rows,
    },
    figure: {
      title: `Finite-width fluctuations of the empirical ${r.kind.toUpperCase()} (Monte Carlo, ${r.cells[0]?.samples ?? 0} networks per point)`,
      panels: [{ title: 'Var/mean² of Θ(x,x) over sampled networks', x: { title: 'depth L', scale: 'log' }, y: { title: 'relative variance', scale: 'log' }, series }],
    },
    summary: r.fits.map(
      (f) =>
        `${f.family}: ln(1+v) vs L/n slope ${slopeText(f.lnGrowth)}; v ∝ n^p with p = ${f.widthExponents.map((w) => `${fmt(w.exponent, 3)} (L=${w.depth})`).join(', ') || 'n/a'}; v ∝ L^q with q = ${f.depthExponents.map((w) => `${fmt(w.exponent, 3)} (n=${w.width})`).join(', ') || 'n/a'}`,
    ),
  };
}

/**
 * Infinite-depth ResNet kernels (Huang et al., Belfer et al.): the normalised ResNTK at one input
 * correlation against depth for several γ (α = L^−γ), with the depth = ∞ limits, and the limit
 * profiles against ρ0 (two-layer NTK for γ > ½, the depth-time ODE for γ = ½) beside a finite depth.
 */
export function infiniteReport(
  table: DepthTable & { backend: string },
  profiles: readonly { name: string; rho: number[]; ntk: number[] }[],
  parameters: Record<string, unknown>,
): AnalysisReport {
  const rows: Cell[][] = [];
  for (const r of table.rows) {
    table.depths.forEach((L, i) => rows.push([r.gamma, L, r.values[i]!, r.regime]));
    rows.push([r.gamma, 'inf', r.limit ?? 'none', r.regime]);
  }
  return {
    analysis: 'infinite',
    parameters,
    data: { table, profiles },
    table: { columns: ['gamma', 'depth', 'normalized_ntk', 'regime'], rows },
    figure: {
      title: `Normalised ResNTK (belfer2021) with α = L^−γ`,
      panels: [
        {
          title: `at ρ = ${table.rho}: against depth (dashed: depth = ∞ limits)`,
          x: { title: 'depth L', scale: 'log' },
          y: { title: 'Θ_L(x,z)/Θ_L(x,x)' },
          series: table.rows.map((r) => ({ name: `γ = ${r.gamma}`, x: table.depths, y: r.values, mark: 'line+points' as const })),
          // One dashed line per distinct limit (every γ > ½ shares the two-layer value).
          rules: [...new Set(table.rows.filter((r) => r.limit !== null).map((r) => r.limit!))].map((y) => ({
            y,
            label: `γ = ${table.rows.filter((r) => r.limit === y).map((r) => r.gamma).join(', ')}: ${fmt(y, 6)}`,
          })),
        },
        { title: 'limit profiles against the input correlation ρ0', x: { title: 'ρ0' }, y: { title: 'normalised NTK' }, series: profiles.map((p) => ({ name: p.name, x: p.rho, y: p.ntk })) },
      ],
    },
    summary: table.rows.map(
      (r) =>
        `γ = ${r.gamma}: ${table.depths.map((L, i) => `${fmt(r.values[i]!, 6)} (L=${L})`).join(', ')} → ${r.limit === null ? 'no non-degenerate limit (tends to the MLP’s 1/4 at ρ = 0)' : `${fmt(r.limit, 7)} (${r.regime === 'ode' ? 'depth-time ODE' : 'two-layer NTK'})`}`,
    ),
  };
}
