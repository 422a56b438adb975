/**
 * Closed-form leading-order finite-width corrections: the relative variance Var/mean² of the
 * empirical NTK over random initialisations, to order 1/n (Littwin & Wolf's question, arXiv
 * 2001.10460; the formulas are derived in ../shared/research/wave2.md §3.3, not taken from the
 * paper, whose constants could not be recovered). Each function returns the coefficient
 * c = n·Var/mean², so that Var/mean² ≈ c/n + O(1/n²).
 *
 * What is derived, and so what `predictFluctuation` recognises in a spec (anything else gets
 * `null` with the reason):
 * - one hidden ReLU layer, both layers trained, no bias: exact for every n, at any correlation ρ;
 * - a bias-free ReLU MLP of L hidden layers, any subset of its dense layers trained (the share
 *   recipe of §3.3; all trained gives L(11L+7)/(3(L+1)));
 * - the bias-free ReLU ResNet h ← h + α·V·relu(W·h) with every layer trained (the sum of §3.3, any α);
 * - nothing else: biases (they change the shares and bring factors of their own, not derived),
 *   other activations, frozen ResNet layers and DenseNets (§3.3: "not derived"; a sketch predicts
 *   O(1/n) nearly flat in L, but no coefficient, so none is claimed here) get no prediction.
 * Only the diagonal Θ(x,x) is predicted beyond one hidden layer, and only the NTK.
 */
import type { KernelKind } from '../result.js';
import type { ResolvedLayer, ResolvedSpec } from '../spec/types.js';

/**
 * One hidden ReLU layer, both layers trained, no bias: n·Var/mean² of Θ(x,z) at correlation ρ,
 * exact for every n (wave2 §3.3). Θ = (1/n)Σ_r T_r with iid T_r, so Var/mean² = (E[T²]/E[T]² − 1)/n,
 * with Cho–Saul's moments J0 = π − θ, J1 = sin θ + (π−θ)cos θ, J2 = 3 sin θ cos θ + (π−θ)(1 + 2cos²θ):
 * E[T] ∝ J1 + ρJ0 and E[T²] ∝ 2(J2 + 2ρJ1 + 3ρ²J0)·… (the constants cancel in the ratio:
 * E[T²]/E[T]² = 2π(J2 + 2ρJ1 + 3ρ²J0)/(J1 + ρJ0)²). 3 at ρ = 1, 4.68 at ½, 8.87 at 0.
 * null where E[Θ] = 0 (ρ = −1 and one ρ near −0.4), where the relative variance is undefined.
 */
export function oneHiddenCoefficient(rho: number): number | null {
  if (!(rho >= -1 && rho <= 1)) return null;
  const t = Math.acos(rho);
  const J0 = Math.PI - t;
  const J1 = Math.sin(t) + (Math.PI - t) * rho;
  const J2 = 3 * Math.sin(t) * rho + (Math.PI - t) * (1 + 2 * rho * rho);
  const m = J1 + rho * J0;
  // E[Θ] changes sign near ρ ≈ −0.4 (it is negative at ρ = −½, where c ≈ 136); only 0 has no ratio.
  if (!(Math.abs(m) > 1e-12)) return null;
  return (2 * Math.PI * (J2 + 2 * rho * J1 + 3 * rho * rho * J0)) / (m * m) - 1;
}

/**
 * A bias-free ReLU MLP with L = trained.length − 1 hidden layers of width n, on the diagonal
 * (wave2 §3.3, "general recipe"). trained[ℓ−1] says whether dense layer ℓ (1 … L+1; L+1 is the
 * readout) is trained. Θ(x,x) = Σ_{ℓ trained} F_{ℓ−1}B_ℓ, a sum of terms of equal mean (whatever the
 * weight variances: each term's mean carries every layer's variance once). F is a product of the
 * forward factors R_1 … R_{ℓ−1}, B of the backward factors Q_{ℓ+1} … Q_{L+1}; each factor has
 * mean 1 and variance 5/n (4·Var(relu(g)²) = 5), and the only O(1/n) correlation is
 * Cov(R_k, Q_{k+1}) = 1/n (the shared activation pattern of layer k). Linearising,
 *   n·Var/mean² = 5Σ_k (c^R_k)² + 5Σ_k (c^Q_k)² + 2Σ_k c^R_k c^Q_{k+1},
 * with c^R_k the share of E[Θ] in trained terms of index > k and c^Q_k in those of index < k.
 * null when no layer is trained.
 */
export function mlpRecipeCoefficient(trained: readonly boolean[]): number | null {
  const L = trained.length - 1;
  const T = trained.filter(Boolean).length;
  if (L < 1 || T === 0) return null;
  // cR[k] for k = 1 … L; cQ[k] for k = 2 … L+1 (index by k directly).
  const cR = new Array<number>(L + 2).fill(0);
  const cQ = new Array<number>(L + 2).fill(0);
  for (let l = 1; l <= L + 1; l++) {
    if (!trained[l - 1]) continue;
    for (let k = 1; k < l; k++) cR[k]! += 1 / T;
    for (let k = l + 1; k <= L + 1; k++) cQ[k]! += 1 / T;
  }
  let s = 0;
  for (let k = 1; k <= L; k++) s += 5 * cR[k]! ** 2 + 2 * cR[k]! * cQ[k + 1]!;
  for (let k = 2; k <= L + 1; k++) s += 5 * cQ[k]! ** 2;
  return s;
}

/** The all-trained deep ReLU MLP (wave2 §3.3): L(11L+7)/(3(L+1)); 3 at L = 1, → (11/3)·L. */
export function mlpCoefficient(L: number): number {
  return (L * (11 * L + 7)) / (3 * (L + 1));
}

/**
 * ResNet h0 = W0·x, h_ℓ = h_{ℓ−1} + α·√(1/n)·V_ℓ·relu(√(2/n)·W_ℓ·h_{ℓ−1}), f = √(1/n)·v·h_L, all
 * trained, no bias, on the diagonal (wave2 §3.3, `res_pred` in wave2/fluct.py). With m = 1 + α²,
 * Z = 2(m + Lα²), A = (m + 2Lα²)/Z, f_k = (m + 2α²(L−k))/(mZ), g_k = (m + 2α²(k−1))/(mZ),
 * a_k = α²[(m + 2α²(L−k))/m + 1]/Z, b_k = α²[(m + 2α²(k−1))/m + 1]/Z:
 *   n·Var/mean² = 4A² + Σ_{k=1}^{L} [(f_k² + g_k²)(4α² + 2α⁴) + 5a_k² + 5b_k² + 2a_k b_k].
 * Other weight variances enter only through α_eff² = α²·c_v²·c_w²/2 (the kernel's a). Limits:
 * α = 1 grows like (23/12)·L; α = L^(−½) tends to 53/12 ≈ 4.42, flat in depth.
 */
export function resnetCoefficient(L: number, alpha: number): number {
  const a2 = alpha * alpha;
  const m = 1 + a2;
  const Z = 2 * (m + L * a2);
  const A = (m + 2 * L * a2) / Z;
  let s = 4 * A * A;
  for (let k = 1; k <= L; k++) {
    const f = (m + 2 * a2 * (L - k)) / (m * Z);
    const g = (m + 2 * a2 * (k - 1)) / (m * Z);
    const ak = (a2 * ((m + 2 * a2 * (L - k)) / m + 1)) / Z;
    const bk = (a2 * ((m + 2 * a2 * (k - 1)) / m + 1)) / Z;
    s += (f * f + g * g) * (4 * a2 + 2 * a2 * a2) + 5 * ak * ak + 5 * bk * bk + 2 * ak * bk;
  }
  return s;
}

/**
 * An allowance for the O(1/n²) remainder, |Var/mean² − c/n| ≤ ½·(5·L/n)²: the second-order term
 * of e^{5L/n} − 1, with 5 Hanin & Nica's asymptotic growth rate (wave2 §3.2), the fastest rate of
 * any family here. It is a heuristic envelope, not a proof: it holds for every point of the Monte
 * Carlo in wave2 §3.3 (n = 256, L ≤ 16; e.g. the MLP at L = 16 exceeds its leading order by
 * 7.9 ± 2.9 in n·v, the allowance is 12.5) and is 0 for one hidden layer, where c/n is exact.
 */
export function secondOrderAllowance(depth: number, width: number, exact: boolean): number {
  return exact ? 0 : 0.5 * ((5 * depth) / width) ** 2;
}

export interface FluctuationPrediction {
  /** n·Var/mean² of Θ(x,x) to leading order, or null (see `reason`). */
  diagonal: number | null;
  /** n·Var/mean² of Θ(x,z) (one hidden layer only), or null. */
  offDiagonal: number | null;
  /** Whether c/n is exact at every n (one hidden layer), so that no O(1/n²) term remains. */
  exact: boolean;
  /** The closed form used (e.g. "mlp L(11L+7)/(3(L+1))"), or why there is none. */
  model: string;
}

const none = (why: string): FluctuationPrediction => ({ diagonal: null, offDiagonal: null, exact: false, model: `no prediction: ${why}` });

/** The layers in order, repeats multiplied out. */
function flatten(layers: readonly ResolvedLayer[], out: ResolvedLayer[] = []): ResolvedLayer[] {
  for (const l of layers) {
    if (l.type === 'repeat') for (let i = 0; i < l.count; i++) flatten(l.layers, out);
    else out.push(l);
  }
  return out;
}

const isDense = (l: ResolvedLayer | undefined): l is Extract<ResolvedLayer, { type: 'dense' }> => l?.type === 'dense';

/**
 * The leading-order prediction for a spec's sampled NTK at the inputs' correlation rho, or null
 * with the reason where no closed form was derived (see the module comment).
 */
export function predictFluctuation(spec: ResolvedSpec, rho: number, kind: KernelKind = 'ntk'): FluctuationPrediction {
  if (kind !== 'ntk') return none('the closed forms are for the NTK');
  if (spec.normalize !== 'none') return none('normalised kernels are not covered');
  const ls = flatten([...spec.layers, ...spec.readout]);
  if (ls.some((l) => (l.type === 'dense' || l.type === 'denseBlock') && l.biasVar !== 0)) return none('biases are not derived (they change the shares)');
  if (ls.some((l) => l.type === 'denseBlock')) return none('the DenseNet correction is not derived (wave2 §3.3)');

  // MLP: dense (relu dense)*.
  const mlp = ls.length >= 3 && ls.length % 2 === 1 && ls.every((l, i) => (i % 2 === 0 ? isDense(l) : l.type === 'relu'));
  if (mlp) {
    const trained = ls.filter(isDense).map((l) => l.trainable);
    const L = trained.length - 1;
    const all = trained.every(Boolean);
    const diagonal = mlpRecipeCoefficient(trained);
    if (diagonal === null) return none('no trained layer');
    if (L === 1 && all) {
      return { diagonal, offDiagonal: oneHiddenCoefficient(rho), exact: true, model: 'one hidden layer, exact (wave2 §3.3)' };
    }
    return { diagonal, offDiagonal: null, exact: L === 1, model: all ? 'mlp L(11L+7)/(3(L+1)) (wave2 §3.3)' : 'mlp share recipe, frozen layers (wave2 §3.3)' };
  }

  // ResNet: dense, L × residual(dense relu dense), dense; everything trained, β = 1.
  const blocks = ls.slice(1, -1);
  const resnet =
    ls.length >= 3 &&
    isDense(ls[0]) &&
    isDense(ls[ls.length - 1]) &&
    blocks.every((b) => b.type === 'residual' && b.beta === 1 && b.branch.length === 3 && isDense(b.branch[0]) && b.branch[1]!.type === 'relu' && isDense(b.branch[2]));
  if (resnet) {
    const dense = ls.flatMap((l) => (l.type === 'residual' ? l.branch.filter(isDense) : isDense(l) ? [l] : []));
    if (dense.some((l) => l.biasVar !== 0)) return none('biases are not derived (they change the shares)');
    if (!dense.every((l) => l.trainable)) return none('the ResNet correction is derived with every layer trained only');
    const L = blocks.length;
    const gains = blocks.map((b) => {
      const r = b as Extract<ResolvedLayer, { type: 'residual' }>;
      const alpha = r.alpha ?? (r.alpha0 ?? 1) * Math.pow(L, -(r.gamma ?? 0));
      const [w, , v] = r.branch as [Extract<ResolvedLayer, { type: 'dense' }>, ResolvedLayer, Extract<ResolvedLayer, { type: 'dense' }>];
      return (alpha * alpha * w.weightVar * v.weightVar) / 2;
    });
    if (gains.some((g) => g !== gains[0])) return none('the ResNet correction is derived for equal blocks only');
    return { diagonal: resnetCoefficient(L, Math.sqrt(gains[0]!)), offDiagonal: null, exact: false, model: 'resnet sum (wave2 §3.3)' };
  }
  return none('no closed form for this architecture (derived: bias-free ReLU MLPs and all-trained ReLU ResNets)');
}
