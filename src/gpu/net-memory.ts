/**
 * What a sampled network's pass (src/gpu/empirical.ts) and its training (src/gpu/train.ts) hold
 * on a WebGPU device, from the layers' shapes alone, and the refusal of what cannot fit: a buffer
 * above the device's maxBufferSize, or a matrix row above one storage binding (larger matrices are
 * bound in windows of rows, so maxStorageBufferBindingSize bounds a row, not a matrix). Pure
 * functions of the shapes and the limits: checked before anything is drawn or allocated.
 */
import { InputError } from '../errors.js';
import type { LayerShape } from '../mc/batched.js';

export interface BufferLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

/** The kernel block (rows n1 against n2) or the training rows (n, with nTest test rows in the batch). */
export type DeviceWork = { kind: 'kernel'; n1: number; n2: number } | { kind: 'train'; n: number; copies: number };

export interface DeviceNeeds {
  /** The largest single buffer, in bytes, and what it holds. */
  largest: { bytes: number; what: string };
  /** The longest matrix row, in bytes (it must fit one storage binding). */
  row: { bytes: number; what: string };
  /** All buffers together (an estimate: the pass keeps every layer's activations and gradients). */
  total: number;
}

const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1)} GiB`;

/** The f32 buffers of a pass over N batch rows (and of training, or of the kernel's Grams). */
export function deviceNeeds(shapes: readonly LayerShape[], N: number, work: DeviceWork): DeviceNeeds {
  let largest = { bytes: 0, what: '' };
  let row = { bytes: 0, what: '' };
  let total = 0;
  const add = (bytes: number, what: string, count = 1) => {
    if (bytes > largest.bytes) largest = { bytes, what };
    total += bytes * count;
  };
  const train = work.kind === 'train';
  const copies = train ? work.copies : 1;
  let gradient = 0;
  for (const l of shapes) {
    const w = 4 * l.outDim * l.fanIn;
    const trained = train && l.trainable;
    add(w, `the f32 weights of a ${l.outDim} × ${l.fanIn} layer`, copies * (trained ? 2 : 1));
    if (trained) gradient = Math.max(gradient, w);
    if (4 * l.fanIn > row.bytes) row = { bytes: 4 * l.fanIn, what: `a row of a ${l.outDim} × ${l.fanIn} layer's weights` };
    // Its input (N × fanIn, a denseBlock's concatenation) and input gradient, its output and output gradient.
    add(4 * N * l.fanIn, `the ${N} × ${l.fanIn} activations of ${N} inputs`, 2 * copies);
    add(4 * N * l.outDim, `the ${N} × ${l.outDim} activations of ${N} inputs`, 2 * copies);
    if (4 * l.fanIn > row.bytes) row = { bytes: 4 * l.fanIn, what: `a row of the ${N} × ${l.fanIn} activations` };
  }
  if (gradient > 0) add(gradient, 'the f32 weight gradient of the largest trained layer');
  const [n1, n2] = work.kind === 'kernel' ? [work.n1, work.n2] : [work.n, work.n];
  // The Grams ΔΔᵀ and AAᵀ (f32) and the double-single kernel T.
  add(4 * n1 * n2, `a ${n1} × ${n2} Gram`, 2);
  add(8 * n1 * n2, `the ${n1} × ${n2} double-single kernel`);
  return { largest, row, total };
}

/**
 * Refuses, in one InputError naming the width, the bytes and the device's limit, a network whose
 * buffers do not fit this device: one buffer above maxBufferSize, or a row above one storage binding.
 */
export function checkDeviceFits(shapes: readonly LayerShape[], width: number, N: number, work: DeviceWork, limits: BufferLimits): DeviceNeeds {
  const needs = deviceNeeds(shapes, N, work);
  const { largest, row, total } = needs;
  const all = `about ${gib(total)} of device buffers in all`;
  if (largest.bytes > limits.maxBufferSize) {
    throw new InputError(
      `width ${width}: ${largest.what} need ${largest.bytes} bytes (${gib(largest.bytes)}) in one device buffer, above this device's maxBufferSize of ${limits.maxBufferSize} bytes (${gib(limits.maxBufferSize)}; ${all}); use a smaller width or fewer inputs, or backend "cpu"`,
    );
  }
  // A window of rows starts at an aligned offset: up to 256 bytes before the row.
  if (row.bytes + 256 > limits.maxStorageBufferBindingSize) {
    throw new InputError(
      `width ${width}: ${row.what} needs ${row.bytes} bytes in one storage binding, above this device's maxStorageBufferBindingSize of ${limits.maxStorageBufferBindingSize} bytes; use a smaller width, or backend "cpu"`,
    );
  }
  return needs;
}
