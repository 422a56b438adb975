/**
 * The library entry points: one call for every backend. `arch` is a spec object, or a preset
 * reference string such as "huang2020:depth=50,gamma=0.75".
 */
import {
  checkInfiniteRequest,
  infiniteDepthLimit,
  infiniteGram,
  limitRecord,
  limitSpecs,
  mergeLimitParts,
  type InfiniteDepthLimit,
} from './analysis/infinite.js';
import { InputError } from './errors.js';
import { gramCpu, type GramRequest, type GramResult, type KernelKind } from './cpu/gram.js';
import { describeAdapter, getGpu, type AdapterSummary, type GpuContext } from './gpu/device.js';
import { gramBlocksWebGPU, gramWebGPU, planBlocks, transposeBlock, type GpuRunOptions, type GramBlock } from './gpu/gram.js';
import { toMatrix, type Matrix2D, type MatrixInput } from './matrix.js';
import { compile } from './program/compile.js';
import type { KernelProgram } from './program/program.js';
import { parseInfiniteDepthRef, parsePresetRef } from './spec/presets.js';
import type { ResolvedSpec, Spec } from './spec/types.js';
import { resolveSpec } from './spec/validate.js';

/**
 * A spec, or a preset reference. `huang2020:depth=inf,gamma=γ` and `belfer2021:depth=inf,gamma=γ`
 * (γ ≥ ½) are the infinite-depth limits of `analysis/infinite.ts`: kernel(), kernelCpu() and
 * kernelBlocks() compute them; toSpec() and program() cannot (no finite spec represents them).
 */
export type Arch = Spec | ResolvedSpec | string;
/** Where a result was computed. */
export type Backend = 'cpu' | 'webgpu';
/** What a caller may ask for: a backend, or "auto" (WebGPU when an adapter exists, else the CPU). */
export type BackendChoice = Backend | 'auto';

export interface KernelOptions {
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
  /** Rows per streamed block (WebGPU: a multiple of 64, default from the device limits; CPU: default 512). */
  blockRows?: number;
  /** WebGPU only: upper bound on pair-operations per submit (default 2^26). */
  maxPairOpsPerSubmit?: number;
  /** Cancels a running computation (it rejects with an AbortError). */
  signal?: AbortSignal;
  /** Progress of a WebGPU computation, per block. */
  onProgress?: (p: { blocksDone: number; blocks: number }) => void;
}

export interface KernelResult extends GramResult {
  backend: Backend;
  /** The adapter that computed a WebGPU result, in words. */
  adapter?: string;
  /**
   * The resolved spec that was computed. For a depth=inf reference no spec exists: this is a
   * record (name and description, no layers) that must not be recomputed; see `limit`.
   */
  spec: ResolvedSpec;
  /** For a depth=inf reference: the limit that was computed (depths is then [Infinity]). */
  limit?: InfiniteDepthLimit;
}

/** Resolves an arch (preset reference or spec) to a complete, validated spec. */
export function toSpec(arch: Arch): ResolvedSpec {
  return resolveSpec(typeof arch === 'string' ? parsePresetRef(arch) : arch);
}

/** The kernel program of an arch. */
export function program(arch: Arch): KernelProgram {
  return compile(toSpec(arch));
}

function kinds(get: KernelOptions['get']): KernelKind[] {
  const list = get === undefined ? ['nngp', 'ntk'] : typeof get === 'string' ? [get] : [...get];
  for (const k of list) {
    if (k !== 'nngp' && k !== 'ntk') throw new InputError(`unknown kernel "${String(k)}" (use nngp or ntk)`);
  }
  return list as KernelKind[];
}

interface Prepared {
  spec: ResolvedSpec;
  /** The kernel program; null for a depth=inf reference (then `limit` is set). */
  p: KernelProgram | null;
  limit: InfiniteDepthLimit | null;
  a: Matrix2D;
  b: Matrix2D | null;
  req: GramRequest;
}

/** The infinite-depth limit a preset reference with depth=inf names (null for anything else). */
function limitOf(arch: Arch): InfiniteDepthLimit | null {
  if (typeof arch !== 'string') return null;
  const ref = parseInfiniteDepthRef(arch);
  return ref ? infiniteDepthLimit(ref) : null;
}

/** The CPU result of a prepared request, finite or depth=inf. */
function cpuGram(prep: Prepared, a: Matrix2D, b: Matrix2D | null, req: GramRequest): GramResult {
  return prep.limit ? infiniteGram(prep.limit, a, b, req) : gramCpu(prep.p!, a, b, req);
}

function withLimit(prep: Prepared): { limit?: InfiniteDepthLimit } {
  return prep.limit ? { limit: prep.limit } : {};
}

function prepare(arch: Arch, x1: MatrixInput, x2: MatrixInput | null | undefined, options: KernelOptions): Prepared {
  const backend = options.backend;
  if (backend !== undefined && backend !== 'cpu' && backend !== 'webgpu' && backend !== 'auto') {
    throw new InputError(`unknown backend "${String(backend)}" (available: cpu, webgpu, auto)`);
  }
  if (options.depths !== undefined && options.depths !== 'all' && options.depths !== 'last') {
    throw new InputError(`depths must be "all" or "last", got ${JSON.stringify(options.depths)}`);
  }
  const limit = limitOf(arch);
  if (limit) {
    const a = toMatrix(x1, 'x1');
    const b = x2 == null ? null : toMatrix(x2, 'x2');
    const req: GramRequest = { get: kinds(options.get), diagonal: options.diagonal ?? false, allDepths: options.depths === 'all' };
    checkInfiniteRequest(limit, a, b, req);
    if (limit.regime === 'ode' && backend === 'webgpu') {
      throw new InputError(
        `${limit.reference}: the γ = ½ limit is the solution of an ODE in depth-time, which only the CPU computes ` +
          '(no finite spec gives it to the WebGPU backend); use backend "cpu" (or "auto")',
      );
    }
    return { spec: limitRecord(limit), p: null, limit, a, b, req };
  }
  const spec = toSpec(arch);
  const p = compile(spec);
  const a = toMatrix(x1, 'x1');
  const b = x2 == null ? null : toMatrix(x2, 'x2');
  const req: GramRequest = { get: kinds(options.get), diagonal: options.diagonal ?? false, allDepths: options.depths === 'all' };
  return { spec, p, limit: null, a, b, req };
}

/** Synchronous float64 CPU computation (the reference). */
export function kernelCpu(arch: Arch, x1: MatrixInput, x2?: MatrixInput | null, options: KernelOptions = {}): KernelResult {
  if (options.backend !== undefined && options.backend !== 'cpu') {
    throw new InputError(`kernelCpu computes on the CPU; use kernel() for backend "${String(options.backend)}"`);
  }
  const prep = prepare(arch, x1, x2, options);
  return { ...cpuGram(prep, prep.a, prep.b, prep.req), backend: 'cpu', spec: prep.spec, ...withLimit(prep) };
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
  x1: MatrixInput,
  x2?: MatrixInput | null,
  options: KernelOptions = {},
): Promise<KernelResult> {
  const prep = prepare(arch, x1, x2, options);
  // The γ = ½ limit is CPU-only ("webgpu" was refused in prepare; "auto" means the CPU here).
  const ctx = await resolveBackend(prep.limit?.regime === 'ode' ? 'cpu' : (options.backend ?? 'cpu'));
  if (!ctx) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new DOMException('cancelled', 'AbortError');
    return { ...cpuGram(prep, prep.a, prep.b, prep.req), backend: 'cpu', spec: prep.spec, ...withLimit(prep) };
  }
  const result = prep.limit ? await limitWebGPU(ctx, prep, options) : await gramWebGPU(ctx, prep.p!, prep.a, prep.b, prep.req, gpuOptions(options));
  return { ...result, backend: 'webgpu', adapter: describeAdapter(ctx.adapter), spec: prep.spec, ...withLimit(prep) };
}

/**
 * γ > ½ on WebGPU: the limit's finite specs (one per kernel), in blocks of the same size so that
 * their streams tile alike; progress counts the blocks of both.
 */
function limitPrograms(ctx: GpuContext, prep: Prepared, options: KernelOptions): { programs: KernelProgram[]; opt: GpuRunOptions[] } {
  const specs = limitSpecs(prep.limit!);
  const programs = prep.req.get.map((kind) => compile(resolveSpec(specs[kind])));
  const n2 = prep.req.diagonal ? 1 : (prep.b ?? prep.a).rows;
  const vec4s = Math.ceil(prep.a.cols / 4);
  const base = gpuOptions(options);
  const blockRows = Math.min(...programs.map((q) => planBlocks(ctx.limits, q, prep.a.rows, n2, vec4s, false, base).blockRows));
  const k = programs.length;
  const opt = programs.map((_, i): GpuRunOptions => {
    const o: GpuRunOptions = { ...base, blockRows };
    const onProgress = options.onProgress;
    if (onProgress) o.onProgress = (p) => onProgress({ blocksDone: i * p.blocks + p.blocksDone, blocks: k * p.blocks });
    return o;
  });
  return { programs, opt };
}

async function limitWebGPU(ctx: GpuContext, prep: Prepared, options: KernelOptions): Promise<GramResult> {
  const { programs, opt } = limitPrograms(ctx, prep, options);
  const parts: GramResult[] = [];
  for (let i = 0; i < programs.length; i++) {
    parts.push(await gramWebGPU(ctx, programs[i]!, prep.a, prep.b, { ...prep.req, get: [prep.req.get[i]!] }, opt[i]));
  }
  return mergeLimitParts(prep.req.get, parts);
}

/** γ > ½ on WebGPU, streamed: the per-kernel streams zipped block by block. */
async function* limitBlocksWebGPU(ctx: GpuContext, prep: Prepared, options: KernelOptions): AsyncGenerator<GramBlock> {
  const { programs, opt } = limitPrograms(ctx, prep, options);
  const streams = programs.map((q, i) => gramBlocksWebGPU(ctx, q, prep.a, prep.b, { ...prep.req, get: [prep.req.get[i]!] }, opt[i]));
  try {
    for (;;) {
      const next: IteratorResult<GramBlock>[] = [];
      for (const s of streams) next.push(await s.next()); // one GPU stream at a time
      if (next.every((r) => r.done)) return;
      const blocks = next.map((r) => (r.done ? null : r.value));
      const first = blocks[0];
      if (!first || blocks.some((b) => !b || b.row0 !== first.row0 || b.col0 !== first.col0 || b.rows !== first.rows || b.cols !== first.cols)) {
        throw new Error('internal error: the depth=inf kernels were streamed in different blocks');
      }
      const out: GramBlock = { row0: first.row0, col0: first.col0, rows: first.rows, cols: first.cols };
      prep.req.get.forEach((kind, i) => {
        out[kind] = blocks[i]![kind]!;
      });
      yield out;
    }
  } finally {
    await Promise.all(streams.map((s) => s.return(undefined)));
  }
}

function gpuOptions(o: KernelOptions): GpuRunOptions {
  return {
    ...(o.blockRows !== undefined ? { blockRows: o.blockRows } : {}),
    ...(o.maxPairOpsPerSubmit !== undefined ? { maxPairOpsPerSubmit: o.maxPairOpsPerSubmit } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  };
}

/**
 * The result block by block, as computed (host memory stays O(one block)). On the CPU the whole
 * result is one block. Blocks tile the matrix; each has every requested depth.
 */
export async function* kernelBlocks(
  arch: Arch,
  x1: MatrixInput,
  x2?: MatrixInput | null,
  options: KernelOptions = {},
): AsyncGenerator<GramBlock & { backend: Backend }> {
  const prep = prepare(arch, x1, x2, options);
  const ctx = await resolveBackend(prep.limit?.regime === 'ode' ? 'cpu' : (options.backend ?? 'cpu'));
  if (!ctx) {
    yield* cpuBlocks(prep, options);
    return;
  }
  const blocks = prep.limit ? limitBlocksWebGPU(ctx, prep, options) : gramBlocksWebGPU(ctx, prep.p!, prep.a, prep.b, prep.req, gpuOptions(options));
  for await (const b of blocks) yield { ...b, backend: 'webgpu' };
}

/** Rows per block of the streamed CPU path (blockRows overrides it). */
const CPU_BLOCK_ROWS = 512;

/** Rows [r0, r0 + rows) of a matrix, as a view. */
function rowSlice(m: Matrix2D, r0: number, rows: number): Matrix2D {
  return { data: m.data.subarray(r0 * m.cols, (r0 + rows) * m.cols), rows, cols: m.cols };
}

/**
 * The CPU result in blocks of rows × columns, so that host memory stays one block: X × X by the
 * blocks of its upper triangle (each off-diagonal one also yielded transposed), X1 × X2 and the
 * diagonal by plain blocks.
 */
async function* cpuBlocks(prep: Prepared, options: KernelOptions): AsyncGenerator<GramBlock & { backend: Backend }> {
  const { a, b, req } = prep;
  const taps = req.allDepths && prep.p ? prep.p.depths.length : 1;
  const B = options.blockRows ?? CPU_BLOCK_ROWS;
  if (!Number.isInteger(B) || B < 1) throw new InputError(`blockRows must be a positive integer, got ${B}`);
  const symmetric = !b && !req.diagonal;
  const other = b ?? a;
  const nb1 = Math.ceil(a.rows / B);
  const nb2 = req.diagonal ? 1 : Math.ceil(other.rows / B);
  const jobs: [number, number][] = [];
  for (let i = 0; i < nb1; i++) for (let j = req.diagonal ? 0 : symmetric ? i : 0; j < nb2; j++) jobs.push([i, j]);
  let done = 0;
  for (const [bi, bj] of jobs) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new DOMException('cancelled', 'AbortError');
    const r0 = bi * B;
    const rows = Math.min(B, a.rows - r0);
    const A = rowSlice(a, r0, rows);
    let block: GramBlock;
    if (req.diagonal) {
      const r = cpuGram(prep, A, null, req);
      block = { row0: r0, col0: 0, rows, cols: 1, ...pick(r) };
    } else {
      const c0 = bj * B;
      const cols = Math.min(B, other.rows - c0);
      const r = symmetric && bi === bj ? cpuGram(prep, A, null, req) : cpuGram(prep, A, rowSlice(other, c0, cols), req);
      block = { row0: r0, col0: c0, rows, cols, ...pick(r) };
      if (symmetric && bi !== bj) {
        yield { ...block, backend: 'cpu' };
        block = transposeBlock(block, taps);
      }
    }
    yield { ...block, backend: 'cpu' };
    done++;
    options.onProgress?.({ blocksDone: done, blocks: jobs.length });
  }
}

function pick(r: GramResult): Pick<GramBlock, 'nngp' | 'ntk'> {
  return { ...(r.nngp ? { nngp: r.nngp } : {}), ...(r.ntk ? { ntk: r.ntk } : {}) };
}

export type { AdapterSummary, GramBlock };
