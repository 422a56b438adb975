/// <reference types="@webgpu/types" preserve="true" />
/**
 * K(X1, X2)·P on WebGPU without the kernel leaving the device (matrix-free conjugate gradients):
 * gram.ts computes each block (first layer and recursion, as for a Gram matrix) and, in the same
 * command buffer, shaders/gram_times.wgsl multiplies the block into the right-hand sides and adds
 * it to a double-single running total per row. Only P goes up (once) and K·P comes back (once), so
 * device and host memory are O(n·(d + outputs)) plus one block, whatever n; nothing of size n²
 * crosses the bus. For X × X the upper triangle is computed once and each off-diagonal block is
 * also multiplied transposed.
 *
 * Precision: the entries are the f32 kernel of the Gram path (the same values as its blocks); P goes
 * up as double-single pairs (each column scaled by an exact power of two), each term is formed
 * exactly and the sums are double-single, so the result is the float64 product of that f32 kernel
 * to about 2^-44 of Σ_j |K_ij·P_j| (less where the sum cancels): a fixed operator, so
 * CG converges to the solution of the f32 kernel's system (a product rounded to f32 per term
 * stalled 1.7e-5 away from it at n = 600). The normaliser's mantissa is applied in float64 on the host.
 * Faults (shaders/gram_times.wgsl) come back with the product, so they are reported after the last
 * block rather than at the first bad one.
 */
import { InputError } from '../errors.js';
import type { Matrix2D } from '../matrix.js';
import type { KernelProgram, Normalizers } from '../program/program.js';
import type { GramRequest, KernelKind } from '../result.js';
import type { GpuContext } from './device.js';
import { GpuBuffers } from './buffers.js';
import { checkDevice, compiled, dispatch2d, gramTailWebGPU, inErrorScopes, smoothRangeError, type BlockTail, type GpuRunOptions } from './gram.js';
import { GRAM_TIMES_PARAMS, packStruct, structBytes, wgslStruct } from './layout.js';
import { EMPIRICAL_COMMON_WGSL, GRAM_TIMES_WGSL } from './shaders.generated.js';

const SOURCE = wgslStruct(GRAM_TIMES_PARAMS) + EMPIRICAL_COMMON_WGSL + GRAM_TIMES_WGSL;
const LABEL = 'webntk gram·P';

/** Fault bits of the shader's flag word (shaders/gram_times.wgsl). */
const FAULT_SMOOTH = 1;
const FAULT_NONFINITE = 2;
const FAULT_RANGE = 4;

/**
 * K(X1, X2)·P (X1 × X1 when x2 is null) for one kernel at the last depth; P row-major
 * (rows of X2) × k, the result row-major (rows of X1) × k in float64.
 */
export async function gramTimesWebGPU(
  ctx: GpuContext,
  p: KernelProgram,
  x1: Matrix2D,
  x2: Matrix2D | null,
  kind: KernelKind,
  P: Float64Array,
  k: number,
  opt: GpuRunOptions,
  norms: Normalizers | null,
): Promise<Float64Array> {
  const n1 = x1.rows;
  const n2 = (x2 ?? x1).rows;
  if (!Number.isInteger(k) || k < 1) throw new InputError(`the right-hand sides need at least one column, got ${k}`);
  if (P.length !== n2 * k) throw new InputError(`the right-hand sides have ${P.length} values, expected ${n2} × ${k}`);
  const quads = Math.ceil(k / 4);
  const { device } = ctx;
  const cap = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  const yBytes = n1 * quads * 32;
  const pBytes = n2 * quads * 32;
  if (Math.max(yBytes, pBytes) > cap) {
    throw new InputError(
      `K·P on WebGPU needs ${Math.max(yBytes, pBytes)} bytes in one buffer, more than this device's ${cap}: ` + 'use fewer right-hand sides or backend "cpu"',
    );
  }
  const T = p.depths.length;
  const kn = norms ? norms[kind][T - 1]! : 1;
  const shift = norms ? -norms.exp[T - 1]! : 0;
  const req: GramRequest = { get: [kind], diagonal: false, allDepths: false };

  // Each column of P is scaled by an exact power of two to a largest entry in [1, 2), so that
  // neither the f32 products nor Dekker's error terms overflow or flush to zero whatever P's scale.
  const colScale = new Float64Array(k).fill(1);
  for (let c = 0; c < k; c++) {
    let m = 0;
    for (let i = 0; i < n2; i++) m = Math.max(m, Math.abs(P[i * k + c]!));
    if (!Number.isFinite(m)) throw new InputError(`the right-hand sides hold a non-finite value (column ${c})`);
    if (m > 0) colScale[c] = 2 ** -Math.floor(Math.log2(m));
  }

  const U = GPUBufferUsage;
  const bufs = new GpuBuffers(device, LABEL);
  const buffer = bufs.buffer.bind(bufs);
  let staged!: { y: Float32Array; fault: number };
  try {
    await inErrorScopes(device, async () => {
      const pipeline = await compiled(device, SOURCE, LABEL);
      const params = buffer('params', structBytes(GRAM_TIMES_PARAMS), U.UNIFORM | U.COPY_DST);
      const pBuf = buffer('P', pBytes, U.STORAGE | U.COPY_DST);
      const yBuf = buffer('K·P (double-single)', yBytes, U.STORAGE | U.COPY_SRC);
      const flags = buffer('faults', 16, U.STORAGE | U.COPY_SRC);
      const yRead = buffer('K·P readback', yBytes, U.MAP_READ | U.COPY_DST);
      const fRead = buffer('faults readback', 16, U.MAP_READ | U.COPY_DST);
      // P as double-single pairs: vec4 hi then vec4 lo per (row, quad).
      const pf = new Float32Array(n2 * quads * 8);
      for (let i = 0; i < n2; i++) {
        for (let c = 0; c < k; c++) {
          const at = 2 * (i * quads + Math.floor(c / 4)) * 4 + (c % 4);
          const v = P[i * k + c]! * colScale[c]!;
          const hi = Math.fround(v);
          pf[at] = hi;
          pf[at + 4] = v - hi;
        }
      }
      device.queue.writeBuffer(pBuf, 0, pf);

      // One bind group per outputs buffer (a run has one).
      let bound: { out: GPUBuffer; group: GPUBindGroup } | null = null;
      const maxPerDim = device.limits.maxComputeWorkgroupsPerDimension;
      const tail: BlockTail = (enc, job, out) => {
        const transposed = !x2 && !job.diagBlock;
        device.queue.writeBuffer(
          params,
          0,
          packStruct(GRAM_TIMES_PARAMS, {
            rows: job.rows,
            cols: job.cols,
            quads,
            r0: job.r0,
            c0: job.c0,
            diagBlock: job.diagBlock ? 1 : 0,
            transposed: transposed ? 1 : 0,
            comp: kind === 'nngp' ? 0 : 2,
            shift,
            one: 1,
          }),
        );
        if (!bound || bound.out !== out) {
          const group = device.createBindGroup({
            label: `${LABEL}: bindings`,
            layout: pipeline.getBindGroupLayout(0),
            entries: [params, out, pBuf, yBuf, flags].map((b, binding) => ({ binding, resource: { buffer: b } })),
          });
          bound = { out, group };
        }
        const pass = enc.beginComputePass({ label: `${LABEL}: block` });
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bound.group);
        dispatch2d(pass, (job.rows + (transposed ? job.cols : 0)) * quads, maxPerDim);
        pass.end();
      };
      await gramTailWebGPU(ctx, p, x1, x2, req, opt, tail);

      const enc = device.createCommandEncoder({ label: `${LABEL}: readback` });
      enc.copyBufferToBuffer(yBuf, 0, yRead, 0, yBytes);
      enc.copyBufferToBuffer(flags, 0, fRead, 0, 16);
      device.queue.submit([enc.finish()]);
      await Promise.all([yRead.mapAsync(GPUMapMode.READ), fRead.mapAsync(GPUMapMode.READ)]);
      staged = { y: new Float32Array(yRead.getMappedRange().slice(0)), fault: new Uint32Array(fRead.getMappedRange())[0]! };
      yRead.unmap();
      fRead.unmap();
    });
  } finally {
    bufs.destroy();
  }
  checkDevice(ctx);
  const { y, fault } = staged;
  if (fault & FAULT_SMOOTH) throw smoothRangeError(p.depths[T - 1]!);
  if (fault & FAULT_NONFINITE) {
    throw new InputError(`the kernel is not finite at depth ${p.depths[T - 1]}; reduce the depth, the variances or α, or rescale the inputs`);
  }
  if (fault & FAULT_RANGE) {
    throw new InputError(
      `kernel values at depth ${p.depths[T - 1]} span more than 2^±100 of their normaliser, beyond what the WebGPU product can hold in f32: ` +
        'rescale the inputs, or use backend "cpu"',
    );
  }
  const inv = kn === 0 ? 0 : 1 / kn;
  const out = new Float64Array(n1 * k);
  for (let i = 0; i < n1; i++) {
    for (let c = 0; c < k; c++) {
      const q = Math.floor(c / 4);
      const at = 2 * (i * quads + q) * 4 + (c % 4);
      const v = ((y[at]! + y[at + 4]!) * inv) / colScale[c]!;
      if (!Number.isFinite(v)) {
        throw new InputError(`K·P is not finite in f32 on WebGPU (row ${i}, column ${c}): the sums overflow; rescale the inputs or P, or use backend "cpu"`);
      }
      out[i * k + c] = v;
    }
  }
  return out;
}
