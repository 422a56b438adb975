/**
 * A symmetric n × n kernel matrix kept on the WebGPU device as f32 row blocks (each within the
 * storage-binding limit), with the product K·P for the conjugate-gradient solver (solve/cg.ts).
 * Only P goes up and K·P comes back per product; the host does the rest in float64.
 */
import type { GpuContext } from './device.js';
import { GpuError } from '../errors.js';
import { pipelineFor } from './pipelines.js';
import { MATVEC_PARAMS, packStruct, structBytes, wgslStruct } from './layout.js';
import { MATVEC_ROWS_WGSL } from './shaders.generated.js';

const MATVEC_SOURCE = wgslStruct(MATVEC_PARAMS) + MATVEC_ROWS_WGSL;

interface RowBlock {
  row0: number;
  rows: number;
  k: GPUBuffer;
  params: GPUBuffer;
}

export class GpuKernelMatrix {
  private blocks: RowBlock[] = [];
  /** Buffers for one number of right-hand sides, with a bind group per row block (reused by every product). */
  private io: { quads: number; p: GPUBuffer; out: GPUBuffer; staging: GPUBuffer; groups: GPUBindGroup[] } | null = null;

  private constructor(
    private readonly ctx: GpuContext,
    readonly n: number,
  ) {}

  /** Upload row-major K (n × n) as f32 row blocks. */
  static async upload(ctx: GpuContext, K: ArrayLike<number>, n: number): Promise<GpuKernelMatrix> {
    const m = new GpuKernelMatrix(ctx, n);
    const { device } = ctx;
    const cap = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    const perBlock = Math.max(1, Math.floor(cap / (4 * n)));
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    try {
      for (let row0 = 0; row0 < n; row0 += perBlock) {
        const rows = Math.min(perBlock, n - row0);
        const data = new Float32Array(rows * n);
        for (let i = 0; i < rows * n; i++) data[i] = K[row0 * n + i]!;
        const k = device.createBuffer({ label: `webntk matvec: K rows ${row0}+`, size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
        device.queue.writeBuffer(k, 0, data);
        const params = device.createBuffer({ label: 'webntk matvec: params', size: structBytes(MATVEC_PARAMS), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
        m.blocks.push({ row0, rows, k, params });
      }
    } finally {
      await m.check(`uploading the ${n} × ${n} kernel matrix`);
    }
    return m;
  }

  private async check(what: string): Promise<void> {
    const val = await this.ctx.device.popErrorScope();
    const oom = await this.ctx.device.popErrorScope();
    const err = oom ?? val;
    if (this.ctx.lost) {
      this.destroy();
      throw new GpuError(`the WebGPU device was lost while ${what} (${this.ctx.lost.reason}: ${this.ctx.lost.message || 'no message'})`);
    }
    if (err) {
      this.destroy();
      throw new GpuError(`WebGPU error while ${what}: ${err.message}`);
    }
  }

  private async ensureIo(quads: number) {
    if (this.io && this.io.quads === quads) return this.io;
    if (this.io) for (const b of [this.io.p, this.io.out, this.io.staging]) b.destroy();
    const { device } = this.ctx;
    const size = this.n * quads * 16;
    const p = device.createBuffer({ label: 'webntk matvec: P', size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
    const out = device.createBuffer({ label: 'webntk matvec: K·P', size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const staging = device.createBuffer({ label: 'webntk matvec: readback', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const layout = (await pipelineFor(device, MATVEC_SOURCE, 'webntk matvec')).getBindGroupLayout(0);
    const groups = this.blocks.map((b) => {
      device.queue.writeBuffer(b.params, 0, packStruct(MATVEC_PARAMS, { rows: b.rows, n: this.n, quads, row0: b.row0 }));
      return device.createBindGroup({
        label: 'webntk matvec: bindings',
        layout,
        entries: [
          { binding: 0, resource: { buffer: b.params } },
          { binding: 1, resource: { buffer: b.k } },
          { binding: 2, resource: { buffer: p } },
          { binding: 3, resource: { buffer: out } },
        ],
      });
    });
    this.io = { quads, p, out, staging, groups };
    return this.io;
  }

  /** K · P for row-major P (n × k); f32 on the device, returned as float64. */
  async mul(p: Float64Array, k: number): Promise<Float64Array> {
    const { device } = this.ctx;
    const n = this.n;
    const quads = Math.ceil(k / 4);
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    let out: Float32Array;
    try {
      const io = await this.ensureIo(quads);
      const pf = new Float32Array(n * quads * 4);
      for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) pf[i * quads * 4 + c] = p[i * k + c]!;
      device.queue.writeBuffer(io.p, 0, pf);
      const pipeline = await pipelineFor(device, MATVEC_SOURCE, 'webntk matvec');
      const enc = device.createCommandEncoder({ label: 'webntk matvec' });
      const pass = enc.beginComputePass({ label: 'webntk matvec' });
      pass.setPipeline(pipeline);
      const maxPerDim = device.limits.maxComputeWorkgroupsPerDimension;
      this.blocks.forEach((b, i) => {
        pass.setBindGroup(0, io.groups[i]!);
        const groups = b.rows * quads;
        const x = Math.min(groups, maxPerDim);
        pass.dispatchWorkgroups(x, Math.ceil(groups / x));
      });
      pass.end();
      enc.copyBufferToBuffer(io.out, 0, io.staging, 0, n * quads * 16);
      device.queue.submit([enc.finish()]);
      await io.staging.mapAsync(GPUMapMode.READ);
      out = new Float32Array(io.staging.getMappedRange().slice(0));
      io.staging.unmap();
    } finally {
      await this.check('multiplying by the kernel matrix');
    }
    const res = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) res[i * k + c] = out[i * quads * 4 + c]!;
    return res;
  }

  destroy(): void {
    for (const b of this.blocks) {
      b.k.destroy();
      b.params.destroy();
    }
    this.blocks = [];
    if (this.io) for (const b of [this.io.p, this.io.out, this.io.staging]) b.destroy();
    this.io = null;
  }
}
