/**
 * ml.js interop: results as ml-matrix `Matrix` objects, and a kernel object in the ml-kernel
 * convention, so code written for `ml-kernel` (or a consumer of it, such as ml-regression's
 * KernelRidgeRegression) can use an NTK or NNGP.
 */
import { Matrix } from 'ml-matrix';
import { kernel, kernelCpu, type Arch, type BackendChoice, type KernelResult } from './api.js';
import type { KernelKind } from './result.js';
import { InputError } from './errors.js';
import type { MatrixInput } from './matrix.js';

/** One kernel of a result (at one depth of a sweep) as an ml-matrix `Matrix`. */
export function asMatrix(result: KernelResult, kind: KernelKind = 'ntk', depthIndex = -1): Matrix {
  const values = result[kind];
  if (!values) throw new InputError(`the result has no ${kind} (ask for it with get)`);
  const plane = result.sweep ? result.shape.slice(1) : result.shape;
  const rows = plane[0]!;
  const cols = result.diagonal ? 1 : plane[1]!;
  const taps = values.length / (rows * cols);
  const t = depthIndex < 0 ? taps + depthIndex : depthIndex;
  if (!Number.isInteger(t) || t < 0 || t >= taps) throw new InputError(`depth index ${depthIndex} is outside 0 … ${taps - 1}`);
  const m = new Matrix(rows, cols);
  const o = t * rows * cols;
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, values[o + i * cols + j]!);
  return m;
}

export interface NeuralKernelOptions<B extends BackendChoice> {
  /** Which kernel (default "ntk"). */
  kernel?: KernelKind;
  /** "cpu" (default, synchronous), "webgpu" or "auto" (compute returns a Promise). */
  backend?: B;
}

type Computed<B extends BackendChoice> = B extends 'cpu' ? Matrix : Promise<Matrix>;

const isVector = (v: unknown): v is readonly number[] => Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number');

/**
 * A kernel object in the ml.js convention:
 * - `compute(X, Y?)` → the Gram `Matrix` of the rows of X against the rows of Y (X against itself
 *   without Y), like ml-kernel's `Kernel#compute`;
 * - `compute(x, y)` on two vectors → their kernel value, which is what ml-kernel calls on a custom
 *   kernel object, so `new Kernel(ntk)` and `new KernelRidgeRegression(X, Y, { kernelType: ntk })`
 *   work (one pair at a time there: prefer the matrix form where you control the call).
 * On "webgpu"/"auto" the same call returns a Promise of the Matrix (vectors: of the number).
 */
export class NeuralKernel<B extends BackendChoice = 'cpu'> {
  readonly kind: KernelKind;
  readonly backend: BackendChoice;
  constructor(
    readonly arch: Arch,
    options: NeuralKernelOptions<B> = {},
  ) {
    this.kind = options.kernel ?? 'ntk';
    this.backend = options.backend ?? 'cpu';
    if (this.kind !== 'ntk' && this.kind !== 'nngp') throw new InputError(`unknown kernel "${String(this.kind)}" (use nngp or ntk)`);
  }

  compute(x: readonly number[], y: readonly number[]): B extends 'cpu' ? number : Promise<number>;
  compute(X: MatrixInput, Y?: MatrixInput | null): Computed<B>;
  compute(X: MatrixInput | readonly number[], Y?: MatrixInput | readonly number[] | null): unknown {
    if (isVector(X)) {
      if (!isVector(Y)) throw new InputError('compute(x, y) on a vector needs a second vector');
      const r = this.run([X], [Y]);
      return r instanceof Promise ? r.then((m) => m.get(0, 0)) : r.get(0, 0);
    }
    return this.run(X as MatrixInput, (Y as MatrixInput | null | undefined) ?? null);
  }

  private run(X: MatrixInput, Y: MatrixInput | null): Matrix | Promise<Matrix> {
    if (this.backend === 'cpu') return asMatrix(kernelCpu(this.arch, X, Y, { get: this.kind }), this.kind);
    return kernel(this.arch, X, Y, { get: this.kind, backend: this.backend }).then((r) => asMatrix(r, this.kind));
  }
}
