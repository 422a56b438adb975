/// <reference types="@webgpu/types" preserve="true" />
/**
 * Full-batch gradient descent of a sampled network on WebGPU: the `TrainModel` of src/mc/train.ts
 * (whose loop, losses, step η and checkpoints are the CPU's) on the passes of src/gpu/empirical.ts.
 * The weights are drawn on the host in float64 (the CPU's network) and live on the device as
 * double-single pairs (hi, lo): every pass reads hi = fl32(w), and each step adds its update
 * error-free (shaders/empirical_update.wgsl), so hundreds of small steps do not each lose ε·|w|.
 * Per step and copy: the forward and backward pass over the batch (train then test rows), then per
 * trainable layer R = diag(r)·Δ, the weight gradient Rᵀ·A and the bias gradient rᵀ·Δ as chunked
 * double-single GEMMs, and the update. Only f (N values) comes back per step, for the loss and
 * r = f − y in float64 on the host; the per-layer Grams only at checkpoints.
 */
import { wgslPointwise } from '../activations/registry.js';
import type { LayerSink, Mat, SampledNetwork } from '../mc/batched.js';
import { checkDeviceFits } from './net-memory.js';
import type { TrainCopy, TrainModel } from '../mc/train-model.js';
import type { GpuContext } from './device.js';
import { activationsOf, addLayerTerm, DevicePass, ErrorScopes, rowsOf, Runner, type DeviceRecord, type View } from './empirical.js';
import { checkUserWgsl } from './user-wgsl.js';

interface CopyState {
  copy: TrainCopy;
  /** The current pass: its output (N × 1) and trainable layers' records (output layer first). */
  out: View;
  records: DeviceRecord[];
}

class GpuTrainModel implements TrainModel {
  private readonly states: CopyState[] = [];
  private readonly input: View;
  private readonly ones: View;
  /** r on the training rows, as an n × 1 column and a 1 × n row. */
  private readonly rCol: View;
  private readonly rRow: View;
  /** Scratch of the update: R = diag(r)·Δ (n × outDim) and a layer's gradient (outDim × fanIn). */
  private readonly R: GPUBuffer;
  private readonly U: GPUBuffer;
  /** Buffers created after these belong to one step's pass. */
  private readonly base: number;

  constructor(
    private readonly r: Runner,
    private readonly scopes: ErrorScopes,
    private readonly copies: TrainCopy[],
    batch: Mat,
    private readonly n: number,
  ) {
    const N = batch.rows;
    this.input = { buf: r.upload(batch.data, 'webntk train: inputs'), rows: N, cols: batch.cols, ld: batch.cols, off: 0 };
    this.ones = { buf: r.upload(new Float64Array(N).fill(1), 'webntk train: ∂f/∂f'), rows: N, cols: 1, ld: 1, off: 0 };
    const rb = r.matrix(n, 1, 'webntk train: residual');
    this.rCol = rb;
    this.rRow = { ...rb, rows: 1, cols: n, ld: n };
    let outMax = 1;
    let wMax = 1;
    for (const { net } of copies) {
      for (const p of net.params) {
        // Every layer's weights are on the device (uploaded as drawn); the trained ones with their low parts.
        if (p.trainable) {
          r.trainedOf(p);
          outMax = Math.max(outMax, p.outDim);
          wMax = Math.max(wMax, p.outDim * p.fanIn);
        } else {
          r.layerOf(p);
        }
      }
    }
    this.R = r.matrix(n, outMax, 'webntk train: diag(r)·Δ').buf;
    this.U = r.matrix(wMax, 1, 'webntk train: gradient').buf;
    this.base = r.mark();
  }

  /** The forward and backward pass of every copy at the current weights. */
  async pass(): Promise<void> {
    this.r.release(this.base);
    this.states.length = 0;
    for (const copy of this.copies) {
      const dp = new DevicePass(this.r, this.input.rows);
      const p = await dp.forward(copy.net.nodes, this.input);
      await p.back(this.ones);
      this.states.push({ copy, out: p.out, records: dp.records });
    }
  }

  async outputs(): Promise<Float64Array> {
    const f = new Float64Array(this.input.rows);
    for (const { copy, out } of this.states) {
      const o = await this.r.readF32(out.buf, f.length);
      for (let k = 0; k < f.length; k++) f[k] = f[k]! + copy.sign * o[k]!;
    }
    // A device error of this step's work is reported now, not after hundreds more steps.
    const err = await this.scopes.close('training a sampled network', true);
    if (err) throw err;
    return f;
  }

  async layers(r0: number, n1: number, c0: number, n2: number): Promise<Float64Array[]> {
    const { r } = this;
    const m = r.mark();
    try {
      const D = r.matrix(n1, n2, 'webntk train: ΔΔᵀ');
      const G = r.matrix(n1, n2, 'webntk train: AAᵀ');
      const out: Float64Array[] = [];
      for (let l = 0; l < this.states[0]!.records.length; l++) {
        const T = r.matrix(n1 * n2, 2, 'webntk train: layer NTK');
        for (const s of this.states) await addLayerTerm(r, s.records[l]!, { r0, n1, c0, n2 }, D, G, T.buf, s.copy.sign ** 2);
        out.push(await r.read(T.buf, n1 * n2));
      }
      return out;
    } finally {
      r.release(m);
    }
  }

  async step(res: Float64Array, lr: number): Promise<void> {
    const { r, n } = this;
    this.r.writeF32(this.rCol.buf, res);
    for (const { copy, records } of this.states) {
      const g = (lr / n) * copy.sign;
      for (const { p, A, delta } of records) {
        const d = rowsOf(delta, 0, n);
        const R: View = { buf: this.R, rows: n, cols: p.outDim, ld: p.outDim, off: 0 };
        const U: View = { buf: this.U, rows: p.outDim, cols: p.fanIn, ld: p.fanIn, off: 0 };
        await r.pointwise(3, null, d, this.rCol, R, 1);
        await r.gemm(R, rowsOf(A, 0, n), U, { alpha: 1, transA: true });
        const P = r.trainedOf(p);
        await r.update(this.U, P.W, p.outDim * p.fanIn, -g * p.cw);
        if (P.bias) {
          const u: View = { ...U, rows: 1, cols: p.outDim, ld: p.outDim };
          await r.gemm(this.rRow, d, u, { alpha: 1 });
          await r.update(this.U, P.bias, p.outDim, -g * p.cb);
        }
      }
    }
    await this.pass();
  }

  async close(): Promise<void> {
    const err = await this.scopes.close('training a sampled network');
    this.r.destroy();
    if (err) throw err;
  }
}

/** The network of training on the device: its plan (shapes, activations) and the draw of its copies into a sink. */
export interface DeviceTrainNet {
  plan: SampledNetwork;
  draw: (sink: LayerSink) => TrainCopy[];
}

/**
 * The device model of `trainSteps` for the copies of one sampled network over a batch (n training
 * rows first): refused before anything is drawn when its buffers cannot fit this device
 * (net-memory.ts), then drawn one layer at a time straight into device buffers.
 */
export async function gpuTrainModel(ctx: GpuContext, net: DeviceTrainNet, batch: Mat, n: number, copies: number): Promise<TrainModel> {
  // An activation without WGSL, or user WGSL that does not compile, is refused before any work.
  await checkUserWgsl(ctx.device, activationsOf(net.plan.nodes).flatMap((a) => wgslPointwise(a).check ?? []));
  checkDeviceFits(net.plan.shapes, net.plan.width, batch.rows, { kind: 'train', n, copies }, ctx.device.limits);
  const scopes = new ErrorScopes(ctx);
  const r = new Runner(ctx);
  try {
    const m = new GpuTrainModel(r, scopes, net.draw(r.sink(true)), batch, n);
    await m.pass();
    return m;
  } catch (e) {
    const err = await scopes.close('training a sampled network');
    r.destroy();
    throw err ?? e;
  }
}
