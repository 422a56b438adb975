/// <reference types="@webgpu/types" preserve="true" />
/**
 * The empirical NNGP/NTK of a sampled conv network on WebGPU: the network of `mc/conv.ts` for
 * (width, seed) (its walk, in the same order, so the same float64 draws from the same Rng; the
 * weights are uploaded as f32), with the forward and backward pass on the device.
 *
 * Layout: a representation of the whole batch is one row-major [N·P, C] f32 matrix (row n·P + i,
 * pixel i of input n; column c, the channel), so a vector (P = 1) is the dense path's [N, C] and
 * flatten is a reinterpretation of the same buffer as [N, P·C] (the readout's weights are permuted on
 * upload from the CPU's c·P + i order to i·C + c). A conv layer is im2col through conv-geometry.ts's
 * tap maps (shaders/empirical_conv_gather.wgsl, op 0: zeros for padding, circular padding folded into
 * the maps) and a GEMM with the weights (empirical_gemm.wgsl, as the dense path); its backward pass is
 * the GEMM with the weights and col2im as a gather through the inverse maps (op 1, one list of (I, a)
 * per input pixel: no atomics, the same result run to run). avgPool, gap and eq are op 1 gathers too.
 *
 * NTK term of a layer with P_out > 1: the Gram of the per-input weight gradients
 * ∂f(x)/∂W = cw·Δ_xᵀ·col_x (Cout × C·|A| each, one transposed-A GEMM per input), wfac·J Jᵀ, plus
 * bfac·(Σ_I δ_x[I])·(Σ_J δ_z[J]). Chosen over Σ_a of Hadamard products of pixel-pair Grams because its
 * memory is N·Cout·Cin·|A| floats (one layer at a time, and held for at most two chunks of inputs of
 * WEIGHT_GRADIENTS.bytes each, so N is not bounded by it) instead of (N·P)² per Gram, and it is only
 * GEMMs with the dense path's accurate chunked double-single sums; the sum over (I, J, a) of the CPU's
 * formula is exactly ⟨∂f(x)/∂W, ∂f(z)/∂W⟩. Layers with P_out = 1 (dense layers and readouts) use the
 * dense path's factorisation wfac·(ΔΔᵀ) ⊙ (col colᵀ) + bfac·ΔΔᵀ. Every term enters a double-single
 * accumulator (empirical_accumulate.wgsl).
 */
import { wgslPointwise, type AnyActivation } from '../activations/registry.js';
import { GpuError, InputError } from '../errors.js';
import { convSetup, type ConvSetup, type ImageBatch } from '../mc/conv.js';
import { checkLayerReads, checkResidualShape, convMaps, pixelIndex, poolMaps } from '../mc/conv-geometry.js';
import { Rng } from '../mc/rng.js';
import { residualAlpha } from '../program/compile.js';
import type { Activation, ResolvedLayer, ResolvedSpec } from '../spec/types.js';
import type { GpuContext } from './device.js';
import { columnsOf, ErrorScopes, Runner, rowsOf, type GpuBlock, type View } from './empirical.js';
import { CONV_GATHER_PARAMS, packStruct, wgslStruct } from './layout.js';
import { EMPIRICAL_COMMON_WGSL, EMPIRICAL_CONV_GATHER_WGSL } from './shaders.generated.js';
import { checkUserWgsl } from './user-wgsl.js';

/** Bytes of per-input weight gradients held at once (two chunks of inputs); tests lower it to exercise the chunks. */
export const WEIGHT_GRADIENTS = { bytes: 2 ** 27 };

const GATHER_SOURCE = wgslStruct(CONV_GATHER_PARAMS) + EMPIRICAL_COMMON_WGSL + EMPIRICAL_CONV_GATHER_WGSL;

/** The batch's representation on the device: [N·P, C] (see the header). */
interface DRep {
  C: number;
  dims: number[];
  s: number;
  v: View;
  /** The network's input: no gradient is taken with respect to it. */
  isInput: boolean;
}

interface Pass {
  out: DRep;
  /** The gradient with respect to the pass's input (null when that is the network's input). */
  back: (g: View) => Promise<View | null>;
}

/** A trainable layer: im2col of its input [N·Pout, K], its output gradient [N·Pout, Cout]. */
interface ConvRecord {
  col: View;
  delta: View;
  Pout: number;
  Cout: number;
  K: number;
  wfac: number;
  bfac: number;
}

type LinearParams = { weightVar: number; biasVar: number; trainable: boolean };

const pixels = (dims: number[]): number => dims.reduce((p, n) => p * n, 1);

/** Lists per output row as CSR (starts, then the source rows, then the taps) in one i32 array. */
function csr(lists: [number, number][][]): { idx: Int32Array; srcOff: number; tapOff: number } {
  const E = lists.reduce((t, l) => t + l.length, 0);
  const R = lists.length;
  const idx = new Int32Array(R + 1 + 2 * E);
  let e = 0;
  lists.forEach((l, r) => {
    idx[r] = e;
    for (const [src, tap] of l) {
      idx[R + 1 + e] = src;
      idx[R + 1 + E + e] = tap;
      e++;
    }
  });
  idx[R] = e;
  return { idx, srcOff: R + 1, tapOff: R + 1 + E };
}

/** For each input pixel u < Pin, the (I, a) with maps[a][I] = u (a, then I, ascending). */
function inverseLists(maps: Int32Array[], Pin: number, Pout: number): [number, number][][] {
  const lists: [number, number][][] = Array.from({ length: Pin }, () => []);
  maps.forEach((map, a) => {
    for (let I = 0; I < Pout; I++) if (map[I]! >= 0) lists[map[I]!]!.push([I, a]);
  });
  return lists;
}

const isIdentity = (maps: Int32Array[], Pin: number, Pout: number): boolean => maps.length === 1 && Pin === Pout && maps[0]!.every((u, I) => u === I);

/** Every activation of a conv spec's layers (to check their WGSL before any work). */
function activationsOf(layers: readonly ResolvedLayer[]): AnyActivation[] {
  return layers.flatMap((l): AnyActivation[] => {
    switch (l.type) {
      case 'conv':
      case 'avgPool':
      case 'eq':
      case 'flatten':
      case 'gap':
      case 'dense':
      case 'denseBlock':
        return [];
      case 'repeat':
        return activationsOf(l.layers);
      case 'residual':
        return activationsOf(l.branch);
      default:
        return [l as AnyActivation];
    }
  });
}

class DeviceConvPass {
  readonly records: ConvRecord[] = [];
  readout: { A: View; wfac: number; bfac: number } | null = null;

  constructor(
    private readonly r: Runner,
    private readonly rng: Rng,
    private readonly width: number,
    private readonly L: number,
    private readonly N: number,
  ) {}

  private async gather(op: 0 | 1, input: View, out: View, o: { Rin: number; Rout: number; C: number; A?: number; idx: Int32Array; srcOff?: number; tapOff?: number; cstride?: number; scale?: number }): Promise<void> {
    const idx = this.r.uploadI32(o.idx, 'webntk empirical conv: maps');
    const params = packStruct(CONV_GATHER_PARAMS, {
      op,
      N: this.N,
      Rin: o.Rin,
      Rout: o.Rout,
      C: o.C,
      A: o.A ?? 1,
      ldIn: input.ld,
      offIn: input.off,
      ldOut: out.ld,
      offOut: out.off,
      cstride: o.cstride ?? 1,
      srcOff: o.srcOff ?? 0,
      tapOff: o.tapOff ?? 0,
      scale: o.scale ?? 1,
      one: 1,
    });
    await this.r.run1d(GATHER_SOURCE, 'webntk empirical conv: gather', params, [input.buf, out.buf, idx], this.N * o.Rout * o.C * (op === 0 ? (o.A ?? 1) : 1));
  }

  /** Out[n·Rout + r, c] = scale·Σ over lists[r] of In[n·Rin + src, c·cstride + tap]. */
  async sum(input: View, lists: [number, number][][], Rin: number, C: number, scale: number, cstride = 1): Promise<View> {
    const out = this.r.matrix(this.N * lists.length, C, 'webntk empirical conv: gathered');
    await this.gather(1, input, out, { Rin, Rout: lists.length, C, cstride, scale, ...csr(lists) });
    return out;
  }

  /** mc/conv.ts's linear: the same draws (W, then the bias), im2col and a GEMM; `order[j]`: the CPU's column of GPU column j. */
  private async linear(p: LinearParams, input: DRep, maps: Int32Array[], outDims: number[], Cout: number, isOutput: boolean, order?: Int32Array): Promise<Pass> {
    const N = this.N;
    const Cin = input.C;
    const Pin = pixels(input.dims);
    const Pout = pixels(outDims);
    const A = maps.length;
    const K = Cin * A;
    const W = new Float64Array(Cout * K);
    this.rng.fillNormal(W);
    const bias = p.biasVar > 0 ? new Float64Array(Cout) : null;
    if (bias) this.rng.fillNormal(bias);
    const cw = Math.sqrt((p.weightVar * input.s) / A);
    const cb = Math.sqrt(p.biasVar);
    let Wd = W;
    if (order) {
      Wd = new Float64Array(Cout * K);
      for (let o = 0; o < Cout; o++) for (let j = 0; j < K; j++) Wd[o * K + j] = W[o * K + order[j]!]!;
    }
    const Wv: View = { buf: this.r.upload(Wd, 'webntk empirical conv: weights'), rows: Cout, cols: K, ld: K, off: 0 };
    const biasBuf = bias ? this.r.upload(bias, 'webntk empirical conv: biases') : null;
    const identity = isIdentity(maps, Pin, Pout);
    let col = input.v;
    if (!identity) {
      col = this.r.matrix(N * Pout, K, 'webntk empirical conv: im2col');
      const idx = new Int32Array(A * Pout);
      maps.forEach((m, a) => idx.set(m.subarray(0, Pout), a * Pout));
      await this.gather(0, input.v, col, { Rin: Pin, Rout: Pout, C: Cin, A, idx });
    }
    const out = this.r.matrix(N * Pout, Cout, 'webntk empirical conv: pre-activations');
    await this.r.gemm(col, Wv, out, { alpha: cw, transB: true, bias: biasBuf, biasScale: cb });
    if (isOutput) this.readout = { A: col, wfac: p.weightVar * input.s, bfac: p.biasVar };
    return {
      out: { C: Cout, dims: outDims, s: 1 / Cout, v: out, isInput: false },
      back: async (g) => {
        if (p.trainable) this.records.push({ col, delta: g, Pout, Cout, K, wfac: (p.weightVar * input.s) / A, bfac: p.biasVar });
        if (input.isInput) return null;
        const dcol = this.r.matrix(N * Pout, K, 'webntk empirical conv: column gradient');
        await this.r.gemm(g, Wv, dcol, { alpha: cw });
        if (identity) return dcol;
        // col2im: every input pixel gathers the (I, a) that read it.
        return this.sum(dcol, inverseLists(maps, Pin, Pout), Pout, Cin, 1, A);
      },
    };
  }

  private async activation(act: Activation, input: DRep): Promise<Pass> {
    const out = this.r.matrix(input.v.rows, input.C, 'webntk empirical conv: activations');
    await this.r.pointwise(0, act as AnyActivation, input.v, null, out);
    return {
      out: { ...input, v: out, isInput: false },
      back: async (g) => {
        const gin = this.r.matrix(g.rows, g.cols, 'webntk empirical conv: activation gradient');
        await this.r.pointwise(1, act as AnyActivation, input.v, g, gin, 0, 0);
        return gin;
      },
    };
  }

  private async avgPool(l: Extract<ResolvedLayer, { type: 'avgPool' }>, input: DRep): Promise<Pass> {
    const { outDims, maps } = poolMaps(input.dims, l.window, l.stride);
    const Pin = pixels(input.dims);
    const Pout = pixels(outDims);
    const f = 1 / maps.length;
    const fwd: [number, number][][] = Array.from({ length: Pout }, (_, I) => maps.filter((m) => m[I]! >= 0).map((m): [number, number] => [m[I]!, 0]));
    const out = await this.sum(input.v, fwd, Pin, input.C, f);
    const inv = inverseLists(maps, Pin, Pout).map((l) => l.map(([I]): [number, number] => [I, 0]));
    return {
      out: { C: input.C, dims: outDims, s: input.s, v: out, isInput: false },
      back: async (g) => this.sum(g, inv, Pout, input.C, f),
    };
  }

  /** eq, flatten or gap: an image to a vector, then the readout's dense layer. */
  private async spatialReadout(l: Extract<ResolvedLayer, { type: 'eq' | 'flatten' | 'gap' }>, input: DRep, isOutput: boolean): Promise<Pass> {
    const C = input.C;
    const P = pixels(input.dims);
    let vec: DRep;
    let order: Int32Array | undefined;
    let back: (g: View) => Promise<View>;
    switch (l.type) {
      case 'eq': {
        const i0 = pixelIndex(l.pixel, input.dims);
        vec = { C, dims: [], s: input.s, v: await this.sum(input.v, [[[i0, 0]]], P, C, 1), isInput: false };
        const inv = Array.from({ length: P }, (_, u): [number, number][] => (u === i0 ? [[0, 0]] : []));
        back = (g) => this.sum(g, inv, 1, C, 1);
        break;
      }
      case 'flatten': {
        // The same buffer as [N, P·C]: GPU column i·C + c is the CPU's c·P + i.
        const v = input.v;
        vec = { C: C * P, dims: [], s: input.s / P, v: { buf: v.buf, rows: this.N, cols: P * C, ld: P * C, off: v.off }, isInput: input.isInput };
        order = Int32Array.from({ length: C * P }, (_, j) => (j % C) * P + Math.floor(j / C));
        back = async (g) => ({ buf: g.buf, rows: this.N * P, cols: C, ld: C, off: g.off });
        break;
      }
      case 'gap': {
        vec = { C, dims: [], s: input.s, v: await this.sum(input.v, [Array.from({ length: P }, (_, i): [number, number] => [i, 0])], P, C, 1 / P), isInput: false };
        const inv = Array.from({ length: P }, (): [number, number][] => [[0, 0]]);
        back = (g) => this.sum(g, inv, 1, C, 1 / P);
        break;
      }
    }
    const dense = await this.linear(l, vec, [Int32Array.of(0)], [], isOutput ? 1 : this.width, isOutput, order);
    return {
      out: dense.out,
      back: async (g) => {
        const gv = await dense.back(g);
        return gv && !input.isInput ? back(gv) : null;
      },
    };
  }

  async layers(layers: readonly ResolvedLayer[], input: DRep, outputAt: ResolvedLayer | null): Promise<Pass> {
    let cur = input;
    const backs: Pass['back'][] = [];
    for (const l of layers) {
      const p = await this.layer(l, cur, outputAt);
      cur = p.out;
      backs.push(p.back);
    }
    return { out: cur, back: async (g) => chain(backs, g) };
  }

  private async layer(l: ResolvedLayer, input: DRep, outputAt: ResolvedLayer | null): Promise<Pass> {
    const spatial = input.dims.length > 0;
    const isOutput = l === outputAt;
    checkLayerReads(l.type, spatial);
    switch (l.type) {
      case 'conv': {
        const { outDims, maps } = convMaps(input.dims, l.filter, l.stride, l.padding);
        return this.linear(l, input, maps, outDims, this.width, false);
      }
      case 'avgPool':
        return this.avgPool(l, input);
      case 'eq':
      case 'flatten':
      case 'gap':
        return this.spatialReadout(l, input, isOutput);
      case 'dense':
        return this.linear(l, input, [Int32Array.of(0)], [], isOutput ? 1 : this.width, isOutput);
      case 'repeat': {
        const backs: Pass['back'][] = [];
        let cur = input;
        for (let i = 0; i < l.count; i++) {
          const p = await this.layers(l.layers, cur, outputAt);
          backs.push(p.back);
          cur = p.out;
        }
        return { out: cur, back: async (g) => chain(backs, g) };
      }
      case 'residual': {
        const alpha = residualAlpha(l, this.L);
        const branch = await this.layers(l.branch, input, null);
        const b = branch.out;
        checkResidualShape(input, b);
        const out = this.r.matrix(input.v.rows, input.C, 'webntk empirical conv: residual');
        await this.r.pointwise(2, null, input.v, b.v, out, l.beta, alpha);
        return {
          out: { ...input, v: out, isInput: false },
          back: async (g) => {
            const ga = this.r.matrix(g.rows, g.cols, 'webntk empirical conv: residual gradient');
            await this.r.pointwise(2, null, g, null, ga, alpha, 0);
            const gb = await branch.back(ga);
            if (input.isInput || !gb) return null;
            const gin = this.r.matrix(g.rows, g.cols, 'webntk empirical conv: residual gradient');
            await this.r.pointwise(2, null, g, gb, gin, l.beta, 1);
            return gin;
          },
        };
      }
      case 'denseBlock':
        throw new InputError('the conv Monte Carlo oracle does not sample denseBlock layers (the vector oracle does)');
      default:
        return this.activation(l, input);
    }
  }
}

async function chain(backs: Pass['back'][], g: View): Promise<View | null> {
  let gg: View | null = g;
  for (let i = backs.length - 1; i >= 0 && gg; i--) gg = await backs[i]!(gg);
  return gg;
}

/** The batch channel-last on the device: row n·P + i holds pixel i of image n. */
function channelsLast(c: ConvSetup): Float64Array {
  const { C, dims, x } = c.input;
  const P = pixels(dims);
  const out = new Float64Array(x.length * P * C);
  x.forEach((img, n) => {
    for (let ch = 0; ch < C; ch++) for (let i = 0; i < P; i++) out[(n * P + i) * C + ch] = img[ch * P + i]!;
  });
  return out;
}

/**
 * The unnormalised empirical NNGP and/or NTK of the conv network of `spec` sampled at `width` from
 * `seed` (mc/conv.ts's `empiricalConvKernels` network) over the block `b` of the stacked images, on
 * the device of `ctx`: f32 on the device, returned as float64.
 */
export async function empiricalConvOnGpu(ctx: GpuContext, spec: ResolvedSpec, images: ImageBatch, width: number, seed: number, b: GpuBlock, get: readonly ('nngp' | 'ntk')[]): Promise<{ nngp?: Float64Array; ntk?: Float64Array }> {
  const c = convSetup(spec, images, width);
  const { device } = ctx;
  await checkUserWgsl(device, activationsOf(c.net).flatMap((a) => wgslPointwise(a).check ?? []));
  const r = new Runner(ctx);
  const scopes = new ErrorScopes(ctx);
  let result: { nngp?: Float64Array; ntk?: Float64Array } = {};
  let thrown: unknown = null;
  try {
    const N = c.m;
    const P = pixels(c.input.dims);
    const x: View = { buf: r.upload(channelsLast(c), 'webntk empirical conv: images'), rows: N * P, cols: c.input.C, ld: c.input.C, off: 0 };
    const dp = new DeviceConvPass(r, new Rng(seed), width, c.L, N);
    const pass = await dp.layers(c.net, { C: c.input.C, dims: c.input.dims, s: c.input.s, v: x, isInput: true }, c.outputAt);
    if (pass.out.dims.length > 0) throw new InputError('the network ends with an image; end it with a readout (eq, flatten or gap)');
    await pass.back({ buf: r.upload(new Float64Array(N).fill(1), 'webntk empirical conv: ∂f/∂f'), rows: N, cols: 1, ld: 1, off: 0 });
    const r0 = 0;
    const n1 = b.n1;
    const c0 = b.n2 === null ? 0 : b.n1;
    const n2 = b.n2 ?? b.n1;
    const count = n1 * n2;
    const D = r.matrix(n1, n2, 'webntk empirical conv: ΔΔᵀ');
    const G = r.matrix(n1, n2, 'webntk empirical conv: Gram');
    const gram = (M: View, out: View) => r.gemm(rowsOf(M, r0, n1), rowsOf(M, c0, n2), out, { alpha: 1, transB: true });
    if (get.includes('nngp')) {
      const T = r.matrix(count, 2, 'webntk empirical conv: NNGP');
      const { A, wfac, bfac } = dp.readout!;
      await gram(A, G);
      await r.accumulate('nngp', G.buf, G.buf, T.buf, count, wfac, bfac);
      result.nngp = await r.read(T.buf, count);
    }
    if (get.includes('ntk')) {
      const T = r.matrix(count, 2, 'webntk empirical conv: NTK');
      const ones = r.upload(new Float64Array(count).fill(1), 'webntk empirical conv: ones');
      for (const rec of dp.records) {
        const mark = r.mark();
        if (rec.Pout === 1) {
          await gram(rec.delta, D);
          await gram(rec.col, G);
          await r.accumulate('ntk', D.buf, G.buf, T.buf, count, rec.wfac, rec.bfac);
        } else {
          const { Pout, Cout, K } = rec;
          // J row n: Δ_nᵀ·col_n (Cout × K), the weight gradient of input n over cw, for output
          // channels [o0, o0 + cc) (so that a row of J fits one storage binding: at width 2048 a whole
          // row is 2048·2048·9 f32, 151 MB) and B inputs at a time: D's block of row chunk i and
          // column chunk j is J_i J_jᵀ (each entry summed as in one GEMM), and each channel chunk's
          // D is added to the double-single T.
          if (K > r.span) throw new InputError(`width ${Cout}: one output channel's weight gradient (${K} f32) does not fit one storage binding of this device`);
          const cc = Math.min(Cout, Math.floor(r.span / K));
          for (let o0 = 0; o0 < Cout; o0 += cc) {
            const co = Math.min(cc, Cout - o0);
            const B = Math.max(1, Math.floor(WEIGHT_GRADIENTS.bytes / (4 * co * K)));
            const weightGradients = async (n0: number, rows: number): Promise<View> => {
              const J = r.matrix(rows, co * K, 'webntk empirical conv: weight gradients');
              for (let n = 0; n < rows; n++) {
                const delta = columnsOf(rowsOf(rec.delta, (n0 + n) * Pout, Pout), o0, co);
                await r.gemm(delta, rowsOf(rec.col, (n0 + n) * Pout, Pout), { buf: J.buf, rows: co, cols: K, ld: K, off: n * co * K }, { alpha: 1, transA: true });
              }
              return J;
            };
            for (let i = 0; i < n1; i += B) {
              const bi = Math.min(B, n1 - i);
              const chunk = r.mark();
              const Ji = await weightGradients(r0 + i, bi);
              for (let j = 0; j < n2; j += B) {
                const bj = Math.min(B, n2 - j);
                const inner = r.mark();
                const Jj = c0 + j === r0 + i && bj === bi ? Ji : await weightGradients(c0 + j, bj);
                await r.gemm(Ji, Jj, { buf: D.buf, rows: bi, cols: bj, ld: n2, off: i * n2 + j }, { alpha: 1, transB: true });
                r.release(inner);
              }
              r.release(chunk);
            }
            await r.accumulate('ntk', D.buf, ones, T.buf, count, rec.wfac, 0);
          }
          if (rec.bfac > 0) {
            const all: [number, number][] = Array.from({ length: Pout }, (_, I) => [I, 0]);
            const Bsum = await dp.sum(rec.delta, [all], Pout, Cout, 1);
            await gram(Bsum, D);
            await r.accumulate('ntk', D.buf, ones, T.buf, count, 0, rec.bfac);
          }
        }
        r.release(mark);
      }
      result.ntk = await r.read(T.buf, count);
    }
  } catch (e) {
    thrown = e;
    result = {};
  }
  const err = await scopes.close('computing an empirical kernel of a conv network');
  r.destroy();
  if (thrown instanceof GpuError) throw thrown;
  if (err) throw err;
  if (thrown) throw thrown;
  return result;
}
