/**
 * Monte Carlo oracle: samples finite-width networks of any spec in float64, runs an explicit forward
 * pass and backpropagation, and averages the empirical kernels over independent initialisations.
 * It shares nothing with the analytic path but the spec, so agreement is an independent check.
 *
 * Per sample (one random initialisation of width n):
 * - empirical NNGP: the output layer's expectation given its input features a,
 *   weightVar·s·(a(x)·a(z)) + biasVar (s is the feature normaliser, 1/fan-in);
 * - empirical NTK: Σ over trainable parameters of ∂f(x)/∂θ · ∂f(z)/∂θ, computed per dense layer as
 *   weightVar·s·(δx·δz)(ax·az) + biasVar·(δx·δz) from the backpropagated output gradients δ.
 * The network has one scalar output. When the spec does not end with a dense layer, a frozen
 * dense(1) readout is appended; it leaves both kernels unchanged in expectation.
 */
import { InputError } from '../errors.js';
import { toMatrix, type MatrixInput } from '../matrix.js';
import { residualAlpha } from '../program/compile.js';
import type { Activation, ResolvedLayer, ResolvedSpec, Spec } from '../spec/types.js';
import { resolveSpec } from '../spec/validate.js';
import { parsePresetRef } from '../spec/presets.js';
import { Rng } from './rng.js';
import { pointwise } from '../activations/registry.js';
import { checkWidth, drawDense, inputNormaliser, sampledArch } from './network.js';

export interface MonteCarloOptions {
  /** Hidden width n of every layer. */
  width: number;
  /** Number of independent initialisations. */
  samples: number;
  /** Seed of the random stream (default 0). */
  seed?: number;
  /** Also return every sample's kernels (`perSample`), e.g. for their spread over seeds (default false). */
  keepSamples?: boolean;
}

export interface KernelEstimate {
  /** Mean over samples, m × m row-major. */
  mean: Float64Array;
  /** Standard error of the mean (sample standard deviation / √samples), m × m. */
  stderr: Float64Array;
}

export interface MonteCarloResult {
  nngp: KernelEstimate;
  ntk: KernelEstimate;
  /** Number of inputs m. */
  m: number;
  width: number;
  samples: number;
  /** With `keepSamples`: each sample's kernels, samples × m × m row-major (sample t at offset t·m²). */
  perSample?: { nngp: Float64Array; ntk: Float64Array };
}

type Vecs = Float64Array[];

/** Gradient record of one dense layer for all inputs. */
interface ParamGrad {
  a: Vecs;
  delta: Vecs;
  wfac: number;
  bfac: number;
}

interface Pass {
  out: Vecs;
  /** Normaliser of `out`: its kernel is s·(out(x)·out(z)). */
  s: number;
  back: (g: Vecs) => Vecs;
}

/** Shared state of one sampled network: the random stream and the recorded gradients. */
class Sampler {
  grads: ParamGrad[] = [];
  /** Features and factors of the output layer, for the NNGP estimate. */
  readout: { a: Vecs; wfac: number; bfac: number } | null = null;
  constructor(
    readonly rng: Rng,
    readonly width: number,
    readonly L: number,
  ) {}

  dense(
    layer: { weightVar: number; biasVar: number; trainable: boolean },
    input: Vecs,
    s: number,
    outDim: number,
    isOutput: boolean,
  ): Pass {
    const fanIn = input[0]!.length;
    const { W, bias } = drawDense(this.rng, outDim, fanIn, layer.biasVar);
    const cw = Math.sqrt(layer.weightVar * s);
    const cb = Math.sqrt(layer.biasVar);
    const out = input.map((a) => {
      const y = new Float64Array(outDim);
      for (let i = 0; i < outDim; i++) {
        let acc = 0;
        const row = i * fanIn;
        for (let j = 0; j < fanIn; j++) acc += W[row + j]! * a[j]!;
        y[i] = cw * acc + (bias ? cb * bias[i]! : 0);
      }
      return y;
    });
    if (isOutput) this.readout = { a: input, wfac: layer.weightVar * s, bfac: layer.biasVar };
    return {
      out,
      s: 1 / outDim,
      back: (g) => {
        if (layer.trainable) this.grads.push({ a: input, delta: g, wfac: layer.weightVar * s, bfac: layer.biasVar });
        return g.map((gi) => {
          const gin = new Float64Array(fanIn);
          for (let i = 0; i < outDim; i++) {
            const c = cw * gi[i]!;
            if (c === 0) continue;
            const row = i * fanIn;
            for (let j = 0; j < fanIn; j++) gin[j] = gin[j]! + c * W[row + j]!;
          }
          return gin;
        });
      },
    };
  }

  activation(act: Activation, input: Vecs, s: number): Pass {
    const [phi, dphi] = pointwise(act);
    const out = input.map((h) => h.map(phi));
    return {
      out,
      s,
      back: (g) => g.map((gi, k) => gi.map((v, i) => v * dphi(input[k]![i]!))),
    };
  }

  layers(layers: ResolvedLayer[], input: Vecs, s: number, outputAt: ResolvedLayer | null): Pass {
    let cur = input;
    let cs = s;
    const backs: ((g: Vecs) => Vecs)[] = [];
    for (const l of layers) {
      const p = this.layer(l, cur, cs, outputAt);
      cur = p.out;
      cs = p.s;
      backs.push(p.back);
    }
    return {
      out: cur,
      s: cs,
      back: (g) => {
        let gg = g;
        for (let i = backs.length - 1; i >= 0; i--) gg = backs[i]!(gg);
        return gg;
      },
    };
  }

  layer(l: ResolvedLayer, input: Vecs, s: number, outputAt: ResolvedLayer | null): Pass {
    switch (l.type) {
      case 'dense': {
        const isOutput = l === outputAt;
        return this.dense(l, input, s, isOutput ? 1 : this.width, isOutput);
      }
      case 'repeat': {
        const passes: Pass[] = [];
        let cur = input;
        let cs = s;
        for (let i = 0; i < l.count; i++) {
          const p = this.layers(l.layers, cur, cs, outputAt);
          passes.push(p);
          cur = p.out;
          cs = p.s;
        }
        return {
          out: cur,
          s: cs,
          back: (g) => passes.reduceRight((gg, p) => p.back(gg), g),
        };
      }
      case 'residual': {
        const alpha = residualAlpha(l, this.L);
        const branch = this.layers(l.branch, input, s, null);
        if (Math.abs(branch.s - s) > 1e-15 * s) {
          throw new InputError('residual block: skip and branch have different widths in the sampled network');
        }
        const out = input.map((h, k) => {
          const b = branch.out[k]!;
          const y = new Float64Array(h.length);
          for (let i = 0; i < h.length; i++) y[i] = l.beta * h[i]! + alpha * b[i]!;
          return y;
        });
        return {
          out,
          s,
          back: (g) => {
            const gb = branch.back(g.map((gi) => gi.map((v) => alpha * v)));
            return g.map((gi, k) => gi.map((v, i) => l.beta * v + gb[k]![i]!));
          },
        };
      }
      case 'denseBlock':
        return this.denseBlock(l, input, s);
      case 'conv':
      case 'avgPool':
      case 'eq':
      case 'flatten':
      case 'gap':
        throw new InputError(`the Monte Carlo oracle for vectors cannot sample a ${l.type} layer`);
      default:
        return this.activation(l, input, s);
    }
  }

  denseBlock(l: Extract<ResolvedLayer, { type: 'denseBlock' }>, input: Vecs, s: number): Pass {
    const n = input[0]!.length;
    const hs: Vecs[] = [input];
    const acts: Pass[] = [];
    const denses: Pass[] = [];
    for (let i = 1; i <= l.depth; i++) {
      acts.push(this.activation(l.activation, hs[i - 1]!, s));
      // Concatenate φ(h_0..h_{i−1}) per input.
      const cat = input.map((_, k) => {
        const c = new Float64Array(i * n);
        for (let j = 0; j < i; j++) c.set(acts[j]!.out[k]!, j * n);
        return c;
      });
      const sc = l.concat === 'mean' ? 1 / (i * n) : 1 / n;
      const d = this.dense(l, cat, sc, this.width, false);
      denses.push(d);
      hs.push(d.out);
    }
    return {
      out: hs[l.depth]!,
      s: 1 / this.width,
      back: (g) => {
        const m = g.length;
        // gh[i]: gradient w.r.t. h_i, complete once every later layer has been processed.
        const gh: Vecs[] = hs.map(() => input.map(() => new Float64Array(n)));
        gh[l.depth] = g.map((v) => Float64Array.from(v));
        for (let i = l.depth; i >= 1; i--) {
          const gcat = denses[i - 1]!.back(gh[i]!);
          for (let j = 0; j < i; j++) {
            const gPhi = gcat.map((c) => c.subarray(j * n, (j + 1) * n));
            // Backprop through φ(h_j) for this reader only; contributions add up.
            const gj = acts[j]!.back(gPhi);
            for (let k = 0; k < m; k++) {
              const t = gh[j]![k]!;
              const u = gj[k]!;
              for (let q = 0; q < n; q++) t[q] = t[q]! + u[q]!;
            }
          }
        }
        return gh[0]!;
      },
    };
  }
}

export { erf } from '../activations/special.js';
export { pointwise } from '../activations/registry.js';

function dotv(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Monte Carlo estimate of the NNGP and NTK of `arch` over the rows of X (m × m, all pairs).
 * Normalised specs (normalize: "diagonal") are divided by the same analytic constants as the
 * analytic kernel, so the two are directly comparable.
 */
export function monteCarlo(
  arch: Spec | ResolvedSpec | string,
  x: MatrixInput,
  options: MonteCarloOptions,
): MonteCarloResult {
  const spec = resolveSpec(typeof arch === 'string' ? parsePresetRef(arch) : arch);
  const X = toMatrix(x, 'x');
  const { width, samples } = options;
  checkWidth(width);
  if (!Number.isInteger(samples) || samples < 2) throw new InputError(`samples must be an integer ≥ 2, got ${samples}`);
  const m = X.rows;
  const d = X.cols;
  const { net, outputAt, L, kNorm, tNorm } = sampledArch(spec);

  const rng = new Rng(options.seed ?? 0);
  const inputs: Vecs = [];
  for (let i = 0; i < m; i++) inputs.push(X.data.slice(i * d, (i + 1) * d));
  const s0 = inputNormaliser(spec, d);

  // Every sample is kept (m² values each) so the spread is computed in two passes.
  const valsK = new Float64Array(samples * m * m);
  const valsT = new Float64Array(samples * m * m);
  for (let t = 0; t < samples; t++) {
    const sampler = new Sampler(rng, width, L);
    const pass = sampler.layers(net, inputs, s0, outputAt);
    pass.back(inputs.map(() => Float64Array.of(1)));
    const ro = sampler.readout!;
    const o = t * m * m;
    for (let i = 0; i < m; i++) {
      for (let j = i; j < m; j++) {
        const k = (ro.wfac * dotv(ro.a[i]!, ro.a[j]!) + ro.bfac) / kNorm;
        let th = 0;
        for (const g of sampler.grads) {
          const dd = dotv(g.delta[i]!, g.delta[j]!);
          th += g.wfac * dd * dotv(g.a[i]!, g.a[j]!) + g.bfac * dd;
        }
        th /= tNorm;
        valsK[o + i * m + j] = valsK[o + j * m + i] = k;
        valsT[o + i * m + j] = valsT[o + j * m + i] = th;
      }
    }
  }
  const result: MonteCarloResult = { nngp: estimateKernel(valsK, samples, m), ntk: estimateKernel(valsT, samples, m), m, width, samples };
  if (options.keepSamples) result.perSample = { nngp: valsK, ntk: valsT };
  return result;
}

/** Mean and standard error over samples of kernels stored samples × m × m (sample t at offset t·m²). */
export function estimateKernel(vals: Float64Array, samples: number, m: number): KernelEstimate {
  const mean = new Float64Array(m * m);
  const stderr = new Float64Array(m * m);
  for (let e = 0; e < m * m; e++) {
    let mu = 0;
    for (let t = 0; t < samples; t++) mu += vals[t * m * m + e]!;
    mu /= samples;
    let ss = 0;
    for (let t = 0; t < samples; t++) ss += (vals[t * m * m + e]! - mu) ** 2;
    mean[e] = mu;
    stderr[e] = Math.sqrt(ss / (samples - 1) / samples);
  }
  return { mean, stderr };
}
