/**
 * Convolutional kernels on images in float64, in one call: a spatial spec (or a preset reference
 * such as "cntk:depth=5,readout=flatten") and images {data, shape}. The library's API wires the
 * same pieces (compileSpatial, toImages, gramSpatialCpu) into its executor interface.
 */
import { InputError } from './errors.js';
import { toImages, type ImageLayout, type ImagesInput } from './images.js';
import { compileSpatial } from './program/spatial.js';
import { gramSpatialCpu } from './cpu/spatial.js';
import type { GramResult, KernelKind } from './result.js';
import { parsePresetRef } from './spec/presets.js';
import type { ResolvedSpec, Spec } from './spec/types.js';
import { isSpatialSpec, resolveSpec } from './spec/validate.js';

export interface ConvKernelOptions {
  /** Which kernels (default both). */
  get?: KernelKind | readonly KernelKind[];
  /** Only K(x_i, x_i) for the images of x1 (x2 must be omitted). */
  diagonal?: boolean;
  /** "all": every depth of the depth sweep along a leading axis; "last" (default): the full network. */
  depths?: 'last' | 'all';
  /** "nchw" (default: [N, C, H, W] / [N, C, P]) or "nhwc" ([N, H, W, C] / [N, P, C]). */
  layout?: ImageLayout;
}

/** NNGP/NTK Gram matrices of a convolutional spec on images (X1 × X2, or X1 × X1 when x2 is omitted). */
export function convKernelCpu(
  arch: Spec | ResolvedSpec | string,
  x1: ImagesInput,
  x2: ImagesInput | null = null,
  options: ConvKernelOptions = {},
): GramResult & { spec: ResolvedSpec } {
  const spec = resolveSpec(typeof arch === 'string' ? parsePresetRef(arch) : arch);
  if (!isSpatialSpec(spec)) {
    throw new InputError('this spec is fully connected (no conv, avgPool or readout): its input is a [N, d] matrix, not images; add a flatten readout to use images');
  }
  if (options.depths !== undefined && options.depths !== 'all' && options.depths !== 'last') {
    throw new InputError(`depths must be "last" or "all", got ${JSON.stringify(options.depths)}`);
  }
  const get = options.get === undefined ? (['nngp', 'ntk'] as KernelKind[]) : typeof options.get === 'string' ? [options.get] : [...options.get];
  const program = compileSpatial(spec);
  const a = toImages(x1, options.layout, 'x1');
  const b = x2 ? toImages(x2, options.layout, 'x2') : null;
  const result = gramSpatialCpu(program, a, b, { get, diagonal: options.diagonal ?? false, allDepths: options.depths === 'all' });
  return { ...result, spec };
}
