/**
 * Monte Carlo oracle for convolutional networks: samples finite-width conv nets of a resolved spec
 * in float64, runs an explicit forward pass and backpropagation, and averages the empirical kernels
 * over independent initialisations (the conv counterpart of `mc/montecarlo.ts`; it shares only the
 * spec, φ/φ′ and the summary statistics with it, nothing with the analytic path).
 *
 * Model (wave2.md §1.1, NTK parametrisation). A representation is C channels × P pixels with a
 * normaliser s (its kernel per pixel pair is s·Σ_c g_x[c, i]·g_z[c, j]); the input image has s = 1/C0
 * when `inputScale` is "dim" (K0[i, j] = x[:, i]·z[:, j]/C0, the spatial default) and s = 1 when it is
 * "none" (K0 = x[:, i]·z[:, j]), as the spec says and the engine computes. Vectors are representations with no
 * spatial axis (P = 1), and a dense layer is a conv with one tap on them.
 * - conv: h[c′, I] = √(σ_w²·s/|A|)·Σ_{c, a∈A} W[c′, c, a]·g[c, s·I + a] + σ_b·b[c′], W, b ~ N(0, 1),
 *   A = {−r..r}^D; indices and output sizes as in `conv-geometry.ts`; output normaliser 1/width.
 * - avgPool: the mean over the window (no parameters; normaliser unchanged).
 * - activations: φ entrywise; residual: β·f + α·branch(f) (shapes must match).
 * - readouts, each followed by a dense layer with the readout's weightVar, biasVar, trainable:
 *   eq reads pixel i0 (normaliser s), flatten all C·P values (normaliser s/P), gap the pixel mean (s).
 * Per sample: empirical NNGP = the output layer's conditional covariance σ²·s·(a_x·a_z) + σ_b²;
 * empirical NTK = Σ over trainable layers of ∂f(x)/∂θ·∂f(z)/∂θ, per conv layer
 * σ_w²·s/|A|·Σ_a Σ_{I,J} (δ_x[:, I]·δ_z[:, J])·(g_x[:, s·I+a]·g_z[:, s·J+a]) + σ_b²·Σ_{I,J} δ_x[:, I]·δ_z[:, J]
 * (wave2.md §1.2). The network has one scalar output; a spec ending with a vector layer other than a
 * dense one gets a frozen dense(1) readout appended, which leaves both kernels unchanged in expectation.
 */
import { InputError } from '../errors.js';
import { countResidualBlocks, residualAlpha } from '../program/compile.js';
import type { Activation, ResolvedLayer, ResolvedSpec } from '../spec/types.js';
import { checkLayerReads, checkResidualShape, convMaps, pixelIndex, poolMaps } from './conv-geometry.js';
import { estimateKernel, pointwise, type MonteCarloOptions, type MonteCarloResult } from './montecarlo.js';
import { Rng } from './rng.js';

/** A batch of images, channel-first: shape [N, C, P] (1-D signals) or [N, C, H, W] (2-D), row-major. */
export interface ImageBatch {
  data: ArrayLike<number>;
  shape: number[];
}

/** A representation of every input: C channels × P pixels each, stored [c][pixel]. */
export interface Rep {
  C: number;
  /** Spatial sizes; [] for a vector. */
  dims: number[];
  /** Normaliser: the kernel of a pixel pair is s·Σ_c. */
  s: number;
  x: Float64Array[];
}

interface Pass {
  out: Rep;
  /** Gradient of the output with respect to this pass's input, from that with respect to its output. */
  back: (g: Float64Array[]) => Float64Array[];
}

/** What one trainable layer contributes to the empirical NTK. */
interface LayerGrad {
  input: Rep;
  delta: Float64Array[];
  Pout: number;
  Cout: number;
  maps: Int32Array[];
  wfac: number;
  bfac: number;
}

type LinearParams = { weightVar: number; biasVar: number; trainable: boolean };

const pixels = (dims: number[]): number => dims.reduce((p, n) => p * n, 1);

class ConvSampler {
  grads: LayerGrad[] = [];
  readout: { a: Float64Array[]; wfac: number; bfac: number } | null = null;
  constructor(
    readonly rng: Rng,
    readonly width: number,
    readonly L: number,
  ) {}

  /**
   * One weight layer: every output pixel reads the input pixels maps[a][I] (−1: none) of each tap a.
   * A dense layer is the case of one tap on P = 1.
   */
  linear(p: LinearParams, input: Rep, maps: Int32Array[], outDims: number[], Cout: number, isOutput: boolean): Pass {
    const m = input.x.length;
    const Cin = input.C;
    const Pin = pixels(input.dims);
    const Pout = pixels(outDims);
    const A = maps.length;
    const K = Cin * A;
    const mP = m * Pout;
    const W = new Float64Array(Cout * K);
    this.rng.fillNormal(W);
    const bias = p.biasVar > 0 ? new Float64Array(Cout) : null;
    if (bias) this.rng.fillNormal(bias);
    const cw = Math.sqrt((p.weightVar * input.s) / A);
    const cb = Math.sqrt(p.biasVar);
    // im2col over the whole batch: col[k][n·Pout + I] = g_n[c, maps[a][I]], k = c·A + a.
    const col = new Float64Array(K * mP);
    for (let c = 0; c < Cin; c++) {
      for (let a = 0; a < A; a++) {
        const map = maps[a]!;
        const row = (c * A + a) * mP;
        for (let n = 0; n < m; n++) {
          const g = input.x[n]!;
          for (let I = 0; I < Pout; I++) {
            const u = map[I]!;
            if (u >= 0) col[row + n * Pout + I] = g[c * Pin + u]!;
          }
        }
      }
    }
    const y = new Float64Array(Cout * mP);
    for (let o = 0; o < Cout; o++) {
      const yo = o * mP;
      for (let k = 0; k < K; k++) {
        const w = W[o * K + k]!;
        const ck = k * mP;
        for (let t = 0; t < mP; t++) y[yo + t] = y[yo + t]! + w * col[ck + t]!;
      }
    }
    const out: Float64Array[] = [];
    for (let n = 0; n < m; n++) {
      const h = new Float64Array(Cout * Pout);
      for (let o = 0; o < Cout; o++) {
        const b = bias ? cb * bias[o]! : 0;
        for (let I = 0; I < Pout; I++) h[o * Pout + I] = cw * y[o * mP + n * Pout + I]! + b;
      }
      out.push(h);
    }
    if (isOutput) this.readout = { a: input.x, wfac: p.weightVar * input.s, bfac: p.biasVar };
    return {
      out: { C: Cout, dims: outDims, s: 1 / Cout, x: out },
      back: (g) => {
        if (p.trainable) {
          this.grads.push({ input, delta: g, Pout, Cout, maps, wfac: (p.weightVar * input.s) / A, bfac: p.biasVar });
        }
        // dcol = cw·Wᵀ·δ, then scattered back onto the input pixels it was read from.
        const d = new Float64Array(Cout * mP);
        for (let n = 0; n < m; n++) {
          const gn = g[n]!;
          for (let o = 0; o < Cout; o++) for (let I = 0; I < Pout; I++) d[o * mP + n * Pout + I] = cw * gn[o * Pout + I]!;
        }
        const dcol = new Float64Array(K * mP);
        for (let o = 0; o < Cout; o++) {
          const dofs = o * mP;
          for (let k = 0; k < K; k++) {
            const w = W[o * K + k]!;
            const ck = k * mP;
            for (let t = 0; t < mP; t++) dcol[ck + t] = dcol[ck + t]! + w * d[dofs + t]!;
          }
        }
        const gin = input.x.map(() => new Float64Array(Cin * Pin));
        for (let c = 0; c < Cin; c++) {
          for (let a = 0; a < A; a++) {
            const map = maps[a]!;
            const row = (c * A + a) * mP;
            for (let n = 0; n < m; n++) {
              const gi = gin[n]!;
              for (let I = 0; I < Pout; I++) {
                const u = map[I]!;
                if (u >= 0) gi[c * Pin + u] = gi[c * Pin + u]! + dcol[row + n * Pout + I]!;
              }
            }
          }
        }
        return gin;
      },
    };
  }

  activation(act: Activation, input: Rep): Pass {
    const [phi, dphi] = pointwise(act);
    return {
      out: { ...input, x: input.x.map((h) => h.map(phi)) },
      back: (g) => g.map((gi, k) => gi.map((v, i) => v * dphi(input.x[k]![i]!))),
    };
  }

  avgPool(l: Extract<ResolvedLayer, { type: 'avgPool' }>, input: Rep): Pass {
    const { outDims, maps } = poolMaps(input.dims, l.window, l.stride);
    const C = input.C;
    const Pin = pixels(input.dims);
    const Pout = pixels(outDims);
    const f = 1 / maps.length;
    const out = input.x.map((g) => {
      const h = new Float64Array(C * Pout);
      for (let c = 0; c < C; c++) {
        for (const map of maps) {
          for (let I = 0; I < Pout; I++) h[c * Pout + I] = h[c * Pout + I]! + f * g[c * Pin + map[I]!]!;
        }
      }
      return h;
    });
    return {
      out: { C, dims: outDims, s: input.s, x: out },
      back: (g) =>
        g.map((gi) => {
          const d = new Float64Array(C * Pin);
          for (let c = 0; c < C; c++) {
            for (const map of maps) {
              for (let I = 0; I < Pout; I++) {
                const u = c * Pin + map[I]!;
                d[u] = d[u]! + f * gi[c * Pout + I]!;
              }
            }
          }
          return d;
        }),
    };
  }

  /** eq, flatten or gap: an image to a vector, then the readout's dense layer. */
  spatialReadout(l: Extract<ResolvedLayer, { type: 'eq' | 'flatten' | 'gap' }>, input: Rep, isOutput: boolean): Pass {
    const C = input.C;
    const P = pixels(input.dims);
    let vec: Rep;
    let back: (g: Float64Array[]) => Float64Array[];
    switch (l.type) {
      case 'eq': {
        const i0 = pixelIndex(l.pixel, input.dims);
        vec = { C, dims: [], s: input.s, x: input.x.map((g) => Float64Array.from({ length: C }, (_, c) => g[c * P + i0]!)) };
        back = (g) =>
          g.map((gi) => {
            const d = new Float64Array(C * P);
            for (let c = 0; c < C; c++) d[c * P + i0] = gi[c]!;
            return d;
          });
        break;
      }
      case 'flatten':
        // The C·P values as one vector; its kernel s·Σ_{c,i}/P is the mean of the diagonal.
        vec = { C: C * P, dims: [], s: input.s / P, x: input.x };
        back = (g) => g;
        break;
      case 'gap':
        vec = {
          C,
          dims: [],
          s: input.s,
          x: input.x.map((g) => {
            const v = new Float64Array(C);
            for (let c = 0; c < C; c++) {
              let acc = 0;
              for (let i = 0; i < P; i++) acc += g[c * P + i]!;
              v[c] = acc / P;
            }
            return v;
          }),
        };
        back = (g) =>
          g.map((gi) => {
            const d = new Float64Array(C * P);
            for (let c = 0; c < C; c++) d.fill(gi[c]! / P, c * P, (c + 1) * P);
            return d;
          });
        break;
    }
    const dense = this.linear(l, vec, [Int32Array.of(0)], [], isOutput ? 1 : this.width, isOutput);
    return { out: dense.out, back: (g) => back(dense.back(g)) };
  }

  layers(layers: ResolvedLayer[], input: Rep, outputAt: ResolvedLayer | null): Pass {
    let cur = input;
    const backs: Pass['back'][] = [];
    for (const l of layers) {
      const p = this.layer(l, cur, outputAt);
      cur = p.out;
      backs.push(p.back);
    }
    return { out: cur, back: (g) => backs.reduceRight((gg, b) => b(gg), g) };
  }

  layer(l: ResolvedLayer, input: Rep, outputAt: ResolvedLayer | null): Pass {
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
        const passes: Pass[] = [];
        let cur = input;
        for (let i = 0; i < l.count; i++) {
          const p = this.layers(l.layers, cur, outputAt);
          passes.push(p);
          cur = p.out;
        }
        return { out: cur, back: (g) => passes.reduceRight((gg, p) => p.back(gg), g) };
      }
      case 'residual': {
        const alpha = residualAlpha(l, this.L);
        const branch = this.layers(l.branch, input, null);
        const b = branch.out;
        checkResidualShape(input, b);
        const out = input.x.map((h, k) => {
          const bk = b.x[k]!;
          const y = new Float64Array(h.length);
          for (let i = 0; i < h.length; i++) y[i] = l.beta * h[i]! + alpha * bk[i]!;
          return y;
        });
        return {
          out: { ...input, x: out },
          back: (g) => {
            const gb = branch.back(g.map((gi) => gi.map((v) => alpha * v)));
            return g.map((gi, k) => gi.map((v, i) => l.beta * v + gb[k]![i]!));
          },
        };
      }
      case 'denseBlock':
        throw new InputError('the conv Monte Carlo oracle does not sample denseBlock layers (the vector oracle does)');
      default:
        return this.activation(l, input);
    }
  }

  /** Σ over trainable layers of the gradient inner product for inputs x and z. */
  ntk(x: number, z: number): number {
    let th = 0;
    for (const g of this.grads) {
      const Pin = pixels(g.input.dims);
      const { Pout, Cout } = g;
      const dx = g.delta[x]!;
      const dz = g.delta[z]!;
      // D[I, J] = δ_x[:, I]·δ_z[:, J] (output pixels), G[u, v] = g_x[:, u]·g_z[:, v] (input pixels).
      const D = new Float64Array(Pout * Pout);
      for (let o = 0; o < Cout; o++) {
        for (let I = 0; I < Pout; I++) {
          const v = dx[o * Pout + I]!;
          if (v === 0) continue;
          for (let J = 0; J < Pout; J++) D[I * Pout + J] = D[I * Pout + J]! + v * dz[o * Pout + J]!;
        }
      }
      const gx = g.input.x[x]!;
      const gz = g.input.x[z]!;
      const Cin = g.input.C;
      const G = new Float64Array(Pin * Pin);
      for (let c = 0; c < Cin; c++) {
        for (let u = 0; u < Pin; u++) {
          const v = gx[c * Pin + u]!;
          if (v === 0) continue;
          for (let w = 0; w < Pin; w++) G[u * Pin + w] = G[u * Pin + w]! + v * gz[c * Pin + w]!;
        }
      }
      let wsum = 0;
      for (const map of g.maps) {
        for (let I = 0; I < Pout; I++) {
          const u = map[I]!;
          if (u < 0) continue;
          for (let J = 0; J < Pout; J++) {
            const w = map[J]!;
            if (w >= 0) wsum += D[I * Pout + J]! * G[u * Pin + w]!;
          }
        }
      }
      let dsum = 0;
      for (let e = 0; e < D.length; e++) dsum += D[e]!;
      th += g.wfac * wsum + g.bfac * dsum;
    }
    return th;
  }
}

/** Checks the batch and returns one C0 × P array per image. */
function readImages(images: ImageBatch): { reps: Float64Array[]; C0: number; dims: number[] } {
  const { shape, data } = images;
  if (shape.length !== 3 && shape.length !== 4) {
    throw new InputError(`images must have shape [N, C, P] or [N, C, H, W], got [${shape.join(', ')}]`);
  }
  for (const n of shape) {
    if (!Number.isInteger(n) || n < 1) throw new InputError(`images: every axis must be a positive integer, got [${shape.join(', ')}]`);
  }
  const [N, C0, ...dims] = shape as [number, number, ...number[]];
  const size = C0 * pixels(dims);
  if (data.length !== N * size) {
    throw new InputError(`images: shape [${shape.join(', ')}] needs ${N * size} values, got ${data.length}`);
  }
  const reps: Float64Array[] = [];
  for (let n = 0; n < N; n++) {
    const img = new Float64Array(size);
    for (let e = 0; e < size; e++) {
      const v = data[n * size + e]!;
      if (!Number.isFinite(v)) throw new InputError(`images: value ${e} of image ${n} is ${v}`);
      img[e] = v;
    }
    reps.push(img);
  }
  return { reps, C0, dims };
}

/** What every network sampled over one batch of images shares: the images, the layer list, L (also the WebGPU walk's, src/gpu/empirical-conv.ts). */
export interface ConvSetup {
  reps: Float64Array[];
  m: number;
  net: ResolvedLayer[];
  outputAt: ResolvedLayer;
  L: number;
  input: Rep;
}

export function convSetup(spec: ResolvedSpec, images: ImageBatch, width: number): ConvSetup {
  if (!Number.isInteger(width) || width < 1) throw new InputError(`width must be an integer ≥ 1, got ${width}`);
  if (spec.normalize !== 'none') throw new InputError('sampled conv networks have unnormalised kernels: the spec must have normalize "none"');
  const { reps, C0, dims } = readImages(images);
  const all = [...spec.layers, ...spec.readout];
  const last = all[all.length - 1];
  if (!last) throw new InputError('the spec has no layers');
  const endsLinear = last.type === 'dense' || last.type === 'eq' || last.type === 'flatten' || last.type === 'gap';
  const net: ResolvedLayer[] = endsLinear ? all : [...all, { type: 'dense', weightVar: 1, biasVar: 0, trainable: false }];
  // The spec's input covariance: x·z/C0 ("dim") or x·z ("none"), per pixel pair.
  const input: Rep = { C: C0, dims, s: spec.inputScale === 'dim' ? 1 / C0 : 1, x: reps };
  return { reps, m: reps.length, net, outputAt: net[net.length - 1]!, L: countResidualBlocks(all), input };
}

/** Draws one network from `rng` and writes its empirical NNGP and NTK (all m × m pairs) at offset o. */
function sampleConvNetwork(c: ConvSetup, width: number, rng: Rng, valsK: Float64Array, valsT: Float64Array, o: number): void {
  const { m, reps } = c;
  const sampler = new ConvSampler(rng, width, c.L);
  const pass = sampler.layers(c.net, c.input, c.outputAt);
  if (pass.out.dims.length > 0) {
    throw new InputError('the network ends with an image; end it with a readout (eq, flatten or gap)');
  }
  pass.back(reps.map(() => Float64Array.of(1)));
  const ro = sampler.readout!;
  for (let i = 0; i < m; i++) {
    for (let j = i; j < m; j++) {
      const ai = ro.a[i]!;
      const aj = ro.a[j]!;
      let dot = 0;
      for (let e = 0; e < ai.length; e++) dot += ai[e]! * aj[e]!;
      const k = ro.wfac * dot + ro.bfac;
      const th = sampler.ntk(i, j);
      valsK[o + i * m + j] = valsK[o + j * m + i] = k;
      valsT[o + i * m + j] = valsT[o + j * m + i] = th;
    }
  }
}

/**
 * The empirical NNGP and NTK (m × m, all pairs) of the conv network of `spec` sampled at `width`
 * from `seed`: the network `monteCarloConv` samples first for that seed.
 */
export function empiricalConvKernels(spec: ResolvedSpec, images: ImageBatch, width: number, seed: number): { nngp: Float64Array; ntk: Float64Array; m: number } {
  const c = convSetup(spec, images, width);
  const nngp = new Float64Array(c.m * c.m);
  const ntk = new Float64Array(c.m * c.m);
  sampleConvNetwork(c, width, new Rng(seed), nngp, ntk, 0);
  return { nngp, ntk, m: c.m };
}

/**
 * Monte Carlo estimate of the NNGP and NTK of a conv spec over a batch of images (N × N, all
 * pairs): `options.samples` independent networks with `options.width` channels per hidden layer.
 * Specs with normalize "diagonal" are refused (the conv normaliser is not defined here).
 */
export function monteCarloConv(spec: ResolvedSpec, images: ImageBatch, options: MonteCarloOptions): MonteCarloResult {
  const { width, samples } = options;
  const c = convSetup(spec, images, width);
  if (!Number.isInteger(samples) || samples < 2) throw new InputError(`samples must be an integer ≥ 2, got ${samples}`);
  const m = c.m;
  const rng = new Rng(options.seed ?? 0);
  const valsK = new Float64Array(samples * m * m);
  const valsT = new Float64Array(samples * m * m);
  for (let t = 0; t < samples; t++) sampleConvNetwork(c, width, rng, valsK, valsT, t * m * m);
  const result: MonteCarloResult = {
    nngp: estimateKernel(valsK, samples, m),
    ntk: estimateKernel(valsT, samples, m),
    m,
    width,
    samples,
  };
  if (options.keepSamples) result.perSample = { nngp: valsK, ntk: valsT };
  return result;
}
