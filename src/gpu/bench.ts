/// <reference types="@webgpu/types" preserve="true" />
/**
 * Microbenchmarks of the WebGPU backend (used by bench/gpu-gram.mjs; runtime-neutral):
 *
 * - `measurePeakFma`: the adapter's peak f32 FMA throughput (shaders/bench_fma.wgsl), the yardstick
 *   for the first-layer kernel;
 * - `timeChordGemm`: the first-layer kernel alone (shaders/gram_chord.wgsl) over X × X, with the
 *   same blocks, bind-group layout and parameters as the Gram host (gram.ts), inputs uploaded before
 *   the clock starts and nothing read back.
 *
 * Timing: every repetition is one submit of one compute pass; the wall clock runs from submit to
 * `queue.onSubmittedWorkDone()`. When the device was created with the "timestamp-query" feature the
 * pass also carries begin/end timestamps and those (GPU time) are the reported seconds; otherwise
 * the wall clock is. Both are returned, with `method` saying which one `seconds` is.
 */
import type { Matrix2D } from '../matrix.js';
import { chordParams, firstLayerShader, TILE } from './first-layer.js';
import { pipelineFor } from './pipelines.js';
import { prepareRows } from './rows.js';
import type { AdapterSummary } from './device.js';
import { BENCH_FMA_WGSL } from './shaders.generated.js';

/** What the benchmarks need of a context: a device (a GpuContext qualifies). */
export interface BenchContext {
  device: GPUDevice;
  /** Chooses the first-layer kernel as the library does (tiled when unknown). */
  adapter?: AdapterSummary;
}

export type TimingMethod = 'timestamp-query' | 'wall-clock';

export interface Timing {
  /** Median over the repetitions, by `method`. */
  seconds: number;
  method: TimingMethod;
  /** Wall clock per repetition (submit → onSubmittedWorkDone), seconds. */
  wallSeconds: number[];
  /** GPU timestamps per repetition (end − begin of the pass), seconds; null without timestamp-query. */
  gpuSeconds: number[] | null;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Whether `seconds` of this device's timings come from timestamp queries. */
export function timingMethod(ctx: BenchContext): TimingMethod {
  return ctx.device.features.has('timestamp-query') ? 'timestamp-query' : 'wall-clock';
}

/**
 * Runs `encode` inside one compute pass per repetition, `warmup` times untimed and then `reps`
 * times timed, each submit waited for before the next.
 */
export async function timePass(
  ctx: BenchContext,
  encode: (pass: GPUComputePassEncoder) => void,
  reps = 3,
  warmup = 1,
): Promise<Timing> {
  const device = ctx.device;
  const method = timingMethod(ctx);
  const U = GPUBufferUsage;
  let querySet: GPUQuerySet | null = null;
  let resolve: GPUBuffer | null = null;
  let readback: GPUBuffer | null = null;
  if (method === 'timestamp-query') {
    querySet = device.createQuerySet({ label: 'webntk bench: timestamps', type: 'timestamp', count: 2 });
    resolve = device.createBuffer({ label: 'webntk bench: timestamps', size: 16, usage: U.QUERY_RESOLVE | U.COPY_SRC });
    readback = device.createBuffer({ label: 'webntk bench: timestamp readback', size: 16, usage: U.MAP_READ | U.COPY_DST });
  }
  const wall: number[] = [];
  const gpu: number[] = [];
  try {
    for (let r = 0; r < warmup + reps; r++) {
      const enc = device.createCommandEncoder({ label: 'webntk bench' });
      const pass = enc.beginComputePass(
        querySet ? { label: 'webntk bench', timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : { label: 'webntk bench' },
      );
      encode(pass);
      pass.end();
      if (querySet && resolve && readback) {
        enc.resolveQuerySet(querySet, 0, 2, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, readback, 0, 16);
      }
      const cmd = enc.finish();
      const t0 = performance.now();
      device.queue.submit([cmd]);
      await device.queue.onSubmittedWorkDone();
      const t1 = performance.now();
      if (r < warmup) continue;
      wall.push((t1 - t0) / 1000);
      if (readback) {
        await readback.mapAsync(GPUMapMode.READ);
        const ts = new BigInt64Array(readback.getMappedRange().slice(0));
        readback.unmap();
        gpu.push(Number(ts[1]! - ts[0]!) / 1e9);
      }
    }
  } finally {
    querySet?.destroy();
    resolve?.destroy();
    readback?.destroy();
  }
  // Timestamps that are missing or nonsensical (some drivers return zeros) fall back to the wall clock.
  const gpuOk = gpu.length === reps && gpu.every((s) => s > 0 && Number.isFinite(s));
  return {
    seconds: gpuOk ? median(gpu) : median(wall),
    method: gpuOk ? 'timestamp-query' : 'wall-clock',
    wallSeconds: wall,
    gpuSeconds: gpuOk ? gpu : null,
  };
}

function dispatch(pass: GPUComputePassEncoder, groups: number, maxPerDim: number): void {
  const x = Math.min(groups, maxPerDim);
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
}

// ---- peak FMA ---------------------------------------------------------------------------------

/** vec4 chains per invocation and unroll of shaders/bench_fma.wgsl. */
const FMA_CHAINS = 8;
const FMA_UNROLL = 4;
const FMA_WG = 256;

export interface PeakFmaOptions {
  /**
   * Workgroups of 256 invocations; with a list, each is measured and the best is the peak. Default
   * [64, 1024, 8192]: few long-running workgroups suit a CPU (software) adapter, thousands fill a GPU.
   */
  workgroups?: number | readonly number[];
  /** Target duration of one timed repetition in seconds (default 0.25); iterations are calibrated. */
  targetSeconds?: number;
  reps?: number;
}

export interface PeakFmaConfig extends Timing {
  /** f32 GFLOP/s (an FMA counts 2 flops) by `method`. */
  gflops: number;
  /** The same from the wall clock (median). */
  wallGflops: number;
  flops: number;
  workgroups: number;
  invocations: number;
  iters: number;
}

export interface PeakFmaResult extends PeakFmaConfig {
  /** Every configuration measured (the result is the best of them). */
  configs: PeakFmaConfig[];
}

/** The adapter's peak f32 FMA throughput: many independent vec4 fma chains per invocation. */
export async function measurePeakFma(ctx: BenchContext, opts: PeakFmaOptions = {}): Promise<PeakFmaResult> {
  const list = opts.workgroups === undefined ? [64, 1024, 8192] : typeof opts.workgroups === 'number' ? [opts.workgroups] : [...opts.workgroups];
  const configs: PeakFmaConfig[] = [];
  for (const wg of list) configs.push(await peakFmaConfig(ctx, wg, opts.targetSeconds ?? 0.25, opts.reps ?? 3));
  const best = configs.reduce((a, b) => (b.gflops > a.gflops ? b : a));
  return { ...best, configs };
}

async function peakFmaConfig(ctx: BenchContext, groups: number, target: number, reps: number): Promise<PeakFmaConfig> {
  const device = ctx.device;
  const invocations = groups * FMA_WG;
  const pipe = await pipelineFor(device, BENCH_FMA_WGSL, 'webntk bench: peak fma');
  const U = GPUBufferUsage;
  const params = device.createBuffer({ label: 'webntk bench: peak fma params', size: 16, usage: U.UNIFORM | U.COPY_DST });
  const sink = device.createBuffer({ label: 'webntk bench: peak fma sink', size: invocations * 4, usage: U.STORAGE });
  const maxPerDim = device.limits.maxComputeWorkgroupsPerDimension;
  try {
    const bg = device.createBindGroup({
      label: 'webntk bench: peak fma bindings',
      layout: pipe.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: sink } },
      ],
    });
    const setIters = (iters: number) => {
      const p = new ArrayBuffer(16);
      new Uint32Array(p)[0] = iters;
      const f = new Float32Array(p);
      f[1] = 1 - 2 ** -12;
      f[2] = 2 ** -12;
      f[3] = 2 ** -10;
      device.queue.writeBuffer(params, 0, p);
    };
    const encode = (pass: GPUComputePassEncoder) => {
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bg);
      dispatch(pass, groups, maxPerDim);
    };
    // Calibrate: double the iterations until one run takes a quarter of the target, then scale.
    let iters = 4;
    for (;;) {
      setIters(iters);
      const t = await timePass(ctx, encode, 1, iters === 4 ? 1 : 0);
      if (t.seconds >= target / 4 || iters >= 2 ** 24) {
        iters = Math.max(1, Math.min(2 ** 26, Math.round((iters * target) / Math.max(t.seconds, 1e-6))));
        break;
      }
      iters *= 2;
    }
    setIters(iters);
    const t = await timePass(ctx, encode, reps, 0);
    const flops = invocations * iters * FMA_UNROLL * FMA_CHAINS * 4 * 2;
    return { ...t, gflops: flops / t.seconds / 1e9, wallGflops: flops / median(t.wallSeconds) / 1e9, flops, workgroups: groups, invocations, iters };
  } finally {
    params.destroy();
    sink.destroy();
  }
}

// ---- the first-layer kernel alone -------------------------------------------------------------

const BK = 16;
/** Flops per (pair, feature) in the first-layer inner loop: d = a_hi − b_hi, then fma(d, d, acc). */
export const CHORD_FLOPS_PER_TERM = 3;

export interface ChordGemmOptions {
  /** Rows per block, a multiple of 64 (default: as large as the device limits allow, as in gram.ts). */
  blockRows?: number;
  reps?: number;
  warmup?: number;
  /**
   * A variant of gram_chord.wgsl with the same bindings and parameters (experiments); default the
   * shipped kernel. `executedFlops` assumes the shipped inner loop.
   */
  code?: string;
  /** Read the gap buffer back after timing (the whole upper triangle when X fits one block). */
  readGap?: boolean;
}

export interface ChordGemmResult extends Timing {
  n: number;
  d: number;
  blockRows: number;
  /** Dispatches (blocks of the upper triangle of X × X). */
  blocks: number;
  /** 64×64 tiles actually computed (upper triangle of diagonal blocks). */
  tiles: number;
  /** 2·n²·d: the Gram flops of the whole square, as a user compares with BLAS. */
  usefulFlops: number;
  /** Flops the inner loop executes: tiles · 64² · (d padded to 16) · CHORD_FLOPS_PER_TERM. */
  executedFlops: number;
  usefulGflops: number;
  executedGflops: number;
  /** With `readGap`: the last block's gap buffer, [rows, cols] of that block (upper triangle in a diagonal block). */
  gap?: Float32Array;
}

/**
 * The first-layer kernel (gram_chord.wgsl) over X × X, blocked as gram.ts blocks a symmetric
 * request: per block pair of the upper triangle one dispatch, all in one pass per repetition.
 */
export async function timeChordGemm(ctx: BenchContext, x: Matrix2D, opts: ChordGemmOptions = {}): Promise<ChordGemmResult> {
  const device = ctx.device;
  const n = x.rows;
  const A = prepareRows(x, 1);
  const vec4s = A.vec4s;
  const cap = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  let b = Math.floor(Math.sqrt(cap / 4) / TILE) * TILE;
  b = Math.min(b, Math.floor(cap / (vec4s * 16) / TILE) * TILE);
  if (opts.blockRows !== undefined) {
    if (!Number.isInteger(opts.blockRows) || opts.blockRows < TILE || opts.blockRows % TILE !== 0) {
      throw new RangeError(`blockRows must be a positive multiple of ${TILE}, got ${opts.blockRows}`);
    }
    b = Math.min(b, opts.blockRows);
  }
  if (b < TILE) throw new RangeError('the device limits are too small for one 64-row block');
  b = Math.min(b, Math.ceil(n / TILE) * TILE);
  const nb = Math.ceil(n / b);
  const w = vec4s * 4;
  const U = GPUBufferUsage;
  const buffers: GPUBuffer[] = [];
  const mk = (size: number, usage: number) => {
    const buf = device.createBuffer({ label: 'webntk bench: first layer', size: Math.max(16, Math.ceil(size / 16) * 16), usage });
    buffers.push(buf);
    return buf;
  };
  try {
    // Every row block uploaded once, before timing.
    const hi: GPUBuffer[] = [];
    const lo: GPUBuffer[] = [];
    for (let k = 0; k < nb; k++) {
      const r0 = k * b;
      const rows = Math.min(b, n - r0);
      const h = mk(rows * w * 4, U.STORAGE | U.COPY_DST);
      const l = mk(rows * w * 4, U.STORAGE | U.COPY_DST);
      device.queue.writeBuffer(h, 0, A.hi, r0 * w, rows * w);
      device.queue.writeBuffer(l, 0, A.lo, r0 * w, rows * w);
      hi.push(h);
      lo.push(l);
    }
    const gap = mk(b * b * 4, opts.readGap ? U.STORAGE | U.COPY_SRC : U.STORAGE);
    const pipe = await pipelineFor(device, opts.code ?? firstLayerShader(ctx), 'webntk bench: first layer');
    const layout = pipe.getBindGroupLayout(0);
    const jobs: { bg: GPUBindGroup; tilesA: number; tilesB: number }[] = [];
    let tiles = 0;
    for (let bi = 0; bi < nb; bi++) {
      for (let bj = bi; bj < nb; bj++) {
        const rows = Math.min(b, n - bi * b);
        const cols = Math.min(b, n - bj * b);
        const diag = bi === bj;
        const tilesA = Math.ceil(rows / TILE);
        const tilesB = Math.ceil(cols / TILE);
        tiles += diag ? (tilesA * (tilesA + 1)) / 2 : tilesA * tilesB;
        const params = mk(32, U.UNIFORM | U.COPY_DST);
        device.queue.writeBuffer(params, 0, chordParams(rows, cols, vec4s, diag));
        const bg = device.createBindGroup({
          label: 'webntk bench: first-layer bindings',
          layout,
          entries: [
            { binding: 0, resource: { buffer: params } },
            { binding: 1, resource: { buffer: hi[bi]! } },
            { binding: 2, resource: { buffer: lo[bi]! } },
            { binding: 3, resource: { buffer: hi[bj]! } },
            { binding: 4, resource: { buffer: lo[bj]! } },
            { binding: 5, resource: { buffer: gap } },
          ],
        });
        jobs.push({ bg, tilesA, tilesB });
      }
    }
    await device.queue.onSubmittedWorkDone();
    const t = await timePass(
      ctx,
      (pass) => {
        pass.setPipeline(pipe);
        for (const j of jobs) {
          pass.setBindGroup(0, j.bg);
          pass.dispatchWorkgroups(j.tilesB, Math.min(j.tilesA, 65535), Math.ceil(j.tilesA / 65535));
        }
      },
      opts.reps ?? 3,
      opts.warmup ?? 1,
    );
    let gapOut: Float32Array | undefined;
    if (opts.readGap) {
      const last = Math.min(b, n - (nb - 1) * b);
      const bytes = last * last * 4;
      const staging = mk(bytes, U.MAP_READ | U.COPY_DST);
      const enc = device.createCommandEncoder({ label: 'webntk bench: readback' });
      enc.copyBufferToBuffer(gap, 0, staging, 0, Math.ceil(bytes / 4) * 4);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      gapOut = new Float32Array(staging.getMappedRange().slice(0, bytes));
      staging.unmap();
    }
    const featPad = Math.ceil(vec4s / (BK / 4)) * BK;
    const usefulFlops = 2 * n * n * x.cols;
    const executedFlops = tiles * TILE * TILE * featPad * CHORD_FLOPS_PER_TERM;
    return {
      ...t,
      n,
      d: x.cols,
      blockRows: b,
      blocks: jobs.length,
      tiles,
      usefulFlops,
      executedFlops,
      usefulGflops: usefulFlops / t.seconds / 1e9,
      executedGflops: executedFlops / t.seconds / 1e9,
      ...(gapOut ? { gap: gapOut } : {}),
    };
  } finally {
    for (const buf of buffers) buf.destroy();
  }
}
