/**
 * trainNetwork (src/mc/train.ts): full-batch gradient descent of a sampled network on the squared
 * loss, with its empirical NTK at checkpoints from the same batched pass.
 */
import { describe, expect, it } from 'vitest';
import { empiricalKernel, trainNetwork, type Spec } from '../src/index.js';
import { spherePoints } from '../src/mc/rng.js';

const spec: Spec = {
  inputScale: 'dim',
  layers: [{ type: 'dense', biasVar: 0.1 }, { type: 'tanh' }, { type: 'dense', weightVar: 1.5 }, { type: 'tanh' }, { type: 'dense', biasVar: 0.05 }],
};
// 16 training and 8 test points on the sphere of radius 2 in R⁴; a smooth target, standardised.
const pts = spherePoints(24, 4, 3).map((v) => v.map((x) => 2 * x));
const X = pts.slice(0, 16);
const T = pts.slice(16);
const raw = X.map((v) => Math.sin(v[0]!) + 0.5 * v[1]! * v[2]!);
const mu = raw.reduce((a, b) => a + b, 0) / raw.length;
const sd = Math.sqrt(raw.reduce((a, b) => a + (b - mu) ** 2, 0) / raw.length);
const y = raw.map((v) => (v - mu) / sd);
const n = X.length;

describe('trainNetwork', () => {
  it('Θ₀ is empiricalKernel’s, its layers add up to it, and one small step moves f by −(η/n)·Θ₀·r', () => {
    const width = 16;
    const seed = 3;
    const lr = 1e-4;
    const r = trainNetwork(spec, X, y, { width, seed, steps: 1, lr, checkpoints: [0, 1], xTest: T });
    const e = empiricalKernel(spec, X, null, { width, seed });
    const c0 = r.checkpoints[0]!;
    expect(Array.from(c0.ntk)).toEqual(Array.from(e.ntk!));
    const parts = c0.layers.reduce((s, l) => s.map((v, i) => v + l[i]!), new Float64Array(n * n));
    for (let i = 0; i < n * n; i++) expect(parts[i]).toBeCloseTo(c0.ntk[i]!, 12);
    const ct = empiricalKernel(spec, T, X, { width, seed });
    expect(Array.from(c0.ntkTest!)).toEqual(Array.from(ct.ntk!));
    // f before and after the step: the first training step of gradient descent is, to first order in η,
    // f₁ − f₀ = −(η/n)·Θ₀·(f₀ − y) (normalize "none": the returned Θ is the network's own).
    const f0 = trainNetwork(spec, X, y, { width, seed, steps: 0 }).predictions;
    const f1 = r.predictions;
    let err = 0;
    let scale = 0;
    for (let i = 0; i < n; i++) {
      let lin = 0;
      for (let j = 0; j < n; j++) lin += c0.ntk[i * n + j]! * (f0[j]! - y[j]!);
      lin *= -lr / n;
      err = Math.max(err, Math.abs(f1[i]! - f0[i]! - lin));
      scale = Math.max(scale, Math.abs(lin));
    }
    expect(err / scale).toBeLessThan(1e-4); // measured 1.6e−6; a 1 % error in the weight gradient fails it
    expect(r.checkpoints[1]!.t).toBeCloseTo(lr, 15);
  });

  it('the loss falls, and the kernel moves less at larger width (drift ∝ width^−1 in theory)', () => {
    const drift = (width: number) => {
      let d = 0;
      for (const seed of [1, 2]) {
        const r = trainNetwork(spec, X, y, { width, seed, steps: 100, checkpoints: [0, 50, 100], xTest: T });
        // Default η = n/λ_max(Θ₀): each step contracts the residual along every eigenvector.
        for (let s = 1; s <= 100; s++) expect(r.losses[s]!).toBeLessThanOrEqual(r.losses[s - 1]! * (1 + 1e-9));
        expect(r.losses[100]!).toBeLessThan(0.05 * r.losses[0]!);
        expect(r.checkpoints.map((c) => c.step)).toEqual([0, 50, 100]);
        expect(r.checkpoints[0]!.drift).toBe(0);
        d += r.checkpoints[2]!.drift / 2;
      }
      return d;
    };
    const small = drift(32);
    const large = drift(256);
    // Measured: 0.28 at width 32, 0.066 at 256 (a slope of about −0.7 over 8× width; the pilot of
    // wave2.md §2.5 saw −0.86 for a tanh MLP between widths 256 and 1024).
    expect(large).toBeLessThan(0.15);
    expect(large).toBeLessThan(small / 2.5);
  });

  it('refuses bad input', () => {
    expect(() => trainNetwork(spec, X, y.slice(1), { width: 8, steps: 1 })).toThrow(/15 targets for 16 inputs/);
    expect(() => trainNetwork(spec, X, y, { width: 8, steps: 2, checkpoints: [3] })).toThrow(/checkpoint 3/);
    expect(() => trainNetwork(spec, X, y, { width: 8, steps: -1 })).toThrow(/steps must be/);
    expect(() => trainNetwork(spec, X, y, { width: 8, steps: 1, lr: -1 })).toThrow(/step η/);
    expect(() => trainNetwork(spec, X, y, { width: 0, steps: 1 })).toThrow(/width/);
    expect(() => trainNetwork('cntk:depth=2', X, y, { width: 8, steps: 1 })).toThrow(/dense specs only .* a convolutional spec cannot be trained yet/);
    expect(() => trainNetwork(spec, X, y, { width: 8, steps: 1, backend: 'tpu' as never })).toThrow(/unknown backend "tpu" for training \(available: cpu, webgpu\)/);
    expect(() => trainNetwork(spec, X, y, { width: 8, steps: 1, xTest: [[1, 2]] })).toThrow(/features/);
    // A step far past 2n/λ_max overflows: one clear error, not NaN rows.
    expect(() => trainNetwork(spec, X, y, { width: 8, steps: 400, lr: 1e6 })).toThrow(/diverged at step \d+/);
  });
});
