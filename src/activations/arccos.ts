/** Cho & Saul's arc-cosine unit of order n ∈ {0, 1, 2}: φ(u) = 1(u > 0)·uⁿ (order 1 is ReLU). */
import { assertNever, SpecError } from '../errors.js';
import { jsValue } from '../jsvalue.js';
import type { ActivationEntry } from './entry.js';
import { knownKeys } from './params.js';
import { abReluGap, correlation, kappa0, kappa0Gap, kappa1, kappa2, piMinusTheta, reluDual, reluGap, thetaOf, uMinusSin } from './rectifier-math.js';

const PI = Math.PI;

export interface Arccos {
  type: 'arccos';
  order: 0 | 1 | 2;
}

export const arccos: ActivationEntry<Arccos> = {
  type: 'arccos',
  resolve(obj, path) {
    knownKeys(obj, ['type', 'order'], path);
    const order = obj.order;
    if (order !== 0 && order !== 1 && order !== 2) {
      throw new SpecError(`${path}.order`, `must be 0, 1 or 2, got ${jsValue(order)}`);
    }
    return { type: 'arccos', order };
  },
  describe: (a) => (a.order === 0 ? 'step (arc-cosine order 0)' : `arc-cosine of order ${a.order}`),
  phi(a) {
    switch (a.order) {
      case 0:
        return (u) => (u > 0 ? 1 : 0);
      case 1:
        return (u) => (u > 0 ? u : 0);
      case 2:
        return (u) => (u > 0 ? u * u : 0);
      default:
        return assertNever(a.order, 'arc-cosine order');
    }
  },
  dphi(a) {
    switch (a.order) {
      case 0:
        return () => 0;
      case 1:
        return (u) => (u > 0 ? 1 : 0);
      case 2:
        return (u) => (u > 0 ? 2 * u : 0);
      default:
        return assertNever(a.order, 'arc-cosine order');
    }
  },
  dual(a, kxx, kzz, kxz, out) {
    if (!(kxx * kzz > 0)) {
      // A constant-0 side: φ(0) = 0 and φ'(0) = 0 for every order.
      out[0] = 0;
      out[1] = 0;
      return;
    }
    const rho = correlation(kxx, kzz, kxz);
    const s = Math.sqrt(kxx * kzz);
    switch (a.order) {
      case 0:
        // φ = 1(u > 0): P(u > 0, v > 0); its derivative is zero almost everywhere.
        out[0] = 0.5 * kappa0(rho);
        out[1] = 0;
        return;
      case 1:
        reluDual(kxx, kzz, kxz, out);
        return;
      case 2:
        // φ = 1(u > 0)·u²: E[φφ] = kxx·kzz·J2/(2π) = 1.5·kxx·kzz·κ2; φ' = 2·relu.
        out[0] = 1.5 * kxx * kzz * kappa2(rho);
        out[1] = 2 * s * kappa1(rho);
        return;
      default:
        assertNever(a.order, 'arc-cosine order');
    }
  },
  gap(a, kxx, kzz, g, h, out) {
    const degenerate = !(kxx > 0 && kzz > 0);
    switch (a.order) {
      case 1:
        abReluGap(0, 1, kxx, kzz, g, h, degenerate, out);
        return;
      case 0: {
        // φ = 1(u > 0): S = ½κ0 on every side with variance, ρ' = κ0; gradient zero.
        out.kxx = kxx > 0 ? 0.5 : 0;
        out.kzz = kzz > 0 ? 0.5 : 0;
        const gp = degenerate ? 1 : 1 - kappa0Gap(g, h);
        out.g = gp;
        out.h = 2 - gp;
        out.sdot = 0;
        return;
      }
      case 2: {
        // φ = 1(u > 0)·u²: S = 1.5·kxx·kzz·κ2, κ2 = J2(θ)/(3π) ≥ 0; Ṡ = 2√(kxx kzz)·κ1, and
        // 1 − κ2 = [3(θ − sin θ cos θ) + 2(π − θ)·sin²θ]/(3π), θ − sin θ cos θ = (u − sin u)/2, u = 2θ.
        out.kxx = 1.5 * kxx * kxx;
        out.kzz = 1.5 * kzz * kzz;
        if (degenerate) {
          out.g = 1;
          out.h = 1;
          out.sdot = 0;
          return;
        }
        const theta = thetaOf(g, h);
        const gp = Math.min(1, (1.5 * uMinusSin(2 * theta) + 2 * piMinusTheta(g, h) * g * h) / (3 * PI));
        out.g = gp;
        out.h = 2 - gp;
        out.sdot = 2 * Math.sqrt(kxx) * Math.sqrt(kzz) * (1 - reluGap(g, h, theta));
        return;
      }
      default:
        assertNever(a.order, 'arc-cosine order');
    }
  },
  // Only order 1 is homogeneous of degree 1 (order 0 has degree 0, order 2 degree 2).
  homogeneous: (a) => a.order === 1,
  // φ is C¹ only from order 2 on (order 0 is a step, order 1 has a kink at 0).
  smooth: (a) => a.order >= 2,
  // φ and φ' as the CPU's phi/dphi above (order 0: φ' = 0).
  pointwiseWgsl(a) {
    switch (a.order) {
      case 0:
        return { phi: 'select(0.0, 1.0, u > 0.0)', dphi: '0.0' };
      case 1:
        return { phi: 'max(u, 0.0)', dphi: 'select(0.0, 1.0, u > 0.0)' };
      case 2:
        return { phi: 'select(0.0, u * u, u > 0.0)', dphi: 'select(0.0, 2.0 * u, u > 0.0)' };
      default:
        return assertNever(a.order, 'arc-cosine order');
    }
  },
  wgsl(a) {
    switch (a.order) {
      case 0:
        return { fn: 'op_step', params: [] };
      case 1:
        return { fn: 'op_relu', params: [] };
      case 2:
        return { fn: 'op_arccos2', params: [] };
      default:
        return assertNever(a.order, 'arc-cosine order');
    }
  },
};
