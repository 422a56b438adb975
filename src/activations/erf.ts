/** φ(u) = erf(u) (Williams 1997): closed-form duals, and a gap form exact near ρ = ±1. */
import type { ActOut, ActivationEntry } from './entry.js';
import { noParams } from './params.js';
import { RHO_ROUNDOFF } from './rectifier-math.js';
import { erf as erfFn } from './special.js';
import { SPECIAL_POINTWISE_WGSL } from '../gpu/shaders.generated.js';

const PI = Math.PI;

export interface Erf {
  type: 'erf';
}

export const erf: ActivationEntry<Erf> = {
  type: 'erf',
  resolve: (obj, path) => noParams(obj, 'erf', path),
  describe: () => 'erf',
  phi: () => erfFn,
  dphi: () => (u) => (2 / Math.sqrt(Math.PI)) * Math.exp(-u * u),
  /** S = (2/π)·asin(2kxz/√((1+2kxx)(1+2kzz))), Ṡ = (4/π)/√((1+2kxx)(1+2kzz) − 4kxz²); zero variances need no special case. */
  dual(_a, kxx, kzz, kxz, out) {
    const p = (1 + 2 * kxx) * (1 + 2 * kzz);
    out[0] = (2 / PI) * Math.asin(clampUnit((2 * kxz) / Math.sqrt(p)));
    out[1] = 4 / (PI * Math.sqrt(p - 4 * kxz * kxz));
  },
  gap: (_a, kxx, kzz, g, h, out) => erfGap(kxx, kzz, g, h, out),
  homogeneous: () => false,
  smooth: () => true,
  wgsl: () => ({ fn: 'op_erf', params: [] }),
  pointwiseWgsl: () => ({ phi: 'erf_phi(u)', dphi: 'erf_dphi(u)', source: [SPECIAL_POINTWISE_WGSL] }),
};

function clampUnit(x: number): number {
  // |2kxz| ≤ √((1+2kxx)(1+2kzz)) holds strictly for a valid covariance; only round-off reaches 1.
  if (x > 1) {
    if (x - 1 > RHO_ROUNDOFF) throw new Error(`internal error: erf correlation ${x} > 1`);
    return 1;
  }
  if (x < -1) {
    if (-1 - x > RHO_ROUNDOFF) throw new Error(`internal error: erf correlation ${x} < −1`);
    return -1;
  }
  return x;
}

/**
 * S = (2/π)·asin(ρ·w) with w = √(u v), u = 2kxx/(1 + 2kxx); Ṡ = (4/π)/√((1+2kxx)(1+2kzz) − 4kxz²).
 * erf is odd, so ρ' has the sign of ρ; with r = |ρ| and its gap m = 1 − r:
 * 1 − r' = [(√(asin u·asin v) − asin w) + (asin w − asin rw)]/√(asin u·asin v), where
 * asin w − asin rw = asin(w·m(2 − m)/(√(1 − r²w²) + r√(1 − w²))).
 */
function erfGap(kxx: number, kzz: number, g: number, h: number, out: ActOut): void {
  // u = 2k/(1 + 2k) with its complement 1 − u = 1/(1 + 2k), exact for large k.
  const pu = 1 / (1 + 2 * kxx);
  const pv = 1 / (1 + 2 * kzz);
  const u = 1 - pu;
  const v = 1 - pv;
  const AU = asinComp(u, pu);
  const AV = asinComp(v, pv);
  out.kxx = (2 / PI) * AU;
  out.kzz = (2 / PI) * AV;
  const s = Math.sqrt(kxx * kzz);
  out.sdot = 4 / PI / Math.sqrt(1 + 2 * (kxx + kzz) + 4 * s * s * g * h);
  const root = Math.sqrt(AU * AV);
  if (!(root > 0)) {
    out.g = 1;
    out.h = 1;
    return;
  }
  const w = Math.sqrt(u * v);
  const oneMinusW2 = pu + pv - pu * pv; // 1 − uv
  // Equal variances: w = u exactly, so AW must be AU exactly. Evaluated through w's own complement
  // it can round differently, leaving 1 − ρ ≈ 1e−17 on the diagonal (ρ = 1), which a following
  // ReLU (κ0 has infinite slope at ρ = 1) turned into an NTK error of 1e−8 (found by the
  // independent reference interpreter, test/reference-interpreter.test.ts).
  const AW = kxx === kzz ? AU : asinComp(w, oneMinusW2 / (1 + w));
  const positive = g <= h;
  const m = positive ? g : h;
  const r = 1 - m;
  const n1 = Math.max(0, (AU * AV - AW * AW) / (root + AW));
  const mm = m * (2 - m);
  const oneMinusR2w2 = oneMinusW2 + w * w * mm;
  const x = (w * mm) / (Math.sqrt(oneMinusR2w2) + r * Math.sqrt(oneMinusW2));
  const gap = Math.min(1, (n1 + Math.asin(x)) / root);
  out.g = positive ? gap : 2 - gap;
  out.h = positive ? 2 - gap : gap;
}

/** asin(x) for x ∈ [0, 1] given c = 1 − x: near 1 through π/2 − 2·asin(√(c/2)). */
function asinComp(x: number, c: number): number {
  return x > 0.5 ? PI / 2 - 2 * Math.asin(Math.sqrt(0.5 * c)) : Math.asin(x);
}
