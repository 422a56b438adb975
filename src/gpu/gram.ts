/// <reference types="@webgpu/types" preserve="true" />
/**
 * Gram matrices on WebGPU. The host splits X1 × X2 into blocks sized from the device limits
 * (indices inside a block stay far below 2^32; global indices are float64 on the host), and per
 * block runs the first-layer kernel (shaders/gram_chord.wgsl) and then the generated recursion in
 * depth chunks (each submit bounded in work, the state kept in a GPU buffer between chunks).
 * Results come back as (mantissa, exponent) pairs and are assembled in float64.
 */
import { InputError } from '../errors.js';
import type { Matrix2D } from '../matrix.js';
import type { KernelProgram } from '../program/program.js';
import { normalizers } from '../cpu/interpreter.js';
import type { GramRequest, GramResult } from '../cpu/gram.js';
import { checkRequest, MAX_RESULT_ELEMENTS } from '../cpu/gram.js';
import { BANK_WORDS, FLAG_FINAL, FLAG_INIT, FLAG_STORE, FLAG_TAPS, recursionShader, type RecursionShader } from './codegen.js';
import type { GpuContext } from './device.js';
import { GRAM_CHORD_DIRECT_WGSL, GRAM_CHORD_WGSL, GRAM_COMMON_WGSL } from './shaders.generated.js';

export interface GpuRunOptions {
  /** Rows per block (a multiple of 64); default: as large as the device limits allow. */
  blockRows?: number;
  /** Upper bound on pair-operations per submit, so that no submit runs long (default 2^26). */
  maxPairOpsPerSubmit?: number;
  signal?: AbortSignal;
  /** Called after each block with the fraction of the work done. */
  onProgress?: (p: { blocksDone: number; blocks: number }) => void;
}

/** One block of the result: rows [row0, row0+rows) × cols [col0, col0+cols), every requested depth. */
export interface GramBlock {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
  /** [taps, rows, cols] (or [taps, rows] for the diagonal), row-major. */
  nngp?: Float64Array;
  ntk?: Float64Array;
}

/** A computation that cannot complete on the device: device loss, validation or memory errors. */
export class GpuError extends Error {
  override name = 'GpuError';
}

const TILE = 64;

// ---- pipelines, cached per device and keyed by the full shader source -------------------------

const pipelineCache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

export function pipelineFor(device: GPUDevice, code: string): GPUComputePipeline {
  let m = pipelineCache.get(device);
  if (!m) {
    m = new Map();
    pipelineCache.set(device, m);
  }
  let p = m.get(code);
  if (!p) {
    const module = device.createShaderModule({ code });
    p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    m.set(code, p);
  }
  return p;
}

/** Number of cached pipelines on a device (for tests). */
export function cachedPipelineCount(device: GPUDevice): number {
  return pipelineCache.get(device)?.size ?? 0;
}

/**
 * The first-layer kernel for an adapter: workgroup-memory tiles on GPUs, direct loads into
 * registers on CPU adapters (lavapipe, SwiftShader), where staging through workgroup memory and its
 * barriers costs more than it saves.
 */
export function firstLayerShader(ctx: { adapter?: GpuContext['adapter'] }): string {
  const a = ctx.adapter;
  const cpu = a !== undefined && (a.isFallbackAdapter || /software|swiftshader|cpu/i.test(a.architecture));
  return GRAM_COMMON_WGSL + (cpu ? GRAM_CHORD_DIRECT_WGSL : GRAM_CHORD_WGSL);
}

// ---- host-side preparation ---------------------------------------------------------------------

/** [mantissa in [0.5, 1), exponent] of a positive finite float64; [0, 0] for 0. */
export function frexp(v: number): [number, number] {
  if (v === 0) return [0, 0];
  let e = Math.floor(Math.log2(v)) + 1;
  let m = v / 2 ** e;
  if (!Number.isFinite(m) || m === 0) {
    // 2**e over- or underflows at the ends of the double range; scale in two steps.
    m = v / 2 ** (e - 600) / 2 ** 600;
  }
  while (m >= 1) {
    m /= 2;
    e += 1;
  }
  while (m < 0.5) {
    m *= 2;
    e -= 1;
  }
  return [m, e];
}

/** 2^e for e ∈ [−1074, 1023], so that decoding a result costs a lookup, not Math.pow. */
const POW2 = (() => {
  const t = new Float64Array(1023 + 1074 + 1);
  for (let e = -1074; e <= 1023; e++) t[e + 1074] = 2 ** e;
  return t;
})();

/** m·2^e in float64 without intermediate overflow. */
export function ldexp64(m: number, e: number): number {
  if (e >= -1074 && e <= 1023) return m * POW2[e + 1074]!;
  if (e > 1000) return m * 2 ** 1000 * 2 ** (e - 1000);
  if (e < -1000) return m * 2 ** -1000 * 2 ** (e + 1000);
  return m * 2 ** e;
}

export interface PreparedRows {
  rows: number;
  vec4s: number;
  /** Unit-normalised rows split as hi + lo float32, padded to vec4s·4 columns. */
  hi: Float32Array<ArrayBuffer>;
  lo: Float32Array<ArrayBuffer>;
  /** Per row: float32 bits of the mantissa and the exponent of K0(x, x) = ‖x‖²·scale. */
  scale: Int32Array<ArrayBuffer>;
}

export function prepareRows(x: Matrix2D, inputScale: number): PreparedRows {
  const d = x.cols;
  const vec4s = Math.ceil(d / 4);
  const w = vec4s * 4;
  const hi = new Float32Array(x.rows * w);
  const lo = new Float32Array(x.rows * w);
  const scale = new Int32Array(x.rows * 2);
  const f = new Float32Array(1);
  const bits = new Int32Array(f.buffer);
  for (let i = 0; i < x.rows; i++) {
    let ss = 0;
    for (let k = 0; k < d; k++) ss += x.data[i * d + k]! ** 2;
    const norm = Math.sqrt(ss);
    const k0 = ss * inputScale;
    if (!Number.isFinite(k0)) throw new InputError(`row ${i}: its squared norm overflows float64`);
    if (norm > 0) {
      for (let k = 0; k < d; k++) {
        const u = x.data[i * d + k]! / norm;
        const h = Math.fround(u);
        hi[i * w + k] = h;
        lo[i * w + k] = u - h;
      }
    }
    const [m, e] = frexp(k0);
    f[0] = m;
    scale[2 * i] = bits[0]!;
    scale[2 * i + 1] = m === 0 ? 0 : e;
  }
  return { rows: x.rows, vec4s, hi, lo, scale };
}

// ---- the computation -----------------------------------------------------------------------------

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
  opt: GpuRunOptions = {},
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

class Resources {
  private buffers: GPUBuffer[] = [];
  constructor(private device: GPUDevice) {}
  buffer(size: number, usage: number): GPUBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage });
    this.buffers.push(b);
    return b;
  }
  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers = [];
  }
}

function checkDevice(ctx: GpuContext): void {
  if (ctx.lost) {
    throw new GpuError(`the WebGPU device was lost (${ctx.lost.reason}: ${ctx.lost.message || 'no message'}); no result was returned`);
  }
  const err = ctx.takeError();
  if (err) throw new GpuError(`WebGPU error: ${err}; no result was returned`);
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    throw reason instanceof Error ? reason : new DOMException('the computation was cancelled', 'AbortError');
  }
}

function dispatch2d(pass: GPUComputePassEncoder, groups: number, maxPerDim: number): void {
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
  opt: GpuRunOptions = {},
  direct?: DirectSink,
): AsyncGenerator<GramBlock> {
  checkRequest(x1, x2, req);
  checkDevice(ctx);
  const device = ctx.device;
  const inputScale = p.inputScale === 'dim' ? 1 / x1.cols : 1;
  const A = prepareRows(x1, inputScale);
  const B = x2 ? prepareRows(x2, inputScale) : A;
  const symmetric = !x2 && !req.diagonal;
  const norms = normalizers(p);
  const T = p.depths.length;
  const wantTaps = req.allDepths && T > 1;
  const tapList = req.allDepths ? p.depths.map((_, t) => t) : [T - 1];
  const count = p.sweep?.count ?? 0;
  const { blockRows, itersPerChunk } = planBlocks(ctx.limits, p, A.rows, B.rows, A.vec4s, wantTaps, opt);
  const shader: RecursionShader = recursionShader(p);
  const gramPipe = pipelineFor(device, firstLayerShader(ctx));
  const recPipe = pipelineFor(device, shader.code);
  const maxPerDim = device.limits.maxComputeWorkgroupsPerDimension;
  const res = new Resources(device);
  const U = GPUBufferUsage;
  try {
    const rowBytes = blockRows * A.vec4s * 16;
    const aHi = res.buffer(rowBytes, U.STORAGE | U.COPY_DST);
    const aLo = res.buffer(rowBytes, U.STORAGE | U.COPY_DST);
    const bHi = res.buffer(rowBytes, U.STORAGE | U.COPY_DST);
    const bLo = res.buffer(rowBytes, U.STORAGE | U.COPY_DST);
    const pairsMax = req.diagonal ? blockRows : blockRows * blockRows;
    const gap = res.buffer(pairsMax * 4, U.STORAGE);
    const scales = res.buffer(blockRows * 2 * 8, U.STORAGE | U.COPY_DST);
    const needState = count > itersPerChunk;
    const state = res.buffer(needState ? pairsMax * p.banks * BANK_WORDS * 4 : 16, U.STORAGE);
    const tapsPerChunk = wantTaps ? Math.min(itersPerChunk, count) + 1 : 1;
    const outBytes = tapsPerChunk * pairsMax * 16;
    const out = res.buffer(outBytes, U.STORAGE | U.COPY_SRC);
    const staging = res.buffer(outBytes, U.MAP_READ | U.COPY_DST);
    const coefs = res.buffer(Math.max(4, shader.coefs.byteLength), U.STORAGE | U.COPY_DST);
    if (shader.coefs.length > 0) device.queue.writeBuffer(coefs, 0, shader.coefs);
    const gramParams = res.buffer(32, U.UNIFORM | U.COPY_DST);
    const recParams = res.buffer(48, U.UNIFORM | U.COPY_DST);

    const blocksA = Math.ceil(A.rows / blockRows);
    const blocksB = req.diagonal ? 1 : Math.ceil(B.rows / blockRows);
    const jobs: [number, number][] = [];
    for (let bi = 0; bi < blocksA; bi++) {
      if (req.diagonal) jobs.push([bi, bi]);
      else for (let bj = symmetric ? bi : 0; bj < blocksB; bj++) jobs.push([bi, bj]);
    }

    let done = 0;
    for (const [bi, bj] of jobs) {
      checkAbort(opt.signal);
      checkDevice(ctx);
      const r0 = bi * blockRows;
      const c0 = req.diagonal ? r0 : bj * blockRows;
      const rows = Math.min(blockRows, A.rows - r0);
      const cols = req.diagonal ? 1 : Math.min(blockRows, B.rows - c0);
      const diagBlock = symmetric && bi === bj;
      const pairs = rows * cols;
      const w = A.vec4s * 4;
      device.queue.writeBuffer(aHi, 0, A.hi, r0 * w, rows * w);
      device.queue.writeBuffer(aLo, 0, A.lo, r0 * w, rows * w);
      const colRows = req.diagonal ? rows : cols;
      if (!diagBlock && !req.diagonal) {
        device.queue.writeBuffer(bHi, 0, B.hi, c0 * w, cols * w);
        device.queue.writeBuffer(bLo, 0, B.lo, c0 * w, cols * w);
      }
      const sc = new Int32Array((rows + colRows) * 2);
      sc.set(A.scale.subarray(r0 * 2, (r0 + rows) * 2), 0);
      sc.set((req.diagonal ? A : B).scale.subarray(c0 * 2, (c0 + colRows) * 2), rows * 2);
      device.queue.writeBuffer(scales, 0, sc);

      device.pushErrorScope('validation');
      device.pushErrorScope('out-of-memory');
      if (!req.diagonal) {
        const tilesB = Math.ceil(cols / TILE);
        const tilesA = Math.ceil(rows / TILE);
        device.queue.writeBuffer(gramParams, 0, new Uint32Array([rows, cols, A.vec4s, diagBlock ? 1 : 0, tilesB, 0, 0, 0]));
        const useB = diagBlock ? [aHi, aLo] : [bHi, bLo];
        const bg = device.createBindGroup({
          layout: gramPipe.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: gramParams } },
            { binding: 1, resource: { buffer: aHi } },
            { binding: 2, resource: { buffer: aLo } },
            { binding: 3, resource: { buffer: useB[0]! } },
            { binding: 4, resource: { buffer: useB[1]! } },
            { binding: 5, resource: { buffer: gap } },
          ],
        });
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(gramPipe);
        pass.setBindGroup(0, bg);
        pass.dispatchWorkgroups(tilesB, Math.min(tilesA, 65535), Math.ceil(tilesA / 65535));
        pass.end();
        device.queue.submit([enc.finish()]);
      }
      const recEntries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: recParams } },
        { binding: 1, resource: { buffer: gap } },
        { binding: 2, resource: { buffer: scales } },
        { binding: 3, resource: { buffer: state } },
        { binding: 4, resource: { buffer: out } },
      ];
      if (shader.coefs.length > 0) recEntries.push({ binding: 5, resource: { buffer: coefs } });
      const recBg = device.createBindGroup({ layout: recPipe.getBindGroupLayout(0), entries: recEntries });
      const groups = Math.ceil(pairs / 256);

      const blockK = req.get.includes('nngp') && !direct ? new Float64Array(tapList.length * pairs) : undefined;
      const blockT = req.get.includes('ntk') && !direct ? new Float64Array(tapList.length * pairs) : undefined;
      // Destination: the block's own arrays, or the caller's result at this block's place.
      const outK = direct ? direct.nngp : blockK;
      const outT = direct ? direct.ntk : blockT;
      const rowStride = direct ? direct.rowStride : cols;
      const tapStride = direct ? direct.tapStride : pairs;
      const base = direct ? r0 * rowStride + (req.diagonal ? 0 : c0) : 0;
      // X × X: the lower triangle is the mirror image (inside diagonal blocks always; of whole
      // blocks only when writing the caller's result).
      const mirrorBase = direct && symmetric ? c0 * rowStride + r0 : 0;
      const mirrorAll = Boolean(direct && symmetric);

      // Depth chunks: [it0, it1) iterations per submit; the first chunk also initialises.
      let it0 = 0;
      let first = true;
      while (first || it0 < count) {
        checkAbort(opt.signal);
        const it1 = Math.min(count, it0 + itersPerChunk);
        const last = it1 >= count;
        let flags = 0;
        if (first) flags |= FLAG_INIT;
        if (wantTaps) flags |= FLAG_TAPS;
        else if (last) flags |= FLAG_FINAL;
        if (!last) flags |= FLAG_STORE;
        const tapBase = first ? 0 : it0 + 1;
        const params = new Uint32Array([pairs, cols, rows, it0, it1, flags, req.diagonal ? 2 : diagBlock ? 1 : 0, tapBase, 0]);
        new Float32Array(params.buffer)[8] = 1; // P.one
        device.queue.writeBuffer(recParams, 0, params);
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(recPipe);
        pass.setBindGroup(0, recBg);
        dispatch2d(pass, groups, maxPerDim);
        pass.end();
        const nTaps = wantTaps ? it1 - it0 + (first ? 1 : 0) : last ? 1 : 0;
        if (nTaps > 0) enc.copyBufferToBuffer(out, 0, staging, 0, nTaps * pairs * 16);
        device.queue.submit([enc.finish()]);
        if (nTaps > 0) {
          try {
            await staging.mapAsync(GPUMapMode.READ, 0, nTaps * pairs * 16);
          } catch (e) {
            checkDevice(ctx);
            throw new GpuError(`reading the result back failed: ${(e as Error).message}`);
          }
          const raw = staging.getMappedRange(0, nTaps * pairs * 16);
          const f = new Float32Array(raw);
          const ints = new Int32Array(raw);
          for (let k = 0; k < nTaps; k++) {
            const tap = wantTaps ? tapBase + k : T - 1;
            const slot = wantTaps ? tap : 0;
            // Normalisers come as mantissa·2^exp; a zero one means the kernel is identically zero there.
            const kn = norms ? norms.nngp[tap]! : 1;
            const tn = norms ? norms.ntk[tap]! : 1;
            const ne = norms ? norms.exp[tap]! : 0;
            const ik = kn === 0 ? 0 : 1 / kn;
            const it = tn === 0 ? 0 : 1 / tn;
            const o = k * pairs * 4;
            const plane = slot * tapStride;
            for (let i = 0; i < rows; i++) {
              for (let jj = diagBlock ? i : 0; jj < cols; jj++) {
                const q = o + 4 * (i * cols + jj);
                const kv = ldexp64(f[q]! * ik, ints[q + 1]! - ne);
                const tv = ldexp64(f[q + 2]! * it, ints[q + 3]! - ne);
                if (!Number.isFinite(kv) || !Number.isFinite(tv)) {
                  throw new InputError(
                    `the kernel overflows float64 at depth ${p.depths[tap]}; ` +
                      'reduce the depth, the variances or α, or rescale the inputs',
                  );
                }
                const at = plane + base + i * rowStride + jj;
                if (outK) outK[at] = kv;
                if (outT) outT[at] = tv;
                if ((diagBlock && jj > i) || (mirrorAll && !diagBlock)) {
                  const m = diagBlock ? plane + base + jj * rowStride + i : plane + mirrorBase + jj * rowStride + i;
                  if (outK) outK[m] = kv;
                  if (outT) outT[m] = tv;
                }
              }
            }
          }
          staging.unmap();
        }
        it0 = it1;
        first = false;
      }
      const oom = await device.popErrorScope();
      const val = await device.popErrorScope();
      if (oom) throw new GpuError(`WebGPU out of memory: ${oom.message}`);
      if (val) throw new GpuError(`WebGPU validation error: ${val.message}`);
      checkDevice(ctx);

      yield { row0: r0, col0: req.diagonal ? 0 : c0, rows, cols, ...(blockK ? { nngp: blockK } : {}), ...(blockT ? { ntk: blockT } : {}) };
      if (symmetric && bi !== bj && !direct) {
        yield transposeBlock({ row0: r0, col0: c0, rows, cols, ...(blockK ? { nngp: blockK } : {}), ...(blockT ? { ntk: blockT } : {}) }, tapList.length);
      }
      done++;
      opt.onProgress?.({ blocksDone: done, blocks: jobs.length });
    }
  } finally {
    res.destroy();
  }
}

/** The transpose of a block (every depth plane), as the block at the mirrored place. */
export function transposeBlock(b: GramBlock, taps: number): GramBlock {
  const tr = (a: Float64Array) => {
    const o = new Float64Array(a.length);
    const n = b.rows * b.cols;
    for (let t = 0; t < taps; t++) {
      for (let i = 0; i < b.rows; i++) for (let j = 0; j < b.cols; j++) o[t * n + j * b.rows + i] = a[t * n + i * b.cols + j]!;
    }
    return o;
  };
  return {
    row0: b.col0,
    col0: b.row0,
    rows: b.cols,
    cols: b.rows,
    ...(b.nngp ? { nngp: tr(b.nngp) } : {}),
    ...(b.ntk ? { ntk: tr(b.ntk) } : {}),
  };
}

/** The whole result assembled in host memory (same shape as the CPU path). */
export async function gramWebGPU(
  ctx: GpuContext,
  p: KernelProgram,
  x1: Matrix2D,
  x2: Matrix2D | null,
  req: GramRequest,
  opt: GpuRunOptions = {},
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
