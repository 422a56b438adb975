/**
 * The smooth activations on WebGPU (GELU, tanh, sigmoid, softplus, and a numerical φ given in
 * WGSL) against the float64 CPU path: MLPs at every depth 1 … 10 with and without biases and a
 * ResNet, on the accuracy suite's inputs (near-duplicates at 1e−6 … 1e−3 rad, exact and scaled
 * antipodes, norms 2e−3 … 3). Error = max |K_gpu − K_cpu| / √(K_cpu(x,x)·K_cpu(z,z)), bound 1e−5
 * as for relu/erf (test/gpu-accuracy.test.ts). Also: the range of the in-shader quadrature is an
 * error beyond it, and the numerical activation's WGSL is refused with messages that name it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, kernel, kernelCpu, type Spec } from '../src/index.js';
import { dense, gelu, network, numerical, repeat, residual, sigmoid, softplus, tanh } from '../src/spec/stax.js';
import type { Activation } from '../src/spec/types.js';
import { SMOOTH_FLAG_MIN, SMOOTH_VMAX } from '../src/gpu/gram.js';
import { KERNEL_OPS_WGSL } from '../src/gpu/shaders.generated.js';
import { accuracyInputs, normalisedError, releaseGpuForTests, requireGpu } from './gpu/setup.js';

/** The accuracy suite's inputs less the row of norm ≈ 850 (variance ≈ 1.5e5 at the first activation: beyond the quadrature's range, tested below). */
const X = accuracyInputs().filter((r) => Math.hypot(...r) < 100);
const n = X.length;
const BOUND = 1e-5;

const logistic = (u: number) => 1 / (1 + Math.exp(-u));
const swish = (wgsl?: { fn: string; deriv: string }) =>
  numerical(
    'swish',
    (u) => u * logistic(u),
    (u) => logistic(u) * (1 + u * (1 - logistic(u))),
    wgsl,
  );
const SWISH_WGSL = { fn: 'u / (1.0 + exp(-u))', deriv: '(1.0 + exp(-u) + u * exp(-u)) / ((1.0 + exp(-u)) * (1.0 + exp(-u)))' };

const ACTS: [string, Activation][] = [
  ['gelu', gelu()],
  ['tanh', tanh()],
  ['sigmoid', sigmoid()],
  ['softplus', softplus()],
  ['swish (numerical)', swish(SWISH_WGSL)],
];

beforeAll(async () => {
  await requireGpu();
});
afterAll(releaseGpuForTests);

/** The largest normalised error over all depths of a spec (NNGP, NTK). */
async function errors(spec: Spec, rows: number[][] = X): Promise<[number, number]> {
  const cpu = kernelCpu(spec, rows, null, { depths: 'all' });
  const gpu = await kernel(spec, rows, null, { backend: 'webgpu', depths: 'all' });
  expect(gpu.backend).toBe('webgpu');
  expect(gpu.depths).toEqual(cpu.depths);
  const taps = cpu.depths.length;
  return [normalisedError(cpu.nngp!, gpu.nngp!, rows.length, taps), normalisedError(cpu.ntk!, gpu.ntk!, rows.length, taps)];
}

describe('smooth activations on WebGPU agree with the float64 reference', () => {
  for (const [name, act] of ACTS) {
    for (const biasVar of [0, 0.1]) {
      it(`${name}: MLP, depths 1 … 10, ${biasVar ? 'with' : 'without'} biases (≤ ${BOUND})`, async () => {
        const spec = network({ inputScale: 'dim' }, dense({ biasVar }), repeat(10, act, dense({ weightVar: 1.6, biasVar })));
        const [k, t] = await errors(spec);
        expect(k, 'NNGP').toBeLessThanOrEqual(BOUND);
        expect(t, 'NTK').toBeLessThanOrEqual(BOUND);
      });
    }
    it(`${name}: ResNet of 10 blocks with a readout (≤ ${BOUND})`, async () => {
      const spec = network(
        { inputScale: 'dim', readout: [dense()] },
        dense(),
        repeat(10, residual([dense({ biasVar: 0.05 }), act, dense({ weightVar: 2 })], { alpha: 0.5 })),
      );
      const [k, t] = await errors(spec);
      expect(k, 'NNGP').toBeLessThanOrEqual(BOUND);
      expect(t, 'NTK').toBeLessThanOrEqual(BOUND);
    });
  }

  it('up to the top of the quadrature range: input variances ≈ 50 (≤ 1e−5)', async () => {
    // Rows of norm ≈ 15.8 in d = 5: variance 50 at the activation (weight variance 1); a near-
    // duplicate (1e−5 rad) and an antipode among them. (The float64 quadrature is slow there.)
    const rows = [X[0]!, X[2]!, X[5]!, X[7]!].map((r) => {
      const s = Math.fround(Math.sqrt(250) / Math.hypot(...r));
      return r.map((v) => Math.fround(v * s));
    });
    for (const [, act] of ACTS) {
      const [k, t] = await errors(network({ inputScale: 'dim' }, dense(), act, dense()), rows);
      expect(k, 'NNGP').toBeLessThanOrEqual(BOUND);
      expect(t, 'NTK').toBeLessThanOrEqual(BOUND);
    }
  });
});

describe('the range of the in-shader quadrature', () => {
  it('a variance above it is an InputError that says so, never a coarse answer', async () => {
    const rows = accuracyInputs(); // with the row of norm ≈ 850
    for (const [, act] of ACTS.slice(1)) {
      const spec = network({ inputScale: 'dim' }, dense(), act, dense());
      await expect(kernel(spec, rows, null, { backend: 'webgpu' })).rejects.toThrow(InputError);
      await expect(kernel(spec, rows, null, { backend: 'webgpu' })).rejects.toThrow(
        new RegExp(`at depth \\d+, a smooth activation .* met an input variance above ${SMOOTH_VMAX}.*use backend "cpu"`),
      );
    }
  });

  it('the mark survives the layers after it (erf, ReLU, a residual sum, a readout)', async () => {
    const rows = accuracyInputs();
    const specs: Spec[] = [
      network({ inputScale: 'dim' }, dense(), tanh(), dense(), { type: 'erf' }, dense()),
      network({ inputScale: 'dim', readout: [dense()] }, dense(), repeat(2, residual([dense(), sigmoid(), dense(), { type: 'relu' }, dense()], { alpha: 0.5 }))),
    ];
    for (const spec of specs) await expect(kernel(spec, rows, null, { backend: 'webgpu' })).rejects.toThrow(/met an input variance above/);
  });

  it('the host and the shaders agree on the marker and the limit', () => {
    expect(KERNEL_OPS_WGSL).toContain(`const SMOOTH_FLAG_MIN: i32 = ${SMOOTH_FLAG_MIN};`);
    expect(KERNEL_OPS_WGSL).toContain(`const SMOOTH_VMAX: f32 = ${SMOOTH_VMAX}.0;`);
  });
});

describe('the numerical activation on WebGPU', () => {
  const spec = (act: Activation) => network({ inputScale: 'dim' }, dense(), act, dense());

  it('without wgsl it is refused with a message that says to add it', async () => {
    const p = kernel(spec(swish()), X, null, { backend: 'webgpu' });
    await expect(p).rejects.toThrow(InputError);
    await expect(kernel(spec(swish()), X, null, { backend: 'webgpu' })).rejects.toThrow(
      /the WebGPU backend needs the numerical activation "swish" in WGSL too: add wgsl: \{ fn: .*, deriv: .* \}/,
    );
    // The CPU path does not need it.
    expect(kernelCpu(spec(swish()), X).nngp!.every(Number.isFinite)).toBe(true);
  });

  it('WGSL that does not compile is an InputError naming the activation and the expression', async () => {
    const bad = swish({ fn: 'u / (1.0 + exp(-u))', deriv: 'sigmoidd(u)' });
    await expect(kernel(spec(bad), X, null, { backend: 'webgpu' })).rejects.toThrow(InputError);
    await expect(kernel(spec(bad), X, null, { backend: 'webgpu' })).rejects.toThrow(/numerical activation "swish": wgsl\.deriv does not compile as WGSL \(.*sigmoidd/s);
    const wrongType = swish({ fn: 'u > 0.0', deriv: '1.0' });
    await expect(kernel(spec(wrongType), X, null, { backend: 'webgpu' })).rejects.toThrow(/numerical activation "swish": wgsl\.fn does not compile as WGSL/);
  });

  it('malformed wgsl fields are refused when the spec is read', async () => {
    const cases: [unknown, RegExp][] = [
      ['u', /wgsl: must be an object \{ fn, deriv \}/],
      [{ fn: 'u' }, /wgsl\.deriv: must be a WGSL expression/],
      [{ fn: 'u; }', deriv: '1.0' }, /wgsl\.fn: must be one WGSL expression/],
      [{ fn: 'u', deriv: '1.0', extra: 1 }, /wgsl\.extra: unknown key/],
    ];
    for (const [wgsl, re] of cases) {
      const act = { ...swish(), wgsl } as unknown as Activation;
      await expect(kernel(spec(act), X, null, { backend: 'webgpu' })).rejects.toThrow(re);
    }
  });

  it('tanh written as a numerical activation in WGSL gives the built-in tanh', async () => {
    const tanhWgsl = numerical('tanh2', Math.tanh, (u) => 1 / Math.cosh(u) ** 2, { fn: 'tanh(u)', deriv: '1.0 / (cosh(u) * cosh(u))' });
    const rows = X.slice(0, 5);
    const a = await kernel(spec(tanhWgsl), rows, null, { backend: 'webgpu' });
    const b = await kernel(spec(tanh()), rows, null, { backend: 'webgpu' });
    expect(normalisedError(b.nngp!, a.nngp!, rows.length)).toBeLessThanOrEqual(BOUND);
    expect(normalisedError(b.ntk!, a.ntk!, rows.length)).toBeLessThanOrEqual(BOUND);
  });
});
