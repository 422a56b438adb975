/**
 * Reports of the analyses: what `webntk analyze` writes (JSON, a CSV table, an SVG figure) and
 * prints, built from the analysis results so that the CLI, the paper scripts and a browser page
 * share one rendering. Nothing here computes a kernel.
 */
import type { Figure } from '../plot/chart.js';
import type { DepthSweep } from './depth.js';
import { fitLine, fitPowerLaw } from './depth.js';
import type { Profile } from './profile.js';
import type { CircleInterpolant } from './smoothness.js';
import type { SpectralDecay } from './spectral.js';
import type { ArchConditioning, LeadingEigenvalues } from './spectrum.js';
import type { FluctuationResult } from './fluctuations.js';
import type { DepthTable } from './infinite.js';
import type { ConvDecay, Locality } from './conv-spectral.js';

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
  /** Fields also put at the JSON's top level (pinned names of a command's contract, e.g. dynamics' rows and fit). */
  top?: Record<string, unknown>;
}

/** JSON.stringify replacer for reports: typed arrays become arrays, ±Infinity and NaN become strings. */
export const reportJsonReplacer = (_: string, v: unknown): unknown =>
  v instanceof Float64Array || v instanceof Float32Array ? Array.from(v) : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;

const fmt = (v: number, digits = 6) => (Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v));


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
                    .map(({ arch, interpolant: r }) => ({ name: arch, x: r!.testAngles, y: r!.prediction })),
                  (() => {
                    const r = items.find((i) => i.interpolant)!.interpolant!;
                    return { name: 'target', x: r.testAngles, y: r.target };
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

/** Gaps 1 − ρ_L below this are not resolved by the backend's results (f32: ~1e−7 absolute, with a 100× margin). */
export const GAP_FLOOR: Readonly<Record<string, number>> = { cpu: 1e-13, webgpu: 1e-5 };

/** A fit over a range of depths, or null with the reason. */
export interface DepthFit {
  fit: { exponent: number; prefactor: number; rmsLogResidual: number } | null;
  range: [number, number] | null;
  note?: string;
}

/** Power law of 1 − ρ_L over the last decade of depths where the gap is resolved. */
function gapFit(sweep: DepthSweep, floor: number): DepthFit {
  const ok = sweep.depths.map((L, i) => [L, sweep.nngpGap[i]!] as const).filter(([L, g]) => L >= 1 && g > floor);
  if (ok.length < 2) return { fit: null, range: null, note: `fewer than two depths with 1 − ρ_L above ${floor}` };
  const hi = ok.at(-1)![0];
  const pick = ok.filter(([L]) => L >= hi / 10);
  if (pick.length < 2) return { fit: null, range: null, note: 'fewer than two depths in the last resolved decade' };
  const note = hi < sweep.depths.at(-1)! ? `1 − ρ_L is below the resolution ${floor} beyond L = ${hi}` : undefined;
  return { fit: fitPowerLaw(pick.map((p) => p[0]), pick.map((p) => p[1])), range: [pick[0]![0], hi], ...(note ? { note } : {}) };
}

/**
 * How fast the normalised NTK r_L = Θ_L(x,z)/Θ_L(x,x) settles: a power law of |r_L − r_Lmax| over
 * L ∈ [Lmax/1000, Lmax/10] (the deepest value stands in for the limit; for arora2019 the exponent is
 * about −1, the (3/8)·ln L/L of Hayou et al.); and, when the limit r_∞ is given, the slope of
 * L·(r_L − r_∞) against ln L over the last two decades (3/8 for arora2019 at r_∞ = 1/4).
 */
function ntkRates(sweep: DepthSweep, limit: number | undefined): { settle: DepthFit; lnSlope: { slope: number; range: [number, number] } | null } {
  const Lmax = sweep.depths.at(-1)!;
  const rEnd = sweep.ntkNormalized.at(-1)!;
  const pts = sweep.depths.map((L, i) => [L, Math.abs(sweep.ntkNormalized[i]! - rEnd)] as const).filter(([L, d]) => L >= Math.max(1, Lmax / 1000) && L <= Lmax / 10 && d > 1e-12);
  const settle: DepthFit =
    pts.length >= 2
      ? { fit: fitPowerLaw(pts.map((p) => p[0]), pts.map((p) => p[1])), range: [pts[0]![0], pts.at(-1)![0]] }
      : { fit: null, range: null, note: 'the sweep is too short (needs depths up to 10× the fitted range)' };
  let lnSlope: { slope: number; range: [number, number] } | null = null;
  if (limit !== undefined) {
    const q = sweep.depths.map((L, i) => [L, L * (sweep.ntkNormalized[i]! - limit)] as const).filter(([L]) => L >= Math.max(2, Lmax / 100));
    const f = fitLine(q.map((p) => Math.log(p[0])), q.map((p) => p[1]));
    if (f) lnSlope = { slope: f.slope, range: [q[0]![0], Lmax] };
  }
  return { settle, lnSlope };
}

/**
 * Depth sweeps of several archs at one input correlation: the normalised NTK and 1 − ρ_L against
 * depth, a power-law fit of 1 − ρ_L over the last resolved decade (Hayou et al.: exponent −2), and the
 * rates at which the normalised NTK settles (see ntkRates).
 */
export function depthReport(
  items: readonly { arch: string; sweep: DepthSweep }[],
  parameters: Record<string, unknown> & { ntkLimit?: number },
): AnalysisReport {
  const rows: Cell[][] = [];
  const floor = GAP_FLOOR[items[0]?.sweep.backend ?? 'cpu'] ?? GAP_FLOOR.cpu!;
  const fits = items.map(({ arch, sweep }) => {
    sweep.depths.forEach((L, i) =>
      rows.push([arch, L, sweep.nngpCorrelation[i]!, sweep.nngpGap[i]!, sweep.ntk[i]!, sweep.ntkDiagonal[i]!, sweep.ntkNormalized[i]!]),
    );
    return { arch, gap: gapFit(sweep, floor), ...ntkRates(sweep, parameters.ntkLimit) };
  });
  // Depth 0 has no place on a log axis; the figure thins long sweeps itself (plot/chart.ts).
  const drawn = (sweep: DepthSweep) => sweep.depths.map((_, i) => i).filter((i) => sweep.depths[i]! >= 1);
  return {
    analysis: 'depth',
    parameters,
    data: items.map(({ arch, sweep }, i) => ({ arch, ...sweep, gapPowerLaw: fits[i]!.gap, ntkSettling: fits[i]!.settle, ntkLnSlope: fits[i]!.lnSlope })),
    table: { columns: ['arch', 'depth', 'nngp_correlation', 'nngp_gap', 'ntk', 'ntk_diagonal', 'ntk_normalized'], rows },
    figure: {
      title: `Kernels against depth L ≥ 1 at input correlation ρ = ${String(parameters.rho)}`,
      panels: [
        {
          title: 'Normalised NTK Θ_L(x,z)/Θ_L(x,x)',
          x: { title: 'depth L', scale: 'log' },
          y: { title: 'Θ_L(x,z)/Θ_L(x,x)' },
          series: items.map(({ arch, sweep }) => ({ name: arch, x: drawn(sweep).map((i) => sweep.depths[i]!), y: drawn(sweep).map((i) => sweep.ntkNormalized[i]!) })),
          rules: parameters.ntkLimit !== undefined ? [{ y: parameters.ntkLimit, label: `r∞ = ${fmt(parameters.ntkLimit, 4)}` }] : [],
        },
        {
          title: `1 − ρ_L (NNGP correlation gap; resolved above ${floor})`,
          x: { title: 'depth L', scale: 'log' },
          y: { title: '1 − ρ_L', scale: 'log' },
          series: items.map(({ arch, sweep }) => {
            const idx = drawn(sweep).filter((i) => sweep.nngpGap[i]! > floor);
            return { name: arch, x: idx.map((i) => sweep.depths[i]!), y: idx.map((i) => sweep.nngpGap[i]!) };
          }),
        },
      ],
    },
    summary: items.map(({ arch, sweep }, i) => {
      const f = fits[i]!;
      const last = sweep.depths.length - 1;
      const gap = f.gap.fit ? `1 − ρ_L ≈ ${fmt(f.gap.fit.prefactor, 4)}·L^${fmt(f.gap.fit.exponent, 4)} over L ∈ [${f.gap.range![0]}, ${f.gap.range![1]}]${f.gap.note ? ` (${f.gap.note})` : ''}` : `no fit of 1 − ρ_L (${f.gap.note})`;
      const settle = f.settle.fit ? `|r_L − r_${sweep.depths[last]}| ≈ L^${fmt(f.settle.fit.exponent, 4)} over L ∈ [${f.settle.range![0]}, ${f.settle.range![1]}]` : `no settling fit (${f.settle.note})`;
      const ln = f.lnSlope ? `; L·(r_L − ${fmt(parameters.ntkLimit!, 6)}) grows ${fmt(f.lnSlope.slope, 4)}·ln L over L ∈ [${f.lnSlope.range[0]}, ${f.lnSlope.range[1]}]` : '';
      return `${arch}: at L = ${sweep.depths[last]}: r_L = Θ_L/Θ_L(x,x) = ${fmt(sweep.ntkNormalized[last]!)}, 1 − ρ_L = ${fmt(sweep.nngpGap[last]!)}; ${gap}; ${settle}${ln}`;
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
        `${arch}: λ₁ … λ_${r.eigenvalues.length} = ${Array.from(r.eigenvalues.slice(0, 5), (v) => fmt(v, 5)).join(', ')}${r.eigenvalues.length > 5 ? ', …' : ''}; ${r.iterations} Lanczos steps, ${r.converged ? 'converged' : 'NOT converged'} (${r.product} products${/f32/.test(r.product) ? '; the residual bounds hold for the f32 matrix, whose entries differ from the float64 Gram by ~1e−7 relative, so each eigenvalue may differ by ~1e−7·n·λ₁ more' : ''})`,
    ),
  };
}

/**
 * Finite-width fluctuations (Littwin & Wolf): the relative variance Var/mean² of the empirical
 * NTK over sampled networks against depth, one series per family and width, with the fitted
 * growth rates.
 */
export function fluctuationsReport(r: FluctuationResult, parameters: Record<string, unknown>, options: { predict?: boolean } = {}): AnalysisReport {
  if (options.predict) return fluctuationsPredictReport(r, parameters);
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
        `${f.family}: ${f.closedForm ? `measured/closed form = ${fmt(f.closedForm.ratio, 3)} ± ${fmt(f.closedForm.ratioSE, 2)} (L/n ≤ ${fmt(f.closedForm.maxDepthOverWidth, 3)}); ` : ''}ln(1+v) vs L/n slope ${slopeText(f.lnGrowth)} (all L/n); v ∝ n^p with p = ${f.widthExponents.map((w) => `${fmt(w.exponent, 3)} (L=${w.depth})`).join(', ') || 'n/a'}; v ∝ L^q with q = ${f.depthExponents.map((w) => `${fmt(w.exponent, 3)} (n=${w.width})`).join(', ') || 'n/a'}`,
    ),
  };
}

/** One row of `analyze fluctuations --predict` (pinned names: family, depth, width, measured, stderr, predicted). */
export interface FluctuationPredictRow {
  family: string;
  depth: number;
  width: number;
  samples: number;
  /** Var/mean² of Θ(x,x) over the sampled networks and its standard error. */
  measured: number;
  stderr: number;
  /** The closed-form leading order c/n (null: none derived, see model). */
  predicted: number | null;
  /** Allowance for the O(1/n²) remainder (0 where c/n is exact). */
  allowance: number | null;
  /** The correlation ρ of the input pair x, z (the off-diagonal entries are Θ(x,z)). */
  rho: number;
  /** The same for Θ(x,z). */
  measuredOffDiagonal: number;
  stderrOffDiagonal: number;
  predictedOffDiagonal: number | null;
  model: string;
}

export function fluctuationPredictRows(r: FluctuationResult): FluctuationPredictRow[] {
  return r.cells.map((c) => ({
    family: c.family,
    depth: c.depth,
    width: c.width,
    samples: c.samples,
    measured: c.diagonal.relVar,
    stderr: c.diagonal.relVarSE,
    predicted: c.prediction.diagonal,
    allowance: c.prediction.diagonal === null ? null : c.prediction.allowance,
    rho: r.rho,
    measuredOffDiagonal: c.offDiagonal.relVar,
    stderrOffDiagonal: c.offDiagonal.relVarSE,
    predictedOffDiagonal: c.prediction.offDiagonal,
    model: c.prediction.model,
  }));
}

/**
 * `analyze fluctuations --predict`: the measurements beside the closed forms (wave2.md §3.4).
 * Left: n·Var/mean² of Θ(x,x) against depth, points per family and width, the closed form per
 * family as a line (it does not depend on n, so the widths collapse onto it while L/n is small).
 * Right: ln(1 + v) against L/n with the MLP's leading order and Hanin & Nica's asymptotic rate 5·L/n:
 * the crossover from the 1/n regime to exponential growth at L/n ~ 1.
 */
function fluctuationsPredictReport(r: FluctuationResult, parameters: Record<string, unknown>): AnalysisReport {
  const rows = fluctuationPredictRows(r);
  const columns = ['family', 'depth', 'width', 'samples', 'measured', 'stderr', 'predicted', 'allowance', 'measuredOffDiagonal', 'stderrOffDiagonal', 'predictedOffDiagonal', 'model'] as const;
  const families = [...new Set(r.cells.map((c) => c.family))];
  const widths = [...new Set(r.cells.map((c) => c.width))].sort((a, b) => a - b);
  const depths = [...new Set(r.cells.map((c) => c.depth))].sort((a, b) => a - b);
  const measured = families.flatMap((f) =>
    widths.map((n) => {
      const cs = r.cells.filter((c) => c.family === f && c.width === n).sort((a, b) => a.depth - b.depth);
      return { name: `${f}, n = ${n}`, x: cs.map((c) => c.depth), y: cs.map((c) => n * c.diagonal.relVar), mark: 'points' as const };
    }),
  );
  const predicted = families.flatMap((f) => {
    const cs = depths.map((L) => r.cells.find((c) => c.family === f && c.depth === L && c.prediction.coefficient !== null)).filter((c) => c !== undefined);
    return cs.length ? [{ name: `${f}: closed form`, x: cs.map((c) => c.depth), y: cs.map((c) => c.prediction.coefficient!), mark: 'line' as const }] : [];
  });
  const growth = families.flatMap((f) =>
    widths.map((n) => {
      const cs = r.cells.filter((c) => c.family === f && c.width === n).sort((a, b) => a.depth - b.depth);
      return { name: `${f}, n = ${n}`, x: cs.map((c) => c.depth / n), y: cs.map((c) => Math.log1p(c.diagonal.relVar)), mark: 'points' as const };
    }),
  );
  const ratios = [...new Set(r.cells.map((c) => c.depth / c.width))].sort((a, b) => a - b);
  const refs =
    ratios.length > 1
      ? [
          // The leading orders' large-L slopes (ln(1 + v) ≈ v while v is small).
          { name: '(11/3)·L/n (MLP leading order, large L)', x: ratios, y: ratios.map((t) => (11 / 3) * t), mark: 'line' as const },
          { name: '(23/12)·L/n (ResNet α = 1 leading order, large L)', x: ratios, y: ratios.map((t) => (23 / 12) * t), mark: 'line' as const },
          { name: '5·L/n (Hanin & Nica asymptotic rate)', x: ratios, y: ratios.map((t) => 5 * t), mark: 'line' as const },
        ]
      : [];
  const ratioText = (f: FluctuationResult['fits'][number]) =>
    f.closedForm
      ? `measured/predicted = ${fmt(f.closedForm.ratio, 3)} ± ${fmt(f.closedForm.ratioSE, 2)} over ${f.closedForm.cells} cells with L/n ≤ ${fmt(f.closedForm.maxDepthOverWidth, 3)} (χ²/cell ${fmt(f.closedForm.chi2PerCell, 3)})`
      : `no closed-form comparison (${r.cells.find((c) => c.family === f.family)?.prediction.coefficient === null ? r.cells.find((c) => c.family === f.family)!.prediction.model : 'no cell under the L/n cut'})`;
  return {
    analysis: 'fluctuations',
    parameters: { ...parameters, predict: true },
    data: { ...r, rows },
    table: { columns: [...columns], rows: rows.map((row) => columns.map((k) => row[k] ?? 'n/a')) },
    // The pinned contract (issue 15) reads `rows` at the top level, as `analyze dynamics` has them; data.rows stays for older readers.
    top: { rows },
    figure: {
      title: `Finite-width fluctuations of the empirical ${r.kind.toUpperCase()}: Monte Carlo (${r.cells[0]?.samples ?? 0} networks per point) against the leading-order closed forms`,
      panels: [
        { title: 'n · Var/mean² of Θ(x,x) (points: measured; lines: closed forms)', x: { title: 'depth L', scale: 'log' }, y: { title: 'n · relative variance', scale: 'log' }, series: [...measured, ...predicted] },
        { title: 'ln(1 + Var/mean²) against L/n: the 1/n regime and the crossover to exponential growth', x: { title: 'L/n', scale: 'log' }, y: { title: 'ln(1 + v)', scale: 'log' }, series: [...growth, ...refs] },
      ],
    },
    summary: r.fits.map((f) => `${f.family}: ${ratioText(f)}`),
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
        `γ = ${r.gamma}: ${table.depths.map((L, i) => `${fmt(r.values[i]!, 6)} (L=${L})`).join(', ')} → ${r.limit === null ? `no non-degenerate limit (degenerates like the MLP${table.rho < 1 ? ': 1/4 off the diagonal' : ''})` : `${fmt(r.limit, 7)} (${r.regime === 'ode' ? 'depth-time ODE' : 'two-layer NTK'})`}`,
    ),
  };
}

const expText = (e: number | null) => (e === null ? 'n/a' : fmt(e, 3));

/**
 * Eigenvalue decay of conv kernels on (S¹)^P (Barzilai et al.): λ_(k,0,…,0)/λ₀ against k on
 * log–log axes, one series per arch, kernel and depth, with the local exponents over octaves.
 */
export function convDecayReport(items: readonly { arch: string; decay: ConvDecay }[], parameters: Record<string, unknown>): AnalysisReport {
  const rows: Cell[][] = [];
  for (const { arch, decay: d } of items) {
    for (const c of d.curves) c.ratios.forEach((r, i) => rows.push([arch, c.kind, c.depth, i + 1, r, i === 0 ? 'n/a' : expText(c.consecutive[i - 1]!)]));
  }
  const kinds = [...new Set(items.flatMap((i) => i.decay.curves.map((c) => c.kind)))];
  const d0 = items[0]?.decay;
  return {
    analysis: 'conv-decay',
    parameters,
    data: items.map(({ arch, decay }) => ({ ...decay, arch })),
    table: { columns: ['arch', 'kernel', 'depth', 'k', 'ratio', 'local_exponent'], rows },
    figure: {
      title: `Eigenvalues of single-pixel harmonics on (S¹)^${d0?.pixels ?? 0} (grid ${d0?.grid ?? 0}^${d0?.pixels ?? 0})`,
      panels: kinds.map((kind) => ({
        title: `${kind.toUpperCase()}: λ_(k,0,…,0)/λ₀ at the output pixel`,
        x: { title: 'degree k', scale: 'log' as const },
        y: { title: 'λ_k/λ₀', scale: 'log' as const },
        series: items.flatMap(({ arch, decay: d }) =>
          d.curves
            .filter((c) => c.kind === kind)
            .map((c) => {
              const ks = c.ratios.map((_, i) => i + 1).filter((k) => c.ratios[k - 1]! > 0);
              return { name: d.curves.filter((x) => x.kind === kind).length > 1 ? `${arch} (depth ${c.depth})` : arch, x: ks, y: ks.map((k) => c.ratios[k - 1]!), mark: 'line+points' as const };
            }),
        ),
      })),
    },
    summary: items.flatMap(({ arch, decay: d }) =>
      d.curves.map(
        (c) =>
          `${arch} ${c.kind} (depth ${c.depth}): λ_k/λ₀ = ${c.ratios.map((r, i) => (((i + 1) & i) === 0 ? `${fmt(r, 3)} (k=${i + 1})` : null)).filter(Boolean).join(', ')}; local exponents ${c.octaves.map((o) => `${o.from}→${o.to}: ${expText(o.exponent)}`).join(', ')}`,
      ),
    ),
  };
}

/**
 * Locality of conv kernels on (S¹)^P (Barzilai et al.): far/near eigenvalue ratio and pair ratio
 * against depth, one panel per measure and kernel.
 */
export function localityReport(items: readonly { arch: string; locality: Locality }[], parameters: Record<string, unknown>): AnalysisReport {
  const rows: Cell[][] = [];
  for (const { arch, locality: l } of items) for (const p of l.points) rows.push([arch, p.kind, p.depth, p.farNear, p.pairRatio, p.lambdaNear, p.lambdaFar, p.lambdaPairNear, p.lambdaPairFar]);
  const kinds = [...new Set(items.flatMap((i) => i.locality.points.map((p) => p.kind)))];
  const l0 = items[0]?.locality;
  const panel = (kind: string, key: 'farNear' | 'pairRatio', title: string) => ({
    title: `${kind.toUpperCase()}: ${title}`,
    x: { title: 'depth L', scale: 'log' as const },
    y: { title: key === 'farNear' ? 'λ_far/λ_near' : 'λ_pair(far)/λ_pair(near)' },
    series: items.map(({ arch, locality: l }) => {
      const pts = l.points.filter((p) => p.kind === kind && p.depth >= 1);
      return { name: arch, x: pts.map((p) => p.depth), y: pts.map((p) => p[key]), mark: 'line+points' as const };
    }),
  });
  return {
    analysis: 'locality',
    parameters,
    data: items.map(({ arch, locality }) => ({ ...locality, arch })),
    table: { columns: ['arch', 'kernel', 'depth', 'far_near', 'pair_ratio', 'lambda_near', 'lambda_far', 'lambda_pair_near', 'lambda_pair_far'], rows },
    figure: {
      title: `Locality on (S¹)^${l0?.pixels ?? 0}: output pixel ${l0?.nearPixel ?? 0}, far pixel ${l0?.farPixel ?? 0} (grid ${l0?.grid ?? 0}^${l0?.pixels ?? 0})`,
      panels: kinds.flatMap((k) => [panel(k, 'farNear', 'far/near eigenvalue ratio'), panel(k, 'pairRatio', 'pair ratio (output+far)/(output+neighbour)')]),
    },
    summary: items.flatMap(({ arch, locality: l }) =>
      kinds.map((k) => `${arch} ${k}: far/near, pair ratio = ${l.points.filter((p) => p.kind === k).map((p) => `${fmt(p.farNear, 3)}, ${fmt(p.pairRatio, 3)} (L=${p.depth})`).join('; ')}`),
    ),
  };
}
