/**
 * avgPool on WebGPU (shaders/conv_pool.wgsl between segments of the slab shader) against the
 * float64 CPU path: eq, flatten and gap readouts after a pool, windows 2/stride 2, 3/stride 1 and
 * 2/stride 1 on odd sizes, 1-D and 2-D, a strided conv before the pool, biases, a ReLU after it, two
 * pools, and a pool in the prefix of a depth sweep with depths "all"; both layouts. Error = max
 * |K_gpu − K_cpu| / √(K_cpu(x,x)·K_cpu(z,z)) over every tap, on inputs with a near-duplicate (1e−4 of
 * its norm apart) and a shifted copy; the near-duplicate pair's own error is printed apart. Then
 * the refusals: InputError naming the case, and "auto" computing on the CPU.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel, type Arch } from '../src/index.js';
import { InputError } from '../src/errors.js';
import type { ImagesInput } from '../src/images.js';
import type { Layer, Spec } from '../src/spec/types.js';
import { convImages, releaseGpuForTests, requireGpu } from './gpu/setup.js';
import { compareConvWithCpu } from './gpu/conv-compare.js';
import { forceConvLayoutForTests } from '../src/gpu/conv.js';

/** The shared measure (test/gpu/inputs.ts), which must be finite. */
beforeAll(async () => {
  await requireGpu();
});

const worst: string[] = [];
afterAll(async () => {
  console.log(`WebGPU avgPool, worst normalised errors (every pair but the near-duplicate; the near-duplicate pair):\n${worst.join('\n')}`);
  await releaseGpuForTests();
});

const images = convImages;

const compare = (name: string, arch: Arch, X: ImagesInput, tol: number, depths: 'all' | 'last' = 'all') =>
  compareConvWithCpu(worst, name, arch, X, tol, depths);

const conv = (over: Partial<Extract<Layer, { type: 'conv' }>> = {}): Layer => ({ type: 'conv', ...over });
const pool = (window: number, stride?: number): Layer => ({ type: 'avgPool', window, ...(stride !== undefined ? { stride } : {}) });

const X1 = images(2, [9], 21);
const X2 = images(2, [6, 6], 22);
const X2odd = images(1, [5, 5], 23);

describe('avgPool then a readout, 1-D and 2-D (≤ 1e−5)', () => {
  for (const readout of ['eq', 'flatten', 'gap'] as const) {
    it(`window 2 stride 2, window 3 stride 1, window 2 stride 1 on odd sizes: ${readout}`, async () => {
      for (const [w, s, X, dim] of [
        [2, 2, X2, '6×6'],
        [3, 1, X2, '6×6'],
        [2, 1, X2odd, '5×5'],
        [2, 2, X1, '9'],
        [3, 1, X1, '9'],
      ] as const) {
        const spec: Spec = {
          layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, pool(w, s), conv({ weightVar: 2 }), { type: 'relu' }],
          readout: [{ type: readout, weightVar: 1.5, biasVar: 0.1 }],
        };
        await compare(`pool ${w}/${s} ${readout} ${dim}`, spec, X, 1e-5);
      }
    });
  }
});

describe('more layers around the pool', () => {
  it('a stride-2 conv before the pool, biases, a ReLU right after it; 2-D and 1-D', async () => {
    // (A ReLU right after a pool needs a Gaussian pool input: a conv, not an activation.)
    const spec = (readout: 'eq' | 'flatten' | 'gap'): Spec => ({
      layers: [conv({ biasVar: 0.1 }), { type: 'relu' }, conv({ stride: 2, weightVar: 2, biasVar: 0.2 }), pool(2, 1), { type: 'relu' }, conv({ weightVar: 2, biasVar: 0.05 }), { type: 'relu' }],
      readout: [{ type: readout, weightVar: 2 }],
    });
    for (const readout of ['eq', 'flatten', 'gap'] as const) {
      await compare(`stride 2 conv, pool 2/1, ReLU ${readout} 7×7`, spec(readout), images(1, [7, 7], 31), 1e-5);
      await compare(`stride 2 conv, pool 2/1, ReLU ${readout} 11`, spec(readout), images(2, [11], 32), 1e-5);
    }
  });

  it('two pools (gap, flatten) and a frozen conv between them', async () => {
    for (const readout of ['flatten', 'gap'] as const) {
      const spec: Spec = {
        layers: [conv(), { type: 'relu' }, pool(2), conv({ weightVar: 2, trainable: false }), { type: 'relu' }, pool(2, 1), conv({ weightVar: 2 }), { type: 'relu' }],
        readout: [{ type: readout }],
      };
      await compare(`two pools ${readout} 8×8`, spec, images(1, [8, 8], 33), 1e-5);
    }
  });

  it('a pool in the prefix of a depth sweep, depths "all" (cntk-like repeat after the pool), with a dense tail', async () => {
    for (const readout of ['eq', 'gap'] as const) {
      const spec: Spec = {
        layers: [conv(), { type: 'relu' }, pool(2), { type: 'repeat', count: 3, layers: [conv({ weightVar: 2 }), { type: 'relu' }] }, { type: readout }, { type: 'relu' }, { type: 'dense', weightVar: 2 }],
      };
      await compare(`pool then a depth-3 sweep, ${readout}, dense tail, 6×6`, spec, X2, 1e-5);
    }
  });

  it('a pool inside the depth loop with depths "last" (one pool per depth)', async () => {
    const spec: Spec = {
      layers: [conv(), { type: 'relu' }, { type: 'repeat', count: 2, layers: [conv({ weightVar: 2 }), { type: 'relu' }, pool(2, 1)] }],
      readout: [{ type: 'flatten' }],
    };
    await compare('a pool per depth, flatten, 6×6', spec, X2, 1e-5, 'last');
  });

  it('the GPUs\' layout (threads sharing a slab in workgroup memory), forced: gap and eq after a pool', async () => {
    forceConvLayoutForTests('workgroup');
    try {
      for (const readout of ['eq', 'gap'] as const) {
        const spec: Spec = { layers: [conv(), { type: 'relu' }, pool(2), conv({ weightVar: 2 }), { type: 'relu' }], readout: [{ type: readout }] };
        await compare(`workgroup layout: pool 2/2 ${readout} 6×6`, spec, X2, 1e-5);
      }
    } finally {
      forceConvLayoutForTests(null);
    }
  });
});

describe('refusals: an InputError naming the case, and "auto" computes on the CPU', () => {
  const cases: [string, Spec, RegExp, 'all' | 'last'][] = [
    [
      'a circular conv before a pool, with a stride that does not divide the size',
      { layers: [conv({ padding: 'circular', stride: 2 }), { type: 'relu' }, pool(2, 1), conv({ filter: 1 })], readout: [{ type: 'flatten' }] },
      /a circular conv before an avgPool .* \(stride 2 on 5 pixels\) has no WebGPU kernel/,
      'last',
    ],
    [
      'a pool inside the depth loop with depths "all"',
      { layers: [conv(), { type: 'relu' }, { type: 'repeat', count: 2, layers: [conv(), { type: 'relu' }, pool(2, 1)] }], readout: [{ type: 'flatten' }] },
      /avgPool inside or after the depth loop with depths "all"/,
      'all',
    ],
    [
      'a residual block around a pool',
      { layers: [conv(), { type: 'relu' }, { type: 'residual', alpha: 0.5, branch: [pool(1), conv()] }], readout: [{ type: 'flatten' }] },
      /a residual block around an avgPool/,
      'last',
    ],
  ];
  for (const [what, spec, message, depths] of cases) {
    it(what, async () => {
      const X = what.includes('divide') ? X2odd : X2;
      await expect(kernel(spec, X, null, { backend: 'webgpu', depths })).rejects.toThrow(InputError);
      await expect(kernel(spec, X, null, { backend: 'webgpu', depths })).rejects.toThrow(message);
      const auto = await kernel(spec, X, null, { backend: 'auto', depths });
      expect(auto.backend).toBe('cpu');
    });
  }
});

describe('circular convs around pools: the circular partition of slabs (≤ 1e−5)', () => {
  it('circular convs before a pool (a dividing stride 2 too), every readout, 2-D and 1-D', async () => {
    const spec = (readout: 'eq' | 'flatten' | 'gap'): Spec => ({
      layers: [conv({ padding: 'circular', biasVar: 0.1 }), { type: 'relu' }, conv({ padding: 'circular', stride: 2, weightVar: 2 }), { type: 'relu' }, pool(2, 1), conv({ padding: 'circular', weightVar: 2 }), { type: 'relu' }],
      readout: [{ type: readout }],
    });
    for (const readout of ['eq', 'flatten', 'gap'] as const) {
      await compare(`circular, stride 2, pool 2/1, circular ${readout} 8×8`, spec(readout), images(1, [8, 8], 51), 1e-5);
      await compare(`circular, stride 2, pool 2/1, circular ${readout} 10`, spec(readout), images(2, [10], 52), 1e-5);
    }
  });

  it('a circular conv only after the pool: flatten (slab 0) and gap (the circular partition)', async () => {
    for (const readout of ['flatten', 'gap'] as const) {
      const spec: Spec = { layers: [conv(), { type: 'relu' }, pool(2), conv({ padding: 'circular', weightVar: 2 }), { type: 'relu' }], readout: [{ type: readout }] };
      await compare(`circular conv after the pool, ${readout} 6×6`, spec, X2, 1e-5);
    }
  });
});

describe('submits', () => {
  it('one pair per submit (the state buffer per chunk) gives the very same numbers', async () => {
    const spec: Spec = { layers: [conv(), { type: 'relu' }, pool(2), conv({ weightVar: 2 }), { type: 'relu' }, pool(2, 1), conv()], readout: [{ type: 'gap' }] };
    const X = images(1, [8, 8], 41);
    const whole = await kernel(spec, X, null, { backend: 'webgpu' });
    const one = await kernel(spec, X, null, { backend: 'webgpu', maxPairOpsPerSubmit: 1 });
    expect(Array.from(one.ntk!)).toEqual(Array.from(whole.ntk!));
    expect(Array.from(one.nngp!)).toEqual(Array.from(whole.nngp!));
  });
});
