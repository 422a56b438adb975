/**
 * The closed-form Gaussian expectations against numerical integration. For (u, v) with variances
 * kxx, kzz and correlation ρ, write u = √kxx·g and v = a + b·h with a = √kzz·ρ·g, b = √kzz·√(1 − ρ²);
 * the inner expectation over h is a one-dimensional Gaussian integral (textbook forms below), and
 * the outer one over g is done by composite Simpson on [−12, 12] with a node at the kink g = 0.
 */
import { describe, expect, it } from 'vitest';
import { dual } from '../src/activations/registry.js';
import { erf } from '../src/mc/montecarlo.js';
import type { Activation as AnyActivation } from '../src/spec/types.js';

/** The activations with closed forms checked here (the smooth ones: test/activations-registry.test.ts). */
type Activation = Extract<AnyActivation, { type: 'relu' | 'arccos' | 'leakyRelu' | 'abRelu' | 'erf' }>;

const SQRT2PI = Math.sqrt(2 * Math.PI);
const pdf = (t: number) => Math.exp(-0.5 * t * t) / SQRT2PI;
const cdf = (t: number) => 0.5 * (1 + erf(t / Math.SQRT2));

/** E over h ~ N(0,1) of φ(a + b h) and of φ'(a + b h)·(something): returns [Eφ, Eφ']. */
function inner(act: Activation, a: number, b: number): [number, number] {
  const r = a / b;
  const Ppos = cdf(r);
  const Pneg = cdf(-r);
  const reluPos = a * Ppos + b * pdf(r); // E[relu(w)]
  const reluNeg = -a * Pneg + b * pdf(r); // E[relu(−w)]
  switch (act.type) {
    case 'relu':
      return [reluPos, Ppos];
    case 'arccos':
      if (act.order === 0) return [Ppos, 0];
      if (act.order === 1) return [reluPos, Ppos];
      return [(a * a + b * b) * Ppos + a * b * pdf(r), 2 * reluPos];
    case 'leakyRelu':
      return [reluPos - act.slope * reluNeg, Ppos + act.slope * Pneg];
    case 'abRelu':
      return [act.b * reluPos - act.a * reluNeg, act.b * Ppos + act.a * Pneg];
    case 'erf': {
      const q = 1 + 2 * b * b;
      return [erf(a / Math.sqrt(q)), ((2 / Math.sqrt(Math.PI)) * Math.exp((-a * a) / q)) / Math.sqrt(q)];
    }
  }
}

function pointwise(act: Activation, u: number): [number, number] {
  switch (act.type) {
    case 'relu':
      return [Math.max(u, 0), u > 0 ? 1 : 0];
    case 'arccos':
      if (act.order === 0) return [u > 0 ? 1 : 0, 0];
      if (act.order === 1) return [Math.max(u, 0), u > 0 ? 1 : 0];
      return [u > 0 ? u * u : 0, u > 0 ? 2 * u : 0];
    case 'leakyRelu':
      return [u > 0 ? u : act.slope * u, u > 0 ? 1 : act.slope];
    case 'abRelu':
      return [u > 0 ? act.b * u : act.a * u, u > 0 ? act.b : act.a];
    case 'erf':
      return [erf(u), (2 / Math.sqrt(Math.PI)) * Math.exp(-u * u)];
  }
}

function numeric(act: Activation, kxx: number, kzz: number, rho: number): [number, number] {
  // Two halves, g = ±t with t ∈ [0, 12], so the jump of a step at g = 0 sits at a panel end and each
  // half sees its own one-sided limit there (t = 0 is evaluated at ±1e−300).
  const N = 12000; // even
  const h = 12 / N;
  let s = 0;
  let sd = 0;
  for (const sign of [1, -1]) {
    for (let i = 0; i <= N; i++) {
      const g = sign * (i === 0 ? 1e-300 : i * h);
      const w = (i === 0 || i === N ? 1 : i % 2 === 1 ? 4 : 2) * pdf(g);
      const [f, df] = pointwise(act, Math.sqrt(kxx) * g);
      const [ef, edf] = inner(act, Math.sqrt(kzz) * rho * g, Math.sqrt(kzz) * Math.sqrt(1 - rho * rho));
      s += w * f * ef;
      sd += w * df * edf;
    }
  }
  return [(s * h) / 3, (sd * h) / 3];
}

const ACTS: Activation[] = [
  { type: 'relu' },
  { type: 'arccos', order: 0 },
  { type: 'arccos', order: 1 },
  { type: 'arccos', order: 2 },
  { type: 'leakyRelu', slope: 0.1 },
  { type: 'abRelu', a: -0.4, b: 1.3 },
  { type: 'erf' },
];

const CASES: [number, number, number][] = [
  [1, 1, 0.5],
  [2, 0.3, -0.7],
  [0.5, 3, 0.95],
  [1.7, 0.9, 0],
  [0.2, 0.2, -0.99],
];

describe('dual activations against numerical integration', () => {
  for (const act of ACTS) {
    it(JSON.stringify(act), () => {
      const out = new Float64Array(2);
      for (const [kxx, kzz, rho] of CASES) {
        dual(act, kxx, kzz, rho * Math.sqrt(kxx * kzz), out);
        const [S, Sdot] = numeric(act, kxx, kzz, rho);
        const scale = act.type === 'arccos' && act.order === 2 ? kxx * kzz : Math.sqrt(kxx * kzz);
        expect(Math.abs(out[0]! - S) / scale, `S at ${kxx},${kzz},${rho}`).toBeLessThan(1e-9);
        expect(Math.abs(out[1]! - Sdot), `Ṡ at ${kxx},${kzz},${rho}`).toBeLessThan(1e-9 * Math.max(1, scale));
      }
    });
  }

  it('erf matches known values to 1e−15', () => {
    const known: [number, number][] = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [-1.5, -0.9661051464753108],
      [1e-8, 1.1283791670955126e-8],
    ];
    for (const [x, v] of known) expect(Math.abs(erf(x) - v)).toBeLessThan(1e-15 * Math.max(1, Math.abs(v)));
  });

  it('a zero-variance side is the constant 0: S = φ(0)·E[φ(v)], Ṡ = φ\'(0)·E[φ\'(v)], never NaN', () => {
    const out = new Float64Array(2);
    for (const act of ACTS) {
      for (const [kxx, kzz] of [[0, 1.3], [2, 0], [0, 0]] as const) {
        dual(act, kxx, kzz, 0, out);
        const other = kxx > 0 ? kxx : kzz;
        const [phi0, dphi0] = pointwise(act, 0);
        const [ef, edf] = other > 0 ? inner(act, 0, Math.sqrt(other)) : pointwise(act, 0);
        expect(out[0]).toBeCloseTo(phi0 * ef, 14);
        expect(out[1]).toBeCloseTo(dphi0 * edf, 14);
      }
    }
  });
});
