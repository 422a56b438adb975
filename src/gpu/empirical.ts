/// <reference types="@webgpu/types" preserve="true" />
/**
 * The empirical NNGP/NTK of a sampled network on WebGPU: the same batched forward and backward pass
 * as the float64 CPU path (src/mc/batched.ts), walking the same layer structure with the same
 * weights (drawn on the host in float64, uploaded as f32), as GEMMs and elementwise ops on strided
 * row-major f32 views; then per trainable layer the Grams ΔΔᵀ and AAᵀ and the term
 * wfac·(ΔΔᵀ) ⊙ (AAᵀ) + bfac·ΔΔᵀ added to a double-single accumulator. Accuracy: each GEMM sums in
 * chunks whose partial sums enter a double-single accumulator (shaders/empirical_gemm.wgsl), and
 * the layers' terms are summed error-free, so what remains is f32 rounding of the activations
 * and weights (relative error ~1e−6, test/gpu-empirical.test.ts measures it). src/gpu/train.ts
 * trains sampled networks by gradient descent on the same passes (Runner, DevicePass, addLayerTerm).
 */
import { GpuError } from '../errors.js';
import { wgslPointwise, type AnyActivation } from '../activations/registry.js';
import type { DenseParams, LayerSink, Mat, NetNode, SampledNetwork } from '../mc/batched.js';
import type { GpuContext } from './device.js';
import { ACCUMULATE_PARAMS, GEMM_PARAMS, POINTWISE_PARAMS, UPDATE_PARAMS, packStruct, wgslStruct } from './layout.js';
import { pipelineFor } from './pipelines.js';
import { checkUserWgsl } from './user-wgsl.js';
import { checkDeviceFits } from './net-memory.js';
import { EMPIRICAL_ACCUMULATE_WGSL, EMPIRICAL_COMMON_WGSL, EMPIRICAL_GEMM_WGSL, EMPIRICAL_POINTWISE_WGSL, EMPIRICAL_UPDATE_WGSL } from './shaders.generated.js';

/** Multiply-adds per GEMM submit (about 0.1–1 s on lavapipe); tests lower it to exercise the blocks. */
export const GEMM_SUBMIT = { macs: 2 ** 27 };

const GEMM_SOURCE = wgslStruct(GEMM_PARAMS) + EMPIRICAL_COMMON_WGSL + EMPIRICAL_GEMM_WGSL;
const ACCUMULATE_SOURCE = wgslStruct(ACCUMULATE_PARAMS) + EMPIRICAL_COMMON_WGSL + EMPIRICAL_ACCUMULATE_WGSL;
const UPDATE_SOURCE = wgslStruct(UPDATE_PARAMS) + EMPIRICAL_COMMON_WGSL + EMPIRICAL_UPDATE_WGSL;

/** The elementwise shader for an activation (null: the identity, for the residual combinations) and its parameters. */
function pointwiseShader(act: AnyActivation | null): { code: string; p: [number, number] } {
  const w = act ? wgslPointwise(act) : { phi: 'u', dphi: '1.0' };
  const fns = `fn act_phi(u: f32, p: vec2<f32>) -> f32 {\n  return ${w.phi};\n}\n\nfn act_dphi(u: f32, p: vec2<f32>) -> f32 {\n  return ${w.dphi};\n}\n\n`;
  const extra = [...new Set('source' in w ? (w.source ?? []) : [])].join('\n');
  const params = 'params' in w ? (w.params ?? []) : [];
  return { code: wgslStruct(POINTWISE_PARAMS) + EMPIRICAL_COMMON_WGSL + extra + fns + EMPIRICAL_POINTWISE_WGSL, p: [params[0] ?? 0, params[1] ?? 0] };
}

/** A strided row-major view (rows × cols, row r at off + r·ld) of an f32 device buffer. */
export interface View {
  buf: GPUBuffer;
  rows: number;
  cols: number;
  ld: number;
  off: number;
}

export const columnsOf = (v: View, c0: number, cols: number): View => ({ ...v, cols, off: v.off + c0 });

/** Rows [r0, r0 + rows) of a view. */
export const rowsOf = (v: View, r0: number, rows: number): View => ({ ...v, rows, off: v.off + r0 * v.ld });

export interface DeviceRecord {
  p: DenseParams;
  A: View;
  delta: View;
}

interface Pass {
  out: View;
  back: (g: View) => Promise<View>;
}

/** Rows [0, n1) against rows [n1, n1 + n2) (or [0, n1) against itself when n2 is null), as in empirical.ts. */
export interface GpuBlock {
  n1: number;
  n2: number | null;
}

/** A trained layer's parameters on the device: hi (what the passes read) and lo, a double-single pair. */
export interface DeviceParams {
  hi: GPUBuffer;
  lo: GPUBuffer;
}

/** A layer's parameters on the device: its weights and biases, with low parts when trained. */
interface DeviceLayer {
  W: GPUBuffer;
  Wlo: GPUBuffer | null;
  bias: GPUBuffer | null;
  biasLo: GPUBuffer | null;
}

/** Elements written per writeBuffer when uploading (16 MiB of f32): the host never holds a whole layer in f32. */
const UPLOAD_CHUNK = 2 ** 22;

/**
 * Largest storage binding the runner uses (bytes), below the device's maxStorageBufferBindingSize;
 * tests lower it to exercise the windows on small networks.
 */
export const BINDING_LIMIT = { bytes: Infinity };

/** A buffer, or elements of it from `base` on, as bound to a shader. */
interface Window {
  b: GPUBufferBinding;
  base: number;
}

/** The sampled-network operations on one device, owning every buffer it creates. */
export class Runner {
  private readonly owned: GPUBuffer[] = [];
  private readonly layers = new Map<DenseParams, DeviceLayer>();
  private readonly noBias: GPUBuffer;
  /** Largest buffer (maxBufferSize) and largest storage binding (bytes). */
  private readonly maxBuffer: number;
  private readonly cap: number;
  /** Elements of a window's alignment (minStorageBufferOffsetAlignment / 4). */
  private readonly align: number;

  constructor(private readonly ctx: GpuContext) {
    const { limits } = ctx.device;
    this.maxBuffer = limits.maxBufferSize;
    this.cap = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, BINDING_LIMIT.bytes);
    this.align = Math.max(1, limits.minStorageBufferOffsetAlignment / 4);
    this.noBias = this.buffer(16, 'webntk empirical: no bias');
  }

  private buffer(bytes: number, label: string, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    const limit = usage & GPUBufferUsage.UNIFORM ? this.cap : this.maxBuffer;
    if (bytes > limit) {
      throw new GpuError(`${label}: ${bytes} bytes exceed this adapter's buffer limit (${limit} bytes); use a smaller width or fewer inputs, or backend "cpu"`);
    }
    const b = this.ctx.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
    this.owned.push(b);
    return b;
  }

  /**
   * Elements [lo, hi) of an f32 buffer as one binding: the whole buffer when it fits one binding
   * (base 0), else a window from an aligned offset (the shader's offsets are then relative to base).
   * `force`: a window even for a small buffer (shaders that index every buffer alike from 0).
   */
  private window(buf: GPUBuffer, lo: number, hi: number, force = false, elementBytes = 4): Window {
    if (!force && buf.size <= this.cap) return { b: { buffer: buf }, base: 0 };
    const base = Math.floor(lo / this.align) * this.align;
    const size = Math.max(elementBytes, elementBytes * (hi - base));
    if (size > this.cap || elementBytes * base + size > buf.size) {
      throw new GpuError(`webntk empirical: a window of ${size} bytes at ${elementBytes * base} does not fit a binding (${this.cap} bytes) of a ${buf.size}-byte buffer`);
    }
    return { b: { buffer: buf, offset: elementBytes * base, size }, base };
  }

  /** Elements one window holds whatever its alignment. */
  get span(): number {
    return Math.floor(this.cap / 4) - this.align;
  }

  matrix(rows: number, cols: number, label: string): View {
    return { buf: this.buffer(4 * rows * cols, label), rows, cols, ld: cols, off: 0 };
  }

  /** Writes f(data[i]) as f32 from element `at` on, in chunks (no whole-length f32 copy on the host). */
  private write(buf: GPUBuffer, data: ArrayLike<number>, f: (v: number) => number = (v) => v, at = 0): void {
    for (let i = 0; i < data.length; i += UPLOAD_CHUNK) {
      const chunk = new Float32Array(Math.min(UPLOAD_CHUNK, data.length - i));
      for (let j = 0; j < chunk.length; j++) chunk[j] = f(data[i + j]!);
      this.ctx.device.queue.writeBuffer(buf, 4 * (at + i), chunk);
    }
  }

  upload(data: ArrayLike<number>, label: string): GPUBuffer {
    const b = this.buffer(4 * data.length, label);
    this.write(b, data);
    return b;
  }

  /** Index data (the conv gathers' maps, src/gpu/empirical-conv.ts) on the device, as i32. */
  uploadI32(data: Int32Array, label: string): GPUBuffer {
    const b = this.buffer(4 * data.length, label);
    this.ctx.device.queue.writeBuffer(b, 0, Int32Array.from(data));
    return b;
  }

  /** One shader over `count` items in 64-wide workgroups (the conv gathers of src/gpu/empirical-conv.ts). */
  async run1d(code: string, label: string, params: ArrayBuffer, buffers: GPUBuffer[], count: number): Promise<void> {
    const [x, y] = this.grid(count);
    await this.dispatch(code, label, params, buffers, x, y);
  }

  /** A scope of buffers: release(mark()) destroys those created since (work already submitted completes). */
  mark(): number {
    return this.owned.length;
  }

  release(mark: number): void {
    const gone = new Set(this.owned.splice(mark));
    for (const [p, l] of this.layers) if (gone.has(l.W)) this.layers.delete(p);
    for (const b of gone) b.destroy();
  }

  /**
   * Uploads a layer's parameters: hi = fl32(w), the buffer every pass reads, and when `trained`
   * lo = fl32(w − hi), so that hi + lo is w to about 2⁻⁴⁸ relative (the parameters gradient descent updates).
   */
  take(p: DenseParams, trained: boolean): DeviceLayer {
    if (p.W.length !== p.outDim * p.fanIn) throw new Error('webntk empirical: a layer whose weights went to another device (or were never drawn) cannot be uploaded');
    const lo = (v: number) => v - Math.fround(v);
    const W = this.upload(p.W, trained ? 'webntk train: weights' : 'webntk empirical: weights');
    const Wlo = trained ? this.buffer(4 * p.W.length, 'webntk train: weights (low part)') : null;
    if (Wlo) this.write(Wlo, p.W, lo);
    const bias = p.bias ? this.upload(p.bias, 'webntk empirical: biases') : null;
    const biasLo = p.bias && trained ? this.buffer(4 * p.bias.length, 'webntk train: biases (low part)') : null;
    if (biasLo) this.write(biasLo, p.bias!, lo);
    const l = { W, Wlo, bias, biasLo };
    this.layers.set(p, l);
    return l;
  }

  /** A sink for SampledNetwork: each layer uploaded as drawn (its trainable layers with low parts when `train`). */
  sink(train: boolean): LayerSink {
    return { take: (p) => void this.take(p, train && p.trainable) };
  }

  /** A layer's weights and biases on the device (uploaded now from the host if not yet). */
  layerOf(p: DenseParams): DeviceLayer {
    return this.layers.get(p) ?? this.take(p, false);
  }

  /** A trained layer's double-single weights and biases (uploaded now, with low parts, if not yet). */
  trainedOf(p: DenseParams): { W: DeviceParams; bias: DeviceParams | null } {
    let l = this.layers.get(p);
    if (!l?.Wlo) l = this.take(p, true);
    return { W: { hi: l.W, lo: l.Wlo! }, bias: l.bias ? { hi: l.bias, lo: l.biasLo! } : null };
  }

  /** Writes values (rounded to f32) at the start of a buffer. */
  writeF32(buf: GPUBuffer, data: ArrayLike<number>): void {
    this.write(buf, data);
  }

  private async dispatch(code: string, label: string, params: ArrayBuffer, buffers: (GPUBuffer | GPUBufferBinding)[], x: number, y: number): Promise<void> {
    const { device } = this.ctx;
    const pipeline = await pipelineFor(device, code, label);
    const uniform = this.buffer(params.byteLength, `${label}: params`, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(uniform, 0, params);
    const group = device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: [uniform, ...buffers].map((b, binding) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
    });
    const enc = device.createCommandEncoder({ label });
    const pass = enc.beginComputePass({ label });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    device.queue.submit([enc.finish()]);
  }

  /** A 1-D grid of 64-wide workgroups covering `count` items, folded into two dimensions. */
  private grid(count: number): [number, number] {
    const groups = Math.max(1, Math.ceil(count / 64));
    const x = Math.min(groups, this.ctx.device.limits.maxComputeWorkgroupsPerDimension);
    return [x, Math.ceil(groups / x)];
  }

  /**
   * Chunks [e0, e0 + c) of `count` elements that shaders indexing every buffer alike from 0 (update,
   * accumulate) run one at a time when a buffer exceeds one binding: c·bytes fits a window. One
   * chunk (and whole bindings) otherwise.
   */
  private elementChunks(count: number, bufs: { buf: GPUBuffer; bytes: number }[]): [number, number, boolean][] {
    if (bufs.every(({ buf }) => buf.size <= this.cap)) return [[0, count, false]];
    const widest = Math.max(...bufs.map((b) => b.bytes));
    const c = Math.max(this.align, Math.floor(Math.floor(this.cap / widest) / this.align) * this.align);
    const out: [number, number, boolean][] = [];
    for (let e0 = 0; e0 < count; e0 += c) out.push([e0, Math.min(c, count - e0), true]);
    return out;
  }

  /**
   * C = alpha·op(A)·op(B) + biasScale·bias (transA: A is K × C.rows, else C.rows × K; transB: B is
   * C.cols × K, else K × C.cols), submitted in blocks of C of at most GEMM_SUBMIT.macs multiply-adds
   * each, so that no submit runs long (as gram.ts bounds its own: a GPU watchdog may reset a device
   * whose submit runs for seconds). An operand larger than one storage binding (a wide layer's
   * weights: 16384² f32 is 1 GiB) is bound in windows: blocks of C small enough that each block's
   * rows fit one, and where a block reads down the columns of an operand (K along its rows: the
   * backward pass Δ·W, the gradient Rᵀ·A), the sum over K in chunks added to C (beta = 1), each
   * chunk's sum rounded to f32 once.
   */
  async gemm(A: View, B: View, C: View, o: { alpha: number; transA?: boolean; transB?: boolean; bias?: GPUBuffer | null; biasScale?: number }): Promise<void> {
    const transA = o.transA === true;
    const transB = o.transB === true;
    const bias = o.bias ?? null;
    const K = transA ? A.rows : A.cols;
    // Column blocks of whole 32-wide tiles, then row blocks of whole 32-row tiles, within the budget.
    let cols = Math.min(C.cols, Math.max(32, Math.floor(GEMM_SUBMIT.macs / (32 * Math.max(1, K)) / 32) * 32));
    let rows = Math.min(C.rows, Math.max(32, Math.floor(GEMM_SUBMIT.macs / (cols * Math.max(1, K)) / 32) * 32));
    // Workgroups per dimension: ⌈cols/32⌉ and ⌈rows/32⌉ tiles.
    const wmax = 32 * this.ctx.device.limits.maxComputeWorkgroupsPerDimension;
    cols = Math.min(cols, wmax);
    rows = Math.min(rows, wmax);
    // Windows: how many rows of an operand (leading dimension ld, `len` elements each) one binding holds.
    const big = (v: View) => v.buf.size > this.cap;
    const fit = (n: number, len: number, ld: number) => {
      const m = Math.floor((this.span - len) / ld) + 1;
      if (m < 1) throw new GpuError(`webntk empirical: a row of ${len} f32 does not fit one storage binding (${this.cap} bytes)`);
      return Math.min(n, m >= 32 ? Math.floor(m / 32) * 32 : m);
    };
    if (big(A) && !transA) rows = fit(rows, K, A.ld);
    if (big(B) && transB) cols = fit(cols, K, B.ld);
    if (big(C)) rows = fit(rows, cols, C.ld);
    let kc = Math.max(1, K);
    if (big(A) && transA) kc = Math.min(kc, fit(kc, rows, A.ld));
    if (big(B) && !transB) kc = Math.min(kc, fit(kc, cols, B.ld));
    for (let r0 = 0; r0 < C.rows; r0 += rows) {
      for (let c0 = 0; c0 < C.cols; c0 += cols) {
        const M = Math.min(rows, C.rows - r0);
        const N = Math.min(cols, C.cols - c0);
        for (let k0 = 0; k0 === 0 || k0 < K; k0 += kc) {
          const Kc = Math.min(kc, K - k0);
          const offA = A.off + (transA ? r0 + k0 * A.ld : r0 * A.ld + k0);
          const offB = B.off + (transB ? c0 * B.ld + k0 : c0 + k0 * B.ld);
          const offC = C.off + r0 * C.ld + c0;
          const wA = this.window(A.buf, offA, offA + (transA ? Math.max(0, Kc - 1) * A.ld + M : (M - 1) * A.ld + Kc));
          const wB = this.window(B.buf, offB, offB + (transB ? (N - 1) * B.ld + Kc : Math.max(0, Kc - 1) * B.ld + N));
          const wC = this.window(C.buf, offC, offC + (M - 1) * C.ld + N);
          const first = k0 === 0;
          const params = packStruct(GEMM_PARAMS, {
            M,
            N,
            K: Kc,
            lda: A.ld,
            ldb: B.ld,
            ldc: C.ld,
            offA: offA - wA.base,
            offB: offB - wB.base,
            offC: offC - wC.base,
            transA: transA ? 1 : 0,
            transB: transB ? 1 : 0,
            hasBias: bias && first ? 1 : 0,
            offBias: c0,
            alpha: o.alpha,
            beta: first ? 0 : 1,
            biasScale: o.biasScale ?? 0,
            one: 1,
          });
          await this.dispatch(GEMM_SOURCE, 'webntk empirical: gemm', params, [wA.b, wB.b, wC.b, bias ?? this.noBias], Math.ceil(N / 32), Math.ceil(M / 32));
        }
      }
    }
  }

  /**
   * op 0: Y = φ(X); 1: Y = b·Y + G ⊙ φ′(X); 2: Y = a·X + b·G (act null); 3: Y = a·X ⊙ g, g a column (act null).
   * In blocks of rows whose windows fit one binding when a view's buffer exceeds one.
   */
  async pointwise(op: 0 | 1 | 2 | 3, act: AnyActivation | null, X: View, G: View | null, Y: View, a = 0, b = 0): Promise<void> {
    const { code, p } = pointwiseShader(act);
    const g = G ?? X;
    const gcols = op === 3 ? 1 : Y.cols;
    let rows = Y.rows;
    for (const [v, cols] of [[X, Y.cols], [g, gcols], [Y, Y.cols]] as const) {
      if (v.buf.size > this.cap) rows = Math.min(rows, Math.max(1, Math.floor((this.span - cols) / v.ld) + 1));
    }
    for (let r0 = 0; r0 < Y.rows; r0 += rows) {
      const m = Math.min(rows, Y.rows - r0);
      const at = (v: View, cols: number) => {
        const off = v.off + r0 * v.ld;
        const w = this.window(v.buf, off, off + (m - 1) * v.ld + cols);
        return { w, off: off - w.base };
      };
      const x = at(X, Y.cols);
      const gg = at(g, gcols);
      const y = at(Y, Y.cols);
      const params = packStruct(POINTWISE_PARAMS, {
        op,
        rows: m,
        cols: Y.cols,
        ldX: X.ld,
        offX: x.off,
        ldG: g.ld,
        offG: gg.off,
        ldY: Y.ld,
        offY: y.off,
        a,
        b,
        p0: p[0],
        p1: p[1],
        one: 1,
      });
      const [gx, gy] = this.grid(m * Y.cols);
      await this.dispatch(code, 'webntk empirical: pointwise', params, [x.w.b, gg.w.b, y.w.b], gx, gy);
    }
  }

  /** T (count double-single pairs) += wfac·D⊙G + bfac·D (ntk), or T = wfac·G + bfac (nngp, D unused). */
  async accumulate(kind: 'ntk' | 'nngp', D: GPUBuffer, G: GPUBuffer, T: GPUBuffer, count: number, wfac: number, bfac: number): Promise<void> {
    for (const [e0, c, win] of this.elementChunks(count, [{ buf: D, bytes: 4 }, { buf: G, bytes: 4 }, { buf: T, bytes: 8 }])) {
      const params = packStruct(ACCUMULATE_PARAMS, { op: kind === 'ntk' ? 0 : 1, count: c, wfac, bfac, one: 1 });
      const [x, y] = this.grid(c);
      const bind = (buf: GPUBuffer, bytes: number) => (win ? this.window(buf, e0, e0 + c, true, bytes).b : buf);
      await this.dispatch(ACCUMULATE_SOURCE, 'webntk empirical: accumulate', params, [bind(D, 4), bind(G, 4), bind(T, 8)], x, y);
    }
  }

  /** (P.hi, P.lo) += a·U over `count` entries, error-free (a gradient-descent step). */
  async update(U: GPUBuffer, P: DeviceParams, count: number, a: number): Promise<void> {
    for (const [e0, c, win] of this.elementChunks(count, [{ buf: U, bytes: 4 }, { buf: P.hi, bytes: 4 }, { buf: P.lo, bytes: 4 }])) {
      const [x, y] = this.grid(c);
      const bind = (buf: GPUBuffer) => (win ? this.window(buf, e0, e0 + c, true).b : buf);
      await this.dispatch(UPDATE_SOURCE, 'webntk empirical: update', packStruct(UPDATE_PARAMS, { count: c, a, one: 1 }), [bind(U), bind(P.hi), bind(P.lo)], x, y);
    }
  }

  /** `count` f32 values of a buffer from offset 0 (the staging buffer is destroyed at once). */
  async readF32(T: GPUBuffer, count: number): Promise<Float32Array> {
    const { device } = this.ctx;
    const staging = device.createBuffer({ label: 'webntk empirical: readback', size: Math.max(16, 4 * count), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const enc = device.createCommandEncoder({ label: 'webntk empirical: readback' });
      enc.copyBufferToBuffer(T, 0, staging, 0, 4 * count);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const f = new Float32Array(staging.getMappedRange().slice(0, 4 * count));
      staging.unmap();
      return f;
    } finally {
      staging.destroy();
    }
  }

  /** The double-single pairs of T as float64 (hi + lo). */
  async read(T: GPUBuffer, count: number): Promise<Float64Array> {
    const f = await this.readF32(T, 2 * count);
    const out = new Float64Array(count);
    for (let e = 0; e < count; e++) out[e] = f[2 * e]! + f[2 * e + 1]!;
    return out;
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
  }
}

/** The forward pass of batched.ts on the device, keeping what the backward pass and the Grams need. */
export class DevicePass {
  readonly records: DeviceRecord[] = [];
  readout: { A: View; p: DenseParams } | null = null;

  constructor(
    private readonly r: Runner,
    private readonly N: number,
  ) {}

  async forward(nodes: readonly NetNode[], input: View): Promise<Pass> {
    let cur = input;
    const backs: Pass['back'][] = [];
    for (const node of nodes) {
      const p = await this.node(node, cur);
      cur = p.out;
      backs.push(p.back);
    }
    return {
      out: cur,
      back: async (g) => {
        let gg = g;
        for (let i = backs.length - 1; i >= 0; i--) gg = await backs[i]!(gg);
        return gg;
      },
    };
  }

  private async node(node: NetNode, input: View): Promise<Pass> {
    switch (node.kind) {
      case 'dense':
        if (node.p.isOutput) this.readout = { A: input, p: node.p };
        return this.dense(node.p, input);
      case 'act':
        return this.act(node.act, input);
      case 'residual': {
        const { alpha, beta } = node;
        const branch = await this.forward(node.branch, input);
        const out = this.r.matrix(this.N, input.cols, 'webntk empirical: residual');
        await this.r.pointwise(2, null, input, branch.out, out, beta, alpha);
        return {
          out,
          back: async (g) => {
            const ga = this.r.matrix(this.N, g.cols, 'webntk empirical: residual gradient');
            await this.r.pointwise(2, null, g, null, ga, alpha, 0);
            const gb = await branch.back(ga);
            const gin = this.r.matrix(this.N, g.cols, 'webntk empirical: residual gradient');
            await this.r.pointwise(2, null, g, gb, gin, beta, 1);
            return gin;
          },
        };
      }
      case 'block':
        return this.block(node, input);
    }
  }

  /** h = cw·A Wᵀ + cb·b; backward records (A, Δ) and returns cw·Δ W. */
  private async dense(p: DenseParams, A: View): Promise<Pass> {
    const { W, bias } = this.r.layerOf(p);
    const Wv: View = { buf: W, rows: p.outDim, cols: p.fanIn, ld: p.fanIn, off: 0 };
    const out = this.r.matrix(this.N, p.outDim, 'webntk empirical: pre-activations');
    await this.r.gemm(A, Wv, out, { alpha: p.cw, transB: true, bias, biasScale: p.cb });
    return {
      out,
      back: async (G) => {
        if (p.trainable) this.records.push({ p, A, delta: G });
        const gin = this.r.matrix(this.N, p.fanIn, 'webntk empirical: input gradient');
        await this.r.gemm(G, Wv, gin, { alpha: p.cw });
        return gin;
      },
    };
  }

  private async act(act: AnyActivation, H: View): Promise<Pass> {
    const out = this.r.matrix(this.N, H.cols, 'webntk empirical: activations');
    await this.r.pointwise(0, act, H, null, out);
    return {
      out,
      back: async (G) => {
        const gin = this.r.matrix(this.N, G.cols, 'webntk empirical: activation gradient');
        await this.r.pointwise(1, act, H, G, gin, 0, 0);
        return gin;
      },
    };
  }

  /**
   * h_i = dense_i([φ(h_0) … φ(h_{i−1})]): the φ(h_j) are column blocks of one N × depth·n matrix,
   * so dense_i reads its first i·n columns (no concatenation copies).
   */
  private async block(node: Extract<NetNode, { kind: 'block' }>, input: View): Promise<Pass> {
    const { n, denses, act } = node;
    const depth = denses.length;
    const cat = this.r.matrix(this.N, depth * n, 'webntk empirical: denseBlock features');
    const hs: View[] = [input];
    const dps: Pass[] = [];
    for (let i = 1; i <= depth; i++) {
      await this.r.pointwise(0, act, hs[i - 1]!, null, columnsOf(cat, (i - 1) * n, n));
      const d = await this.dense(denses[i - 1]!, columnsOf(cat, 0, i * n));
      dps.push(d);
      hs.push(d.out);
    }
    return {
      out: hs[depth]!,
      back: async (g) => {
        // gh[j]: the gradient with respect to h_j, complete once every later layer has added to it.
        const gh: (View | null)[] = hs.map(() => null);
        gh[depth] = g;
        for (let i = depth; i >= 1; i--) {
          const gcat = await dps[i - 1]!.back(gh[i]!);
          for (let j = 0; j < i; j++) {
            const first = gh[j] === null;
            const target = gh[j] ?? this.r.matrix(this.N, n, 'webntk empirical: denseBlock gradient');
            gh[j] = target;
            await this.r.pointwise(1, act, hs[j]!, columnsOf(gcat, j * n, n), target, 0, first ? 0 : 1);
          }
        }
        return gh[0]!;
      },
    };
  }
}

/** Every activation of a network's layers (to check their WGSL before any work). */
export function activationsOf(nodes: readonly NetNode[]): AnyActivation[] {
  return nodes.flatMap((n): AnyActivation[] => (n.kind === 'act' ? [n.act] : n.kind === 'block' ? [n.act] : n.kind === 'residual' ? activationsOf(n.branch) : []));
}

/** Rows [r0, r0 + n1) of the batch against rows [c0, c0 + n2): empirical.ts's blocks, and training's. */
export interface RowBlock {
  r0: number;
  n1: number;
  c0: number;
  n2: number;
}

const rowBlock = (b: GpuBlock): RowBlock => ({ r0: 0, n1: b.n1, c0: b.n2 === null ? 0 : b.n1, n2: b.n2 ?? b.n1 });

/**
 * One trainable layer's NTK term over a block, scale·(wfac·(ΔΔᵀ) ⊙ (AAᵀ) + bfac·ΔΔᵀ), added to the
 * double-single T (n1·n2 pairs); D and G are n1 × n2 scratch views.
 */
export async function addLayerTerm(r: Runner, rec: DeviceRecord, b: RowBlock, D: View, G: View, T: GPUBuffer, scale = 1): Promise<void> {
  const { p, A, delta } = rec;
  await r.gemm(rowsOf(delta, b.r0, b.n1), rowsOf(delta, b.c0, b.n2), D, { alpha: 1, transB: true });
  await r.gemm(rowsOf(A, b.r0, b.n1), rowsOf(A, b.c0, b.n2), G, { alpha: 1, transB: true });
  await r.accumulate('ntk', D.buf, G.buf, T, b.n1 * b.n2, scale * p.wfac, scale * p.bfac);
}

/** Validation and out-of-memory errors of a device's work, checked at the end (or between steps of training). */
export class ErrorScopes {
  constructor(private readonly ctx: GpuContext) {
    ctx.device.pushErrorScope('out-of-memory');
    ctx.device.pushErrorScope('validation');
  }

  /** The first error since the scopes opened, or the device lost, as a GpuError (null: none); `reopen` opens new scopes. */
  async close(what: string, reopen = false): Promise<GpuError | null> {
    const { device } = this.ctx;
    const val = await device.popErrorScope();
    const oom = await device.popErrorScope();
    if (reopen) {
      device.pushErrorScope('out-of-memory');
      device.pushErrorScope('validation');
    }
    if (this.ctx.lost) return new GpuError(`the WebGPU device was lost while ${what} (${this.ctx.lost.reason}: ${this.ctx.lost.message || 'no message'})`);
    const err = oom ?? val;
    return err ? new GpuError(`WebGPU error while ${what}: ${err.message}`) : null;
  }
}

/** A network the device draws itself: its plan (shapes, activations) and the draw into a sink, one layer at a time. */
export interface DeviceDraw {
  plan: SampledNetwork;
  draw: (sink: LayerSink) => SampledNetwork;
}

/**
 * The unnormalised empirical NNGP and/or NTK of `net` over the rows of X (stacked [X1; X2] as in
 * empirical.ts), on the device of `ctx`; f32 on the device, returned as float64. `net` drawn on the
 * host, or (a DeviceDraw) refused before any draw when its buffers cannot fit (net-memory.ts), then
 * drawn layer by layer into the device.
 */
export async function empiricalOnGpu(ctx: GpuContext, net: SampledNetwork | DeviceDraw, X: Mat, b: GpuBlock, get: readonly ('nngp' | 'ntk')[]): Promise<{ nngp?: Float64Array; ntk?: Float64Array }> {
  const { device } = ctx;
  const plan = 'draw' in net ? net.plan : net;
  // An activation without WGSL, or user WGSL that does not compile, is refused before any work.
  await checkUserWgsl(device, activationsOf(plan.nodes).flatMap((a) => wgslPointwise(a).check ?? []));
  const rb0 = rowBlock(b);
  checkDeviceFits(plan.shapes, plan.width, X.rows, { kind: 'kernel', n1: rb0.n1, n2: rb0.n2 }, device.limits);
  const r = new Runner(ctx);
  const scopes = new ErrorScopes(ctx);
  let result: { nngp?: Float64Array; ntk?: Float64Array } = {};
  let thrown: unknown = null;
  try {
    const network = 'draw' in net ? net.draw(r.sink(false)) : net;
    const N = X.rows;
    const input: View = { buf: r.upload(X.data, 'webntk empirical: inputs'), rows: N, cols: X.cols, ld: X.cols, off: 0 };
    const dp = new DevicePass(r, N);
    const pass = await dp.forward(network.nodes, input);
    const ones = r.upload(new Float64Array(N).fill(1), 'webntk empirical: ∂f/∂f');
    await pass.back({ buf: ones, rows: N, cols: 1, ld: 1, off: 0 });
    const rb = rowBlock(b);
    const count = rb.n1 * rb.n2;
    const D = r.matrix(rb.n1, rb.n2, 'webntk empirical: ΔΔᵀ');
    const G = r.matrix(rb.n1, rb.n2, 'webntk empirical: AAᵀ');
    if (get.includes('nngp')) {
      const T = r.matrix(count, 2, 'webntk empirical: NNGP');
      const { A, p } = dp.readout!;
      await r.gemm(rowsOf(A, rb.r0, rb.n1), rowsOf(A, rb.c0, rb.n2), G, { alpha: 1, transB: true });
      await r.accumulate('nngp', G.buf, G.buf, T.buf, count, p.wfac, p.bfac);
      result.nngp = await r.read(T.buf, count);
    }
    if (get.includes('ntk')) {
      const T = r.matrix(count, 2, 'webntk empirical: NTK');
      for (const rec of dp.records) await addLayerTerm(r, rec, rb, D, G, T.buf);
      result.ntk = await r.read(T.buf, count);
    }
  } catch (e) {
    thrown = e;
    result = {};
  }
  const err = await scopes.close('computing an empirical kernel');
  r.destroy();
  if (thrown instanceof GpuError) throw thrown;
  if (err) throw err;
  if (thrown) throw thrown;
  return result;
}
