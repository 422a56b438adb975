/**
 * A composable builder for specs in the spirit of neural-tangents' `stax`: each function returns
 * the plain JSON layer it stands for, so a built network can be printed, saved and edited.
 *
 *   const spec = network({ inputScale: 'dim', readout: [dense()] },
 *     dense(),
 *     repeat(8, residual([dense({ weightVar: 2 }), relu(), dense()], { gamma: 0.5 })));
 */
import type {
  Activation,
  DenseBlockLayer,
  DenseLayer,
  Layer,
  RepeatLayer,
  ResidualLayer,
  Spec,
} from './types.js';

export const dense = (opts: Omit<DenseLayer, 'type'> = {}): DenseLayer => ({ type: 'dense', ...opts });
export const relu = (): Activation => ({ type: 'relu' });
export const arccos = (order: 0 | 1 | 2): Activation => ({ type: 'arccos', order });
export const leakyRelu = (slope: number): Activation => ({ type: 'leakyRelu', slope });
export const abRelu = (a: number, b: number): Activation => ({ type: 'abRelu', a, b });
export const erf = (): Activation => ({ type: 'erf' });
export const gelu = (): Activation => ({ type: 'gelu' });
export const tanh = (): Activation => ({ type: 'tanh' });
export const sigmoid = (): Activation => ({ type: 'sigmoid' });
export const softplus = (): Activation => ({ type: 'softplus' });
/**
 * Any elementwise φ with its derivative, by quadrature (API only: a JSON file cannot hold functions);
 * `wgsl` gives φ and φ' as WGSL expressions in `u` for the WebGPU backend; `smooth: true` says φ is
 * C¹ (default: not known smooth; `analyze dynamics` measures initial rates only for C¹ activations).
 */
export const numerical = (
  name: string,
  fn: (u: number) => number,
  deriv: (u: number) => number,
  wgsl?: { fn: string; deriv: string },
  smooth?: boolean,
): Activation => ({ type: 'numerical', name, fn, deriv, ...(wgsl ? { wgsl } : {}), ...(smooth !== undefined ? { smooth } : {}) });

export type ResidualScale =
  | { alpha: number; beta?: number }
  | { gamma: number; alpha0?: number; beta?: number };

/** h ↦ β·h + α·branch(h); the branch must end with a dense layer. */
export const residual = (branch: Layer[], scale: ResidualScale): ResidualLayer => ({
  type: 'residual',
  ...scale,
  branch,
});

export const denseBlock = (depth: number, opts: Omit<DenseBlockLayer, 'type' | 'depth'> = {}): DenseBlockLayer => ({
  type: 'denseBlock',
  depth,
  ...opts,
});

export const repeat = (count: number, ...layers: Layer[]): RepeatLayer => ({ type: 'repeat', count, layers });

/** A network with options (input scaling, readout, normalisation). */
export const network = (options: Omit<Spec, 'layers'>, ...layers: Layer[]): Spec => ({ ...options, layers });

/** A network of layers in sequence, with default options. */
export const serial = (...layers: Layer[]): Spec => ({ layers });
