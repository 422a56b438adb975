/**
 * The activation registry and the smooth activations (issue 12): gelu, tanh, sigmoid, softplus and
 * the numerical path for a user's φ.
 *
 * Independent references used here:
 * - plain Monte Carlo of E[φ(u)φ(v)] and E[φ'(u)φ'(v)] with φ written out in this file (tolerance
 *   from the sampling spread, Bonferroni over the comparisons at a family-wise rate of 1e−3);
 * - the closed forms of erf (Williams 1997) and gelu (neural-tangents' Gelu; also checked with numpy
 *   against a 2-D trapezoidal rule of step 0.02 to 4e−16) for the quadrature at 1e−10, and erf's
 *   closed gap form (exact near ρ = ±1) for the quadrature's gaps;
 * - near ρ = 1, the first-order expansion 1 − ρ' = (1 − ρ)·k·Ṡ(k, k, k)/S(k, k, k) + O((1 − ρ)²) of each
 *   layer (Price's theorem), for near-duplicate inputs (1 − ρ = 1e−12);
 * - sampled finite-width networks (`monteCarlo`, tolerance as in test/mc.ts).
 */
import { describe, expect, it } from 'vitest';
import { kernelCpu, monteCarlo, stax, type Spec } from '../src/index.js';
import { actGap, dual, isSmooth, pointwise, registerActivation, resolveActivation, wgslCall, type ActivationEntry } from '../src/activations/registry.js';
import { numericalDual, numericalMoments } from '../src/activations/quadrature.js';
import { erf } from '../src/mc/montecarlo.js';
import { Rng } from '../src/mc/rng.js';
import { compile } from '../src/program/compile.js';
import { GAP, ANTI, KXX, KZZ } from '../src/program/program.js';
import { newState, runPair } from '../src/cpu/interpreter.js';
import { resolveSpec } from '../src/spec/validate.js';
import { describeSpec } from '../src/spec/describe.js';
import { InputError, SpecError } from '../src/errors.js';
import { FAMILY_ALPHA, MC_INPUTS, normalQuantile } from './mc.js';

const { dense, network, gelu, tanh, sigmoid, softplus, numerical } = stax;

/** φ and φ' written out here, independently of src/activations/. */
const Phi = (u: number) => 0.5 * (1 + erf(u / Math.SQRT2));
const pdf = (u: number) => Math.exp(-0.5 * u * u) / Math.sqrt(2 * Math.PI);
const SMOOTH: Record<string, [(u: number) => number, (u: number) => number]> = {
  gelu: [(u) => u * Phi(u), (u) => Phi(u) + u * pdf(u)],
  tanh: [Math.tanh, (u) => 1 - Math.tanh(u) ** 2],
  sigmoid: [(u) => 1 / (1 + Math.exp(-u)), (u) => Math.exp(-u) / (1 + Math.exp(-u)) ** 2],
  softplus: [(u) => Math.log(1 + Math.exp(u)), (u) => 1 / (1 + Math.exp(-u))],
};
const TRIPLES: [number, number, number][] = [
  [1, 1, 0.6],
  [2.5, 0.4, -0.5],
  [0.3, 1.7, 0.1],
];

describe('smooth activations: duals against plain Monte Carlo', () => {
  const comparisons = Object.keys(SMOOTH).length * TRIPLES.length * 2;
  const zCrit = normalQuantile(1 - FAMILY_ALPHA / (2 * comparisons));
  for (const [type, [phi, dphi]] of Object.entries(SMOOTH)) {
    it(type, () => {
      const rng = new Rng(12345);
      const N = 200_000;
      const a = new Float64Array(N);
      const b = new Float64Array(N);
      const out = new Float64Array(2);
      for (const [kxx, kzz, rho] of TRIPLES) {
        rng.fillNormal(a);
        rng.fillNormal(b);
        const sums = new Float64Array(4);
        for (let i = 0; i < N; i++) {
          const u = Math.sqrt(kxx) * a[i]!;
          const v = Math.sqrt(kzz) * (rho * a[i]! + Math.sqrt(1 - rho * rho) * b[i]!);
          const s = phi(u) * phi(v);
          const sd = dphi(u) * dphi(v);
          sums[0]! += s;
          sums[1]! += s * s;
          sums[2]! += sd;
          sums[3]! += sd * sd;
        }
        dual({ type }, kxx, kzz, rho * Math.sqrt(kxx * kzz), out);
        for (const [k, value] of [[0, out[0]!], [2, out[1]!]] as const) {
          const mean = sums[k]! / N;
          const se = Math.sqrt((sums[k + 1]! / N - mean * mean) / (N - 1));
          const z = (mean - value) / se;
          expect(Math.abs(z), `${type} ${k === 0 ? 'S' : 'Ṡ'} at (${kxx}, ${kzz}, ρ = ${rho}): ${value} vs ${mean} ± ${se}`).toBeLessThanOrEqual(zCrit);
        }
      }
    });
  }

  it('the gap form agrees with the plain form (diagonals, ρ\'·√(AB) = S, Ṡ) to 1e−12', () => {
    const out = new Float64Array(2);
    const diag = new Float64Array(2);
    for (const type of [...Object.keys(SMOOTH), 'erf']) {
      for (const [kxx, kzz, rho] of [...TRIPLES, [1.2, 0.8, 0.97] as [number, number, number], [0.5, 0.5, -0.98] as [number, number, number]]) {
        const g = actGapOf(type, kxx, kzz, 1 - rho, 1 + rho);
        dual({ type }, kxx, kzz, rho * Math.sqrt(kxx * kzz), out);
        dual({ type }, kxx, kxx, kxx, diag);
        expect(Math.abs(g.kxx - diag[0]!) / diag[0]!).toBeLessThan(1e-12);
        const scale = Math.sqrt(g.kxx * g.kzz);
        expect(Math.abs(0.5 * (g.h - g.g) * scale - out[0]!) / scale, `${type} ρ = ${rho}`).toBeLessThan(1e-12);
        expect(Math.abs(g.sdot - out[1]!) / out[1]!).toBeLessThan(1e-12);
        expect(Math.abs(g.g + g.h - 2)).toBeLessThan(1e-12);
      }
    }
  });
});

function actGapOf(type: string, kxx: number, kzz: number, g: number, h: number) {
  const out = { kxx: 0, kzz: 0, g: 0, h: 0, sdot: 0 };
  actGap({ type }, kxx, kzz, g, h, out);
  return out;
}

describe('the numerical path (quadrature) against closed forms', () => {
  const CASES: [number, number, number][] = [
    [1, 1, 0.5],
    [2, 0.3, -0.7],
    [0.5, 3, 0.95],
    [1.7, 0.9, 0],
    [0.2, 0.2, -0.99],
    [4, 4, 0.999],
    [10, 8, 0.3],
    [0.01, 0.02, 0.9],
    [25, 40, -0.6],
  ];
  for (const type of ['erf', 'gelu']) {
    it(`${type}: S and Ṡ to 1e−10`, () => {
      const [phi, dphi] = pointwise({ type });
      const closed = new Float64Array(2);
      const quad = new Float64Array(2);
      const d = new Float64Array(2);
      for (const [kxx, kzz, rho] of CASES) {
        const c = rho * Math.sqrt(kxx * kzz);
        dual({ type }, kxx, kzz, c, closed);
        numericalDual(phi, dphi, kxx, kzz, c, type, quad);
        dual({ type }, kxx, kxx, kxx, d);
        const A = d[0]!;
        dual({ type }, kzz, kzz, kzz, d);
        const scale = Math.sqrt(A * d[0]!);
        expect(Math.abs(quad[0]! - closed[0]!) / scale, `S at ${kxx}, ${kzz}, ${rho}`).toBeLessThan(1e-10);
        expect(Math.abs(quad[1]! - closed[1]!) / closed[1]!, `Ṡ at ${kxx}, ${kzz}, ${rho}`).toBeLessThan(1e-10);
      }
    });
  }

  it('erf: both gaps to 1e−10 relative against the closed gap form, down to 1 ∓ ρ = 1e−12', () => {
    const [phi, dphi] = pointwise({ type: 'erf' });
    for (const [kxx, kzz] of [[1, 1], [0.7, 1.3], [3, 3], [0.05, 0.04]]) {
      for (const g of [1e-12, 1e-8, 1e-3, 0.4, 1, 1.7, 2 - 1e-6, 2 - 1e-12]) {
        const h = 2 - g;
        const closed = actGapOf('erf', kxx!, kzz!, g, h);
        const m = numericalMoments(phi, dphi, kxx!, kzz!, g, h, 'erf');
        expect(Math.abs(m.g - closed.g) / closed.g, `1 − ρ' at ${kxx}, ${kzz}, g = ${g}`).toBeLessThan(1e-10);
        expect(Math.abs(m.h - closed.h) / closed.h, `1 + ρ' at ${kxx}, ${kzz}, g = ${g}`).toBeLessThan(1e-10);
      }
    }
  });

  it('erf with slightly different norms: 1 − ρ\' against a 50-digit value (where the closed gap form loses 1e−5)', () => {
    // mpmath, dps = 50: a, b = 3, 3.0001; c = (1 − 1e−12)·√(ab);
    // 1 − asin(2c/√((1+2a)(1+2b)))/√(asin(2a/(1+2a))·asin(2b/(1+2b))) = 1.1478779956785220e−11.
    // The closed gap form gives 1.14786458723e−11: its asin u·asin v − asin² w cancels when a ≈ b.
    const [phi, dphi] = pointwise({ type: 'erf' });
    const m = numericalMoments(phi, dphi, 3, 3.0001, 1e-12, 2 - 1e-12, 'erf');
    expect(Math.abs(m.g - 1.147877995678522e-11) / 1.147877995678522e-11).toBeLessThan(1e-10);
  });

  it('a user φ equal to erf, through kernelCpu, gives the erf network\'s kernels to 1e−10', () => {
    // The numerical layer with erf's φ and φ' gives the erf network's kernels.
    const viaNumerical = network({ inputScale: 'dim' }, dense({ biasVar: 0.2 }), numerical('myErf', erf, (u) => (2 / Math.sqrt(Math.PI)) * Math.exp(-u * u)), dense({ weightVar: 1.7, biasVar: 0.1 }));
    const closed = network({ inputScale: 'dim' }, dense({ biasVar: 0.2 }), stax.erf(), dense({ weightVar: 1.7, biasVar: 0.1 }));
    const a = kernelCpu(viaNumerical, MC_INPUTS);
    const b = kernelCpu(closed, MC_INPUTS);
    for (const k of ['nngp', 'ntk'] as const) {
      for (let e = 0; e < 9; e++) expect(Math.abs(a[k]![e]! - b[k]![e]!)).toBeLessThan(1e-10 * Math.abs(b[k]![0]!));
    }
  });
});

describe('near-duplicate inputs keep full relative precision in 1 − ρ', () => {
  /** S(k, k, k) and Ṡ(k, k, k) at ρ = 1 (plain form). */
  function atOne(type: string, k: number): [number, number] {
    const o = new Float64Array(2);
    dual({ type }, k, k, k, o);
    return [o[0]!, o[1]!];
  }
  for (const type of ['gelu', 'tanh', 'sigmoid', 'softplus', 'erf']) {
    it(type, () => {
      // Equal norms, 1 − ρ0 = 1e−12: dense(1.5, bias 0.2) → φ → dense(2) → φ → dense(1).
      const spec = network({}, dense({ weightVar: 1.5, biasVar: 0.2 }), { type } as Spec['layers'][number], dense({ weightVar: 2 }), { type } as Spec['layers'][number], dense());
      const p = compile(resolveSpec(spec));
      const { state, work } = newState(p);
      const g0 = 1e-12;
      runPair(p, state, work, { kxx: 1, kzz: 1, g: g0, h: 2 - g0 });
      // First order, layer by layer.
      let k = 1.5 * 1 + 0.2;
      let g = g0 * (1.5 / k);
      let [S, Sd] = atOne(type, k);
      g *= (k * Sd) / S;
      k = 2 * S;
      [S, Sd] = atOne(type, k);
      g *= (k * Sd) / S;
      const gap = work[GAP]!;
      expect(work[KXX]).toBe(work[KZZ]);
      // Measured: within 1.2e−12 (the expansion's own O(1 − ρ) term) for all five.
      expect(Math.abs(gap - g) / g, `engine ${gap}, first order ${g}`).toBeLessThan(1e-11);
      // Power: the same network in the plain ρ form (1 − S/√(AB) at the end) is off by 13–15%.
      const o = new Float64Array(2);
      dual({ type }, 1.7, 1.7, (1 - g0) * 1.7, o);
      const k2 = 2 * atOne(type, 1.7)[0];
      dual({ type }, k2, k2, 2 * o[0]!, o);
      const plain = 1 - o[0]! / atOne(type, k2)[0];
      expect(Math.abs(plain - g) / g).toBeGreaterThan(1e-3);
      expect(Math.abs(work[ANTI]! - (2 - gap))).toBeLessThan(1e-12);
    });
  }
});

describe('networks with the new activations against sampled networks', () => {
  const SPECS: Record<string, Spec> = {
    gelu: network({ inputScale: 'dim' }, dense({ weightVar: 1.5, biasVar: 0.1 }), gelu(), dense({ weightVar: 2 }), gelu(), dense()),
    tanh: network({}, dense({ weightVar: 1.2 }), tanh(), dense({ weightVar: 2, biasVar: 0.2 }), tanh(), dense()),
    sigmoid: network({ readout: [dense({ trainable: false })] }, dense(), sigmoid(), dense({ weightVar: 3 }), sigmoid(), dense({ weightVar: 4 })),
    softplus: network({ inputScale: 'dim' }, dense({ biasVar: 0.3 }), softplus(), dense({ weightVar: 1.5 })),
    swish: network({}, dense({ weightVar: 2 }), numerical('swish', (u) => u / (1 + Math.exp(-u)), (u) => {
      const s = 1 / (1 + Math.exp(-u));
      return s + u * s * (1 - s);
    }), dense()),
  };
  const comparisons = Object.keys(SPECS).length * 12;
  const zCrit = normalQuantile(1 - FAMILY_ALPHA / (2 * comparisons));
  for (const [name, spec] of Object.entries(SPECS)) {
    it(name, () => {
      // As test/mc.ts: Richardson extrapolation of widths 64 and 128, z against the analytic value.
      const exact = kernelCpu(spec, MC_INPUTS);
      const a = monteCarlo(spec, MC_INPUTS, { width: 64, samples: 256, seed: 7 });
      const b = monteCarlo(spec, MC_INPUTS, { width: 128, samples: 256, seed: 1007 });
      const m = MC_INPUTS.length;
      for (const k of ['nngp', 'ntk'] as const) {
        for (let i = 0; i < m; i++) {
          for (let j = i; j < m; j++) {
            const e = i * m + j;
            const mu = 2 * b[k].mean[e]! - a[k].mean[e]!;
            const se = Math.sqrt(4 * b[k].stderr[e]! ** 2 + a[k].stderr[e]! ** 2);
            const z = (mu - exact[k]![e]!) / se;
            expect(Math.abs(z), `${name} ${k}[${i},${j}]: analytic ${exact[k]![e]} sampled ${mu} ± ${se}`).toBeLessThanOrEqual(zCrit);
            expect(se / Math.sqrt(exact[k]![i * m + i]! * exact[k]![j * m + j]!)).toBeLessThan(0.08);
          }
        }
      }
    });
  }
});

describe('adding an activation is one entry', () => {
  /** φ(u) = u: S = K, Ṡ = 1, the gaps unchanged. */
  const identity: ActivationEntry<{ type: 'identity' }> = {
    type: 'identity',
    resolve: (obj, path) => {
      if (Object.keys(obj).length !== 1) throw new SpecError(path, 'identity takes no parameters');
      return { type: 'identity' };
    },
    describe: () => 'identity',
    phi: () => (u) => u,
    dphi: () => () => 1,
    dual: (_a, _kxx, _kzz, kxz, out) => {
      out[0] = kxz;
      out[1] = 1;
    },
    gap: (_a, kxx, kzz, g, h, out) => {
      out.kxx = kxx;
      out.kzz = kzz;
      out.g = g;
      out.h = h;
      out.sdot = 1;
    },
    homogeneous: () => true,
    wgsl: () => null,
  };
  registerActivation(identity);
  const withIdentity = { layers: [{ type: 'dense', weightVar: 1.5, biasVar: 0.2 }, { type: 'identity' }, { type: 'dense', weightVar: 2 }, { type: 'identity' }, { type: 'dense' }] } as unknown as Spec;

  it('registered at run time, it computes kernels through kernelCpu: a linear network', () => {
    const r = kernelCpu(withIdentity, MC_INPUTS);
    const m = MC_INPUTS.length;
    const dot = (x: number[], z: number[]) => x.reduce((s, v, i) => s + v * z[i]!, 0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        // K1 = 1.5·x·z + 0.2, K2 = 2·K1, K3 = K2; Θ1 = K1, Θ2 = 2Θ1 + K2, Θ3 = Θ2 + K3.
        const k1 = 1.5 * dot(MC_INPUTS[i]!, MC_INPUTS[j]!) + 0.2;
        const nngp = 2 * k1;
        const ntk = 2 * k1 + 2 * k1 + 2 * k1;
        expect(r.nngp![i * m + j]).toBeCloseTo(nngp, 13);
        expect(r.ntk![i * m + j]).toBeCloseTo(ntk, 13);
      }
    }
  });

  it('and through the Monte Carlo oracle (its φ and φ\')', () => {
    const exact = kernelCpu(withIdentity, MC_INPUTS);
    const mc = monteCarlo(withIdentity, MC_INPUTS, { width: 64, samples: 128, seed: 3 });
    const zCrit = normalQuantile(1 - FAMILY_ALPHA / (2 * 12));
    for (const k of ['nngp', 'ntk'] as const) {
      for (const e of [0, 1, 2, 4, 5, 8]) {
        // A linear network's kernels are unbiased at every width: no extrapolation needed.
        const z = (mc[k].mean[e]! - exact[k]![e]!) / mc[k].stderr[e]!;
        expect(Math.abs(z), `${k}[${e}]`).toBeLessThanOrEqual(zCrit);
      }
    }
  });

  it('is listed among the known types, described, and refused twice', () => {
    expect(() => resolveSpec({ layers: [{ type: 'dense' }, { type: 'nope' }] })).toThrow(/unknown layer type "nope" \(known: .*relu, arccos, leakyRelu, abRelu, erf, gelu, tanh, sigmoid, softplus, numerical, identity\)/);
    expect(describeSpec(resolveSpec(withIdentity))).toMatch(/dense\(σw² = 1\.5, σb² = 0\.2\), identity, dense/);
    expect(() => registerActivation(identity)).toThrow(/"identity" is already a layer type/);
    expect(() => registerActivation({ ...identity, type: 'dense' } as never)).toThrow(InputError);
  });

  it('smoothness (φ C¹): optional, absent means not known smooth; where given it is the entry\'s word, and not a function is refused', () => {
    expect(isSmooth({ type: 'identity' })).toBe(false);
    registerActivation({ ...identity, type: 'identitySmooth', smooth: () => true } as never);
    expect(isSmooth({ type: 'identitySmooth' })).toBe(true);
    expect(() => registerActivation({ ...identity, type: 'identityBad', smooth: true } as never)).toThrow(/smooth must be a function/);
    // The built-ins: C¹ unless φ' jumps (ReLU-like units, the arc-cosine unit of order 0 and 1).
    const smooth = ['erf', 'gelu', 'tanh', 'sigmoid', 'softplus'].map((type) => isSmooth({ type }));
    const kinked = [{ type: 'relu' }, { type: 'leakyRelu', slope: 0.1 }, { type: 'abRelu', a: -0.5, b: 1 }, { type: 'arccos', order: 0 }, { type: 'arccos', order: 1 }].map((a) => isSmooth(a));
    expect(smooth.every(Boolean) && kinked.every((v) => !v)).toBe(true);
    expect(isSmooth({ type: 'arccos', order: 2 } as never)).toBe(true);
    // numerical: the layer's smooth flag (default false), checked when the spec is resolved.
    const num = (extra: object) => resolveSpec({ layers: [{ type: 'dense' }, { type: 'numerical', name: 'sq', fn: (u: number) => u * u, deriv: (u: number) => 2 * u, ...extra }, { type: 'dense' }] } as never);
    const act = (extra: object) => num(extra).layers[1] as { type: string };
    expect([isSmooth(act({})), isSmooth(act({ smooth: true })), isSmooth(act({ smooth: false }))]).toEqual([false, true, false]);
    expect(() => num({ smooth: 'yes' })).toThrow(/smooth: must be true or false/);
  });
});

describe('validation and the WebGPU refusal', () => {
  it('an unknown activation lists the known ones', () => {
    expect(() => resolveSpec({ layers: [{ type: 'dense' }, { type: 'swish' }] })).toThrow(
      /layers\[1\]\.type: unknown layer type "swish" \(known: dense, residual, denseBlock, repeat, conv, avgPool, eq, flatten, gap, relu, arccos, leakyRelu, abRelu, erf, gelu, tanh, sigmoid, softplus, numerical/,
    );
    expect(() => resolveSpec({ layers: [{ type: 'dense' }, { type: 'denseBlock', depth: 2, activation: { type: 'swish' } }] })).toThrow(
      /layers\[1\]\.activation\.type: unknown activation "swish" \(known: relu, arccos, leakyRelu, abRelu, erf, gelu, tanh, sigmoid, softplus, numerical/,
    );
  });

  it('the new activations take no parameters', () => {
    for (const type of ['gelu', 'tanh', 'sigmoid', 'softplus']) {
      expect(resolveActivation({ type }, 'layers[1]')).toEqual({ type });
      expect(() => resolveSpec({ layers: [{ type: 'dense' }, { type, slope: 1 }] })).toThrow(/layers\[1\]\.slope: unknown key \(allowed: type\)/);
    }
  });

  it('"numerical" in a JSON file is refused: a file cannot hold a function', () => {
    const json = JSON.parse('{"layers": [{"type": "dense"}, {"type": "numerical", "name": "swish", "fn": "u / (1 + exp(-u))"}, {"type": "dense"}]}');
    expect(() => resolveSpec(json)).toThrow(/layers\[1\]\.fn: must be a function .*exists only in the API \(a JSON spec file cannot hold a function\)/);
    expect(() => resolveSpec({ layers: [{ type: 'dense' }, { type: 'numerical', fn: Math.sin, deriv: Math.cos }] } as never)).toThrow(/layers\[1\]\.name: must be a non-empty string/);
    expect(() => resolveSpec({ layers: [{ type: 'dense' }, numerical('bad', () => NaN, Math.cos)] })).toThrow(/layers\[1\]\.fn: must return a finite number/);
  });

  it('a φ that returns NaN on the grid is an InputError naming it, never a NaN kernel', () => {
    const spec = network({}, dense(), numerical('log', (u) => Math.log(u), (u) => 1 / u), dense());
    expect(() => kernelCpu(spec, MC_INPUTS)).toThrow(/activation log: φ or φ' returned a value that is not a finite number/);
  });

  it('a zero input (constant-0 pre-activation) gives φ(0)·E[φ(v)], never NaN', () => {
    const at = (type: string) => kernelCpu({ layers: [{ type: 'dense' }, { type }, { type: 'dense' }] } as never, [[0, 0], [1, 0.5]]).nngp!;
    for (const type of ['gelu', 'tanh']) expect(Array.from(at(type)).slice(0, 3)).toEqual([0, 0, 0]);
    // sigmoid: φ(0)² = 1/4 and φ(0)·E[σ(v)] = 1/4 (σ − ½ is odd); softplus: φ(0)² = log² 2.
    const s = at('sigmoid');
    for (const e of [0, 1, 2]) expect(Math.abs(s[e]! - 0.25)).toBeLessThan(1e-14);
    expect(Math.abs(at('softplus')[0]! - Math.LN2 ** 2)).toBeLessThan(1e-14);
  });

  it('smooth activations are not homogeneous: the interpreter materialises before them', () => {
    // K grows like 4^2000 = 2^4000: fine as mantissa and exponent through dense layers, not before tanh.
    const spec = network({}, dense(), { type: 'repeat', count: 2000, layers: [dense({ weightVar: 4 })] }, tanh(), dense());
    expect(() => kernelCpu(spec, [[1, 0]])).toThrow(/overflows float64 before the tanh nonlinearity/);
  });

  it('WebGPU: the call of each activation, and an InputError for a numerical one without WGSL', () => {
    expect(wgslCall({ type: 'relu' })).toEqual({ fn: 'op_relu', params: [] });
    // a, b, ½(a² + b²) as an f32 pair (hi, lo), (a − b)²/(a² + b²): the constants in float64.
    const half = 0.5 * (0.2 * 0.2 + 1);
    const hi = Math.fround(half);
    expect(wgslCall({ type: 'leakyRelu', slope: 0.2 } as never)).toEqual({ fn: 'op_abrelu', params: [0.2, 1, hi, Math.fround(half - hi), (0.2 - 1) ** 2 / (0.2 * 0.2 + 1)] });
    expect(wgslCall({ type: 'arccos', order: 2 } as never)).toEqual({ fn: 'op_arccos2', params: [] });
    // The smooth ones: the quadrature template's instance (or GELU's closed form) comes with the call.
    for (const type of ['tanh', 'sigmoid', 'softplus', 'gelu']) {
      const call = wgslCall({ type });
      expect(call.fn).toBe(`op_${type}`);
      expect(call.source!.join('\n')).toMatch(new RegExp(`fn op_${type}\\(b: Bank\\) -> Bank`));
    }
    // A numerical activation needs its WGSL; with it, equal expressions give one function name.
    expect(() => wgslCall({ type: 'numerical', name: 'swish' } as never)).toThrow(/needs the numerical activation "swish" in WGSL too: add wgsl/);
    const w = { fn: 'u', deriv: '1.0' };
    const a = wgslCall({ type: 'numerical', name: 'a', wgsl: w } as never);
    expect(wgslCall({ type: 'numerical', name: 'b', wgsl: { ...w } } as never).fn).toBe(a.fn);
    expect(wgslCall({ type: 'numerical', name: 'c', wgsl: { fn: 'u', deriv: '2.0' } } as never).fn).not.toBe(a.fn);
    expect(a.check!.map((c) => c.what)).toEqual(['numerical activation "a": wgsl.fn', 'numerical activation "a": wgsl.deriv']);
  });

  it('describe names the new activations', () => {
    const spec = resolveSpec(network({}, dense(), gelu(), dense(), tanh(), dense(), sigmoid(), dense(), softplus(), dense()));
    expect(describeSpec(spec)).toMatch(/GELU, dense\(σw² = 1\), tanh, dense\(σw² = 1\), sigmoid \(logistic\), dense\(σw² = 1\), softplus/);
  });
});
