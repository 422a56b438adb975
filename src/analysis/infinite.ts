/**
 * The infinite-depth ResNet kernels as an analysis: the table of the normalised ResNTK over depth
 * and γ with its depth = ∞ limits (seeds.md §3.6), and the closed-form limit for unit inputs. The
 * limits themselves (which exist, their Gram matrices on each backend) are src/exec/limit.ts; the
 * γ = ½ ODE solver is src/solve/resntk-ode.ts.
 */
import { kernel, kernelCpu, type Backend, type BackendChoice } from '../api.js';
import { InputError } from '../errors.js';
import { kappa0, kappa1 } from '../activations/rectifier-math.js';
import type { Matrix2D } from '../matrix.js';
import { solveResntkOde } from '../solve/resntk-ode.js';
import { findPreset } from '../spec/presets.js';

/** The γ > ½ limits in closed form for unit inputs: NNGP ρ0, normalised NTK (κ1(ρ0) + ρ0κ0(ρ0))/2. */
export function twoLayerLimit(rho0: number): { rho: number; ntk: number } {
  if (typeof rho0 !== 'number' || !(rho0 >= -1 && rho0 <= 1)) throw new InputError(`rho0 must be in [−1, 1], got ${String(rho0)}`);
  return { rho: rho0, ntk: 0.5 * (kappa1(rho0) + rho0 * kappa0(rho0)) };
}

// ---- the depth table ---------------------------------------------------------------------------------

export interface DepthTableOptions {
  /** Depths L (default 10, 100, 1000, 10⁴, 10⁵). */
  depths?: readonly number[];
  /** Exponents γ of α = alpha0·L^(−γ) (default 1, 0.75, 0.5, 0.25, 0). */
  gammas?: readonly number[];
  /** Input correlation (default 0). */
  rho?: number;
  /** Prefactor of α (default 1). */
  alpha0?: number;
}

export interface DepthTableRow {
  gamma: number;
  /** Normalised ResNTK (belfer2021) at each depth of `depths`. */
  values: number[];
  /** The depth = ∞ value where a non-degenerate limit exists (γ ≥ ½), else null. */
  limit: number | null;
  /** "two-layer" (γ > ½), "ode" (γ = ½) or "degenerate" (γ < ½: tends to the MLP's 1/4 at ρ = 0). */
  regime: 'two-layer' | 'ode' | 'degenerate';
}

export interface DepthTable {
  rho: number;
  alpha0: number;
  depths: number[];
  rows: DepthTableRow[];
}

/**
 * The normalised ResNTK of belfer2021 for unit inputs at correlation ρ, over depths and γ, with
 * the depth = ∞ limit (seeds.md §3.6's table at the defaults). Float64 on the CPU; see
 * resntkDepthTableOn for another backend.
 */
export function resntkDepthTable(options: DepthTableOptions = {}): DepthTable {
  const t = depthTablePlan(options);
  const rows = t.gammas.map((gamma) =>
    depthTableRow(
      gamma,
      t.depths.map((L) => kernelCpu(t.build(L, gamma), t.x, t.z, { get: 'ntk' }).ntk![0]!),
      t.rho,
      t.alpha0,
    ),
  );
  return { rho: t.rho, alpha0: t.alpha0, depths: t.depths, rows };
}

/** resntkDepthTable with the finite depths computed on a chosen backend (the limits are closed forms / the float64 ODE). */
export async function resntkDepthTableOn(backend: BackendChoice, options: DepthTableOptions = {}): Promise<DepthTable & { backend: Backend }> {
  const t = depthTablePlan(options);
  let used: Backend = 'cpu';
  const rows: DepthTableRow[] = [];
  for (const gamma of t.gammas) {
    const values: number[] = [];
    for (const L of t.depths) {
      const r = await kernel(t.build(L, gamma), t.x, t.z, { get: 'ntk', backend });
      used = r.backend;
      values.push(r.ntk![0]!);
    }
    rows.push(depthTableRow(gamma, values, t.rho, t.alpha0));
  }
  return { rho: t.rho, alpha0: t.alpha0, depths: t.depths, rows, backend: used };
}

function depthTablePlan(options: DepthTableOptions) {
  const depths = [...(options.depths ?? [10, 100, 1000, 10_000, 100_000])];
  const gammas = [...(options.gammas ?? [1, 0.75, 0.5, 0.25, 0])];
  const rho = options.rho ?? 0;
  const alpha0 = options.alpha0 ?? 1;
  if (typeof rho !== 'number' || !(rho >= -1 && rho <= 1)) throw new InputError(`depth table: rho must be in [−1, 1], got ${String(rho)}`);
  if (typeof alpha0 !== 'number' || !Number.isFinite(alpha0) || alpha0 === 0) throw new InputError(`depth table: alpha0 must be finite and non-zero, got ${String(alpha0)}`);
  depths.forEach((L, i) => {
    if (!Number.isInteger(L) || L < 1) throw new InputError(`depth table: depths[${i}] must be an integer ≥ 1, got ${String(L)}`);
  });
  gammas.forEach((g, i) => {
    if (typeof g !== 'number' || !Number.isFinite(g)) throw new InputError(`depth table: gammas[${i}] must be a finite number, got ${String(g)}`);
  });
  const x: Matrix2D = { data: new Float64Array([1, 0]), rows: 1, cols: 2 };
  const z: Matrix2D = { data: new Float64Array([rho, Math.sqrt((1 - rho) * (1 + rho))]), rows: 1, cols: 2 };
  const belfer = findPreset('belfer2021');
  // build() takes alpha0 with gamma (the reference syntax has no alpha0 for this preset).
  const build = (L: number, gamma: number) => belfer.build({ depth: L, gamma, alpha0 });
  return { depths, gammas, rho, alpha0, x, z, build };
}

function depthTableRow(gamma: number, values: number[], rho: number, alpha0: number): DepthTableRow {
  if (gamma < 0.5) return { gamma, values, limit: null, regime: 'degenerate' };
  if (gamma === 0.5) return { gamma, values, limit: solveResntkOde(Math.acos(rho), alpha0 * alpha0).ntk, regime: 'ode' };
  return { gamma, values, limit: twoLayerLimit(rho).ntk, regime: 'two-layer' };
}
