/**
 * Empirical NNGP and NTK of one sampled finite convolutional network (float64 CPU): the conv
 * Monte Carlo oracle's network for (width, seed) (`mc/conv.ts`, wave2.md §1.1–1.2: per conv layer
 * Θ_ℓ = σ_w²·s/|A|·Σ_a Σ_{I,J} (δ_x[:, I]·δ_z[:, J])·(g_x[:, s·I+a]·g_z[:, s·J+a]) + σ_b²·Σ δ_x·δ_z,
 * from one forward and one backward pass per input, never the Jacobian), on the stacked batch
 * [X1; X2], of which the X1 × X2 block is returned.
 */
import { InputError } from './errors.js';
import { checkImagePair, toImages, type ImageLayout, type Images, type ImagesInput } from './images.js';
import { convNetworkKernels } from './mc/conv.js';
import { MAX_RESULT_ELEMENTS, type KernelKind } from './result.js';
import type { ResolvedSpec } from './spec/types.js';

/** Most multiply-adds one call may cost (about a minute of float64 on one core). */
export const MAX_CONV_EMPIRICAL_WORK = 2e11;

/**
 * Multiply-adds of one network on m inputs, roughly: per conv layer, the forward and backward passes
 * (m·C_in·C_out·|A|·P_out each) and the NTK's pixel-pair sums (m²/2·P_out²·|A|·C_out).
 */
function work(spec: ResolvedSpec, x: Images, width: number, m: number): number {
  const D = x.dims.length;
  const prod = (v: number | number[]) => (Array.isArray(v) ? v.reduce((a, b) => a * b, 1) : v ** D);
  let c = x.channels;
  let p = x.pixels;
  let total = 0;
  const walk = (ls: readonly ResolvedSpec['layers'][number][], times: number): void => {
    for (const l of ls) {
      if (l.type === 'conv') {
        const taps = prod(l.filter);
        p = Math.ceil(p / prod(l.stride));
        total += times * (2 * m * c * width * taps * p + ((m * m) / 2) * p * p * taps * width);
        c = width;
      } else if (l.type === 'repeat') walk(l.layers, times * l.count);
      else if (l.type === 'residual') walk(l.branch, times);
    }
  };
  walk([...spec.layers, ...spec.readout], 1);
  return total;
}

export function empiricalConvKernel(
  spec: ResolvedSpec,
  x1: ImagesInput,
  x2: ImagesInput | null,
  o: { width: number; seed: number; get: readonly KernelKind[]; layout?: ImageLayout },
): { nngp?: Float64Array; ntk?: Float64Array; shape: [number, number] } {
  const a = toImages(x1, o.layout, 'x1');
  const b = x2 ? toImages(x2, o.layout, 'x2') : null;
  checkImagePair(a, b);
  const n1 = a.n;
  const n2 = b ? b.n : a.n;
  if (n1 * n2 > MAX_RESULT_ELEMENTS) throw new InputError(`the result would hold ${n1 * n2} values per kernel (at most ${MAX_RESULT_ELEMENTS})`);
  const m = n1 + (b ? n2 : 0);
  const cost = work(spec, a, o.width, m);
  if (cost > MAX_CONV_EMPIRICAL_WORK) {
    throw new InputError(
      `width ${o.width} on ${m} images of ${a.dims.join('×')} pixels: about ${cost.toExponential(1)} multiply-adds, more than the ${MAX_CONV_EMPIRICAL_WORK.toExponential(0)} one call may take; use a smaller width, fewer or smaller images`,
    );
  }
  const data = new Float64Array(m * a.channels * a.pixels);
  data.set(a.data);
  if (b) data.set(b.data, a.data.length);
  const k = convNetworkKernels(spec, { data, shape: [m, a.channels, ...a.dims] }, o.width, o.seed);
  const block = (full: Float64Array) => {
    if (!b) return full;
    const out = new Float64Array(n1 * n2);
    for (let i = 0; i < n1; i++) out.set(full.subarray(i * m + n1, i * m + n1 + n2), i * n2);
    return out;
  };
  return {
    ...(o.get.includes('nngp') ? { nngp: block(k.nngp) } : {}),
    ...(o.get.includes('ntk') ? { ntk: block(k.ntk) } : {}),
    shape: [n1, n2],
  };
}
