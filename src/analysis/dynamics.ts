/**
 * `analyze dynamics` (issue 15, "Training dynamics"): full-batch GD of sampled finite networks
 * (`trainNetwork`) over widths × seeds, with the drift of the empirical NTK at checkpoints and the
 * fitted slope of log final drift against log width (lazy-training theory and the pilot: ≈ −1).
 * Checkpoints: 0, 1 (for the initial rate), and S/10, 2S/10, …, S (rounded). Step η: trainNetwork's
 * default n/λ_max(Θ₀) in its loss (1/2n)‖f − y‖², i.e. η·λ_max(Θ₀)/n = 1, unless --lr is given.
 */
import type { AnalysisReport, Cell } from './report.js';
import { trainNetwork } from '../mc/train.js';
import { symmetricEigenvalues } from '../solve/symmetric-eigen.js';
import { empiricalSpec } from '../empirical.js';
import type { MatrixInput } from '../matrix.js';

export interface DynamicsRow {
  width: number;
  seed: number;
  step: number;
  t: number;
  loss: number;
  drift: number;
  driftTest: number | null;
  lambdaMin: number;
  lambdaMax: number;
  alignment: number;
  layerDrift: number[];
}

export interface DynamicsRun {
  width: number;
  seed: number;
  lr: number;
  /** ‖dΘ/dt|₀‖_F/‖Θ₀‖_F from the first step (null for non-smooth activations). */
  initialRate: number | null;
}

export interface DynamicsResult {
  rows: DynamicsRow[];
  runs: DynamicsRun[];
  fit: { driftSlope: number | null; driftSlopeSeedMean: number | null; perSeed: { seed: number; slope: number | null }[] };
  notes: string[];
}

export interface DynamicsOptions {
  widths: number[];
  seeds: number;
  steps: number;
  lr?: number;
  xTest?: MatrixInput;
}

const NON_SMOOTH = /relu|leaky|abs|step|hardtanh/i;

/** Least-squares slope of ln y on ln x (null with fewer than two distinct widths). */
export function logSlope(x: number[], y: number[]): number | null {
  const pts = x.map((v, i) => [Math.log(v), Math.log(y[i]!)] as const).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
  if (new Set(pts.map((p) => p[0])).size < 2) return null;
  const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (const [a, b] of pts) {
    sxy += (a - mx) * (b - my);
    sxx += (a - mx) ** 2;
  }
  return sxy / sxx;
}

const frob = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let e = 0; e < a.length; e++) s += (a[e]! - b[e]!) ** 2;
  return Math.sqrt(s);
};

/** Kernel-target alignment ⟨Θ, yyᵀ⟩/(‖Θ‖_F‖y‖²). */
function alignment(K: Float64Array, y: ArrayLike<number>, n: number): number {
  let num = 0;
  let kk = 0;
  let yy = 0;
  for (let i = 0; i < n; i++) {
    yy += y[i]! ** 2;
    for (let j = 0; j < n; j++) {
      num += K[i * n + j]! * y[i]! * y[j]!;
      kk += K[i * n + j]! ** 2;
    }
  }
  return kk > 0 && yy > 0 ? num / (Math.sqrt(kk) * yy) : 0;
}

export function dynamicsSweep(arch: Parameters<typeof trainNetwork>[0], x: MatrixInput, y: ArrayLike<number>, n: number, o: DynamicsOptions): DynamicsResult {
  const smooth = !NON_SMOOTH.test(JSON.stringify(empiricalSpec(arch)));
  const marks = [...new Set([0, ...(o.steps >= 1 ? [1] : []), ...Array.from({ length: 10 }, (_, i) => Math.round(((i + 1) * o.steps) / 10))])].sort((a, b) => a - b);
  const rows: DynamicsRow[] = [];
  const runs: DynamicsRun[] = [];
  for (const width of o.widths) {
    for (let seed = 0; seed < o.seeds; seed++) {
      const r = trainNetwork(arch, x, y, { width, seed, steps: o.steps, lr: o.lr, checkpoints: marks, xTest: o.xTest });
      const c0 = r.checkpoints[0]!;
      for (const c of r.checkpoints) {
        const ev = symmetricEigenvalues(c.ntk, n);
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of ev) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        const base0 = frob(c0.ntk, new Float64Array(c0.ntk.length));
        rows.push({
          width,
          seed,
          step: c.step,
          t: c.t,
          loss: c.loss,
          drift: c.drift,
          driftTest: c.driftTest ?? null,
          lambdaMin: lo,
          lambdaMax: hi,
          alignment: alignment(c.ntk, y, n),
          layerDrift: c.layers.map((L, i) => frob(L, c0.layers[i]!) / base0),
        });
      }
      const c1 = r.checkpoints.find((c) => c.step === 1);
      runs.push({ width, seed, lr: r.lr, initialRate: smooth && c1 ? c1.drift / r.lr : null });
    }
  }
  const finals = rows.filter((r) => r.step === o.steps);
  const perSeed = Array.from({ length: o.seeds }, (_, seed) => {
    const f = finals.filter((r) => r.seed === seed);
    return { seed, slope: logSlope(f.map((r) => r.width), f.map((r) => r.drift)) };
  });
  const means = o.widths.map((w) => {
    const f = finals.filter((r) => r.width === w);
    return f.reduce((s, r) => s + r.drift, 0) / f.length;
  });
  const notes = smooth ? [] : ['initialRate is null: the spec has a non-smooth activation (ReLU-like), whose Θ jumps at step 0; rates need smooth activations (gelu, tanh, softplus).'];
  notes.push('initFluctuation (‖Θ₀ − Θ_∞‖/‖Θ_∞‖) and the linearised-model comparison are not built yet.');
  return {
    rows,
    runs,
    fit: { driftSlope: logSlope(finals.map((r) => r.width), finals.map((r) => r.drift)), driftSlopeSeedMean: logSlope(o.widths, means), perSeed },
    notes,
  };
}

const f3 = (v: number | null) => (v === null ? 'n/a' : Number(v.toPrecision(3)).toString());

export function dynamicsReport(r: DynamicsResult, parameters: Record<string, unknown>): AnalysisReport {
  const widths = [...new Set(r.rows.map((x) => x.width))];
  const series = widths.map((w) => {
    const rs = r.rows.filter((x) => x.width === w && x.seed === 0 && x.step > 0);
    return { name: `n = ${w}`, x: rs.map((x) => x.t), y: rs.map((x) => Math.max(x.drift, 1e-300)), mark: 'line+points' as const };
  });
  const rows: Cell[][] = r.rows.map((x) => [x.width, x.seed, x.step, x.t, x.loss, x.drift, x.driftTest ?? 'n/a', x.lambdaMin, x.lambdaMax, x.alignment]);
  return {
    analysis: 'dynamics',
    parameters,
    data: r,
    top: { rows: r.rows, fit: r.fit, runs: r.runs, notes: r.notes },
    table: { columns: ['width', 'seed', 'step', 't', 'loss', 'drift', 'drift_test', 'lambda_min', 'lambda_max', 'alignment'], rows },
    figure: {
      title: 'NTK drift during gradient descent (seed 0)',
      panels: [{ title: '‖Θ_t − Θ₀‖_F/‖Θ₀‖_F', x: { title: 't = η·step', scale: 'log' }, y: { title: 'drift', scale: 'log' }, series }],
    },
    summary: [
      `drift slope (log final drift vs log width): ${f3(r.fit.driftSlope)} (all seeds), ${f3(r.fit.driftSlopeSeedMean)} (seed means); theory ≈ −1`,
      ...r.notes,
    ],
  };
}
