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
import type { DenseParams, Mat, NetNode, SampledNetwork } from '../mc/batched.js';
import type { GpuContext } from './device.js';
import { ACCUMULATE_PARAMS, GEMM_PARAMS, POINTWISE_PARAMS, UPDATE_PARAMS, packStruct, wgslStruct } from './layout.js';
import { pipelineFor } from './pipelines.js';
import { checkUserWgsl } from './user-wgsl.js';
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

/** The sampled-network operations on one device, owning every buffer it creates. */
export class Runner {
  private readonly owned: GPUBuffer[] = [];
  private readonly weights = new Map<Float64Array, GPUBuffer>();
  private readonly noBias: GPUBuffer;
  private readonly cap: number;

  constructor(private readonly ctx: GpuContext) {
    const { limits } = ctx.device;
    this.cap = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    this.noBias = this.buffer(16, 'webntk empirical: no bias');
  }

  private buffer(bytes: number, label: string, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    if (bytes > this.cap) {
      throw new GpuError(`${label}: ${bytes} bytes exceed this adapter's storage-buffer limit (${this.cap} bytes); use a smaller width or fewer inputs, or backend "cpu"`);
    }
    const b = this.ctx.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 4) * 4), usage });
    this.owned.push(b);
    return b;
  }

  matrix(rows: number, cols: number, label: string): View {
    return { buf: this.buffer(4 * rows * cols, label), rows, cols, ld: cols, off: 0 };
  }

  upload(data: ArrayLike<number>, label: string): GPUBuffer {
    const b = this.buffer(4 * data.length, label);
    this.ctx.device.queue.writeBuffer(b, 0, Float32Array.from(data));
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
    for (const [w, b] of this.weights) if (gone.has(b)) this.weights.delete(w);
    for (const b of gone) b.destroy();
  }

  /**
   * Parameters to be trained: hi = fl32(w), the buffer every pass reads (weightsOf's), and
   * lo = fl32(w − hi), so that hi + lo is w to about 2⁻⁴⁸ relative.
   */
  trainable(w: Float64Array, label: string): DeviceParams {
    const hi = this.weightsOf(w, label);
    const h = Float32Array.from(w);
    return { hi, lo: this.upload(w.map((v, i) => v - h[i]!), `${label} (low part)`) };
  }

  /** Writes values (rounded to f32) at the start of a buffer. */
  writeF32(buf: GPUBuffer, data: ArrayLike<number>): void {
    this.ctx.device.queue.writeBuffer(buf, 0, Float32Array.from(data));
  }

  /** A layer's weights (or biases) on the device, uploaded once. */
  weightsOf(w: Float64Array, label: string): GPUBuffer {
    let b = this.weights.get(w);
    if (!b) {
      b = this.upload(w, label);
      this.weights.set(w, b);
    }
    return b;
  }

  private async dispatch(code: string, label: string, params: ArrayBuffer, buffers: GPUBuffer[], x: number, y: number): Promise<void> {
    const { device } = this.ctx;
    const pipeline = await pipelineFor(device, code, label);
    const uniform = this.buffer(params.byteLength, `${label}: params`, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(uniform, 0, params);
    const group = device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: [uniform, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })),
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
   * C = alpha·op(A)·op(B) + biasScale·bias (transA: A is K × C.rows, else C.rows × K; transB: B is
   * C.cols × K, else K × C.cols), submitted in blocks of C of at most GEMM_SUBMIT.macs multiply-adds
   * each, so that no submit runs long (as gram.ts bounds its own: a GPU watchdog may reset a device
   * whose submit runs for seconds).
   */
  async gemm(A: View, B: View, C: View, o: { alpha: number; transA?: boolean; transB?: boolean; bias?: GPUBuffer | null; biasScale?: number }): Promise<void> {
    const transA = o.transA === true;
    const transB = o.transB === true;
    const bias = o.bias ?? null;
    const K = transA ? A.rows : A.cols;
    // Column blocks of whole 32-wide tiles, then row blocks of whole 32-row tiles, within the budget.
    const cols = Math.min(C.cols, Math.max(32, Math.floor(GEMM_SUBMIT.macs / (32 * Math.max(1, K)) / 32) * 32));
    const rows = Math.min(C.rows, Math.max(32, Math.floor(GEMM_SUBMIT.macs / (cols * Math.max(1, K)) / 32) * 32));
    for (let r0 = 0; r0 < C.rows; r0 += rows) {
      for (let c0 = 0; c0 < C.cols; c0 += cols) {
        const M = Math.min(rows, C.rows - r0);
        const N = Math.min(cols, C.cols - c0);
        const params = packStruct(GEMM_PARAMS, {
          M,
          N,
          K,
          lda: A.ld,
          ldb: B.ld,
          ldc: C.ld,
          offA: A.off + (transA ? r0 : r0 * A.ld),
          offB: B.off + (transB ? c0 * B.ld : c0),
          offC: C.off + r0 * C.ld + c0,
          transA: transA ? 1 : 0,
          transB: transB ? 1 : 0,
          hasBias: bias ? 1 : 0,
          offBias: c0,
          alpha: o.alpha,
          beta: 0,
          biasScale: o.biasScale ?? 0,
          one: 1,
        });
        await this.dispatch(GEMM_SOURCE, 'webntk empirical: gemm', params, [A.buf, B.buf, C.buf, bias ?? this.noBias], Math.ceil(N / 32), Math.ceil(M / 32));
      }
    }
  }

  /** op 0: Y = φ(X); 1: Y = b·Y + G ⊙ φ′(X); 2: Y = a·X + b·G (act null); 3: Y = a·X ⊙ g, g a column (act null). */
  async pointwise(op: 0 | 1 | 2 | 3, act: AnyActivation | null, X: View, G: View | null, Y: View, a = 0, b = 0): Promise<void> {
    const { code, p } = pointwiseShader(act);
    const g = G ?? X;
    const params = packStruct(POINTWISE_PARAMS, {
      op,
      rows: Y.rows,
      cols: Y.cols,
      ldX: X.ld,
      offX: X.off,
      ldG: g.ld,
      offG: g.off,
      ldY: Y.ld,
      offY: Y.off,
      a,
      b,
      p0: p[0],
      p1: p[1],
      one: 1,
    });
    const [x, y] = this.grid(Y.rows * Y.cols);
    await this.dispatch(code, 'webntk empirical: pointwise', params, [X.buf, g.buf, Y.buf], x, y);
  }

  /** T (count double-single pairs) += wfac·D⊙G + bfac·D (ntk), or T = wfac·G + bfac (nngp, D unused). */
  async accumulate(kind: 'ntk' | 'nngp', D: GPUBuffer, G: GPUBuffer, T: GPUBuffer, count: number, wfac: number, bfac: number): Promise<void> {
    const params = packStruct(ACCUMULATE_PARAMS, { op: kind === 'ntk' ? 0 : 1, count, wfac, bfac, one: 1 });
    const [x, y] = this.grid(count);
    await this.dispatch(ACCUMULATE_SOURCE, 'webntk empirical: accumulate', params, [D, G, T], x, y);
  }

  /** (P.hi, P.lo) += a·U over `count` entries, error-free (a gradient-descent step). */
  async update(U: GPUBuffer, P: DeviceParams, count: number, a: number): Promise<void> {
    const [x, y] = this.grid(count);
    await this.dispatch(UPDATE_SOURCE, 'webntk empirical: update', packStruct(UPDATE_PARAMS, { count, a, one: 1 }), [U, P.hi, P.lo], x, y);
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
    const W = this.r.weightsOf(p.W, 'webntk empirical: weights');
    const Wv: View = { buf: W, rows: p.outDim, cols: p.fanIn, ld: p.fanIn, off: 0 };
    const bias = p.bias ? this.r.weightsOf(p.bias, 'webntk empirical: biases') : null;
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

/**
 * The unnormalised empirical NNGP and/or NTK of `net` over the rows of X (stacked [X1; X2] as in
 * empirical.ts), on the device of `ctx`; f32 on the device, returned as float64.
 */
export async function empiricalOnGpu(ctx: GpuContext, net: SampledNetwork, X: Mat, b: GpuBlock, get: readonly ('nngp' | 'ntk')[]): Promise<{ nngp?: Float64Array; ntk?: Float64Array }> {
  const { device } = ctx;
  // An activation without WGSL, or user WGSL that does not compile, is refused before any work.
  await checkUserWgsl(device, activationsOf(net.nodes).flatMap((a) => wgslPointwise(a).check ?? []));
  const r = new Runner(ctx);
  const scopes = new ErrorScopes(ctx);
  let result: { nngp?: Float64Array; ntk?: Float64Array } = {};
  let thrown: unknown = null;
  try {
    const N = X.rows;
    const input: View = { buf: r.upload(X.data, 'webntk empirical: inputs'), rows: N, cols: X.cols, ld: X.cols, off: 0 };
    const dp = new DevicePass(r, N);
    const pass = await dp.forward(net.nodes, input);
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
