/// <reference types="@webgpu/types" preserve="true" />
/**
 * Gram matrices on WebGPU. The host splits X1 × X2 into blocks sized from the device limits
 * (indices inside a block stay far below 2^32; global indices are float64 on the host), and per
 * block runs the first-layer kernel (shaders/gram_chord.wgsl) and then the generated recursion in
 * depth chunks (each submit bounded in work, the state kept in a GPU buffer between chunks).
 * Results come back as (mantissa, exponent) pairs and are assembled in float64.
 *
 * Phases of a run: prepare (rows, plan, pipelines, buffers), per block upload → bind → first
 * layer → depth chunks, whose outputs are read back through a pool of two staging buffers so that
 * chunk k + 1 computes while chunk k is decoded → decode (with mirroring for X × X) → yield.
 */
import { GpuError, InputError } from '../errors.js';
import type { Matrix2D } from '../matrix.js';
import type { KernelProgram, Normalizers } from '../program/program.js';
// Still CPU-side: the normalisers are the float64 interpreter run on the unit pair.
import { checkRequest, MAX_RESULT_ELEMENTS, transposeBlock, type GramBlock, type GramRequest, type GramResult } from '../result.js';
import { activationChecks, BANK_WORDS, checkGpuActivations, FLAG_FINAL, FLAG_INIT, FLAG_STORE, FLAG_TAPS, recursionShader } from './codegen.js';
import type { GpuContext } from './device.js';
import { chordDispatch, chordParams, firstLayerShader, TILE } from './first-layer.js';
import { angleShader, type AngleTableData } from './angle-shader.js';
import { packStruct, RECURSION_PARAMS, structBytes } from './layout.js';
import { pipelineFor, pipelineStats } from './pipelines.js';
import { addPhase, since, type PhaseTimes } from '../phases.js';
import { ldexp64, prepareRows, type PreparedRows } from './rows.js';
import { checkUserWgsl } from './user-wgsl.js';
import { GpuBuffers } from './buffers.js';

export interface GpuRunOptions {
  /** Rows per block (a multiple of 64); default: as large as the device limits allow. */
  blockRows?: number;
  /** Upper bound on pair-operations per submit, so that no submit runs long (default 2^26). */
  maxPairOpsPerSubmit?: number;
  signal?: AbortSignal;
  /** Called after each block with the fraction of the work done. */
  onProgress?: (p: { blocksDone: number; blocks: number }) => void;
  /**
   * The float64 per-depth normalisers of `normalize: "diagonal"` (null: the program does not
   * normalise). The caller computes them (exec/webgpu.ts, on the CPU), so that this module does
   * not reach into the CPU engine.
   */
  normalizers: Normalizers | null;
  /**
   * Profiling: seconds per phase are added here — rows (host preparation), compile (pipelines;
   * pipelinesCompiled / pipelinesCached count them), upload, firstLayer, recursion (the depth
   * chunks, copies to the staging buffers included), readback (waiting for a mapping after the
   * device finished), decode. The GPU phases are told apart by waiting for the device after each
   * submit, so a profiled run overlaps less than a plain one.
   */
  phases?: PhaseTimes;
  /** Streaming: reuse the yielded blocks' arrays for the next block (ExecOptions.reuseBlocks). */
  reuseBlocks?: boolean;
  /**
   * The program's angle table (exec/angle-table.ts; the caller builds it on the host, as the
   * normalisers): each pair's taps are read from it (shaders/gram_angle.wgsl) instead of computed
   * by the layer recursion, in one depth chunk unless every depth is read back.
   */
  angleTable?: AngleTableData;
}

// ---- the plan -----------------------------------------------------------------------------------

export interface BlockPlan {
  /** Rows (and columns) per block, a multiple of 64. */
  blockRows: number;
  /** Depth iterations per submit. */
  itersPerChunk: number;
  /** Largest number of 32-bit words any block buffer holds (must stay below 2^32 and the limits). */
  maxBufferWords: number;
}

/**
 * Block size and depth chunking from the device limits: every per-block buffer (state, gaps,
 * outputs, rows) fits one binding, so all GPU indices stay inside a block (far below 2^32); global
 * indices exist only on the host, in float64.
 */
export function planBlocks(
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  p: KernelProgram,
  n1: number,
  n2: number,
  vec4s: number,
  taps: boolean,
  opt: Pick<GpuRunOptions, 'blockRows' | 'maxPairOpsPerSubmit'> = {},
): BlockPlan {
  const cap = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, 2 ** 32 - 4);
  const stateBytes = p.banks * BANK_WORDS * 4;
  // Per pair: the state, the first-layer gap, and at least two taps of output (16 bytes each).
  const perPair = Math.max(stateBytes, 4, taps ? 32 : 16);
  let b = Math.floor(Math.sqrt(cap / perPair) / TILE) * TILE;
  b = Math.min(b, Math.floor(cap / (vec4s * 16) / TILE) * TILE);
  if (opt.blockRows !== undefined) {
    if (!Number.isInteger(opt.blockRows) || opt.blockRows < TILE || opt.blockRows % TILE !== 0) {
      throw new InputError(`blockRows must be a positive multiple of ${TILE}, got ${opt.blockRows}`);
    }
    b = Math.min(b, opt.blockRows);
  }
  if (b < TILE) {
    if (TILE * vec4s * 16 > cap) {
      throw new InputError(
        `inputs with ${vec4s * 4} features need ${TILE * vec4s * 16} bytes per ${TILE}-row block, more than this device's ` +
          `${cap}-byte buffers: reduce the dimension or use the CPU backend`,
      );
    }
    throw new GpuError(`the device limits (${cap} bytes per buffer) are too small for one ${TILE}-row block`);
  }
  b = Math.min(b, Math.ceil(Math.max(n1, n2) / TILE) * TILE);
  const pairs = b * b;
  const opsPerIter = Math.max(1, p.sweep?.body.length ?? 1);
  const budget = opt.maxPairOpsPerSubmit ?? 2 ** 26;
  let iters = Math.max(1, Math.floor(budget / (pairs * opsPerIter)));
  if (taps) iters = Math.max(1, Math.min(iters, Math.floor(cap / (16 * pairs)) - 1));
  const words = Math.max(pairs * p.banks * BANK_WORDS, (taps ? iters + 1 : 1) * pairs * 4, b * vec4s * 4);
  return { blockRows: b, itersPerChunk: iters, maxBufferWords: words };
}

// ---- resources ----------------------------------------------------------------------------------

const LABEL = 'webntk gram';

export function checkDevice(ctx: GpuContext): void {
  if (ctx.lost) {
    throw new GpuError(`the WebGPU device was lost (${ctx.lost.reason}: ${ctx.lost.message || 'no message'}); no result was returned`);
  }
  const err = ctx.takeError();
  if (err) throw new GpuError(`WebGPU error: ${err}; no result was returned`);
}

/** Runs GPU work inside validation and out-of-memory error scopes, and throws what they caught. */
export async function inErrorScopes(device: GPUDevice, work: () => Promise<void>): Promise<void> {
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  try {
    await work();
  } finally {
    const oom = await device.popErrorScope();
    const val = await device.popErrorScope();
    throwScopeErrors(oom, val);
  }
}

/** What the out-of-memory and validation scopes caught, as the GpuError a run reports. */
function throwScopeErrors(oom: GPUError | null, val: GPUError | null): void {
  if (oom) throw new GpuError(`WebGPU out of memory: ${oom.message}`);
  if (val) throw new GpuError(`WebGPU validation error: ${val.message}`);
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    throw reason instanceof Error ? reason : new DOMException('the computation was cancelled', 'AbortError');
  }
}

export async function compiled(device: GPUDevice, code: string, label: string): Promise<GPUComputePipeline> {
  try {
    return await pipelineFor(device, code, label);
  } catch (e) {
    throw new GpuError(`compiling the ${label} shader failed: ${(e as Error).message}`);
  }
}

export function dispatch2d(pass: GPUComputePassEncoder, groups: number, maxPerDim: number): void {
  const x = Math.min(groups, maxPerDim);
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
}

/** Where decoded values go: the caller's whole result (row-major planes per depth). */
interface DirectSink {
  nngp?: Float64Array;
  ntk?: Float64Array;
  /** Elements per row and per depth plane of the result. */
  rowStride: number;
  tapStride: number;
}

/** Everything a run keeps across its blocks. */
interface Run {
  ctx: GpuContext;
  p: KernelProgram;
  req: GramRequest;
  A: PreparedRows;
  B: PreparedRows;
  symmetric: boolean;
  /** The blocks, in the order they run (jobsOf). */
  jobs: BlockJob[];
  wantTaps: boolean;
  taps: number;
  count: number;
  plan: BlockPlan;
  norms: Normalizers | null;
  gramPipe: GPUComputePipeline;
  recPipe: GPUComputePipeline;
  /** Profiling record (GpuRunOptions.phases), or undefined. */
  phases: PhaseTimes | undefined;
  buf: {
    aHi: GPUBuffer;
    aLo: GPUBuffer;
    bHi: GPUBuffer;
    bLo: GPUBuffer;
    gap: GPUBuffer;
    scales: GPUBuffer;
    state: GPUBuffer;
    out: GPUBuffer;
    coefs: GPUBuffer;
    gramParams: GPUBuffer;
    recParams: GPUBuffer;
    /** Readback pool: chunk k is mapped from staging[k % length] while chunk k + 1 computes. */
    staging: GPUBuffer[];
  };
  res: GpuBuffers;
  /**
   * Encoded after a block's last depth chunk in place of its readback (gram-times.ts: the block
   * multiplied into right-hand sides on the device); the block's outputs are never read back.
   */
  tail?: BlockTail;
}

/** What runs after a block's recursion, in the same command buffer, reading its outputs from `out`. */
export type BlockTail = (enc: GPUCommandEncoder, block: Readonly<BlockJob>, out: GPUBuffer) => void;

/** One block's place in the whole result. */
export interface BlockJob {
  bi: number;
  bj: number;
  r0: number;
  c0: number;
  rows: number;
  cols: number;
  /** A diagonal block of X × X: only its upper triangle is computed, the rest mirrored. */
  diagBlock: boolean;
  pairs: number;
}

// ---- phase 0: prepare ---------------------------------------------------------------------------

async function prepare(ctx: GpuContext, p: KernelProgram, x1: Matrix2D, x2: Matrix2D | null, req: GramRequest, opt: GpuRunOptions, tail?: BlockTail): Promise<Run> {
  const device = ctx.device;
  const inputScale = p.inputScale === 'dim' ? 1 / x1.cols : 1;
  let t0 = performance.now();
  const A = prepareRows(x1, inputScale);
  const B = x2 ? prepareRows(x2, inputScale) : A;
  addPhase(opt.phases, 'rows', since(t0));
  const table = opt.angleTable ?? null;
  if (!table) checkNormRange(A, B, req);
  const T = p.depths.length;
  const wantTaps = req.allDepths && T > 1;
  const count = p.sweep?.count ?? 0;
  const planned = planBlocks(ctx.limits, p, A.rows, B.rows, A.vec4s, wantTaps, opt);
  // From a table the last depth costs what the first does: one chunk (taps still chunk by the output buffer).
  const plan = table && !wantTaps ? { ...planned, itersPerChunk: Math.max(1, count) } : planned;
  const shader = table ? angleShader(table) : recursionShader(p);
  t0 = performance.now();
  const before = pipelineStats(device).compiled;
  await checkUserWgsl(device, activationChecks(p));
  const pipes = await Promise.all([
    compiled(device, firstLayerShader(ctx), `${LABEL}: first layer`),
    compiled(device, shader.code, `${LABEL}: recursion`),
  ]);
  const [gramPipe, recPipe] = pipes;
  addPhase(opt.phases, 'compile', since(t0));
  const fresh = pipelineStats(device).compiled - before;
  addPhase(opt.phases, 'pipelinesCompiled', fresh);
  addPhase(opt.phases, 'pipelinesCached', pipes.length - fresh);
  const { blockRows, itersPerChunk } = plan;
  const res = new GpuBuffers(device, LABEL);
  const U = GPUBufferUsage;
  const rowBytes = blockRows * A.vec4s * 16;
  const pairsMax = req.diagonal ? blockRows : blockRows * blockRows;
  // A table reads each chunk's taps from the first-layer gaps: no state between chunks.
  const needState = !table && count > itersPerChunk;
  const tapsPerChunk = wantTaps ? Math.min(itersPerChunk, count) + 1 : 1;
  const outBytes = tapsPerChunk * pairsMax * 16;
  const symmetric = !x2 && !req.diagonal;
  const jobs = jobsOf(A, B, req, symmetric, blockRows);
  // Two staging buffers when a block has more than one chunk to read back, or when blocks are
  // pipelined (the next block's output lands in the other one while this one is decoded).
  const readbacks = (wantTaps && count > itersPerChunk) || (!tail && pipelines(wantTaps, jobs.length)) ? 2 : 1;
  // With a tail nothing is read back (one token staging buffer keeps submitChunk's signature).
  const stagingBytes = tail ? 16 : outBytes;
  const buf: Run['buf'] = {
    aHi: res.buffer('rows A (hi)', rowBytes, U.STORAGE | U.COPY_DST),
    aLo: res.buffer('rows A (lo)', rowBytes, U.STORAGE | U.COPY_DST),
    bHi: res.buffer('rows B (hi)', rowBytes, U.STORAGE | U.COPY_DST),
    bLo: res.buffer('rows B (lo)', rowBytes, U.STORAGE | U.COPY_DST),
    gap: res.buffer('first-layer gaps', pairsMax * 4, U.STORAGE),
    scales: res.buffer('row scales', blockRows * 2 * 8, U.STORAGE | U.COPY_DST),
    state: res.buffer('pair state', needState ? pairsMax * p.banks * BANK_WORDS * 4 : 16, U.STORAGE),
    out: res.buffer('outputs', outBytes, U.STORAGE | U.COPY_SRC),
    coefs: res.buffer('coefficients', shader.coefs.byteLength, U.STORAGE | U.COPY_DST),
    gramParams: res.buffer('first-layer params', 32, U.UNIFORM | U.COPY_DST),
    recParams: res.buffer('recursion params', structBytes(RECURSION_PARAMS), U.UNIFORM | U.COPY_DST),
    staging: Array.from({ length: readbacks }, (_, k) => res.buffer(`readback ${k}`, stagingBytes, U.MAP_READ | U.COPY_DST)),
  };
  device.queue.writeBuffer(buf.coefs, 0, shader.coefs);
  return {
    ctx,
    p,
    req,
    A,
    B,
    symmetric,
    jobs,
    wantTaps,
    taps: req.allDepths ? T : 1,
    count,
    plan,
    norms: opt.normalizers,
    gramPipe,
    recPipe,
    buf,
    res,
    phases: opt.phases,
    ...(tail ? { tail } : {}),
  };
}

/**
 * Widest span of the rows' squared norms (as powers of two) that the layer recursion takes. It
 * holds both sides of a pair on the larger one's exponent in float32, where the smaller becomes
 * subnormal beyond 2^126 and zero beyond 2^149: measured, a norm ratio of 1e18 (squared, 2^120)
 * stays at 1e−7 of the CPU, 1e20 reaches 4e−5 and 1e22 0.15. The angle table scales each pair by
 * its own power of two and has no such limit.
 */
export const MAX_NORM_SPAN_LOG2 = 120;

/** The smallest and largest exponent of the rows' squared norms (zero rows aside). */
function exponentRange(R: PreparedRows): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < R.rows; i++) {
    if (R.scale[2 * i] === 0) continue; // a zero row (mantissa bits 0)
    const e = R.scale[2 * i + 1]!;
    lo = Math.min(lo, e);
    hi = Math.max(hi, e);
  }
  return [lo, hi];
}

/**
 * Refuses a request with a pair whose squared norms differ by more than 2^MAX_NORM_SPAN_LOG2: a row
 * of A against a row of B (A = B for X × X); the diagonal pairs each row with itself.
 */
function checkNormRange(A: PreparedRows, B: PreparedRows, req: GramRequest): void {
  if (req.diagonal) return;
  const [loA, hiA] = exponentRange(A);
  const [loB, hiB] = A === B ? [loA, hiA] : exponentRange(B);
  const span = Math.max(hiA - loB, hiB - loA);
  if (span > MAX_NORM_SPAN_LOG2) {
    throw new InputError(
      `the inputs' squared norms span 2^${span}, more than the 2^${MAX_NORM_SPAN_LOG2} that the WebGPU layer recursion holds in float32 ` +
        '(rescale the inputs; or use the CPU backend, or a bias-free ReLU network with angleTable / --angle-table on)',
    );
  }
}

/** The blocks of the upper triangle for X × X, all blocks for X1 × X2, diagonal blocks for the diagonal. */
function jobsOf(A: PreparedRows, B: PreparedRows, req: GramRequest, symmetric: boolean, b: number): BlockJob[] {
  const blocksA = Math.ceil(A.rows / b);
  const blocksB = req.diagonal ? 1 : Math.ceil(B.rows / b);
  const jobs: BlockJob[] = [];
  for (let bi = 0; bi < blocksA; bi++) {
    // The diagonal: block bi alone; X × X: the upper triangle; X1 × X2: every block.
    const [from, to] = req.diagonal ? [bi, bi + 1] : [symmetric ? bi : 0, blocksB];
    for (let bj = from; bj < to; bj++) {
      const r0 = bi * b;
      const c0 = req.diagonal ? r0 : bj * b;
      const rows = Math.min(b, A.rows - r0);
      const cols = req.diagonal ? 1 : Math.min(b, B.rows - c0);
      jobs.push({ bi, bj, r0, c0, rows, cols, diagBlock: symmetric && bi === bj, pairs: rows * cols });
    }
  }
  return jobs;
}

/**
 * Whether the blocks of a run are pipelined (gramBlocksWebGPU): block k + 1 is queued on the device
 * before block k is read back, decoded and handed to the caller, so that the host's share (decode,
 * mirroring, the caller's writing) overlaps the device's. Runs with one block have nothing to
 * overlap; runs that read every depth back read each block in several chunks and stay serial.
 */
function pipelines(wantTaps: boolean, blocks: number): boolean {
  return !wantTaps && blocks > 1;
}

// ---- phase 1: upload ----------------------------------------------------------------------------

function upload(run: Run, job: BlockJob): void {
  const { A, B, req, buf } = run;
  const q = run.ctx.device.queue;
  const { r0, c0, rows, cols } = job;
  const w = A.vec4s * 4;
  q.writeBuffer(buf.aHi, 0, A.hi, r0 * w, rows * w);
  q.writeBuffer(buf.aLo, 0, A.lo, r0 * w, rows * w);
  if (!job.diagBlock && !req.diagonal) {
    q.writeBuffer(buf.bHi, 0, B.hi, c0 * w, cols * w);
    q.writeBuffer(buf.bLo, 0, B.lo, c0 * w, cols * w);
  }
  const colRows = req.diagonal ? rows : cols;
  const sc = new Int32Array((rows + colRows) * 2);
  sc.set(A.scale.subarray(r0 * 2, (r0 + rows) * 2), 0);
  sc.set((req.diagonal ? A : B).scale.subarray(c0 * 2, (c0 + colRows) * 2), rows * 2);
  q.writeBuffer(buf.scales, 0, sc);
}

// ---- phase 2: bind ------------------------------------------------------------------------------

function bind(run: Run, job: BlockJob): { gram: GPUBindGroup | null; rec: GPUBindGroup } {
  const { buf, req } = run;
  const device = run.ctx.device;
  let gram: GPUBindGroup | null = null;
  if (!req.diagonal) {
    const [bHi, bLo] = job.diagBlock ? [buf.aHi, buf.aLo] : [buf.bHi, buf.bLo];
    gram = device.createBindGroup({
      label: `${LABEL}: first-layer bindings`,
      layout: run.gramPipe.getBindGroupLayout(0),
      entries: [buf.gramParams, buf.aHi, buf.aLo, bHi, bLo, buf.gap].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }
  const rec = device.createBindGroup({
    label: `${LABEL}: recursion bindings`,
    layout: run.recPipe.getBindGroupLayout(0),
    entries: [buf.recParams, buf.gap, buf.scales, buf.state, buf.out, buf.coefs].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return { gram, rec };
}

// ---- phase 3: dispatch --------------------------------------------------------------------------

function firstLayer(run: Run, job: BlockJob, bg: GPUBindGroup): void {
  const device = run.ctx.device;
  device.queue.writeBuffer(run.buf.gramParams, 0, chordParams(job.rows, job.cols, run.A.vec4s, job.diagBlock));
  const enc = device.createCommandEncoder({ label: `${LABEL}: first layer` });
  const pass = enc.beginComputePass({ label: `${LABEL}: first layer` });
  pass.setPipeline(run.gramPipe);
  pass.setBindGroup(0, bg);
  chordDispatch(pass, job.rows, job.cols);
  pass.end();
  device.queue.submit([enc.finish()]);
}

/** One depth chunk [it0, it1) as submitted: which taps its output holds. */
interface Chunk {
  /** Taps in the output (0: nothing to read back). */
  nTaps: number;
  /** Tap index of the output's first plane. */
  tapBase: number;
  staging: GPUBuffer;
  /** Resolves (to null, or to the mapping error) when the staging buffer is mapped. */
  mapped: Promise<Error | null>;
}

function submitChunk(run: Run, job: BlockJob, bg: GPUBindGroup, it0: number, first: boolean, staging: GPUBuffer): Chunk | null {
  const device = run.ctx.device;
  const { count, wantTaps, req } = run;
  const it1 = Math.min(count, it0 + run.plan.itersPerChunk);
  const last = it1 >= count;
  let flags = 0;
  if (first) flags |= FLAG_INIT;
  if (wantTaps) flags |= FLAG_TAPS;
  else if (last) flags |= FLAG_FINAL;
  if (!last) flags |= FLAG_STORE;
  const tapBase = first ? 0 : it0 + 1;
  const params = packStruct(RECURSION_PARAMS, {
    pairCount: job.pairs,
    cols: job.cols,
    rowsA: job.rows,
    iterStart: it0,
    iterEnd: it1,
    flags,
    diagonal: req.diagonal ? 2 : job.diagBlock ? 1 : 0,
    tapBase,
    one: 1,
  });
  device.queue.writeBuffer(run.buf.recParams, 0, params);
  const enc = device.createCommandEncoder({ label: `${LABEL}: depth chunk` });
  const pass = enc.beginComputePass({ label: `${LABEL}: depth chunk` });
  pass.setPipeline(run.recPipe);
  pass.setBindGroup(0, bg);
  dispatch2d(pass, Math.ceil(job.pairs / 256), device.limits.maxComputeWorkgroupsPerDimension);
  pass.end();
  if (run.tail && last) {
    run.tail(enc, job, run.buf.out);
    device.queue.submit([enc.finish()]);
    return null;
  }
  const nTaps = wantTaps ? it1 - it0 + (first ? 1 : 0) : last ? 1 : 0;
  const bytes = nTaps * job.pairs * 16;
  if (nTaps > 0) enc.copyBufferToBuffer(run.buf.out, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  if (nTaps === 0) return null;
  const mapped = staging.mapAsync(GPUMapMode.READ, 0, bytes).then(
    () => null,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  return { nTaps, tapBase, staging, mapped };
}

// ---- phase 4: readback and decode ---------------------------------------------------------------

/** Where a block's values go: its own arrays, or the caller's result at the block's place. */
interface Placement {
  outK: Float64Array | undefined;
  outT: Float64Array | undefined;
  rowStride: number;
  tapStride: number;
  base: number;
  /** X × X written into the caller's result: whole off-diagonal blocks are mirrored too. */
  mirrorAll: boolean;
  mirrorBase: number;
}

function place(run: Run, job: BlockJob, blockK: Float64Array | undefined, blockT: Float64Array | undefined, direct?: DirectSink): Placement {
  const mirrorAll = Boolean(direct && run.symmetric);
  if (!direct) return { outK: blockK, outT: blockT, rowStride: job.cols, tapStride: job.pairs, base: 0, mirrorAll, mirrorBase: 0 };
  return {
    outK: direct.nngp,
    outT: direct.ntk,
    rowStride: direct.rowStride,
    tapStride: direct.tapStride,
    base: job.r0 * direct.rowStride + (run.req.diagonal ? 0 : job.c0),
    mirrorAll,
    mirrorBase: mirrorAll ? job.c0 * direct.rowStride + job.r0 : 0,
  };
}

async function readBack(run: Run, job: BlockJob, chunk: Chunk, at: Placement): Promise<void> {
  let t0 = performance.now();
  const err = await chunk.mapped;
  addPhase(run.phases, 'readback', since(t0));
  if (err) {
    checkDevice(run.ctx);
    throw new GpuError(`reading the result back failed: ${err.message}`);
  }
  t0 = performance.now();
  let raw: ArrayBuffer;
  try {
    raw = chunk.staging.getMappedRange(0, chunk.nTaps * job.pairs * 16);
  } catch (e) {
    // Mapped, then the device went away (destroyed or lost) before the range was taken.
    checkDevice(run.ctx);
    throw new GpuError(`reading the result back failed: the device was lost or destroyed (${(e as Error).name})`);
  }
  try {
    decode(run, job, chunk, raw, at);
  } finally {
    chunk.staging.unmap();
  }
  addPhase(run.phases, 'decode', since(t0));
}

/** Profiling only: waits until the device has done everything submitted, as phase `name`. */
async function settle(run: Run, name: string, t0: number): Promise<void> {
  if (!run.phases) return;
  await run.ctx.device.queue.onSubmittedWorkDone();
  addPhase(run.phases, name, since(t0));
}

/**
 * Exponents from this up mark a pair whose smooth activation met a variance beyond the range of the
 * WebGPU quadrature (SMOOTH_FLAG_MIN and SMOOTH_VMAX of shaders/kernel_ops.wgsl).
 */
export const SMOOTH_FLAG_MIN = 2 ** 27;
export const SMOOTH_VMAX = 64;

export function smoothRangeError(depth: number): InputError {
  return new InputError(
    `at depth ${depth}, a smooth activation (gelu, tanh, sigmoid, softplus, numerical) met an input variance above ${SMOOTH_VMAX}, ` +
      'beyond the range of the WebGPU quadrature: rescale the inputs or lower the weight and bias variances, or use backend "cpu"',
  );
}

/** (mantissa, exponent) pairs → float64, divided by the normalisers, placed and mirrored. */
function decode(run: Run, job: BlockJob, chunk: Chunk, raw: ArrayBuffer, at: Placement): void {
  const { p, norms, wantTaps } = run;
  const T = p.depths.length;
  const { rows, cols, pairs, diagBlock } = job;
  const f = new Float32Array(raw);
  const ints = new Int32Array(raw);
  const { outK, outT, rowStride, base } = at;
  for (let k = 0; k < chunk.nTaps; k++) {
    const tap = wantTaps ? chunk.tapBase + k : T - 1;
    const slot = wantTaps ? tap : 0;
    // Normalisers come as mantissa·2^exp; a zero one means the kernel is identically zero there.
    const kn = norms ? norms.nngp[tap]! : 1;
    const tn = norms ? norms.ntk[tap]! : 1;
    const ne = norms ? norms.exp[tap]! : 0;
    const ik = kn === 0 ? 0 : 1 / kn;
    const it = tn === 0 ? 0 : 1 / tn;
    const o = k * pairs * 4;
    const plane = slot * at.tapStride;
    // Only the kernels asked for are decoded (an overflowing NNGP overflows the NTK too: Θ ≥ K).
    const overflow = (): InputError =>
      new InputError(`the kernel overflows float64 at depth ${p.depths[tap]}; ` + 'reduce the depth, the variances or α, or rescale the inputs');
    const mirrorBlock = at.mirrorAll && !diagBlock;
    for (let i = 0; i < rows; i++) {
      const row = plane + base + i * rowStride;
      for (let jj = diagBlock ? i : 0; jj < cols; jj++) {
        const q = o + 4 * (i * cols + jj);
        const ek = ints[q + 1]!;
        if (ek >= SMOOTH_FLAG_MIN) throw smoothRangeError(p.depths[tap]!);
        if (outK) {
          const kv = ldexp64(f[q]! * ik, ek - ne);
          if (!Number.isFinite(kv)) throw overflow();
          outK[row + jj] = kv;
          if (mirrorBlock) outK[plane + at.mirrorBase + jj * rowStride + i] = kv;
        }
        if (outT) {
          const tv = ldexp64(f[q + 2]! * it, ints[q + 3]! - ne);
          if (!Number.isFinite(tv)) throw overflow();
          outT[row + jj] = tv;
          if (mirrorBlock) outT[plane + at.mirrorBase + jj * rowStride + i] = tv;
        }
      }
    }
    // X × X: inside a diagonal block the lower triangle is the mirror image of the upper, copied
    // in 32 × 32 tiles so that neither side strides across the whole block.
    if (diagBlock) {
      if (outK) mirrorUpper(outK, plane + base, rowStride, rows);
      if (outT) mirrorUpper(outT, plane + base, rowStride, rows);
    }
  }
}

/** a[o + j·stride + i] = a[o + i·stride + j] for j > i, over an n × n square at offset o, by tiles. */
function mirrorUpper(a: Float64Array, o: number, stride: number, n: number): void {
  for (let i0 = 0; i0 < n; i0 += 32) {
    const i1 = Math.min(n, i0 + 32);
    for (let j0 = i0; j0 < n; j0 += 32) {
      const j1 = Math.min(n, j0 + 32);
      for (let i = i0; i < i1; i++) {
        const r = o + i * stride;
        for (let j = Math.max(j0, i + 1); j < j1; j++) a[o + j * stride + i] = a[r + j]!;
      }
    }
  }
}

/** The depth chunks of a block: each chunk's first iteration, and whether it is the first chunk (which also runs the prefix). */
function* chunkStarts(run: Run): Generator<[number, boolean]> {
  for (let it0 = 0, first = true; first || it0 < run.count; it0 += run.plan.itersPerChunk, first = false) yield [it0, first];
}

/** The depth chunks of one block, each chunk's readback overlapping the next chunk's compute. */
async function runChunks(run: Run, job: BlockJob, bg: GPUBindGroup, at: Placement, signal?: AbortSignal): Promise<void> {
  const pool = run.buf.staging;
  let pending: Chunk | null = null;
  let k = 0;
  try {
    for (const [it0, first] of chunkStarts(run)) {
      checkAbort(signal);
      const t0 = performance.now();
      const chunk = submitChunk(run, job, bg, it0, first, pool[k % pool.length]!);
      await settle(run, 'recursion', t0);
      if (chunk) k++;
      if (pending) {
        const prev: Chunk = pending;
        pending = null;
        await readBack(run, job, prev, at);
      }
      pending = chunk;
    }
    if (pending) {
      const prev: Chunk = pending;
      pending = null;
      await readBack(run, job, prev, at);
    }
  } finally {
    // On an error with a mapping in flight, let it settle before the buffers are destroyed.
    if (pending) await (pending as Chunk).mapped;
  }
}

/**
 * One block on the device: upload, first layer and depth chunks inside error scopes, its outputs
 * read back into `at` — or, for a run with a tail, left to the tail, waiting for the block so that
 * one block at a time is in flight.
 */
async function computeBlock(run: Run, job: BlockJob, at: Placement, signal?: AbortSignal): Promise<void> {
  checkAbort(signal);
  checkDevice(run.ctx);
  let t0 = performance.now();
  upload(run, job);
  await settle(run, 'upload', t0);
  await inErrorScopes(run.ctx.device, async () => {
    const bg = bind(run, job);
    t0 = performance.now();
    if (bg.gram) firstLayer(run, job, bg.gram);
    await settle(run, 'firstLayer', t0);
    await runChunks(run, job, bg.rec, at, signal);
    if (run.tail) await run.ctx.device.queue.onSubmittedWorkDone();
  });
  checkDevice(run.ctx);
}

/** A pipelined block: queued on the device, its output chunk and error scopes not yet awaited. */
interface Launched {
  job: BlockJob;
  chunk: Chunk;
  /** The block's out-of-memory and validation scopes, popped once its work was queued. */
  scopes: Promise<GPUError | null>[];
}

/**
 * Queues one block (upload, first layer, depth chunks, the copy of its output into `staging`)
 * without waiting for it: the pipelined counterpart of computeBlock for runs that read one chunk
 * per block. With --profile (phases) settle() waits after each step, so the steps stay timed apart.
 */
async function launchBlock(run: Run, job: BlockJob, staging: GPUBuffer, signal?: AbortSignal): Promise<Launched> {
  checkAbort(signal);
  checkDevice(run.ctx);
  const device = run.ctx.device;
  let t0 = performance.now();
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  let chunk: Chunk | null = null;
  let failure: unknown = null;
  try {
    upload(run, job);
    await settle(run, 'upload', t0);
    const bg = bind(run, job);
    t0 = performance.now();
    if (bg.gram) firstLayer(run, job, bg.gram);
    await settle(run, 'firstLayer', t0);
    for (const [it0, first] of chunkStarts(run)) {
      t0 = performance.now();
      chunk = submitChunk(run, job, bg.rec, it0, first, staging) ?? chunk;
      await settle(run, 'recursion', t0);
    }
  } catch (e) {
    failure = e;
  }
  const scopes = [device.popErrorScope(), device.popErrorScope()];
  if (failure !== null || !chunk) {
    await Promise.allSettled(scopes);
    if (chunk) await chunk.mapped;
    throw failure ?? new Error('internal error: a pipelined block without an output chunk');
  }
  return { job, chunk, scopes };
}

/**
 * Waits for a launched block, decodes it into `at` and checks its error scopes: what they caught is
 * the error reported (it explains a failed readback); scopes that fail themselves mean a lost device.
 */
async function finishBlock(run: Run, l: Launched, at: Placement): Promise<void> {
  let err: unknown = null;
  try {
    await readBack(run, l.job, l.chunk, at);
  } catch (e) {
    err = e;
  }
  const [oom, val] = await Promise.allSettled(l.scopes);
  if (oom?.status === 'rejected' || val?.status === 'rejected') {
    checkDevice(run.ctx);
    throw err ?? new GpuError('the WebGPU device failed while computing a block; no result was returned');
  }
  throwScopeErrors(oom?.value ?? null, val?.value ?? null);
  if (err) throw err;
  checkDevice(run.ctx);
}

// ---- the run ------------------------------------------------------------------------------------

/**
 * The blocks of X1 × X2 (X1 × X1 when x2 is null; then every block of the upper triangle is also
 * yielded transposed, so the blocks tile the whole matrix). Host memory: one block at a time.
 * With `direct`, values are written straight into the caller's result (mirrored for X × X) and
 * the yielded blocks carry coordinates only.
 */
export async function* gramBlocksWebGPU(
  ctx: GpuContext,
  p: KernelProgram,
  x1: Matrix2D,
  x2: Matrix2D | null,
  req: GramRequest,
  opt: GpuRunOptions,
  direct?: DirectSink,
): AsyncGenerator<GramBlock> {
  checkRequest(x1, x2, req);
  checkGpuActivations(p);
  checkDevice(ctx);
  const run = await prepare(ctx, p, x1, x2, req, opt);
  // reuseBlocks: one set of arrays, sized for the largest block, behind every yielded block.
  const pool: Partial<Record<'nngp' | 'ntk' | 'trNngp' | 'trNtk', Float64Array>> = {};
  const blockArray = (key: keyof typeof pool, length: number): Float64Array => {
    if (!opt.reuseBlocks) return new Float64Array(length);
    const have = pool[key];
    if (have && have.length >= length) return have.subarray(0, length);
    const a = new Float64Array(run.taps * run.plan.blockRows * (req.diagonal ? 1 : run.plan.blockRows));
    pool[key] = a;
    return a.subarray(0, length);
  };
  const jobs = run.jobs;
  const pipelined = pipelines(run.wantTaps, jobs.length);
  // Pipelined: the blocks queued and not yet finished, oldest first (this one and at most the next).
  const inFlight: Launched[] = [];
  try {
    let done = 0;
    for (const [k, job] of jobs.entries()) {
      const blockK = req.get.includes('nngp') && !direct ? blockArray('nngp', run.taps * job.pairs) : undefined;
      const blockT = req.get.includes('ntk') && !direct ? blockArray('ntk', run.taps * job.pairs) : undefined;
      const at = place(run, job, blockK, blockT, direct);
      if (pipelined) {
        const staging = run.buf.staging;
        if (inFlight.length === 0) inFlight.push(await launchBlock(run, job, staging[k % 2]!, opt.signal));
        if (k + 1 < jobs.length) inFlight.push(await launchBlock(run, jobs[k + 1]!, staging[(k + 1) % 2]!, opt.signal));
        // finishBlock settles its block's mapping and scopes whatever happens.
        await finishBlock(run, inFlight.shift()!, at);
      } else {
        await computeBlock(run, job, at, opt.signal);
      }

      const block: GramBlock = { row0: job.r0, col0: req.diagonal ? 0 : job.c0, rows: job.rows, cols: job.cols, ...(blockK ? { nngp: blockK } : {}), ...(blockT ? { ntk: blockT } : {}) };
      yield block;
      if (run.symmetric && job.bi !== job.bj && !direct) {
        const into = opt.reuseBlocks
          ? { ...(blockK ? { nngp: blockArray('trNngp', blockK.length) } : {}), ...(blockT ? { ntk: blockArray('trNtk', blockT.length) } : {}) }
          : undefined;
        yield transposeBlock(block, run.taps, into);
      }
      done++;
      opt.onProgress?.({ blocksDone: done, blocks: jobs.length });
    }
  } finally {
    // Blocks still queued (an error, a cancel, or the caller stopping early): let their mappings
    // and scopes settle before the buffers are destroyed.
    for (const left of inFlight) {
      await left.chunk.mapped;
      await Promise.allSettled(left.scopes);
    }
    run.res.destroy();
  }
}


/**
 * Every block of X1 × X2 (the upper triangle of X × X) computed on the device with `tail` encoded
 * after each block's recursion, in the same command buffer, in place of any readback: what the
 * tail leaves in its own buffers is the result. `req` asks for the last depth only. At most one
 * block is in flight (the host waits for each before the next), so a cancel is honoured within a
 * block and queued work stays bounded.
 */
export async function gramTailWebGPU(
  ctx: GpuContext,
  p: KernelProgram,
  x1: Matrix2D,
  x2: Matrix2D | null,
  req: GramRequest,
  opt: GpuRunOptions,
  tail: BlockTail,
): Promise<void> {
  checkRequest(x1, x2, req);
  if (req.allDepths || req.diagonal) throw new Error('internal error: a block tail needs the last depth of X1 × X2');
  checkGpuActivations(p);
  checkDevice(ctx);
  const run = await prepare(ctx, p, x1, x2, req, opt, tail);
  try {
    const jobs = run.jobs;
    let done = 0;
    for (const job of jobs) {
      await computeBlock(run, job, place(run, job, undefined, undefined), opt.signal);
      done++;
      opt.onProgress?.({ blocksDone: done, blocks: jobs.length });
    }
  } finally {
    run.res.destroy();
  }
}

/** The whole result assembled in host memory (same shape as the CPU path). */
export async function gramWebGPU(
  ctx: GpuContext,
  p: KernelProgram,
  x1: Matrix2D,
  x2: Matrix2D | null,
  req: GramRequest,
  opt: GpuRunOptions,
): Promise<GramResult> {
  const n1 = x1.rows;
  const n2 = req.diagonal ? 1 : (x2 ?? x1).rows;
  const taps = req.allDepths ? p.depths.length : 1;
  const plane = req.diagonal ? n1 : n1 * n2;
  if (taps * plane > MAX_RESULT_ELEMENTS) {
    throw new InputError(
      `the result needs ${((taps * plane * 8) / 2 ** 30).toFixed(1)} GiB of float64 per kernel; stream it block by block instead`,
    );
  }
  const nngp = req.get.includes('nngp') ? new Float64Array(taps * plane) : undefined;
  const ntk = req.get.includes('ntk') ? new Float64Array(taps * plane) : undefined;
  const sink: DirectSink = {
    ...(nngp ? { nngp } : {}),
    ...(ntk ? { ntk } : {}),
    rowStride: req.diagonal ? 1 : n2,
    tapStride: plane,
  };
  for await (const _block of gramBlocksWebGPU(ctx, p, x1, x2, req, opt, sink)) {
    // Values are already in place; the blocks only mark progress.
  }
  const base = req.diagonal ? [n1] : [n1, n2];
  return {
    ...(nngp ? { nngp } : {}),
    ...(ntk ? { ntk } : {}),
    shape: req.allDepths ? [taps, ...base] : base,
    depths: req.allDepths ? p.depths.slice() : [p.depths[p.depths.length - 1]!],
    symmetric: !x2 && !req.diagonal,
    diagonal: req.diagonal,
    sweep: req.allDepths,
  };
}
