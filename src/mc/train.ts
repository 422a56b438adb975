/**
 * Full-batch gradient descent of one sampled finite network on the squared loss, with its empirical
 * NTK at checkpoints (issue 15, "Training dynamics"; wave2.md §2.3–2.5). The batched pass of
 * `batched.ts` that gives the empirical kernel gives the gradient too: for a dense layer with inputs
 * A and output gradients Δ (rows = inputs), ∂L/∂W = (1/n)·cw·Δᵀ diag(r) A and ∂L/∂b = (1/n)·cb·Δᵀ r,
 * with L = (1/2n)·Σ_k (f(x_k) − y_k)² and r = f − y. So one forward/backward per step serves both,
 * and Θ_t = Σ_ℓ Θ_{ℓ,t} (per layer) costs only the Grams at a checkpoint.
 *
 * `analysis/dynamics.ts` builds `analyze dynamics` on it. The default step η = n/λ_max(Θ₀) makes
 * the linearised dynamics f ← f − Θ r/λ_max stable.
 *
 * The loop (losses, step η, checkpoints, drift) is defined once (`trainSteps`) over a `TrainModel`:
 * float64 on the CPU (below), or f32 on a WebGPU device (src/gpu/train.ts: the same network, its
 * weights drawn here in float64, the passes and the update on the device, the Grams at checkpoints).
 */
import { InputError } from '../errors.js';
import { toMatrix, type Matrix2D, type MatrixInput } from '../matrix.js';
import type { ResolvedSpec, Spec } from '../spec/types.js';
import { isSpatialSpec } from '../spec/validate.js';
import { symmetricEigenvalues } from '../solve/symmetric-eigen.js';
import { checkHostWeights, checkSeed, empiricalSpec, rowGram, sampleNetwork, stackRows } from '../empirical.js';
import { resolveBackend } from '../api.js';
import { gpuTrainModel } from '../gpu/train.js';
import { SampledNetwork, type LayerSink, type Mat, type Tape } from './batched.js';
import { checkWidth, sampledArch } from './network.js';
import { runAsync, runSync, wait, type Steps } from './drive.js';
import type { TrainCopy, TrainModel } from './train-model.js';

export type { TrainCopy, TrainModel } from './train-model.js';

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
  /**
   * "standard" (default): the sampled network. "antisymmetric": f = (f(θ_A) − f(θ_B))/√2 with two
   * copies θ_A = θ_B of it at step 0 (wave2.md §2.2), so f₀ ≡ 0 and Θ₀ is the single network's;
   * each copy is trained (the gradient of f flips sign for θ_B) and Θ_t = (Θ_A,t + Θ_B,t)/2.
   */
  init?: TrainInit;
  /** "cpu" (float64, the default) or "webgpu" (f32 on the device; then the result is a Promise). */
  backend?: 'cpu' | 'webgpu';
}

export type TrainInit = 'standard' | 'antisymmetric';

/** Gradient descent left the finite numbers (the step is too large for this network). */
export class TrainingDiverged extends InputError {
  override name = 'TrainingDiverged';
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
  /** f_t on the training inputs. */
  predictions: Float64Array;
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
  /** The spec's NTK normaliser: the network's own (raw) Θ, which drives the dynamics, is tNorm·ntk. */
  tNorm: number;
  init: TrainInit;
}

const frob = (a: Float64Array, b?: Float64Array): number => {
  let s = 0;
  for (let e = 0; e < a.length; e++) s += (a[e]! - (b ? b[e]! : 0)) ** 2;
  return Math.sqrt(s);
};

/** Per-layer NTK terms of rows [r0, r0 + n1) × [c0, c0 + n2) of a tape, times `scale`. */
function layerGrams(tape: Tape, r0: number, n1: number, c0: number, n2: number, sym: boolean, scale = 1): Float64Array[] {
  return tape.records.map(({ p, A, delta }) => {
    const D = rowGram(delta, r0, n1, c0, n2, sym);
    const G = rowGram(A, r0, n1, c0, n2, sym);
    for (let e = 0; e < D.length; e++) D[e] = scale * (p.wfac * D[e]! * G[e]! + p.bfac * D[e]!);
    return D;
  });
}

function sum(parts: Float64Array[], size: number): Float64Array {
  const out = new Float64Array(size);
  for (const t of parts) for (let e = 0; e < size; e++) out[e] = out[e]! + t[e]!;
  return out;
}

/** The float64 model: batched.ts's tapes, and the update in the oracle's order. */
class CpuModel implements TrainModel {
  private readonly tapes: Tape[];

  constructor(
    private readonly copies: TrainCopy[],
    private readonly batch: Mat,
    private readonly n: number,
  ) {
    this.tapes = copies.map((c) => c.net.run(batch));
  }

  outputs(): Float64Array {
    const f = new Float64Array(this.batch.rows);
    this.copies.forEach((c, i) => {
      const out = this.tapes[i]!.out.data;
      for (let k = 0; k < f.length; k++) f[k] = f[k]! + c.sign * out[k]!;
    });
    return f;
  }

  layers(r0: number, n1: number, c0: number, n2: number, sym: boolean): Float64Array[] {
    const per = this.copies.map((c, i) => layerGrams(this.tapes[i]!, r0, n1, c0, n2, sym, c.sign ** 2));
    return per[0]!.map((_, l) => sum(per.map((layers) => layers[l]!), n1 * n2));
  }

  step(r: Float64Array, lr: number): void {
    const { n } = this;
    this.copies.forEach((c, ci) => {
      for (const { p, A, delta } of this.tapes[ci]!.records) {
        const g = (lr / n) * c.sign;
        const cw = g * p.cw;
        for (let i = 0; i < p.outDim; i++) {
          const row = i * p.fanIn;
          let gb = 0;
          for (let k = 0; k < n; k++) {
            const rd = r[k]! * delta.data[k * p.outDim + i]!;
            if (rd === 0) continue;
            gb += rd;
            const ak = k * p.fanIn;
            for (let j = 0; j < p.fanIn; j++) p.W[row + j] = p.W[row + j]! - cw * rd * A.data[ak + j]!;
          }
          if (p.bias) p.bias[i] = p.bias[i]! - g * p.cb * gb;
        }
      }
      this.tapes[ci] = c.net.run(this.batch);
    });
  }

  close(): void {}
}

/** Refuses a spec whose networks cannot be trained: the batched pass is built for dense specs. */
export function checkTrainable(spec: ResolvedSpec): void {
  if (isSpatialSpec(spec)) throw new InputError('training sampled networks is built for dense specs only (MLPs, ResNets, DenseNets): a convolutional spec cannot be trained yet');
}

/** The model of the network sampled at (width, seed) over the batch (the n rows of X, then T's), at its initialisation. */
function* openModel(spec: ResolvedSpec, X: Matrix2D, T: Matrix2D | null, n: number, width: number, seed: number, init: TrainInit, backend: 'cpu' | 'webgpu'): Steps<{ model: TrainModel; tNorm: number }> {
  const batch = stackRows(X, T);
  // Antisymmetric: two identical copies (one seed) with signs ±1/√2, so f₀ = 0 to the last bit.
  const signs = init === 'standard' ? [1] : [Math.SQRT1_2, -Math.SQRT1_2];
  // The copies drawn on the host (CPU), or one layer at a time into the device (WebGPU); one seed, one network.
  const draw = (sink?: LayerSink): TrainCopy[] => signs.map((sign) => ({ net: sampleNetwork(spec, X.cols, width, seed, sink), sign }));
  const { tNorm } = sampledArch(spec);
  if (backend === 'cpu') return { model: new CpuModel(draw(), batch, n), tNorm };
  const plan = SampledNetwork.plan(spec, X.cols, width);
  checkHostWeights(plan.shapes, width, 'layer');
  const ctx = (yield* wait(resolveBackend('webgpu')))!;
  const model = yield* wait(gpuTrainModel(ctx, { plan, draw }, batch, n, signs.length));
  return { model, tNorm };
}

export interface StepKernelOptions {
  width: number;
  seed?: number;
  /** The signed step: θ₁ = θ₀ − lr·∇L(θ₀) (lr < 0 steps up the loss; 0 gives Θ₀). */
  lr: number;
  init?: TrainInit;
  backend?: 'cpu' | 'webgpu';
}

/**
 * Θ on the training inputs (normalised as `ntk` of a checkpoint) of the network sampled at
 * (width, seed) after one full-batch gradient-descent step of signed size `lr` from its fresh
 * initialisation: the same network and update as `trainSteps`, with a step of either sign, so that
 * (Θ(θ₀ − ε∇L) − Θ(θ₀ + ε∇L))/(2ε) is dΘ/dt|₀ of gradient flow to O(ε²) (`analyze dynamics`' initial rate).
 */
export function* kernelAfterStepSteps(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: StepKernelOptions): Steps<Float64Array> {
  const spec = empiricalSpec(arch);
  checkTrainable(spec);
  const X = toMatrix(x, 'x');
  const n = X.rows;
  if (!Number.isFinite(options.lr)) throw new InputError(`the step must be a finite number, got ${options.lr}`);
  const { seed, init, backend } = checkRun(options, y, n);
  const { model, tNorm } = yield* openModel(spec, X, null, n, options.width, seed, init, backend);
  return yield* closing(model, function* () {
    const f = yield* wait(model.outputs());
    const r = new Float64Array(n);
    for (let k = 0; k < n; k++) r[k] = f[k]! - y[k]!;
    if (options.lr !== 0) {
      yield* wait(model.step(r, options.lr));
      // (On a device, this also reports an error of the step.)
      yield* wait(model.outputs());
    }
    return sum(yield* wait(model.layers(0, n, 0, n, true)), n * n).map((e) => e / tNorm);
  });
}

/** The checks shared by `trainSteps` and `kernelAfterStepSteps`: targets, seed, width, init and backend. */
function checkRun(options: { width: number; seed?: number; init?: TrainInit; backend?: 'cpu' | 'webgpu' }, y: ArrayLike<number>, n: number): { seed: number; init: TrainInit; backend: 'cpu' | 'webgpu' } {
  if (y.length !== n) throw new InputError(`y has ${y.length} targets for ${n} inputs`);
  for (let k = 0; k < n; k++) if (!Number.isFinite(y[k])) throw new InputError(`y[${k}] is not a finite number`);
  const seed = options.seed ?? 0;
  checkSeed(seed);
  checkWidth(options.width);
  const init = options.init ?? 'standard';
  if (init !== 'standard' && init !== 'antisymmetric') throw new InputError(`init must be "standard" or "antisymmetric", got "${String(init)}"`);
  const backend = options.backend ?? 'cpu';
  if (backend !== 'cpu' && backend !== 'webgpu') throw new InputError(`unknown backend "${String(backend)}" for training (available: cpu, webgpu)`);
  return { seed, init, backend };
}

/**
 * Runs `body` and then closes `model`: a failure of the body (divergence, a device error) is what
 * the caller hears, not a later one in close().
 */
function* closing<T>(model: TrainModel, body: () => Steps<T>): Steps<T> {
  let failed = false;
  try {
    return yield* body();
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    try {
      yield* wait(model.close());
    } catch (e) {
      if (!failed) throw e;
    }
  }
}

/** `kernelAfterStepSteps` on the CPU (float64), or on WebGPU (f32, a Promise). */
export function kernelAfterStep(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: StepKernelOptions & { backend: 'webgpu' }): Promise<Float64Array>;
export function kernelAfterStep(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: StepKernelOptions & { backend?: 'cpu' }): Float64Array;
export function kernelAfterStep(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: StepKernelOptions): Float64Array | Promise<Float64Array> {
  return options.backend === 'webgpu' ? runAsync(kernelAfterStepSteps(arch, x, y, options)) : runSync(kernelAfterStepSteps(arch, x, y, options));
}

/**
 * The training loop of `trainNetwork` on either backend: the checks, the sampled copies (drawn
 * here in float64 for both backends, so one seed is one network), then per step the loss, the
 * step η, the checkpoints and the update.
 */
export function* trainSteps(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: TrainOptions): Steps<TrainResult> {
  const spec = empiricalSpec(arch);
  checkTrainable(spec);
  const X = toMatrix(x, 'x');
  const T = options.xTest === undefined ? null : toMatrix(options.xTest, 'xTest');
  if (T && T.cols !== X.cols) throw new InputError(`x has ${X.cols} features (columns) but xTest has ${T.cols}`);
  const n = X.rows;
  const { steps } = options;
  if (!Number.isInteger(steps) || steps < 0) throw new InputError(`steps must be a whole number ≥ 0, got ${steps}`);
  const { seed, init, backend } = checkRun(options, y, n);
  const marks = [...new Set(options.checkpoints ?? [0, steps])].sort((a, b) => a - b);
  for (const c of marks) if (!Number.isInteger(c) || c < 0 || c > steps) throw new InputError(`checkpoint ${c} is not a step from 0 to ${steps}`);
  const nt = T ? T.rows : 0;
  const { model, tNorm } = yield* openModel(spec, X, T, n, options.width, seed, init, backend);
  const normed = (v: Float64Array) => v.map((e) => e / tNorm);

  let lr = options.lr ?? NaN;
  let theta0: Float64Array | null = null;
  let theta0Test: Float64Array | null = null;
  const losses = new Float64Array(steps + 1);
  const checkpoints: TrainCheckpoint[] = [];
  const r = new Float64Array(n);
  let f: Float64Array = new Float64Array(n + nt);
  yield* closing(model, function* () {
    for (let step = 0; ; step++) {
      f = yield* wait(model.outputs());
      let loss = 0;
      for (let k = 0; k < n; k++) {
        r[k] = f[k]! - y[k]!;
        loss += r[k]! ** 2;
      }
      loss /= 2 * n;
      if (!Number.isFinite(loss)) {
        throw new TrainingDiverged(`gradient descent diverged at step ${step} (width ${options.width}, seed ${seed}, η = ${lr}): the loss is not finite; use a smaller step (--lr) or a larger width`);
      }
      losses[step] = loss;
      // The training Gram's layers at step 0 serve the default η, Θ₀ and a checkpoint at 0.
      const layers0 = step === 0 ? yield* wait(model.layers(0, n, 0, n, true)) : null;
      if (step === 0 && options.lr === undefined) lr = n / symmetricEigenvalues(sum(layers0!, n * n), n)[0]!;
      if (!(lr > 0) || !Number.isFinite(lr)) throw new InputError(`the step η must be a finite number > 0, got ${lr}`);
      if (step === 0 && marks[0] !== 0) {
        // Θ₀ is the reference of every drift even when step 0 is not a checkpoint.
        theta0 = normed(sum(layers0!, n * n));
        if (T) theta0Test = normed(sum(yield* wait(model.layers(n, nt, 0, n, false)), nt * n));
      }
      if (marks.includes(step)) {
        const layers = (layers0 ?? (yield* wait(model.layers(0, n, 0, n, true)))).map(normed);
        const ntk = sum(layers, n * n);
        theta0 ??= ntk;
        const cp: TrainCheckpoint = { step, t: lr * step, loss, ntk, layers, drift: frob(ntk, theta0) / frob(theta0), predictions: f.slice(0, n) };
        if (T) {
          const ntkTest = normed(sum(yield* wait(model.layers(n, nt, 0, n, false)), nt * n));
          theta0Test ??= ntkTest;
          cp.ntkTest = ntkTest;
          cp.driftTest = frob(ntkTest, theta0Test) / frob(theta0Test);
          cp.predictionsTest = f.slice(n, n + nt);
        }
        checkpoints.push(cp);
      }
      if (step === steps) break;
      yield* wait(model.step(r, lr));
    }
  });
  return { width: options.width, seed, lr, losses, checkpoints, predictions: f.slice(0, n), tNorm, init };
}

/**
 * Trains the network of `arch` sampled at (width, seed) on (x, y) by full-batch gradient descent:
 * float64 on the CPU, or (backend "webgpu", a Promise) f32 on the WebGPU device with the same network.
 */
export function trainNetwork(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: TrainOptions & { backend: 'webgpu' }): Promise<TrainResult>;
export function trainNetwork(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: TrainOptions & { backend?: 'cpu' }): TrainResult;
export function trainNetwork(arch: Spec | ResolvedSpec | string, x: MatrixInput, y: ArrayLike<number>, options: TrainOptions): TrainResult | Promise<TrainResult> {
  return options.backend === 'webgpu' ? runAsync(trainSteps(arch, x, y, options)) : runSync(trainSteps(arch, x, y, options));
}
