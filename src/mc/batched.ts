/**
 * A sampled finite network of a dense spec, run on a whole batch of inputs at once: one forward
 * pass that keeps every dense layer's input A (N × fan-in), one backward pass from ∂f/∂f = 1 per
 * input that gives every dense layer's output gradient Δ = ∂f/∂h (N × fan-out). These two matrices
 * per layer are all the empirical NTK needs (the per-layer factorisation of wave2.md §2.4) and all
 * full-batch gradient descent needs, so the Jacobian (N × #parameters) is never formed.
 *
 * The network is the Monte Carlo oracle's (`montecarlo.ts`): the same layer list and parametrisation
 * (NTK: h = √(σ_w²·s)·W a + σ_b·b with W, b ~ N(0, 1), s the input's normaliser), the weights drawn
 * by the same `drawDense` in the same order, and per entry the same arithmetic (row-by-row dot
 * products and axpys in the oracle's order), so one seed gives the oracle's network to the last bit.
 * The products are plain Float64Array GEMMs over row-major N × n matrices.
 */
import { InputError } from '../errors.js';
import { residualAlpha } from '../program/compile.js';
import type { Activation, ResolvedLayer, ResolvedSpec } from '../spec/types.js';
import { pointwise } from '../activations/registry.js';
import { drawDense, inputNormaliser, sampledArch, type SampledArch } from './network.js';
import type { Rng } from './rng.js';

/** A row-major matrix: one row per input. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export const zeros = (rows: number, cols: number): Mat => ({ rows, cols, data: new Float64Array(rows * cols) });

/** One dense layer's parameters (standard normal at initialisation) and its NTK-parametrisation factors. */
export interface DenseParams {
  W: Float64Array;
  bias: Float64Array | null;
  outDim: number;
  fanIn: number;
  /** Forward multipliers: h = cw·W a + cb·b, cw = √(σ_w²·s), cb = σ_b. */
  cw: number;
  cb: number;
  /** Their squares: the layer's NTK term is wfac·(ΔΔᵀ) ⊙ (AAᵀ) + bfac·ΔΔᵀ. */
  wfac: number;
  bfac: number;
  trainable: boolean;
  isOutput: boolean;
}

/** The network's structure, as the host of a GPU pass walks it too (src/gpu/empirical.ts). */
export type NetNode =
  | { kind: 'dense'; p: DenseParams }
  | { kind: 'act'; act: Activation }
  | { kind: 'residual'; alpha: number; beta: number; branch: NetNode[] }
  | { kind: 'block'; act: Activation; n: number; denses: DenseParams[] };

/** What one trainable dense layer contributes, for all N inputs. */
export interface LayerRecord {
  p: DenseParams;
  /** The layer's input a (N × fanIn). */
  A: Mat;
  /** ∂f/∂h of its output h (N × outDim). */
  delta: Mat;
}

/** One forward and backward pass over a batch. */
export interface Tape {
  /** f(x) per input (N × 1). */
  out: Mat;
  /** The output layer's input features and parameters (the empirical NNGP). */
  readout: { A: Mat; p: DenseParams };
  /** Trainable dense layers, in backward order (the output layer first), as the oracle records them. */
  records: LayerRecord[];
}

interface Pass {
  out: Mat;
  back: (g: Mat) => Mat;
}

/** A dense layer's shape, known before any weight is drawn. */
export interface LayerShape {
  outDim: number;
  fanIn: number;
  bias: boolean;
  trainable: boolean;
}

/**
 * Where a network's weights go as they are drawn: `take` gets each dense layer right after its
 * weights (in the draw order), and the network then drops its host copy of W (p.W becomes empty),
 * so the host holds one layer's float64 weights at a time (a WebGPU runner uploads them).
 */
export interface LayerSink {
  take(p: DenseParams): void;
}

const NO_WEIGHTS = new Float64Array(0);

export class SampledNetwork {
  /** Every dense layer, trainable or not, in the order their weights were drawn. */
  readonly params: DenseParams[] = [];
  readonly arch: SampledArch;
  /** The layers, in forward order, holding the drawn weights. */
  readonly nodes: NetNode[];
  /** Every dense layer's shape, in the draw order (as `params`). */
  readonly shapes: LayerShape[] = [];
  /** False when the weights went to a sink (or none were drawn): then `run` is refused. */
  readonly hostWeights: boolean;

  /**
   * Draws a network of `spec` for inputs of dimension d, at `width`, from `rng` (advanced past its
   * weights); with a sink, each layer's W is handed to it and dropped (same draws, same order).
   * rng null: nothing is drawn (the shapes alone, `SampledNetwork.plan`).
   */
  constructor(
    spec: ResolvedSpec,
    readonly d: number,
    readonly width: number,
    rng: Rng | null,
    private readonly sink?: LayerSink,
  ) {
    this.arch = sampledArch(spec);
    this.hostWeights = rng !== null && sink === undefined;
    const s0 = inputNormaliser(spec, d);
    this.nodes = this.build(this.arch.net, s0, d, rng, this.arch.outputAt).nodes;
  }

  /** The network of `spec` at `width` on inputs of dimension d with nothing drawn: its structure and `shapes` alone. */
  static plan(spec: ResolvedSpec, d: number, width: number): SampledNetwork {
    return new SampledNetwork(spec, d, width, null);
  }

  private dense(l: { weightVar: number; biasVar: number; trainable: boolean }, s: number, fanIn: number, outDim: number, isOutput: boolean, rng: Rng | null): DenseParams {
    this.shapes.push({ outDim, fanIn, bias: l.biasVar > 0, trainable: l.trainable });
    const { W, bias } = rng ? drawDense(rng, outDim, fanIn, l.biasVar) : { W: NO_WEIGHTS, bias: null };
    const p: DenseParams = {
      W,
      bias,
      outDim,
      fanIn,
      cw: Math.sqrt(l.weightVar * s),
      cb: Math.sqrt(l.biasVar),
      wfac: l.weightVar * s,
      bfac: l.biasVar,
      trainable: l.trainable,
      isOutput,
    };
    this.params.push(p);
    if (rng && this.sink) {
      this.sink.take(p);
      p.W = NO_WEIGHTS;
    }
    return p;
  }

  /** The oracle's walk over the layers (weights drawn in forward order); s and dim: the input's normaliser and size. */
  private build(layers: ResolvedLayer[], s: number, dim: number, rng: Rng | null, outputAt: ResolvedLayer | null): { nodes: NetNode[]; s: number; dim: number } {
    const nodes: NetNode[] = [];
    for (const l of layers) {
      switch (l.type) {
        case 'dense': {
          const isOutput = l === outputAt;
          const p = this.dense(l, s, dim, isOutput ? 1 : this.width, isOutput, rng);
          nodes.push({ kind: 'dense', p });
          s = 1 / p.outDim;
          dim = p.outDim;
          break;
        }
        case 'repeat':
          for (let i = 0; i < l.count; i++) {
            const r = this.build(l.layers, s, dim, rng, outputAt);
            nodes.push(...r.nodes);
            s = r.s;
            dim = r.dim;
          }
          break;
        case 'residual': {
          const branch = this.build(l.branch, s, dim, rng, null);
          if (Math.abs(branch.s - s) > 1e-15 * s || branch.dim !== dim) {
            throw new InputError('residual block: skip and branch have different widths in the sampled network');
          }
          nodes.push({ kind: 'residual', alpha: residualAlpha(l, this.arch.L), beta: l.beta, branch: branch.nodes });
          break;
        }
        case 'denseBlock': {
          if (l.depth > 1 && dim !== this.width) {
            throw new InputError(`denseBlock: its input has ${dim} features but the sampled width is ${this.width} (put a dense layer of the width before it)`);
          }
          const denses: DenseParams[] = [];
          for (let i = 1; i <= l.depth; i++) {
            const sc = l.concat === 'mean' ? 1 / (i * dim) : 1 / dim;
            denses.push(this.dense(l, sc, i * dim, this.width, false, rng));
          }
          nodes.push({ kind: 'block', act: l.activation, n: dim, denses });
          s = 1 / this.width;
          dim = this.width;
          break;
        }
        case 'conv':
        case 'avgPool':
        case 'eq':
        case 'flatten':
        case 'gap':
          throw new InputError(`empirical kernels of finite networks are built for dense specs only: a ${l.type} layer cannot be sampled yet`);
        default:
          nodes.push({ kind: 'act', act: l });
      }
    }
    return { nodes, s, dim };
  }

  /** f(x) for every row of X (N × d), with the tape of per-layer inputs and output gradients. */
  run(X: Mat): Tape {
    if (X.cols !== this.d) throw new InputError(`the network takes inputs of dimension ${this.d}, got ${X.cols}`);
    if (!this.hostWeights) throw new Error('this sampled network holds no weights on the host (they were handed to a device or never drawn)');
    const records: LayerRecord[] = [];
    let readout: Tape['readout'] | null = null;
    const onOutput = (A: Mat, p: DenseParams) => (readout = { A, p });
    const pass = this.forward(this.nodes, X, records, onOutput);
    const ones = zeros(X.rows, 1);
    ones.data.fill(1);
    pass.back(ones);
    return { out: pass.out, readout: readout!, records };
  }

  private forward(nodes: NetNode[], input: Mat, records: LayerRecord[], onOutput: (A: Mat, p: DenseParams) => void): Pass {
    let cur = input;
    const backs: ((g: Mat) => Mat)[] = [];
    for (const node of nodes) {
      const p = this.node(node, cur, records, onOutput);
      cur = p.out;
      backs.push(p.back);
    }
    return {
      out: cur,
      back: (g) => {
        let gg = g;
        for (let i = backs.length - 1; i >= 0; i--) gg = backs[i]!(gg);
        return gg;
      },
    };
  }

  private node(node: NetNode, input: Mat, records: LayerRecord[], onOutput: (A: Mat, p: DenseParams) => void): Pass {
    switch (node.kind) {
      case 'dense':
        if (node.p.isOutput) onOutput(input, node.p);
        return denseLayer(node.p, input, records);
      case 'act':
        return activationLayer(node.act, input);
      case 'residual': {
        const { alpha, beta } = node;
        const branch = this.forward(node.branch, input, records, onOutput);
        const out = zeros(input.rows, input.cols);
        const h = input.data;
        const b = branch.out.data;
        for (let e = 0; e < h.length; e++) out.data[e] = beta * h[e]! + alpha * b[e]!;
        return {
          out,
          back: (g) => {
            const ga = zeros(g.rows, g.cols);
            for (let e = 0; e < g.data.length; e++) ga.data[e] = alpha * g.data[e]!;
            const gb = branch.back(ga);
            const gin = zeros(g.rows, g.cols);
            for (let e = 0; e < g.data.length; e++) gin.data[e] = beta * g.data[e]! + gb.data[e]!;
            return gin;
          },
        };
      }
      case 'block':
        return denseBlockLayer(node, input, records);
    }
  }
}

/** h = cw·A Wᵀ + cb·b; backward records (A, Δ) and returns cw·Δ W. */
function denseLayer(p: DenseParams, A: Mat, records: LayerRecord[]): Pass {
  const { W, bias, cw, cb, outDim, fanIn } = p;
  const N = A.rows;
  const out = zeros(N, outDim);
  const a = A.data;
  const y = out.data;
  for (let k = 0; k < N; k++) {
    const ak = k * fanIn;
    for (let i = 0; i < outDim; i++) {
      let acc = 0;
      const row = i * fanIn;
      for (let j = 0; j < fanIn; j++) acc += W[row + j]! * a[ak + j]!;
      y[k * outDim + i] = cw * acc + (bias ? cb * bias[i]! : 0);
    }
  }
  return {
    out,
    back: (G) => {
      if (p.trainable) records.push({ p, A, delta: G });
      const gin = zeros(N, fanIn);
      const gi = gin.data;
      for (let k = 0; k < N; k++) {
        const o = k * fanIn;
        for (let i = 0; i < outDim; i++) {
          const c = cw * G.data[k * outDim + i]!;
          if (c === 0) continue;
          const row = i * fanIn;
          for (let j = 0; j < fanIn; j++) gi[o + j] = gi[o + j]! + c * W[row + j]!;
        }
      }
      return gin;
    },
  };
}

function activationLayer(act: Activation, H: Mat): Pass {
  const [phi, dphi] = pointwise(act);
  const out = zeros(H.rows, H.cols);
  for (let e = 0; e < H.data.length; e++) out.data[e] = phi(H.data[e]!);
  return {
    out,
    back: (G) => {
      const gin = zeros(G.rows, G.cols);
      for (let e = 0; e < G.data.length; e++) gin.data[e] = G.data[e]! * dphi(H.data[e]!);
      return gin;
    },
  };
}

/** Columns [c0, c0 + n) of M. */
function columns(M: Mat, c0: number, n: number): Mat {
  const out = zeros(M.rows, n);
  for (let k = 0; k < M.rows; k++) out.data.set(M.data.subarray(k * M.cols + c0, k * M.cols + c0 + n), k * n);
  return out;
}

/** h_i = dense_i([φ(h_0) … φ(h_{i−1})]), i = 1..depth, as the oracle's denseBlock. */
function denseBlockLayer(node: Extract<NetNode, { kind: 'block' }>, input: Mat, records: LayerRecord[]): Pass {
  const { n, denses } = node;
  const depth = denses.length;
  const N = input.rows;
  const hs: Mat[] = [input];
  const acts: Pass[] = [];
  const dps: Pass[] = [];
  for (let i = 1; i <= depth; i++) {
    acts.push(activationLayer(node.act, hs[i - 1]!));
    const cat = zeros(N, i * n);
    for (let k = 0; k < N; k++) {
      for (let j = 0; j < i; j++) cat.data.set(acts[j]!.out.data.subarray(k * n, (k + 1) * n), k * i * n + j * n);
    }
    const d = denseLayer(denses[i - 1]!, cat, records);
    dps.push(d);
    hs.push(d.out);
  }
  return {
    out: hs[depth]!,
    back: (g) => {
      // gh[i]: the gradient with respect to h_i, complete once every later layer has been processed.
      const gh: Mat[] = hs.map(() => zeros(N, n));
      gh[depth] = { rows: g.rows, cols: g.cols, data: Float64Array.from(g.data) };
      for (let i = depth; i >= 1; i--) {
        const gcat = dps[i - 1]!.back(gh[i]!);
        for (let j = 0; j < i; j++) {
          const gj = acts[j]!.back(columns(gcat, j * n, n));
          const t = gh[j]!.data;
          for (let e = 0; e < t.length; e++) t[e] = t[e]! + gj.data[e]!;
        }
      }
      return gh[0]!;
    },
  };
}
