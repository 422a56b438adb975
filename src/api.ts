/**
 * The library entry points: one call for every backend. `arch` is a spec object, or a preset
 * reference string such as "huang2020:depth=50,gamma=0.75".
 *
 * Every call resolves the arch to a target (what is computed: a compiled program, or an
 * infinite-depth limit), picks the target's executor for the backend (src/exec/), and labels what
 * the executor returns; how anything is computed lives in the executors.
 */
import { InputError } from './errors.js';
import { cpuExecutor } from './exec/cpu.js';
import { threadedCpuExecutor } from './exec/cpu-threads.js';
import { workerSpawner } from './exec/spawner.js';
import { checkThreads, pairOps, planThreads, type ThreadChoice } from './exec/threads.js';
import type { Backend, ExecOptions, Executor, SyncExecutor } from './exec/executor.js';
import { checkInfiniteRequest, describeLimit, infiniteDepthLimit, limitCpuOnly, limitExecutor, type InfiniteDepthLimit } from './exec/limit.js';
import { checkSpatialRequest, spatialCpuExecutor } from './exec/spatial.js';
import { spatialGpuRefusal, spatialGpuShapeRefusal, spatialWebgpuExecutor } from './exec/spatial-webgpu.js';
import { executorTimes } from './exec/times.js';
import { webgpuExecutor } from './exec/webgpu.js';
import { getGpu, type AdapterSummary, type GpuContext } from './gpu/device.js';
import { isImagesInput, toImages, type ImageLayout, type Images, type ImagesInput } from './images.js';
import { toMatrix, type Matrix2D, type MatrixInput } from './matrix.js';
import { compile } from './program/compile.js';
import type { KernelProgram } from './program/program.js';
import { compileSpatial } from './program/spatial.js';
import { checkRequest, kernelKinds, type GramBlock, type GramRequest, type GramResult, type KernelKind } from './result.js';
import { parseInfiniteDepthRef, parsePresetRef } from './spec/presets.js';
import type { ResolvedSpec, Spec } from './spec/types.js';
import { isSpatialSpec, resolveSpec } from './spec/validate.js';

/**
 * A spec, or a preset reference. `huang2020:depth=inf,gamma=γ` and `belfer2021:depth=inf,gamma=γ`
 * (γ ≥ ½) are the infinite-depth limits of `exec/limit.ts`: kernel(), kernelCpu() and
 * kernelBlocks() compute them; toSpec() and program() cannot (no finite spec represents them).
 */
export type Arch = Spec | ResolvedSpec | string;
export type { Backend };
/** What a caller may ask for: a backend, or "auto" (WebGPU when an adapter exists, else the CPU). */
export type BackendChoice = Backend | 'auto';

export interface KernelOptions extends ExecOptions {
  /** Which kernels (default both). */
  get?: KernelKind | readonly KernelKind[];
  /** Only K(x_i, x_i) for the rows of x1 (x2 must be omitted). */
  diagonal?: boolean;
  /** "all": every depth of the depth sweep along a leading axis; "last" (default): the full network. */
  depths?: 'last' | 'all';
  /**
   * "cpu" (float64, the default), "webgpu" (an error when there is no adapter) or "auto". A depth=inf
   * reference with γ = ½ is computed on the CPU only: "auto" picks the CPU, "webgpu" is an error.
   */
  backend?: BackendChoice;
  /**
   * Convolutional specs: where the channel axis of the images is: "nchw" (default; [N, C, H, W] or
   * [N, C, P]) or "nhwc" ([N, H, W, C] or [N, P, C]).
   */
  layout?: ImageLayout;
}

/**
 * An input: a [N, d] matrix for a fully connected spec, images {data, shape} for a convolutional
 * one (a spec with conv, avgPool or an eq/flatten/gap readout).
 */
export type KernelInput = MatrixInput | ImagesInput;

/**
 * A result, labelled with what computed it and what was computed: `spec` for a spec or a finite
 * preset reference, `limit` for a depth=inf reference (no finite spec represents it; depths is
 * then [Infinity]); `computed` says which in words.
 */
export type KernelResult = GramResult & {
  backend: Backend;
  /** The adapter that computed a WebGPU result, in words. */
  adapter?: string;
  /** What was computed, in words: the preset reference or the spec's name; for a limit, its reference and how it is computed. */
  computed: string;
  /** CPU results: the worker threads that computed it (1: this thread only). */
  threads?: number;
  /** CPU results: why fewer threads than asked for (or than the cores), in words. */
  threadsNote?: string;
} & ({ spec: ResolvedSpec; limit?: undefined } | { spec?: undefined; limit: InfiniteDepthLimit });

/** Resolves an arch (preset reference or spec) to a complete, validated spec. */
export function toSpec(arch: Arch): ResolvedSpec {
  return resolveSpec(typeof arch === 'string' ? parsePresetRef(arch) : arch);
}

/**
 * What the public API tells of an arch's kernel program: the depth label of each entry of a depth
 * sweep, and the number of residual blocks L (which sets α = alpha0·L^(−gamma)). The program itself
 * (its per-pair state and ops) is internal to the executors and changes with them.
 */
export interface ProgramInfo {
  depths: number[];
  residualBlocks: number;
}

/** The program summary of an arch (compiles it: an error names what the compiler refuses). */
export function program(arch: Arch): ProgramInfo {
  const spec = toSpec(arch);
  const p = isSpatialSpec(spec) ? compileSpatial(spec) : compile(spec);
  return { depths: p.depths.slice(), residualBlocks: p.residualBlocks };
}

/**
 * What an arch computes, whatever computes it: how it takes inputs, the checks a request must pass
 * before any work, its executor per backend, and its label for results. `X` is the input type of
 * its executors. A new kind of kernel (the convolutional engine on images) is one more case of
 * `targetOf` with its own input conversion and executor.
 */
interface Target<X> {
  label: { spec: ResolvedSpec; limit?: undefined } | { spec?: undefined; limit: InfiniteDepthLimit };
  computed: string;
  /** Why there is no WebGPU executor for these inputs (then "auto" means the CPU and "webgpu" is an error); null if there is one. */
  cpuOnly(x1: X, req: GramRequest): string | null;
  input(x: KernelInput, name: string): X;
  /** Examples in an input (rows of a matrix, images of a batch). */
  count(x: X): number;
  check(x1: X, x2: X | null, req: GramRequest): void;
  cpu(): SyncExecutor<X>;
  webgpu(ctx: GpuContext): Executor<X>;
  /** The compiled FC program, which the CPU backend can run on worker threads; absent otherwise. */
  program?: KernelProgram;
}

/** A matrix for a fully connected target; images are refused with what to do instead. */
function matrixInput(x: KernelInput, name: string): Matrix2D {
  if (isImagesInput(x) && (x.shape.length === 3 || x.shape.length === 4)) {
    throw new InputError(
      `${name}: images (shape [${Array.from(x.shape).join(', ')}]) given to a fully connected spec, whose input is a [N, d] matrix; ` +
        'for images use a convolutional spec (conv layers, or a flatten/gap/eq readout before the dense layers)',
    );
  }
  return toMatrix(x as MatrixInput, name);
}

function targetOf(arch: Arch, options: KernelOptions): Target<unknown> {
  const ref = typeof arch === 'string' ? parseInfiniteDepthRef(arch) : null;
  if (ref) {
    const limit = infiniteDepthLimit(ref);
    const t: Target<Matrix2D> = {
      label: { limit },
      computed: describeLimit(limit),
      cpuOnly: () => limitCpuOnly(limit),
      input: matrixInput,
      count: (x) => x.rows,
      check: (x1, x2, req) => checkInfiniteRequest(limit, x1, x2, req),
      cpu: () => limitExecutor(limit, null),
      webgpu: (ctx) => limitExecutor(limit, ctx),
    };
    return t;
  }
  const spec = toSpec(arch);
  const computed = typeof arch === 'string' ? arch : (spec.name ?? 'an unnamed spec');
  if (isSpatialSpec(spec)) {
    const sp = compileSpatial(spec);
    const layout = options.layout;
    const conv: Target<Images> = {
      label: { spec },
      computed,
      // What the slab shader cannot run (avgPool, …) is computed on the CPU: "auto" says so in
      // the result's backend, "webgpu" is an error naming the layer.
      cpuOnly: (x, req) => spatialGpuRefusal(sp) ?? spatialGpuShapeRefusal(sp, x.dims, req.allDepths),
      input: (x, name) => toImages(x as ImagesInput, layout, name),
      count: (x) => x.n,
      check: (x1, x2, req) => checkSpatialRequest(sp, x1, x2, req),
      cpu: () => spatialCpuExecutor(sp),
      webgpu: (ctx) => spatialWebgpuExecutor(ctx, sp),
    };
    return conv as Target<unknown>;
  }
  if (options.layout !== undefined) throw new InputError('layout applies to images, and this spec is fully connected (its input is a [N, d] matrix)');
  const p = compile(spec);
  const t: Target<Matrix2D> = {
    label: { spec },
    computed,
    cpuOnly: () => null,
    input: matrixInput,
    count: (x) => x.rows,
    check: checkRequest,
    cpu: () => cpuExecutor(p),
    webgpu: (ctx) => webgpuExecutor(ctx, p),
    program: p,
  };
  return t;
}

interface Prepared {
  target: Target<unknown>;
  a: unknown;
  b: unknown;
  req: GramRequest;
  /** Why these inputs cannot run on WebGPU (the CPU computes them under "auto"), or null. */
  cpuOnly: string | null;
}

function prepare(arch: Arch, x1: KernelInput, x2: KernelInput | null | undefined, options: KernelOptions): Prepared {
  const backend = options.backend;
  if (backend !== undefined && backend !== 'cpu' && backend !== 'webgpu' && backend !== 'auto') {
    throw new InputError(`unknown backend "${String(backend)}" (available: cpu, webgpu, auto)`);
  }
  if (options.depths !== undefined && options.depths !== 'all' && options.depths !== 'last') {
    throw new InputError(`depths must be "all" or "last", got ${JSON.stringify(options.depths)}`);
  }
  checkThreads(options.threads);
  const target = targetOf(arch, options);
  const a = target.input(x1, 'x1');
  const b = x2 == null ? null : target.input(x2, 'x2');
  const req: GramRequest = { get: kernelKinds(options.get), diagonal: options.diagonal ?? false, allDepths: options.depths === 'all' };
  target.check(a, b, req);
  const cpuOnly = target.cpuOnly(a, req);
  if (backend === 'webgpu' && cpuOnly) throw new InputError(cpuOnly);
  return { target, a, b, req, cpuOnly };
}

/**
 * Whether an arch takes images (a convolutional spec) rather than a [N, d] matrix: the decision
 * kernel() makes, for callers (the CLI's file reader) that must know it before reading inputs.
 */
export function takesImages(arch: Arch): boolean {
  if (typeof arch === 'string' && parseInfiniteDepthRef(arch)) return false;
  return isSpatialSpec(toSpec(arch));
}

/**
 * Every check kernel() makes before any work (the inputs and their pairing, sizes, memory, the
 * backend a CPU-only arch cannot use), without computing: callers that create files first call it.
 */
export function checkKernel(arch: Arch, x1: KernelInput, x2?: KernelInput | null, options: KernelOptions = {}): void {
  prepare(arch, x1, x2, options);
}

/** The executor for a prepared call (WebGPU when the backend choice resolves to a device, else the CPU) and, on the CPU, its threads. */
async function executorFor(prep: Prepared, options: KernelOptions): Promise<{ ex: Executor<unknown>; threads: ThreadChoice | null }> {
  const ctx = await resolveBackend(prep.cpuOnly ? 'cpu' : (options.backend ?? 'cpu'));
  if (ctx) return { ex: prep.target.webgpu(ctx), threads: null };
  const p = prep.target.program;
  if (!p) {
    const note = options.threads === 1 ? undefined : 'worker threads apply to fully connected specs: computed on one thread';
    return { ex: prep.target.cpu(), threads: { threads: 1, ...(note ? { note } : {}) } };
  }
  const a = prep.a as Matrix2D;
  const b = prep.b as Matrix2D | null;
  const spawner = workerSpawner();
  const pairs = b ? a.rows * b.rows : (a.rows * (a.rows + 1)) / 2;
  const choice = planThreads(p, options.threads, pairOps(p, pairs, a.cols), prep.req.diagonal, spawner);
  const ex = choice.threads > 1 && spawner ? (threadedCpuExecutor(p, spawner, choice.threads) as Executor<unknown>) : prep.target.cpu();
  return { ex, threads: choice };
}

/** What a result or block says about its threads (CPU only). */
function threadLabel(threads: ThreadChoice | null): Pick<KernelResult, 'threads' | 'threadsNote'> {
  if (!threads) return {};
  return { threads: threads.threads, ...(threads.note ? { threadsNote: threads.note } : {}) };
}

/** The one place a result is labelled. */
function labelled(prep: Prepared, ex: Executor<unknown>, r: GramResult, threads: ThreadChoice | null): KernelResult {
  return {
    ...r,
    backend: ex.backend,
    ...(ex.adapter !== undefined ? { adapter: ex.adapter } : {}),
    computed: prep.target.computed,
    ...threadLabel(threads),
    ...prep.target.label,
  };
}

/** Synchronous float64 CPU computation (the reference). */
export function kernelCpu(arch: Arch, x1: KernelInput, x2?: KernelInput | null, options: KernelOptions = {}): KernelResult {
  if (options.backend !== undefined && options.backend !== 'cpu') {
    throw new InputError(`kernelCpu computes on the CPU; use kernel() for backend "${String(options.backend)}"`);
  }
  if (options.threads !== undefined && options.threads !== 1) {
    throw new InputError(`kernelCpu is synchronous and runs on one thread (threads: ${String(options.threads)}); use kernel() for worker threads`);
  }
  const prep = prepare(arch, x1, x2, options);
  const ex = prep.target.cpu();
  return labelled(prep, ex, ex.gram(prep.a, prep.b, prep.req, options), { threads: 1 });
}

/** The WebGPU context a backend choice resolves to (null: the CPU). "webgpu" without an adapter is an error. */
export async function resolveBackend(choice: BackendChoice = 'cpu'): Promise<GpuContext | null> {
  if (choice === 'cpu') return null;
  const ctx = await getGpu();
  if (!ctx && choice === 'webgpu') {
    throw new InputError(
      'backend "webgpu" was requested but this runtime has no WebGPU adapter ' +
        '(Node: import { useNodeWebGPU } from "webntk/node" and install the "webgpu" package and a Vulkan driver; browsers: enable WebGPU)',
    );
  }
  return ctx;
}

/** NNGP and/or NTK Gram matrices of X1 × X2 (X1 × X1 when x2 is omitted). */
export async function kernel(
  arch: Arch,
  x1: KernelInput,
  x2?: KernelInput | null,
  options: KernelOptions = {},
): Promise<KernelResult> {
  const prep = prepare(arch, x1, x2, options);
  const { ex, threads } = await executorFor(prep, options);
  return labelled(prep, ex, await ex.gram(prep.a, prep.b, prep.req, options), threads);
}

/**
 * The result block by block, as computed (host memory stays O(one block)). Blocks tile the
 * matrix; each has every requested depth.
 */
export async function* kernelBlocks(
  arch: Arch,
  x1: KernelInput,
  x2?: KernelInput | null,
  options: KernelOptions = {},
): AsyncGenerator<GramBlock & { backend: Backend } & Pick<KernelResult, 'threads' | 'threadsNote'>> {
  const prep = prepare(arch, x1, x2, options);
  const { ex, threads } = await executorFor(prep, options);
  const label = threadLabel(threads);
  for await (const b of ex.blocks(prep.a, prep.b, prep.req, options)) yield { ...b, backend: ex.backend, ...label };
}

/**
 * K(X1, X2)·P (X1 × X1 when x2 is omitted) for one kernel (`get`) of the full network, without
 * storing K: what matrix-free solvers need. P is row-major (examples of X2) × k; the product comes
 * back row-major (examples of X1) × k in float64. On WebGPU (FC specs) each block is multiplied on
 * the device and only the product is read back (`onDevice`); elsewhere the streamed blocks are
 * multiplied on the host as they arrive. Memory is one block plus O(n·k) either way.
 */
export async function kernelTimes(
  arch: Arch,
  x1: KernelInput,
  x2: KernelInput | null | undefined,
  P: Float64Array,
  k: number,
  options: Omit<KernelOptions, 'get' | 'depths' | 'diagonal'> & { get: KernelKind },
): Promise<{ product: Float64Array; backend: Backend; onDevice: boolean }> {
  const kinds = kernelKinds(options.get);
  if (kinds.length !== 1) throw new InputError('kernelTimes multiplies one kernel at a time: get must be "nngp" or "ntk"');
  const o = options as KernelOptions;
  if (o.depths === 'all' || o.diagonal) throw new InputError('kernelTimes multiplies the full network\'s kernel of X1 × X2 (no depths: "all", no diagonal)');
  const prep = prepare(arch, x1, x2, { ...options, depths: 'last', diagonal: false });
  const n2 = prep.target.count(prep.b ?? prep.a);
  if (!Number.isInteger(k) || k < 1 || P.length !== n2 * k) {
    throw new InputError(`kernelTimes: P must hold ${n2} × k values (k ≥ 1 columns), got ${P.length} values for k = ${k}`);
  }
  const { ex } = await executorFor(prep, options);
  const { product, onDevice } = await executorTimes(ex, prep.a, prep.b, prep.target.count(prep.a), prep.req, P, k, options);
  return { product, backend: ex.backend, onDevice };
}

export type { AdapterSummary, GramBlock };
