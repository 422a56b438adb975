/**
 * Convolutional kernels on WebGPU (shaders/conv_slab.wgsl, in the adapter's layout and, for a
 * subset, in the other one) against the float64 CPU path: every
 * readout, both paddings, 1-D and 2-D, strides, biases, a frozen conv, a residual block with erf,
 * depth sweeps up to 1000, on inputs with a near-duplicate (a copy perturbed by 1e−4 of its norm)
 * and a shifted copy. Error = max |K_gpu − K_cpu| / √(K_cpu(x,x)·K_cpu(z,z)) per kernel, over every
 * depth of the sweep. The measured worst errors are printed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel, kernelBlocks, kernelCpu, type Arch } from '../src/index.js';
import { InputError } from '../src/errors.js';
import type { ImagesInput } from '../src/images.js';
import type { Layer, Spec } from '../src/spec/types.js';
import { convImages, normalisedError, releaseGpuForTests, requireGpu } from './gpu/setup.js';
import { forceConvLayoutForTests } from '../src/gpu/conv.js';
import { pipelineStats } from '../src/gpu/pipelines.js';
import { releaseGpu } from '../src/gpu/device.js';

/** The shared measure (test/gpu/inputs.ts), which must be finite. */
function finiteError(cpu: Float64Array, gpu: Float64Array, n: number, taps: number, keep?: (i: number, j: number) => boolean): number {
  const e = normalisedError(cpu, gpu, n, taps, keep);
  expect(Number.isFinite(e), 'a finite error').toBe(true);
  return e;
}

beforeAll(async () => {
  await requireGpu();
});

const worst: string[] = [];
afterAll(async () => {
  console.log(`WebGPU conv, worst normalised errors:\n${worst.join('\n')}`);
  await releaseGpuForTests();
});

// Two random images, a near-duplicate of the first and its one-pixel shift (test/gpu/inputs.ts).
const images = (C: number, dims: number[], seed: number): ImagesInput => convImages(C, dims, seed);

const X1 = images(2, [10], 11);
const X2 = images(3, [6, 6], 12);
const XS = images(1, [8], 13);

async function compare(name: string, arch: Arch, X: ImagesInput, tol: number, depths: 'all' | 'last' = 'all'): Promise<void> {
  const cpu = kernelCpu(arch, X, null, { depths });
  const gpu = await kernel(arch, X, null, { backend: 'webgpu', depths });
  expect(gpu.backend).toBe('webgpu');
  expect(gpu.shape).toEqual(cpu.shape);
  const taps = cpu.depths.length;
  const ek = finiteError(cpu.nngp!, gpu.nngp!, 4, taps);
  const et = finiteError(cpu.ntk!, gpu.ntk!, 4, taps);
  worst.push(`  ${name}: NNGP ${ek.toExponential(1)}, NTK ${et.toExponential(1)}`);
  expect(ek, 'NNGP').toBeLessThanOrEqual(tol);
  expect(et, 'NTK').toBeLessThanOrEqual(tol);
}

describe('presets: every readout, both paddings, 1-D and 2-D, every depth of the sweep (≤ 1e−5)', () => {
  for (const [dim, X] of [['1-D', X1], ['2-D', X2]] as const) {
    for (const readout of ['eq', 'flatten', 'gap']) {
      for (const pad of ['circular', 'zero']) {
        it(`cntk depth 6, ${readout}, ${pad}, ${dim}`, async () => {
          await compare(`cntk ${readout} ${pad} ${dim}`, `cntk:depth=6,readout=${readout},pad=${pad}`, X, 1e-5);
        });
        it(`rescnn depth 6 (α = 0.7), ${readout}, ${pad}, ${dim}`, async () => {
          await compare(`rescnn ${readout} ${pad} ${dim}`, `rescnn:depth=6,alpha=0.7,readout=${readout},pad=${pad}`, X, 1e-5);
        });
      }
    }
  }
});

describe("the GPUs' layout (threads sharing a slab in workgroup memory), forced on this adapter", () => {
  // CPU adapters run the 'lanes' layout (one invocation per slab); real GPUs the 'workgroup' one.
  // Both are checked here, whatever the adapter: every readout, both paddings, 1-D and 2-D, a
  // residual preset and a layer mix.
  beforeAll(() => forceConvLayoutForTests('workgroup'));
  afterAll(() => forceConvLayoutForTests(null));
  for (const readout of ['eq', 'flatten', 'gap']) {
    it(`cntk and rescnn depth 6, ${readout}, both paddings, 1-D and 2-D`, async () => {
      for (const [dim, X] of [['1-D', X1], ['2-D', X2]] as const) {
        for (const pad of ['circular', 'zero']) {
          await compare(`workgroup layout: cntk ${readout} ${pad} ${dim}`, `cntk:depth=6,readout=${readout},pad=${pad}`, X, 1e-5);
          await compare(`workgroup layout: rescnn ${readout} ${pad} ${dim}`, `rescnn:depth=6,alpha=0.7,readout=${readout},pad=${pad}`, X, 1e-5);
        }
      }
    });
  }
  it('a depth loop of ReLUs after a gap readout (the gaps before it in double-single, their low parts in workgroup memory)', async () => {
    const spec: Spec = {
      layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, conv({ weightVar: 2 }), { type: 'gap', weightVar: 2 }, { type: 'repeat', count: 3, layers: [{ type: 'relu' }, { type: 'dense', weightVar: 2 }] }],
    };
    await compare('workgroup layout: loop in the tail, gap 1-D', spec, X1, 1e-5);
    await compare('workgroup layout: loop in the tail, gap 2-D', spec, X2, 1e-5);
  });
  it('a gap readout after a stride-2 conv in the loop, depths all (a plan per readout grid)', async () => {
    const spec: Spec = {
      layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, { type: 'repeat', count: 2, layers: [conv({ stride: 2, weightVar: 2 }), { type: 'relu' }] }],
      readout: [{ type: 'gap' }, { type: 'relu' }, { type: 'dense' }],
    };
    await compare('workgroup layout: strided loop, gap, relu 2-D', spec, images(2, [8, 8], 21), 1e-5);
    await compare('workgroup layout: strided loop, gap, relu 1-D', spec, images(2, [16], 22), 1e-5);
  });
});

const conv = (over: Partial<Extract<Layer, { type: 'conv' }>> = {}): Layer => ({ type: 'conv', ...over });

describe('layers: stride 2, biases, a frozen conv, a residual block with erf (≤ 1e−5)', () => {
  for (const readout of ['eq', 'flatten', 'gap'] as const) {
    for (const padding of ['circular', 'zero'] as const) {
      it(`stride 2, biases, a frozen conv, ${readout}, ${padding}`, async () => {
        const spec: Spec = {
          layers: [
            conv({ biasVar: 0.1, padding, trainable: false }),
            { type: 'relu' },
            conv({ stride: 2, weightVar: 2, biasVar: 0.2, padding }),
            { type: 'relu' },
            { type: 'repeat', count: 3, layers: [conv({ weightVar: 2, biasVar: 0.05, padding }), { type: 'relu' }] },
          ],
          readout: [{ type: readout, weightVar: 1.5, biasVar: 0.1 }],
        };
        await compare(`strided/biased/frozen ${readout} ${padding} 2-D`, spec, X2, 1e-5);
        await compare(`strided/biased/frozen ${readout} ${padding} 1-D`, spec, X1, 1e-5);
      });
      it(`residual blocks with erf and biases, then a dense tail, ${readout}, ${padding}`, async () => {
        const spec: Spec = {
          layers: [
            conv({ biasVar: 0.1, padding }),
            { type: 'relu' },
            conv({ weightVar: 2, biasVar: 0.1, padding }),
            { type: 'repeat', count: 4, layers: [{ type: 'residual', alpha: 0.7, branch: [{ type: 'erf' }, conv({ padding, weightVar: 1.5, biasVar: 0.1 })] }] },
            { type: readout, weightVar: 2 },
            { type: 'dense', weightVar: 2, biasVar: 0.1 },
          ],
        };
        await compare(`residual erf ${readout} ${padding} 2-D`, spec, X2, 1e-5);
      });
    }
  }
});

describe('gap with a stride that does not divide the size (masked slabs δ ∈ [−(n − 1), n − 1])', () => {
  const spec = (padding: 'zero' | 'circular'): Spec => ({
    layers: [conv({ padding, biasVar: 0.1 }), { type: 'relu' }, conv({ stride: 2, weightVar: 2, padding: 'zero' }), { type: 'relu' }, conv({ weightVar: 2, padding: 'zero' })],
    readout: [{ type: 'gap' }],
  });
  it('zero padding: 7 pixels, stride 2 (≤ 1e−5)', async () => {
    await compare('gap, stride 2 on 7 pixels, zero', spec('zero'), images(2, [7], 14), 1e-5);
    await compare('gap, stride 2 on 5×5, zero', spec('zero'), images(1, [5, 5], 15), 1e-5);
  });
  it('a circular conv there is an InputError before any GPU work', async () => {
    const X = images(2, [7], 14);
    const bad: Spec = { layers: [conv({ stride: 2, padding: 'circular' }), { type: 'relu' }], readout: [{ type: 'gap' }] };
    await expect(kernel(bad, X, null, { backend: 'webgpu' })).rejects.toThrow(/cannot combine a circular conv with a conv whose stride does not divide its input size \(stride 2 on 7 pixels\)/);
    // A stride-1 circular conv next to such a stride: its wrap-around pairs lie in other masked
    // slabs (this ran and was 1–3% off before it was refused).
    await expect(kernel(spec('circular'), X, null, { backend: 'webgpu' })).rejects.toThrow(/cannot combine a circular conv with a conv whose stride does not divide/);
    // "auto" computes such inputs on the CPU and says so; 8 pixels (stride 2 divides) run on WebGPU.
    expect((await kernel(spec('circular'), X, null, { backend: 'auto' })).backend).toBe('cpu');
    await compare('gap, circular then stride 2 on 8 pixels', spec('circular'), images(2, [8], 16), 1e-5);
  });
});

describe('erf, then ReLU, on a near-duplicate: flatten and gap, a ReLU after the readout (≤ 1e−5)', () => {
  // erf's f32 gap form had ~1e−7 of absolute error in 1 − ρ for a near-duplicate (the difference
  // asin u·asin v − asin²√(uv) of O(1) products); a later ReLU's θ = √(2(1 − ρ)) made it 7e−5 in
  // the NTK. It is now a series in ln(u/v) (shaders/kernel_ops.wgsl, op_erf): 1.2e−7. After a gap
  // readout the pooled ρ is a ratio of sums over every pixel pair, whose O(1) off-diagonal gaps
  // carried f32 rounding of the size of the near-duplicate's 1 − ρ: 7.7e−6 in the NTK with f32
  // states (9.9e−6 before the readout summed its terms from exact gaps, ds_gaps.wgsl k_term_ds,
  // 7.7e−5 before the erf change). A nonlinearity after the gap readout now makes the ops after the
  // last residual sum (its ReLU) carry the gap in double-single (spatial-plan.ts, markPrecise):
  // 3.5e−6 on lavapipe. What is left comes from the erf and residual-sum states, whose gaps are f32
  // (only ReLU, conv and the first layer have double-single forms).
  for (const readout of ['flatten', 'gap'] as const) {
    it(`residual erf blocks, then ReLU, ${readout} then ReLU`, async () => {
      const spec: Spec = {
        layers: [
          conv({ biasVar: 0.1 }),
          { type: 'repeat', count: 4, layers: [{ type: 'residual', alpha: 0.7, branch: [{ type: 'erf' }, conv({ weightVar: 1.5, biasVar: 0.1 })] }] },
          { type: 'relu' },
          { type: readout, weightVar: 2 },
          { type: 'relu' },
          { type: 'dense', weightVar: 2, biasVar: 0.1 },
        ],
      };
      await compare(`residual erf then relu ${readout} 2-D`, spec, X2, 1e-5);
    });
  }
});

describe('deep: depth 100 (≤ 1e−5) and depth 1000 (≤ 1e−4) on 1-D signals of 8 pixels', () => {
  for (const readout of ['eq', 'flatten', 'gap']) {
    it(`cntk and rescnn depth 100, ${readout}`, async () => {
      await compare(`cntk depth 100 ${readout}`, `cntk:depth=100,readout=${readout},pad=circular`, XS, 1e-5);
      await compare(`rescnn depth 100 ${readout}`, `rescnn:depth=100,gamma=0.5,readout=${readout},pad=zero`, XS, 1e-5);
    });
    it(`cntk and rescnn depth 1000, ${readout}`, async () => {
      await compare(`cntk depth 1000 ${readout}`, `cntk:depth=1000,readout=${readout},pad=zero`, XS, 1e-4, 'last');
      await compare(`rescnn depth 1000 ${readout}`, `rescnn:depth=1000,alpha=1,readout=${readout},pad=circular`, XS, 1e-4, 'last');
    });
  }
});

describe('depth sweeps: layers after the depth loop, a depth loop in the dense tail (≤ 1e−5)', () => {
  it('a suffix after the loop (the state kept and restored at every depth), every readout', async () => {
    for (const readout of ['eq', 'flatten', 'gap'] as const) {
      const spec: Spec = {
        layers: [conv({ biasVar: 0.1 }), { type: 'repeat', count: 4, layers: [{ type: 'relu' }, conv({ weightVar: 2 })] }],
        readout: [{ type: 'relu' }, conv({ weightVar: 2, padding: 'circular' }), { type: readout, weightVar: 2 }],
      };
      await compare(`suffix after the loop, ${readout}`, spec, X2, 1e-5);
    }
  });
  // A ReLU after a gap readout: the pooled ρ = K(x, z)/√(R(K(x, x))·R(K(z, z))) is a ratio of three
  // separately computed sums, not a gap; for the near-duplicate (1 − ρ ~ 1e−8) the f32 rounding of
  // the pixel pairs' states (i ≠ j, ρ far from 1) is of the size of 1 − ρ itself, and the ReLU's
  // θ = √(2(1 − ρ)) made it 6.2e−5 of the NTK. With a nonlinearity after the readout the segment
  // before it carries the gap in double-single (ds_gaps.wgsl; spatial-plan.ts, markPrecise): 5.2e−8.
  for (const readout of ['flatten', 'gap'] as const) {
    it(`the depth loop in the dense tail after the readout, ${readout} (≤ 1e−5)`, async () => {
      const spec: Spec = {
        layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, conv({ weightVar: 2 }), { type: readout, weightVar: 2 }, { type: 'repeat', count: 3, layers: [{ type: 'relu' }, { type: 'dense', weightVar: 2 }] }],
      };
      await compare(`loop in the tail, ${readout}`, spec, X1, 1e-5);
    });
  }
});

describe('gap after a strided conv inside and after the depth loop (a plan per readout grid; ≤ 1e−5)', () => {
  // Each depth tap of a stride-2 conv in the loop reads out its own grid: the taps of one grid run
  // as one plan (spatial-plan.ts tapGroups), its slab offsets at that grid mapped back through the
  // strides (δ·M). Images 8×8 and 16 pixels (the strides divide every size on the way), then 10
  // pixels (10 → 5 → 3: masked slabs, zero padding only).
  const XB2 = images(2, [8, 8], 21);
  const XB1 = images(2, [16], 22);
  const XB10 = images(2, [10], 23);
  // compare, and the near-duplicate pair (images 0 and 2) printed apart.
  const check = async (name: string, arch: Arch, X: ImagesInput, depths: 'all' | 'last'): Promise<void> => {
    await compare(name, arch, X, 1e-5, depths);
    const cpu = kernelCpu(arch, X, null, { depths });
    const gpu = await kernel(arch, X, null, { backend: 'webgpu', depths });
    const near = (i: number, j: number) => (i === 0 && j === 2) || (i === 2 && j === 0);
    const ek = finiteError(cpu.nngp!, gpu.nngp!, 4, cpu.depths.length, near);
    const et = finiteError(cpu.ntk!, gpu.ntk!, 4, cpu.depths.length, near);
    worst.push(`    its near-duplicate pair: NNGP ${ek.toExponential(1)}, NTK ${et.toExponential(1)}`);
    expect(Math.max(ek, et), 'the near-duplicate pair').toBeLessThanOrEqual(1e-5);
  };
  const body = (padding: 'zero' | 'circular'): Spec => ({
    layers: [conv({ biasVar: 0.1, padding }), { type: 'relu' }, { type: 'repeat', count: 2, layers: [conv({ stride: 2, weightVar: 2, biasVar: 0.05, padding }), { type: 'relu' }] }],
    readout: [{ type: 'gap', weightVar: 1.5 }],
  });
  const suffix = (padding: 'zero' | 'circular'): Spec => ({
    layers: [conv({ biasVar: 0.1, padding }), { type: 'relu' }, { type: 'repeat', count: 3, layers: [conv({ weightVar: 2, padding }), { type: 'relu' }] }],
    readout: [conv({ stride: 2, weightVar: 2, biasVar: 0.1, padding }), { type: 'relu' }, { type: 'gap' }],
  });
  const both = (padding: 'zero' | 'circular'): Spec => ({
    layers: [conv({ padding }), { type: 'relu' }, { type: 'repeat', count: 1, layers: [conv({ stride: 2, weightVar: 2, padding }), { type: 'relu' }, conv({ weightVar: 2, biasVar: 0.1, padding })] }],
    readout: [{ type: 'relu' }, conv({ stride: 2, weightVar: 2, padding }), { type: 'gap' }, { type: 'relu' }, { type: 'dense', weightVar: 2 }],
  });
  for (const padding of ['zero', 'circular'] as const) {
    for (const depths of ['all', 'last'] as const) {
      it(`a stride-2 conv in the loop, ${padding}, depths ${depths}, 1-D and 2-D`, async () => {
        await check(`strided loop gap ${padding} ${depths} 2-D`, body(padding), XB2, depths);
        await check(`strided loop gap ${padding} ${depths} 1-D`, body(padding), XB1, depths);
      });
      it(`a stride-2 conv after the loop, ${padding}, depths ${depths}, 1-D and 2-D`, async () => {
        await check(`strided suffix gap ${padding} ${depths} 2-D`, suffix(padding), XB2, depths);
        await check(`strided suffix gap ${padding} ${depths} 1-D`, suffix(padding), XB1, depths);
      });
      it(`stride-2 convs in and after the loop, a ReLU after the readout, ${padding}, depths ${depths}, 1-D and 2-D`, async () => {
        await check(`strided loop+suffix gap relu ${padding} ${depths} 2-D`, both(padding), XB2, depths);
        await check(`strided loop+suffix gap relu ${padding} ${depths} 1-D`, both(padding), XB1, depths);
      });
    }
  }
  it('zero padding on 10 pixels (10 → 5 → 3: masked slabs), in and after the loop, depths all and last', async () => {
    for (const depths of ['all', 'last'] as const) {
      await check(`strided loop gap zero 10 px ${depths}`, body('zero'), XB10, depths);
      await check(`strided loop+suffix gap relu zero 10 px ${depths}`, both('zero'), XB10, depths);
    }
  });
  it('an avgPool before a strided loop (the segment before it per plan), both paddings, depths all and last', async () => {
    for (const padding of ['zero', 'circular'] as const) {
      // 8×8 → 4×4 → 2×2 → 1×1 with 1×1 filters in the loop; 16 → 8 → 4 → 2 with 3.
      const spec = (filter: number): Spec => ({
        layers: [conv({ biasVar: 0.1, padding }), { type: 'relu' }, { type: 'avgPool', window: 2 }, { type: 'repeat', count: 2, layers: [conv({ stride: 2, weightVar: 2, padding, filter }), { type: 'relu' }] }],
        readout: [{ type: 'gap' }, { type: 'relu' }, { type: 'dense' }],
      });
      for (const depths of ['all', 'last'] as const) {
        await check(`pool, strided loop, gap, relu ${padding} ${depths} 2-D`, spec(1), XB2, depths);
        await check(`pool, strided loop, gap, relu ${padding} ${depths} 1-D`, spec(3), XB1, depths);
      }
    }
  });
  it('circular padding where a stride in the loop does not divide a tap\'s grid: an InputError naming it, "auto" on the CPU', async () => {
    await expect(kernel(body('circular'), XB10, null, { backend: 'webgpu' })).rejects.toThrow(/cannot combine a circular conv with a conv whose stride does not divide its input size \(stride 2 on 5 pixels\)/);
    expect((await kernel(body('circular'), XB10, null, { backend: 'auto' })).backend).toBe('cpu');
  });
});

describe('the API', () => {
  it('zero images, and inputs whose scales differ by more than 2^60 (an InputError, not a silent underflow)', async () => {
    const a = Array.from({ length: 72 }, (_, k) => Math.sin(k));
    const X = { data: [...a, ...new Array<number>(72).fill(0), ...a.map((v, k) => (k % 6 < 3 ? 0 : v))], shape: [3, 2, 6, 6] };
    const cpu = kernelCpu('cntk:depth=3,readout=gap', X);
    const gpu = await kernel('cntk:depth=3,readout=gap', X, null, { backend: 'webgpu' });
    for (let i = 0; i < 9; i++) expect(Math.abs(gpu.ntk![i]! - cpu.ntk![i]!)).toBeLessThan(1e-6);
    const far = { data: [...a, ...a.map((v) => v * 1e-20)], shape: [2, 2, 6, 6] };
    await expect(kernel('cntk:depth=3', far, null, { backend: 'webgpu' })).rejects.toThrow(/differ in scale by more than 2\^60/);
  });

  it('an aborted signal rejects with its reason', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(kernel('cntk:depth=2', X2, null, { backend: 'webgpu', signal: ac.signal })).rejects.toThrow('stop');
  });

  it('"auto" computes conv specs on WebGPU; X1 × X2, the diagonal and blocks agree with the whole result', async () => {
    const arch = 'cntk:depth=3,readout=gap';
    const whole = await kernel(arch, X2, null, { backend: 'auto' });
    expect(whole.backend).toBe('webgpu');
    const cross = await kernel(arch, X2, X2, { backend: 'webgpu' });
    const diag = await kernel(arch, X2, null, { backend: 'webgpu', diagonal: true });
    const cpu = kernelCpu(arch, X2, X2);
    for (let i = 0; i < 4; i++) {
      expect(diag.ntk![i]).toBeCloseTo(whole.ntk![i * 4 + i]!, 12);
      for (let j = 0; j < 4; j++) expect(Math.abs(cross.nngp![i * 4 + j]! - cpu.nngp![i * 4 + j]!)).toBeLessThan(1e-5 * Math.sqrt(cpu.nngp![i * 5]! * cpu.nngp![j * 5]!));
    }
    const got = new Float64Array(16);
    for await (const b of kernelBlocks(arch, X2, null, { backend: 'webgpu', blockRows: 3, get: 'ntk' })) {
      for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) got[(b.row0 + i) * 4 + b.col0 + j] = b.ntk![i * b.cols + j]!;
    }
    expect(Array.from(got)).toEqual(Array.from(whole.ntk!));
  });

  it('avgPool runs on WebGPU (test/gpu-conv-pool.test.ts); a circular conv with a non-dividing stride before it is an InputError naming it, "auto" computes on the CPU and says so', async () => {
    const ok: Spec = { layers: [conv({ padding: 'circular' }), { type: 'relu' }, { type: 'avgPool', window: 2 }, conv(), { type: 'gap' }] };
    expect((await kernel(ok, X2, null, { backend: 'auto' })).backend).toBe('webgpu');
    const spec: Spec = { layers: [conv({ padding: 'circular', stride: 4 }), { type: 'relu' }, { type: 'avgPool', window: 2 }, conv({ filter: 1 }), { type: 'gap' }] };
    await expect(kernel(spec, X2, null, { backend: 'webgpu' })).rejects.toThrow(InputError);
    await expect(kernel(spec, X2, null, { backend: 'webgpu' })).rejects.toThrow(/circular conv before an avgPool .* \(stride 4 on 6 pixels\) has no WebGPU kernel/);
    expect((await kernel(spec, X2, null, { backend: 'auto' })).backend).toBe('cpu');
  });
});

describe('gap readouts whose sum over pixel pairs cancels (one-channel images, ρ0 = ±1)', () => {
  // rescnn's depth 0 is its linear stem: with one channel its gap kernel is the mean pixel product,
  // ~1e−5 of the terms summed. With f32 gaps and f32 Θ sums it was 3.8e−5 … 7.6e−5 off (normalised).
  const one = (dims: number[], seed: number) => images(1, dims, seed);
  it('rescnn, one channel, gap: every depth ≤ 1e−6 (the stem read in double-single)', async () => {
    await compare('one channel: rescnn gap circular 16×16', 'rescnn:depth=2,alpha=0.7,readout=gap,pad=circular', one([16, 16], 60), 1e-6);
    await compare('one channel: rescnn gap circular 8×8', 'rescnn:depth=2,alpha=0.7,readout=gap,pad=circular', one([8, 8], 61), 1e-6);
    await compare('one channel: rescnn gap zero 1-D 20', 'rescnn:depth=3,alpha=0.7,readout=gap,pad=zero', one([20], 62), 1e-6);
  });

  // A strong skip path carries the stem's mixed-sign gaps to every depth: the residual sums read
  // and write them in double-single too (resmix_gap_ds). With f32 residual sums: 1.8e−4 and 1.9e−5.
  it('rescnn with small α, one channel, gap: ≤ 1e−6 (the residual sums in double-single)', async () => {
    await compare('one channel: rescnn α = 0.001 depth 10 gap circular 8×8', 'rescnn:depth=10,alpha=0.001,readout=gap,pad=circular', convImages(1, [8, 8], 71), 1e-6);
    await compare('one channel: rescnn γ = 1 depth 100 gap zero 8×8', 'rescnn:depth=100,gamma=1,readout=gap,pad=zero', convImages(1, [8, 8], 71), 1e-6, 'last');
  });

  it('a smooth activation out of range before a gap readout is an InputError (the bad-pair mark in the gap output)', async () => {
    const spec: Spec = { layers: [{ type: 'conv' }, { type: 'tanh' }, { type: 'conv', weightVar: 2 }], readout: [{ type: 'gap' }] };
    const big = images(2, [6, 6], 63);
    const X = { data: (big.data as number[]).map((v) => 100 * v), shape: big.shape };
    await expect(kernel(spec, X, null, { backend: 'webgpu' })).rejects.toThrow(InputError);
    await expect(kernel(spec, X, null, { backend: 'webgpu' })).rejects.toThrow(/met an input variance above 64/);
    // The same spec in range runs.
    expect((await kernel(spec, images(2, [6, 6], 63), null, { backend: 'webgpu' })).nngp!.every(Number.isFinite)).toBe(true);
  });
});

describe('pipelines compiled ahead of the float64 pre-pass (spatial-webgpu.ts prefetchPipelines)', () => {
  // The prefetch records the plans with placeholder diagonal offsets and scales: the same structure,
  // so the same shader source, which runConvPairs then finds in the pipeline cache. A source that
  // differed would compile twice (and, on a CPU adapter, take the cores from the pre-pass).
  // Each count on a fresh device, whose pipeline cache is empty.
  const compiledBy = async (arch: Arch | Spec, X: ImagesInput, layout: 'global' | null = null): Promise<number> => {
    await releaseGpu();
    const ctx = await requireGpu();
    forceConvLayoutForTests(layout);
    try {
      const r = await kernel(arch, X, null, { backend: 'webgpu' });
      expect(r.ntk!.every(Number.isFinite)).toBe(true);
      return pipelineStats(ctx.device).compiled;
    } finally {
      forceConvLayoutForTests(null);
    }
  };
  it('one compilation per shader: the slab shader; the global layout\'s layer and readout; a pooled plan\'s slab and pool', async () => {
    expect(await compiledBy('cntk:depth=2,readout=gap,pad=zero', images(2, [5, 7], 81))).toBe(1);
    expect(await compiledBy('cntk:depth=2,readout=flatten,pad=circular', images(2, [7, 5], 82), 'global')).toBe(2);
    const pooled: Spec = { layers: [{ type: 'conv' }, { type: 'relu' }, { type: 'avgPool', window: 2 }, { type: 'conv' }, { type: 'relu' }], readout: [{ type: 'gap' }] };
    expect(await compiledBy(pooled, images(2, [6, 10], 83))).toBe(2);
  });
});
