/**
 * What a sampled network needs on a WebGPU device (src/gpu/net-memory.ts), from its shapes alone,
 * and the refusal of what does not fit, tested with the limits of a device (no GPU, nothing allocated):
 * lavapipe's (maxBufferSize 2³² − 1, maxStorageBufferBindingSize 2²⁷) and smaller ones.
 */
import { describe, expect, it } from 'vitest';
import { resolveSpec } from '../src/index.js';
import { SampledNetwork } from '../src/mc/batched.js';
import { parsePresetRef } from '../src/spec/presets.js';
import { checkDeviceFits, deviceNeeds } from '../src/gpu/net-memory.js';

const LAVAPIPE = { maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 27 };
const shapesOf = (arch: string, d: number, width: number) => SampledNetwork.plan(resolveSpec(parsePresetRef(arch)), d, width).shapes;

describe('device buffers of a sampled network', () => {
  it('mlp:depth=2 at width 16 384: the 1 GiB hidden matrix is the largest buffer, and it fits lavapipe (bound in windows of rows)', () => {
    const w = 16384;
    const shapes = shapesOf('mlp:depth=2', 5, w);
    const k = deviceNeeds(shapes, 64, { kind: 'kernel', n1: 64, n2: 64 });
    expect(k.largest.bytes).toBe(4 * w * w);
    expect(k.largest.what).toBe(`the f32 weights of a ${w} × ${w} layer`);
    expect(k.row.bytes).toBe(4 * w);
    expect(() => checkDeviceFits(shapes, w, 64, { kind: 'kernel', n1: 64, n2: 64 }, LAVAPIPE)).not.toThrow();
    // Training holds the weights twice (hi and lo) and the gradient of the largest trained layer.
    const t = deviceNeeds(shapes, 64, { kind: 'train', n: 64, copies: 1 });
    expect(t.total - k.total).toBeGreaterThanOrEqual(2 * 4 * w * w);
    expect(() => checkDeviceFits(shapes, w, 1024, { kind: 'train', n: 1024, copies: 2 }, LAVAPIPE)).not.toThrow();
  });

  it('refuses, in one line naming the width, the bytes and the limit: a buffer above maxBufferSize', () => {
    const w = 32768;
    const shapes = shapesOf('mlp:depth=2', 5, w);
    const call = () => checkDeviceFits(shapes, w, 64, { kind: 'kernel', n1: 64, n2: 64 }, LAVAPIPE);
    expect(call).toThrow(
      new RegExp(`^width 32768: the f32 weights of a 32768 × 32768 layer need ${4 * w * w} bytes \\(4\\.0 GiB\\) in one device buffer, above this device's maxBufferSize of ${2 ** 32 - 1} bytes \\(4\\.0 GiB; about [\\d.]+ GiB of device buffers in all\\); use a smaller width`),
    );
    // A smaller device refuses a smaller network; the same network fits a larger one.
    expect(() => checkDeviceFits(shapesOf('mlp:depth=2', 5, 1024), 1024, 64, { kind: 'kernel', n1: 64, n2: 64 }, { maxBufferSize: 2 ** 22 - 4, maxStorageBufferBindingSize: 2 ** 22 })).toThrow(
      /^width 1024: the f32 weights of a 1024 × 1024 layer need 4194304 bytes/,
    );
    expect(() => checkDeviceFits(shapesOf('mlp:depth=2', 5, 1024), 1024, 64, { kind: 'kernel', n1: 64, n2: 64 }, { maxBufferSize: 2 ** 22, maxStorageBufferBindingSize: 2 ** 16 })).not.toThrow();
  });

  it('the largest buffer may be the activations or the kernel of many inputs, and a row must fit one binding', () => {
    const shapes = shapesOf('mlp:depth=2', 5, 512);
    const big = deviceNeeds(shapes, 4096, { kind: 'kernel', n1: 4096, n2: 4096 });
    expect(big.largest).toEqual({ bytes: 8 * 4096 * 4096, what: 'the 4096 × 4096 double-single kernel' });
    expect(() => checkDeviceFits(shapes, 512, 64, { kind: 'kernel', n1: 64, n2: 64 }, { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 1024 })).toThrow(
      /^width 512: a row of a 512 × 512 layer's weights needs 2048 bytes in one storage binding, above this device's maxStorageBufferBindingSize of 1024 bytes/,
    );
  });

  it('a DenseNet block reads a concatenation of depth × width features', () => {
    const shapes = shapesOf('densenet:depth=3', 5, 100);
    const n = deviceNeeds(shapes, 10, { kind: 'kernel', n1: 10, n2: 10 });
    expect(n.row.bytes).toBe(4 * Math.max(...shapes.map((l) => l.fanIn)));
    expect(Math.max(...shapes.map((l) => l.fanIn))).toBeGreaterThan(100);
  });
});
