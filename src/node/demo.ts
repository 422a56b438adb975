/**
 * The main job (`npm start`): NNGP and NTK classification of Fashion-MNIST images — the embedded
 * class-balanced subset (2000 training, 1000 test images; data/README.md), or the full set from the
 * IDX files of Debian's dataset-fashion-mnist with `--data` — for an MLP and a ResNet preset, then
 * a CNTK (flatten readout) beside the MLP on the first images of each class, on WebGPU when an
 * adapter exists (else the float64 CPU path), with the time of each phase.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { kernel, toSpec } from '../api.js';
import { isSpatialSpec } from '../spec/validate.js';
import { InputError } from '../errors.js';
import { describeAdapter, getGpu } from '../gpu/device.js';
import { parseNpy } from '../io/npy.js';
import { accuracy, predict, predictFromKernels } from '../predict.js';
import type { LandmarkChoice } from '../predict-nystrom.js';
import type { CliIO } from './cli-io.js';
import { useNodeWebGPU } from './webgpu.js';

export const DEMO_PRESETS = ['mlp:depth=3', 'resnet:depth=8,gamma=0.5'];
/**
 * The convolutional rows: Arora et al.'s CNTK with a flatten readout on the 28×28 images. A CNTK
 * pair costs about P = 784 FC pairs per layer (gap: P² — far beyond a one-minute job), so it runs on
 * the first images of each class only, and the MLP runs on the same images beside it.
 */
export const DEMO_CONV = { presets: ['cntk:depth=5,readout=flatten', 'mlp:depth=3'], trainPerClass: 20, testPerClass: 10 };
/** Ridge relative to the mean diagonal of the training kernel (`--ridge-rel` changes it). */
export const DEMO_RELATIVE_RIDGE = 1e-4;
/**
 * cg-matfree's preconditioner rank here: a pass over the kernel of 784-pixel images costs far more
 * than the rank's n·r² host work (3000 images: 125 iterations at rank 300, 66 at 1000).
 */
const DEMO_CG_RANK = 1000;

export interface Split {
  X: Float64Array;
  labels: Float64Array;
  n: number;
}

const dataFile = (f: string) => fileURLToPath(new URL(`../../data/${f}`, import.meta.url));

function fromEmbedded(prefix: 'train' | 'test'): Split {
  const img = parseNpy(readFileSync(dataFile(`fashion-${prefix}-images.npy`)), `fashion-${prefix}-images.npy`);
  const lab = parseNpy(readFileSync(dataFile(`fashion-${prefix}-labels.npy`)), `fashion-${prefix}-labels.npy`);
  return { X: img.data, labels: lab.data, n: img.shape[0]! };
}

/** An IDX file (gzip-compressed or not) of uint8 images or labels. */
function readIdx(path: string): { data: Uint8Array; dims: number[] } {
  let raw: Uint8Array;
  try {
    raw = readFileSync(path);
  } catch {
    throw new InputError(`cannot read ${path} (expected the IDX files of Fashion-MNIST there)`);
  }
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || view.getUint16(0) !== 0 || bytes[2] !== 0x08) throw new InputError(`${path}: not a uint8 IDX file`);
  const rank = bytes[3]!;
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(4 + 4 * rank);
  if (data.length !== size) throw new InputError(`${path}: ${data.length} bytes of data, header says ${size}`);
  return { data, dims };
}

/** The first `perClass` images of each class, in file order. */
function fromIdx(dir: string, prefix: 'train' | 't10k', perClass: number): Split {
  const img = readIdx(join(dir, `${prefix}-images-idx3-ubyte.gz`));
  const lab = readIdx(join(dir, `${prefix}-labels-idx1-ubyte.gz`));
  const d = img.dims[1]! * img.dims[2]!;
  const count = new Array<number>(10).fill(0);
  const rows: number[] = [];
  for (let i = 0; i < lab.data.length; i++) {
    const c = lab.data[i]!;
    if (count[c]! < perClass) {
      count[c]!++;
      rows.push(i);
    }
  }
  const X = new Float64Array(rows.length * d);
  const labels = new Float64Array(rows.length);
  rows.forEach((r, k) => {
    for (let j = 0; j < d; j++) X[k * d + j] = img.data[r * d + j]!;
    labels[k] = lab.data[r]!;
  });
  return { X, labels, n: rows.length };
}

/** Pixels to [0, 1], centred by the training mean of each pixel. */
function preprocess(train: Split, test: Split, d: number): void {
  const mean = new Float64Array(d);
  for (let i = 0; i < train.n; i++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + train.X[i * d + j]! / 255;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / train.n;
  for (const s of [train, test]) {
    for (let i = 0; i < s.n; i++) for (let j = 0; j < d; j++) s.X[i * d + j] = s.X[i * d + j]! / 255 - mean[j]!;
  }
}

export interface DemoOptions {
  data?: string;
  trainPerClass?: number;
  testPerClass?: number;
  backend?: 'cpu' | 'webgpu' | 'auto';
  /**
   * "direct" (default): K(train, train) formed and solved in float64. "nystrom": the FC presets by
   * Nyström regression on `landmarks` inputs (predict's solver, never the n × n kernel), for
   * training sets too large to hold K — the full 60 000 images; the conv rows are skipped.
   * "cg-matfree": the FC presets by matrix-free CG on the exact K (never stored; one pass over
   * K per iteration, which on the full set is a job for a real GPU).
   */
  solver?: 'direct' | 'nystrom' | 'cg-matfree';
  landmarks?: number;
  landmarkChoice?: LandmarkChoice;
  /** Solver "cg-matfree": CG's relative-residual tolerance (predict's default 1e-6). */
  cgTol?: number;
  /**
   * The ridge relative to the mean diagonal of K(train, train) (default DEMO_RELATIVE_RIDGE = 1e-4).
   * Matrix-free CG on the full set needs a larger one to converge in tens of iterations (1e-1:
   * the condition number falls by 10³, the test accuracy of exact KRR hardly moves; README).
   */
  relativeRidge?: number;
}

/**
 * The demo's data: the first images per class of Fashion-MNIST's IDX files in `dir` (or the
 * embedded subset), pixels to [0, 1] and centred by the training mean (784 features per row).
 */
export function fashionSplits(dir: string | undefined, trainPerClass = 200, testPerClass = 100): { train: Split; test: Split } {
  const train = dir ? fromIdx(dir, 'train', trainPerClass) : fromEmbedded('train');
  const test = dir ? fromIdx(dir, 't10k', testPerClass) : fromEmbedded('test');
  preprocess(train, test, 784);
  return { train, test };
}

export async function runDemo(io: CliIO, opts: DemoOptions = {}): Promise<void> {
  const rel = opts.relativeRidge ?? DEMO_RELATIVE_RIDGE;
  const d = 784;
  const { train, test } = fashionSplits(opts.data, opts.trainPerClass, opts.testPerClass);
  const backend = opts.backend ?? 'auto';
  if (backend !== 'cpu') useNodeWebGPU();
  const ctx = backend === 'cpu' ? null : await getGpu();
  io.out(
    `webntk main job: Fashion-MNIST, ${train.n} training and ${test.n} test images (${opts.data ? `from ${opts.data}` : 'the embedded subset'}), ` +
      `10 classes; kernels on ${ctx ? `WebGPU (${describeAdapter(ctx.adapter)}, ${ctx.runtime})` : 'the CPU (float64)'}, solves in float64\n\n`,
  );
  const notes: string[] = [];
  if (opts.solver === 'nystrom' || opts.solver === 'cg-matfree') {
    await classifyLowMemory(io, train, test, backend, opts, rel, notes);
    for (const n of notes) io.out(`warning: ${n}\n`);
    return;
  }
  await classify(io, DEMO_PRESETS, train, test, backend, rel, notes);
  const ctrain = firstPerClass(train, DEMO_CONV.trainPerClass, d);
  const ctest = firstPerClass(test, DEMO_CONV.testPerClass, d);
  io.out(
    `\nConvolutional: ${DEMO_CONV.presets[0]} on the 28×28 images (shape [N, 1, 28, 28]), the first ${DEMO_CONV.trainPerClass} training ` +
      `and ${DEMO_CONV.testPerClass} test images of each class (${ctrain.n} and ${ctest.n}), the MLP on the same images:\n\n`,
  );
  await classify(io, DEMO_CONV.presets, ctrain, ctest, backend, rel, notes);
  io.out(`\nRidge: ${rel} × the mean diagonal of K(train, train); NTK at t = ∞ (the converged gradient-flow predictor).\n`);
  for (const n of notes) io.out(`warning: ${n}\n`);
}

/** The first `perClass` images of each class of a split (fewer where a class has fewer). */
function firstPerClass(s: Split, perClass: number, d: number): Split {
  const count = new Array<number>(10).fill(0);
  const rows: number[] = [];
  for (let i = 0; i < s.n; i++) {
    const c = s.labels[i]!;
    if (count[c]! < perClass) {
      count[c]!++;
      rows.push(i);
    }
  }
  const X = new Float64Array(rows.length * d);
  rows.forEach((r, k) => X.set(s.X.subarray(r * d, (r + 1) * d), k * d));
  return { X, labels: Float64Array.from(rows, (r) => s.labels[r]!), n: rows.length };
}

/**
 * The FC presets by a solver that never stores the training kernel (predict's "nystrom" or
 * "cg-matfree"): accuracy, time and the solver's own counts per kernel.
 */
async function classifyLowMemory(io: CliIO, train: Split, test: Split, backend: 'cpu' | 'webgpu' | 'auto', opts: DemoOptions, rel: number, notes: string[]): Promise<void> {
  const d = train.X.length / train.n;
  const nystrom = opts.solver === 'nystrom';
  const M = opts.landmarks ?? 1000;
  const choice = opts.landmarkChoice ?? 'uniform';
  if (nystrom && M > train.n) throw new InputError(`--landmarks ${M} is more than the ${train.n} training images`);
  io.out(
    nystrom
      ? `Nyström regression on M = ${M} landmarks (${choice}), never the ${train.n} × ${train.n} kernel:\n\n`
      : `Matrix-free CG on the exact ${train.n} × ${train.n} kernel, never stored (one pass over it per iteration${opts.cgTol !== undefined ? `, tolerance ${opts.cgTol}` : ''}):\n\n`,
  );
  const header = nystrom
    ? ['preset', 'kernel', 'test accuracy', 'seconds', 'CG iterations', 'K_nM storage']
    : ['preset', 'kernel', 'test accuracy', 'seconds', 'CG iterations', 's per pass', 'preconditioner'];
  const rows: string[][] = [];
  for (const ref of DEMO_PRESETS) {
    for (const kind of ['nngp', 'ntk'] as const) {
      const t0 = performance.now();
      const r = await predict(ref, { data: train.X, shape: [train.n, d] }, train.labels, { data: test.X, shape: [test.n, d] }, {
        kernel: kind,
        relativeRidge: rel,
        classes: 10,
        backend,
        ...(nystrom
          ? { solver: 'nystrom', landmarks: M, landmarkChoice: choice }
          : { solver: 'cg-matfree', cgRank: DEMO_CG_RANK, ...(opts.cgTol !== undefined ? { cgTol: opts.cgTol } : {}) }),
      });
      const seconds = (performance.now() - t0) / 1000;
      const acc = `${(100 * accuracy(r.mean[0]!, r.shape, test.labels)).toFixed(1)}%`;
      rows.push(
        nystrom
          ? [ref, kind, acc, seconds.toFixed(1), String(r.nystrom!.iterations), r.nystrom!.storage]
          : [ref, kind, acc, seconds.toFixed(1), String(r.cg!.iterations), (r.kernelPassSeconds! / r.kernelPasses!).toFixed(2), r.cg!.preconditioner],
      );
      for (const w of r.warnings) notes.push(`${ref} ${kind}: ${w}`);
    }
  }
  printTable(io, header, rows);
  io.out(`\nRidge: ${rel} × the mean diagonal of K(train, train); NTK at t = ∞.\n`);
}

/** One table: each preset's NNGP and NTK test accuracy and the time of each phase. */
async function classify(io: CliIO, presets: readonly string[], train: Split, test: Split, backend: 'cpu' | 'webgpu' | 'auto', rel: number, notes: string[]): Promise<void> {
  const d = train.X.length / train.n;
  const header = ['preset', 'kernel', 'test accuracy', 'K(train, train) s', 'K(test, train) s', 'solve s', 'condition number'];
  const rows: string[][] = [];
  for (const ref of presets) {
    // Conv specs take the images as [N, 1, 28, 28]; FC specs the flattened rows.
    const shape = (n: number) => (isSpatialSpec(toSpec(ref)) ? [n, 1, 28, 28] : [n, d]);
    const Xtr = { data: train.X, shape: shape(train.n) };
    const Xte = { data: test.X, shape: shape(test.n) };
    const t0 = performance.now();
    const kxx = await kernel(ref, Xtr, null, { backend });
    const t1 = performance.now();
    const kxs = await kernel(ref, Xte, Xtr, { backend });
    const t2 = performance.now();
    for (const kind of ['nngp', 'ntk'] as const) {
      const K = kxx[kind]!;
      let tr = 0;
      for (let i = 0; i < train.n; i++) tr += K[i * train.n + i]!;
      const ridge = (rel * tr) / train.n;
      const t3 = performance.now();
      const r = predictFromKernels({ n: train.n, m: test.n, train: K, testTrain: kxs[kind]! }, train.labels, { kernel: kind, ridge, classes: 10 });
      const t4 = performance.now();
      const acc = accuracy(r.mean[0]!, r.shape, test.labels);
      rows.push([ref, kind, `${(100 * acc).toFixed(1)}%`, ((t1 - t0) / 1000).toFixed(2), ((t2 - t1) / 1000).toFixed(2), ((t4 - t3) / 1000).toFixed(2), r.conditionNumber.toExponential(1)]);
      for (const w of r.warnings) notes.push(`${ref} ${kind}: ${w}`);
    }
  }
  printTable(io, header, rows);
}

/** Text columns: the first two left-aligned, the rest right-aligned. */
function printTable(io: CliIO, header: string[], rows: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ') + '\n';
  io.out(line(header));
  for (const r of rows) io.out(line(r));
}
