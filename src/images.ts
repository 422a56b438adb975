/**
 * Image inputs for convolutional (spatial) specs: N images of C channels on a 1-D (P pixels) or
 * 2-D (H×W) grid, given as a flat array and its shape, converted to one internal float64 form.
 */
import { InputError } from './errors.js';
import { toMatrix, type Matrix2D, type MatrixInput } from './matrix.js';

/** Images as given: shape [N, C, H, W] or [N, C, P] ("nchw"), or [N, H, W, C] / [N, P, C] ("nhwc"). */
export interface ImagesInput {
  data: Float64Array | Float32Array | readonly number[];
  shape: readonly number[];
}

/** Where the channel axis is: after the image index ("nchw", the default) or last ("nhwc"). */
export type ImageLayout = 'nchw' | 'nhwc';

/** The internal form: channel-major per image, `data[(n·C + c)·P + i]` with P = ∏dims. */
export interface Images {
  n: number;
  channels: number;
  /** Spatial sizes: [P] for 1-D signals, [H, W] for 2-D images. */
  dims: number[];
  /** Pixels per image, ∏dims. */
  pixels: number;
  data: Float64Array;
}

/** Largest number of values accepted in one image array (the result is held in one Float64Array). */
const MAX_VALUES = 2 ** 28;

/** Whether a value looks like an image input ({data, shape}) rather than a matrix. */
export function isImagesInput(x: unknown): x is ImagesInput {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && 'shape' in x && 'data' in x;
}

/** Checks an image input and converts it to channel-major float64 (`what` names it in errors). */
export function toImages(input: ImagesInput, layout: ImageLayout = 'nchw', what = 'x1'): Images {
  if (!isImagesInput(input)) {
    throw new InputError(`${what}: a conv spec needs images {data, shape} with shape [N, C, H, W] or [N, C, P], not a matrix`);
  }
  if (layout !== 'nchw' && layout !== 'nhwc') {
    throw new InputError(`unknown image layout ${JSON.stringify(String(layout))} (use nchw or nhwc)`);
  }
  const shape = Array.from(input.shape as ArrayLike<unknown>);
  const axes = layout === 'nchw' ? '[N, C, H, W] or [N, C, P]' : '[N, H, W, C] or [N, P, C]';
  if (shape.length !== 3 && shape.length !== 4) {
    throw new InputError(`${what}: images must have shape ${axes} (rank 3 or 4), got rank ${shape.length} [${shape.join(', ')}]`);
  }
  for (const s of shape) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 1) {
      throw new InputError(`${what}: every axis of the shape ${axes} must be an integer ≥ 1, got [${shape.map(String).join(', ')}]`);
    }
  }
  const dims = shape as number[];
  const total = dims.reduce((a, b) => a * b, 1);
  if (total > MAX_VALUES) throw new InputError(`${what}: ${total} values are more than the ${MAX_VALUES} accepted in one array`);
  const src = input.data;
  if (!(src instanceof Float64Array || src instanceof Float32Array || Array.isArray(src))) {
    throw new InputError(`${what}: data must be a Float64Array, a Float32Array or an array of numbers`);
  }
  if (src.length !== total) {
    throw new InputError(`${what}: shape [${dims.join(', ')}] holds ${total} values but data has ${src.length}`);
  }
  const n = dims[0]!;
  const channels = layout === 'nchw' ? dims[1]! : dims[dims.length - 1]!;
  const spatial = layout === 'nchw' ? dims.slice(2) : dims.slice(1, -1);
  const pixels = spatial.reduce((a, b) => a * b, 1);
  const data = new Float64Array(total);
  for (let img = 0; img < n; img++) {
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < pixels; i++) {
        const from = layout === 'nchw' ? (img * channels + c) * pixels + i : (img * pixels + i) * channels + c;
        const v = src[from];
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new InputError(`${what}: value ${String(v)} at image ${img}, channel ${c}, pixel ${i} is not a finite number`);
        }
        data[(img * channels + c) * pixels + i] = v;
      }
    }
  }
  return { n, channels, dims: spatial, pixels, data };
}

/** x1 and x2 must share their channels and grid: the kernel pairs pixels of the two images. */
export function checkImagePair(x1: Images, x2: Images | null): void {
  if (!x2) return;
  if (x2.channels !== x1.channels) {
    throw new InputError(`x1 has ${x1.channels} channels but x2 has ${x2.channels}`);
  }
  if (x2.dims.length !== x1.dims.length || x2.dims.some((d, k) => d !== x1.dims[k])) {
    throw new InputError(`x1 images are ${x1.dims.join('×')} but x2 images are ${x2.dims.join('×')}: both must have the same size`);
  }
}

/** Whether an input is shaped as images (rank 3 or 4) rather than as a [N, d] matrix. */
export function isImageShaped(x: unknown): x is ImagesInput {
  return isImagesInput(x) && (x.shape.length === 3 || x.shape.length === 4);
}

/**
 * An input as rows, for counting inputs and comparing them (duplicates): a matrix as it is, images
 * as [N, C·P] with each image flattened in the order given. The kernel reads the input itself.
 */
export function inputRows(x: MatrixInput | ImagesInput, name: string): Matrix2D {
  if (!isImageShaped(x)) return toMatrix(x as MatrixInput, name);
  const n = x.shape[0]!;
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  return toMatrix({ data: x.data, shape: [n, per] }, name);
}
