/**
 * GELU, φ(u) = u·Φ(u) (Hendrycks & Gimpel 2016), with the closed-form duals of neural-tangents'
 * `Gelu`. For (u, v) with variances a, b and covariance c, P = (1 + a)(1 + b), D = P − c²:
 *   S = c/4 + c·asin(c/√P)/(2π) + [ab + c²(1 − ab)/P]/(2π√D),
 *   Ṡ = ∂S/∂c = 1/4 + asin(c/√P)/(2π) + c·[3 + a + b − c²(2 + a + b)/P]/(2π·D^{3/2}).
 * Derivation: Φ(u) = P(ξ ≤ u) with ξ ~ N(0, 1) independent turns E[uΦ(u)·vΦ(v)] into E[uv·1(s ≥ 0)1(t ≥ 0)]
 * with s = u − ξ1, t = v − ξ2, evaluated by Gaussian integration by parts; Ṡ by Price's theorem
 * (checked against quadrature in test/activations-registry.test.ts).
 * In the gap form the closed form gives 1 − ρ' with cancellation near ρ = 1, so below g = 1/4
 * the gaps come from the quadrature of quadrature.ts (accurate to ~1e−13), above it from S/√(AB).
 */
import type { ActivationEntry } from './entry.js';
import { noParams } from './params.js';
import { numericalMoments } from './quadrature.js';
import { normalCdf, normalPdf } from './special.js';
import { GELU_WGSL, SPECIAL_POINTWISE_WGSL } from '../gpu/shaders.generated.js';
import { smoothQuadratureWgsl } from './wgsl-smooth.js';

const PI = Math.PI;

export interface Gelu {
  type: 'gelu';
}

const phi = (u: number) => u * normalCdf(u);
const dphi = (u: number) => normalCdf(u) + u * normalPdf(u);

/** S with D = P − c² given (so that the gap form can pass it without cancellation). */
function geluS(a: number, b: number, c: number, P: number, D: number): number {
  return c / 4 + (c * Math.asin(clamp(c / Math.sqrt(P)))) / (2 * PI) + (a * b + (c * c * (1 - a * b)) / P) / (2 * PI * Math.sqrt(D));
}

function geluSdot(a: number, b: number, c: number, P: number, D: number): number {
  return 0.25 + Math.asin(clamp(c / Math.sqrt(P))) / (2 * PI) + (c * (3 + a + b - (c * c * (2 + a + b)) / P)) / (2 * PI * D * Math.sqrt(D));
}

const clamp = (x: number) => Math.max(-1, Math.min(1, x));

/** E[φ(u)²] for variance a (c = a, D = 1 + 2a). */
const geluDiag = (a: number) => geluS(a, a, a, (1 + a) * (1 + a), 1 + 2 * a);

export const gelu: ActivationEntry<Gelu> = {
  type: 'gelu',
  resolve: (obj, path) => noParams(obj, 'gelu', path),
  describe: () => 'GELU',
  phi: () => phi,
  dphi: () => dphi,
  dual(_a, kxx, kzz, kxz, out) {
    const P = (1 + kxx) * (1 + kzz);
    const D = P - kxz * kxz;
    out[0] = geluS(kxx, kzz, kxz, P, D);
    out[1] = geluSdot(kxx, kzz, kxz, P, D);
  },
  gap(_a, kxx, kzz, g, h, out) {
    const P = (1 + kxx) * (1 + kzz);
    // c² = ab·ρ², so D = 1 + a + b + ab·(1 − ρ)(1 + ρ): positive terms only.
    const D = 1 + kxx + kzz + kxx * kzz * g * h;
    const c = 0.5 * (h - g) * Math.sqrt(kxx) * Math.sqrt(kzz);
    const A = geluDiag(kxx);
    const B = geluDiag(kzz);
    out.kxx = A;
    out.kzz = B;
    out.sdot = geluSdot(kxx, kzz, c, P, D);
    if (!(A > 0 && B > 0)) {
      out.g = 1;
      out.h = 1;
    } else if (g < 0.25) {
      const m = numericalMoments(phi, dphi, kxx, kzz, g, h, 'gelu');
      out.g = m.g;
      out.h = 2 - m.g;
    } else {
      const rho = geluS(kxx, kzz, c, P, D) / (Math.sqrt(A) * Math.sqrt(B));
      out.g = 1 - rho;
      out.h = 1 + rho;
    }
  },
  homogeneous: () => false,
  smooth: () => true,
  // shaders/gelu.wgsl: the same closed forms in f32, the gap by the quadrature instance `geluq`.
  wgsl: () => ({ fn: 'op_gelu', params: [], source: [SPECIAL_POINTWISE_WGSL, GELU_WGSL, smoothQuadratureWgsl('geluq')] }),
  pointwiseWgsl: () => ({ phi: 'geluq_phi(u)', dphi: 'geluq_dphi(u)', source: [SPECIAL_POINTWISE_WGSL] }),
};
