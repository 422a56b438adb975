/**
 * Full-batch gradient descent of one sampled finite network on the squared loss, with its empirical
 * NTK at checkpoints (issue 15, "Training dynamics"; wave2.md §2.3–2.5). The batched pass of
 * `batched.ts` that gives the empirical kernel gives the gradient too: for a dense layer with inputs
 * A and output gradients Δ (rows = inputs), ∂L/∂W = (1/n)·cw·Δᵀ diag(r) A and ∂L/∂b = (1/n)·cb·Δᵀ r,
 * with L = (1/2n)·Σ_k (f(x_k) − y_k)² and r = f − y. So one forward/backward per step serves both,
 * and Θ_t = Σ_ℓ Θ_{ℓ,t} (per layer) costs only the Grams at a checkpoint.
 *
 * Design of the `analyze dynamics` command built on it (not built here): sweep widths × seeds
 * (× depths, residual scales), record drift ‖Θ_t − Θ₀‖_F/‖Θ₀‖_F on the train Gram and the test×train
 * block, per-layer drift, λ_min/λ_max of Θ_t and the kernel-target alignment, and fit log drift against
 * log width (≈ −1 at fixed t = η·steps). The initial rate needs smooth activations (ReLU's Θ jumps).
 * The default step η = n/λ_max(Θ₀) makes the linearised dynamics f ← f − Θ r/λ_max stable.
 */
import { InputError } from '../errors.js';
import { toMatrix, type MatrixInput } from '../matrix.js';
import type { ResolvedSpec, Spec } from '../spec/types.js';
import { symmetricEigenvalues } from '../solve/symmetric-eigen.js';
import { checkSeed, empiricalSpec, rowGram, sampleNetwork, stackRows } from '../empirical.js';
import type { Tape } from './batched.js';

export interface TrainOptions {
  width: number;
  seed?: number;
  /** Gradient-descent steps (≥ 0). */
  steps: number;
  /** Step η (default n/λ_max(Θ₀), Θ₀ the unnormalised empirical NTK of the training inputs). */
  lr?: number;
  /** Steps at which Θ_t is recorded (default: 0 and `steps`); 0 ≤ step ≤ steps. */
  checkpoints?: readonly number[];
  /** Test inputs: their predictions and the test × train block of Θ_t at each checkpoint. */
  xTest?: MatrixInput;
}

export interface TrainCheckpoint {
  step: number;
  /** Gradient-flow time η·step. */
  t: number;
  loss: number;
  /** Θ_t on the training inputs, n × n (divided by the spec's normaliser, as empiricalKernel). */
  ntk: Float64Array;
  /** Each trainable layer's share of `ntk` (output layer first). */
  layers: Float64Array[];
  /** ‖Θ_t − Θ₀‖_F/‖Θ₀‖_F on the training Gram. */
  drift: number;
  /** With xTest: Θ_t(test, train), nTest × n, and its drift. */
  ntkTest?: Float64Array;
  driftTest?: number;
  /** With xTest: f_t on the test inputs. */
  predictionsTest?: Float64Array;
}

export interface TrainResult {
  width: number;
  seed: number;
  lr: number;
  /** Training loss (1/2n)·‖f − y‖² before each step and after the last (steps + 1 values). */
  losses: Float64Array;
  checkpoints: TrainCheckpoint[];
  /** f on the training inputs after the last step. */
  predictions: Float64Array;
}

const frob = (a: Float64Array, b?: Float64Array): number => {
  let s = 0;
  for (let e = 0; e < a.length; e++) s += (a[e]! - (b ? b[e]! : 0)) ** 2;
  return Math.sqrt(s);
};

/** Per-layer NTK terms of rows [r0, r0 + n1) × [c0, c0 + n2) of a tape. */
function layerGrams(tape: Tape, r0: number, n1: number, c0: number, n2: number, sym: boolean): Float64Array[] {
  return tape.records.map(({ p, A, delta }) => {
    const D = rowGram(delta, r0, n1, c0, n2, sym);
    const G = rowGram(A, r0, n1, c0, n2, sym);
    for (let e = 0; e < D.length; e++) D[e] = p.wfac * D[e]! * G[e]! + p.bfac * D[e]!;
    return D;
  });
}

function sum(parts: Float64Array[], size: number): Float64Array {
  const out = new Float64Array(size);
  for (const t of parts) for (let e = 0; e < size; e++) out[e] = out[e]! + t[e]!;
  return out;
}

/** Trains the network of `arch` sampled at (width, seed) on (x, y) by full-batch gradient descent. */
export function trainNetwork(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: TrainOptions): TrainResult {
  const spec = empiricalSpec(arch);
  const X = toMatrix(x, 'x');
  const T = options.xTest === undefined ? null : toMatrix(options.xTest, 'xTest');
  if (T && T.cols !== X.cols) throw new InputError(`x has ${X.cols} features (columns) but xTest has ${T.cols}`);
  const n = X.rows;
  if (y.length !== n) throw new InputError(`y has ${y.length} targets for ${n} inputs`);
  for (let k = 0; k < n; k++) if (!Number.isFinite(y[k])) throw new InputError(`y[${k}] is not a finite number`);
  const { steps } = options;
  if (!Number.isInteger(steps) || steps < 0) throw new InputError(`steps must be a whole number ≥ 0, got ${steps}`);
  const seed = options.seed ?? 0;
  checkSeed(seed);
  const marks = [...new Set(options.checkpoints ?? [0, steps])].sort((a, b) => a - b);
  for (const c of marks) if (!Number.isInteger(c) || c < 0 || c > steps) throw new InputError(`checkpoint ${c} is not a step from 0 to ${steps}`);
  const net = sampleNetwork(spec, X.cols, options.width, seed);
  const { tNorm } = net.arch;
  const nt = T ? T.rows : 0;
  const batch = stackRows(X, T);

  let lr = options.lr ?? NaN;
  let theta0: Float64Array | null = null;
  let theta0Test: Float64Array | null = null;
  const losses = new Float64Array(steps + 1);
  const checkpoints: TrainCheckpoint[] = [];
  const r = new Float64Array(n);
  let tape: Tape = net.run(batch);
  for (let step = 0; ; step++) {
    let loss = 0;
    for (let k = 0; k < n; k++) {
      r[k] = tape.out.data[k]! - y[k]!;
      loss += r[k]! ** 2;
    }
    loss /= 2 * n;
    losses[step] = loss;
    if (step === 0 && options.lr === undefined) {
      const raw = sum(layerGrams(tape, 0, n, 0, n, true), n * n);
      lr = n / symmetricEigenvalues(raw, n)[0]!;
    }
    if (!(lr > 0) || !Number.isFinite(lr)) throw new InputError(`the step η must be a finite number > 0, got ${lr}`);
    if (step === 0 && marks[0] !== 0) {
      // Θ₀ is the reference of every drift even when step 0 is not a checkpoint.
      theta0 = sum(layerGrams(tape, 0, n, 0, n, true), n * n).map((v) => v / tNorm);
      if (T) theta0Test = sum(layerGrams(tape, n, nt, 0, n, false), nt * n).map((v) => v / tNorm);
    }
    if (marks.includes(step)) {
      const layers = layerGrams(tape, 0, n, 0, n, true).map((l) => l.map((v) => v / tNorm));
      const ntk = sum(layers, n * n);
      theta0 ??= ntk;
      const cp: TrainCheckpoint = { step, t: lr * step, loss, ntk, layers, drift: frob(ntk, theta0) / frob(theta0) };
      if (T) {
        const ntkTest = sum(layerGrams(tape, n, nt, 0, n, false), nt * n).map((v) => v / tNorm);
        theta0Test ??= ntkTest;
        cp.ntkTest = ntkTest;
        cp.driftTest = frob(ntkTest, theta0Test) / frob(theta0Test);
        cp.predictionsTest = tape.out.data.slice(n, n + nt);
      }
      checkpoints.push(cp);
    }
    if (step === steps) break;
    // θ ← θ − η·∇L, from the training rows of this step's tape.
    for (const { p, A, delta } of tape.records) {
      const cw = (lr / n) * p.cw;
      for (let i = 0; i < p.outDim; i++) {
        const row = i * p.fanIn;
        let gb = 0;
        for (let k = 0; k < n; k++) {
          const c = r[k]! * delta.data[k * p.outDim + i]!;
          if (c === 0) continue;
          gb += c;
          const ak = k * p.fanIn;
          for (let j = 0; j < p.fanIn; j++) p.W[row + j] = p.W[row + j]! - cw * c * A.data[ak + j]!;
        }
        if (p.bias) p.bias[i] = p.bias[i]! - (lr / n) * p.cb * gb;
      }
    }
    tape = net.run(batch);
  }
  return { width: options.width, seed, lr, losses, checkpoints, predictions: tape.out.data.slice(0, n) };
}
