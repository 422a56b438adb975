/**
 * What the training loop of `trainSteps` (src/mc/train.ts) needs of a backend: the float64 model
 * there, or the WebGPU one (src/gpu/train.ts). Its own module so that neither imports the other.
 */
import type { SampledNetwork } from './batched.js';

/** One copy of the trained model: f = Σ_c sign_c·f_c over the copies (one for "standard"). */
export interface TrainCopy {
  net: SampledNetwork;
  sign: number;
}

/**
 * The trained model on one backend, at its current weights (after the last step). Every method
 * returns its value, or on a device a Promise of it.
 */
export interface TrainModel {
  /** f = Σ_c sign_c·f_c on the batch (the n training rows, then the test rows). */
  outputs(): Float64Array | Promise<Float64Array>;
  /**
   * Per-layer raw NTK of f over rows [r0, r0 + n1) × [c0, c0 + n2) of the batch (output layer
   * first): Σ_c sign_c²·Θ_{c,ℓ} (the copies share no parameter, and layer ℓ of every copy is the
   * same layer of the same spec). `sym`: the block is symmetric (r0 = c0, n1 = n2).
   */
  layers(r0: number, n1: number, c0: number, n2: number, sym: boolean): Float64Array[] | Promise<Float64Array[]>;
  /**
   * One step θ_c ← θ_c − η·∇_c L, ∇_c L = (1/n)·Σ_k r_k·sign_c·∂f_c(x_k)/∂θ_c with r = f − y on the n
   * training rows (from the current pass), then the pass at the new weights.
   */
  step(r: Float64Array, lr: number): void | Promise<void>;
  /** Frees what the model holds (a device's buffers; a device error is thrown here). */
  close(): void | Promise<void>;
}
