/// <reference types="@webgpu/types" preserve="true" />
/**
 * Convolutional kernels on WebGPU: the slab shader (shaders/conv_slab.wgsl) generated for a plan
 * (its sizes and activations), the avgPool shader between its segments (shaders/conv_pool.wgsl),
 * and the dispatches over input pairs. The plan (op records, scaled
 * diagonals, unit vectors) is made by the executor (src/exec/spatial-webgpu.ts) from the float64
 * pre-pass, so this module knows nothing of the CPU engine; it returns the raw f32 outputs, one
 * vec4 per (pair, slab, tap), which the executor turns into kernels in float64.
 */
import { GpuBuffers } from './buffers.js';
import { wgslCall } from '../activations/registry.js';
import { GpuError, InputError } from '../errors.js';
import type { Activation } from '../spec/types.js';
import type { CoefficientSink } from './codegen.js';
import { activationCall } from './codegen.js';
import { isCpuAdapter, isLlvmpipe, type GpuContext } from './device.js';
import { BANK, wgslStruct } from './layout.js';
import { pipelineFor } from './pipelines.js';
import {
  CONV_POOL_WGSL, CONV_SLAB_GLOBAL_WGSL, CONV_SLAB_LANES_WGSL, CONV_SLAB_LAYER_WGSL, CONV_SLAB_READOUT_WGSL, CONV_SLAB_RESIDENT_WGSL, CONV_SLAB_WGSL,
  CONV_SLAB_WORKGROUP_WGSL, CONV_SLAB_DS_WGSL, CONV_SLAB_DS_OFF_WGSL, DS_GAPS_WGSL, KERNEL_OPS_WGSL,
} from './shaders.generated.js';
import { checkUserWgsl } from './user-wgsl.js';

/** Words per op record (shaders/conv_slab.wgsl: REC). */
export const CONV_REC = 28;
/** The record word that marks an op that carries the gap in double-single (conv_slab.wgsl: in_ds). */
export const CONV_PRECISE = 23;
/**
 * A gap readout's first output word for a bad pair (a smooth activation out of range; conv_slab.wgsl
 * op_gap, GAP_BAD): 2^127, exact in f32 and far above any slab's partial sum of scaled kernels.
 */
export const CONV_GAP_BAD = 2 ** 127;
export const CONV_OP = { init: 0, conv: 1, act: 2, copyTo: 3, mix: 4, copyFrom: 5, eq: 6, flatten: 7, gap: 8, load: 9, store: 10 } as const;

/**
 * One dispatch of the slab shader: a range of op records run on a rectangle of slab offsets (at
 * the segment's end grid, lo + [0, cnt) per axis; 1-D images use axis 1). A segment followed by an
 * avgPool ends with a store of its slabs' states (`entries` each); one after a pool begins with a
 * load of the pooled states.
 */
export interface ConvSegment {
  opStart: number;
  opCount: number;
  lo: [number, number];
  cnt: [number, number];
  /** Slabs wrap around, (i, (i + δ) mod n): the circular partition (a gap readout's, or a segment with a circular conv); else masked. */
  wrap: boolean;
  /** Entries per slab at the segment's end (its stored state). */
  entries: number;
}

/** An avgPool between two segments (shaders/conv_pool.wgsl): geometry, diagonal offsets and scales, slab sets. */
export interface ConvPool {
  inDims: [number, number];
  outDims: [number, number];
  window: [number, number];
  stride: [number, number];
  /** Word offsets of the pool's input and output diagonals, and their scale exponents. */
  din: number;
  dout: number;
  ein: number;
  eout: number;
  /** The previous segment's slab rectangle (input) and the next one's (output, at its end grid; its offsets scaled by outM at the pool's output). */
  inLo: [number, number];
  inCnt: [number, number];
  outLo: [number, number];
  outCnt: [number, number];
  outM: [number, number];
  /** Whether the input and the output slabs are circular partitions (ConvSegment.wrap). */
  inWrap: boolean;
  outWrap: boolean;
}

/** What the slab shader runs: the records and the sizes its workgroup memory is declared with. */
export interface ConvPlan {
  /** Op records, CONV_REC words each (f32 fields as their bits). */
  ops: Uint32Array<ArrayBuffer>;
  /** The program's activations, by the case number in the act records. */
  acts: Activation[];
  /** Entries of the largest state (pixels). */
  maxEntries: number;
  /**
   * How slabs map to invocations (convLayout): 'workgroup', `threads` invocations share a slab in
   * workgroup memory; 'lanes', each invocation runs a whole slab in private memory and `threads`
   * is the invocations per workgroup; 'global', the state in global memory, one dispatch per layer
   * (an invocation per entry) and per readout (`threads` invocations per slab).
   */
  layout: ConvLayout;
  threads: number;
  /**
   * Whether the 'lanes' layout may run a pair per workgroup with its conv taps unrolled (pairBlocks):
   * on llvmpipe only (convLayout). Chromium's SwiftShader spent over 150 s creating that pipeline for
   * cntk depth 4 on 6×6 images and then lost its GPU process; elsewhere the packed loops stay.
   */
  pairBlocksOk?: boolean;
  /**
   * The 'global' layout: workgroup memory (bytes) its layer dispatch may give a conv's halo tile
   * (convTiles; 0 or absent: no tiles, every tap read from the storage buffer).
   */
  tileBytes?: number;
  /** State slots: current, residual banks, the copy kept for the taps. */
  slots: number;
  taps: number;
  /** Slabs per pair of the last segment, the readout's (1 for eq/flatten). */
  slabs: number;
  /** The op stream's dispatches (one without avgPool) and the pools between them. */
  segments: ConvSegment[];
  pools: ConvPool[];
  /**
   * Whether some op carries the gap in double-single (record word CONV_PRECISE: the segments before
   * a pool, and the last one before a gap readout in a program with a pool or a nonlinearity after
   * the readout): the shaders then hold the gap's low part (PRECISE); others compile without it.
   */
  precise: boolean;
  /** The readout's dims, as [n0, n1] (1-D: [1, n]). */
  final: [number, number];
  /** Diagonal words per input. */
  perInput: number;
  channels: number;
  pixels0: number;
}

/** The plan's per-input data: scaled diagonals, their square roots (all high parts, then all low parts), unit vectors (hi, lo). */
export interface ConvInputs {
  diag: Float32Array<ArrayBuffer>;
  sdiag: Float32Array<ArrayBuffer>;
  unit: Float32Array<ArrayBuffer>;
}

export interface ConvRunOptions {
  /** Upper bound on entry-operations per submit (default 2^26), so that no submit runs long. */
  maxPairOpsPerSubmit?: number;
  signal?: AbortSignal;
  /** After each submit: pairs done of all. */
  onChunk?: (done: number, total: number) => void;
}

const LABEL = 'webntk conv';

export type ConvLayout = 'workgroup' | 'lanes' | 'global';

/** Invocations per workgroup in the 'lanes' layout (measured: 8–64 within noise on lavapipe). */
const LANES = 32;

/**
 * Largest slab (declared entries) run in the 'lanes' layout. Its private arrays grow with the slab
 * and so does lavapipe's compile time, uncached (MESA_SHADER_CACHE_DISABLE): lanes 8×8 3.9 s,
 * 16×16 4.1 s, 20×20 15 s, 28×28 46 s; workgroup 8×8 13 s, 16×16 25 s, 28×28 10 s.
 */
const LANES_MAX_ENTRIES = 256;

let forcedLayout: ConvLayout | null = null;
let forcedTiles: boolean | null = null;

let layerDispatches = { tiled: 0, untiled: 0 };

/** Tests: the global layout's layer dispatches since the last call, tiled and not. */
export function layerDispatchesForTests(): { tiled: number; untiled: number } {
  const r = layerDispatches;
  layerDispatches = { tiled: 0, untiled: 0 };
  return r;
}

/** Tests: the global layout's halo tiles on (true) or off (false) whatever the adapter (null: the adapter's choice). */
export function forceConvTilesForTests(on: boolean | null): void {
  forcedTiles = on;
}

/** Tests: run every conv plan in this layout whatever the adapter (null: the adapter's choice). */
export function forceConvLayoutForTests(layout: ConvLayout | null): void {
  forcedLayout = layout;
}

/**
 * The layout for an adapter and a plan (its largest state and its slots), and the invocations per
 * workgroup. A slab whose workgroup layout needs more workgroup memory than the device has runs
 * in the 'global' layout (checkConvPlan refuses only what does not fit global memory). CPU adapters (lavapipe,
 * SwiftShader) run a workgroup's invocations as SIMD lanes and switch between them at every
 * barrier: there each invocation runs a whole slab alone ('lanes'; cntk depth 5 gap on 8×8×3 took
 * ~1.5× less CPU time than 8 threads sharing a slab, which had been 1.8× faster than 64), up to
 * LANES_MAX_ENTRIES pixels. GPUs
 * share a slab among a workgroup ('workgroup'): 64 threads, 256 past 64 pixels (more entries per
 * thread unrolls more code: 28×28 with 64 threads took 30 s to compile).
 */
export function convLayout(
  ctx: GpuContext,
  maxEntries: number,
  slots: number,
  precise = false,
): { layout: ConvLayout; threads: number; pairBlocksOk?: boolean; tileBytes?: number } {
  const cpu = isCpuAdapter(ctx.adapter);
  const layout = forcedLayout ?? (cpu && declaredEntries(maxEntries) <= LANES_MAX_ENTRIES ? 'lanes' : 'workgroup');
  if (layout === 'lanes') return { layout, threads: LANES, pairBlocksOk: isLlvmpipe(ctx.adapter) };
  const tiles = forcedTiles ?? !cpu;
  const global = { layout: 'global' as const, threads: cpu ? 64 : 256, tileBytes: tiles ? ctx.limits.maxComputeWorkgroupStorageSize : 0 };
  if (layout === 'global') return global;
  const resident = residentThreads(ctx, maxEntries);
  if (!forcedLayout && workgroupBytes({ layout, slots, maxEntries, threads: resident, precise }) > ctx.limits.maxComputeWorkgroupStorageSize) return global;
  return { layout, threads: resident };
}

/** Threads sharing a slab in the 'workgroup' layout. */
function residentThreads(ctx: GpuContext, maxEntries: number): number {
  if (isCpuAdapter(ctx.adapter)) {
    // The workgroup layout on a CPU adapter (tests): one SIMD batch of 8, at most 16 entries each.
    let wg = 8;
    while (wg * 16 < declaredEntries(maxEntries)) wg *= 2;
    return wg;
  }
  return maxEntries <= 64 ? 64 : 256;
}

export function declaredEntries(maxEntries: number): number {
  return Math.ceil(maxEntries / 64) * 64;
}

/**
 * Workgroup memory the plan's shader declares (bytes; none in the 'lanes' layout, the readout's
 * reduction in the 'global' one): per entry and slot the gap, Θ as hi + lo and, where some op
 * carries the gap in double-single (`precise`: a pool, or a gap readout before a nonlinearity),
 * its low part (ds_gaps.wgsl).
 */
export function workgroupBytes(plan: Pick<ConvPlan, 'slots' | 'maxEntries' | 'threads' | 'layout'> & { precise?: boolean }): number {
  if (plan.layout === 'lanes') return 0;
  if (plan.layout === 'global') return plan.threads * 16 + 16;
  const ql = plan.precise ? plan.slots * declaredEntries(plan.maxEntries) : 1;
  return plan.slots * declaredEntries(plan.maxEntries) * 12 + ql * 4 + plan.threads * 16 + 8;
}


class Coefs implements CoefficientSink {
  words: number[] = [];
  f(x: number): string {
    this.words.push(x);
    return `cf(${this.words.length - 1}u)`;
  }
}

/**
 * Fewest slabs per pair (every segment's) for which the 'lanes' layout runs one pair per workgroup
 * (PAIR_BLOCKS, conv_slab_lanes.wgsl) and unrolls a conv's taps: the SIMD width of lavapipe on
 * AVX2, so that a workgroup's idle lanes never fill a whole SIMD batch. Below it (eq, flatten: one
 * slab) the workgroup packs LANES pairs and the shader keeps the tap loops: there the Gram is a
 * small part of the process and an unrolled shader took longer to create than it saved.
 */
const PAIR_BLOCK_MIN = 8;

/** Whether the plan runs in the 'lanes' layout one pair per workgroup, with its conv taps unrolled. */
export function pairBlocks(plan: Pick<ConvPlan, 'layout' | 'pairBlocksOk'> & { segments: readonly Pick<ConvSegment, 'cnt'>[] }): boolean {
  return plan.layout === 'lanes' && plan.pairBlocksOk === true && Math.min(...plan.segments.map(slabCount)) >= PAIR_BLOCK_MIN;
}

/** The filter sizes (q0, q1) of the plan's convs, each once. */
function filterSizes(ops: Uint32Array): [number, number][] {
  const seen = new Map<string, [number, number]>();
  for (let o = 0; o < ops.length; o += CONV_REC) {
    if (ops[o] !== CONV_OP.conv) continue;
    const q: [number, number] = [ops[o + 13]!, ops[o + 14]!];
    seen.set(q.join(','), q);
  }
  return [...seen.values()];
}

/** A plan with a filter of more taps than this keeps the loops (code size: one block of code per tap). */
const UNROLL_MAX_TAPS = 25;

const TAP_ARGS = 'q0: u32, q1: u32, I0: i32, I1: i32, J0: i32, J1: i32, n0: i32, n1: i32, zero: bool, cw: f32, b: f32, sb: f32, din: u32';
const TAP_CALL = 'q0, q1, I0, I1, J0, J1, n0, n1, zero, cw, b, sb, din';

/**
 * TAPS_UNROLLED and conv_taps for the shader (conv_slab.wgsl, op_convl): with `unroll`, and where
 * every filter of the plan has at most UNROLL_MAX_TAPS taps, one copy of op_convl's tap loops per
 * filter size with its taps written out, the offsets (a0, a1) constants, and each tap's roots u, v
 * loaded once and kept for the second sum (the loops load them again); the same operations in the
 * same order, so the same bits. Otherwise a stub that op_convl never calls (it keeps its loops).
 */
export function convTapsWgsl(ops: Uint32Array, unroll: boolean): string {
  const all = filterSizes(ops);
  const sizes = unroll && all.length > 0 && all.every(([a, b]) => a * b <= UNROLL_MAX_TAPS) ? all : [];
  const fns = sizes.map(([q0, q1]) => {
    const first: string[] = [];
    const second: string[] = [];
    for (let a0 = 0; a0 < q0; a0++) {
      for (let a1 = 0; a1 < q1; a1++) {
        const k = a0 * q1 + a1;
        first.push(
          `  let p${k} = tap_pair(I0, I1, J0, J1, ${a0}, ${a1}, n0, n1, zero);`,
          `  var u${k} = 0.0;`,
          `  var v${k} = 0.0;`,
          `  if (p${k}.xv) { u${k} = cw * sdiag[xd + u32(p${k}.xi)]; }`,
          `  if (p${k}.zv) { v${k} = cw * sdiag[zd + u32(p${k}.zi)]; }`,
          `  U += u${k} * u${k};`,
          `  V += v${k} * v${k};`,
          `  if (p${k}.xv && p${k}.zv) {`,
          `    let sa = u${k} * v${k};`,
          `    let q = gq(u32(p${k}.xi));`,
          `    sum += sa;`,
          `    sg += sa * gap_g(q);`,
          `    sh += sa * gap_h(q);`,
          `    tt = ds_add(tt, gt(u32(p${k}.xi)));`,
          `  }`,
        );
        second.push(`    let d${k} = v${k} - rr * u${k};`, `    lag += d${k} * d${k};`);
      }
    }
    return `fn conv_taps_${q0}_${q1}(${TAP_ARGS}) -> ConvAcc {
  let xd = xb + din;
  let zd = zb + din;
  var U = b;
  var V = b;
  var sum = b;
  var sg = 0.0;
  var sh = 2.0 * b;
  var tt = vec2<f32>(0.0, 0.0);
${first.join('\n')}
  let R = sqrt(U) * sqrt(V);
  var q = 1.0;
  if (R > 0.0) {
    let rr = sum / U;
    var lag = 0.0;
${second.join('\n')}
    let db = sb - rr * sb;
    lag = (U / (R + sum)) * (lag + db * db);
    q = make_q(min((lag + sg) / R, 2.0), min((lag + sh) / R, 2.0));
  }
  return ConvAcc(q, sg, sh, tt);
}
`;
  });
  if (sizes.length === 0) {
    return `const TAPS_UNROLLED: bool = false;
fn conv_taps(${TAP_ARGS}) -> ConvAcc { return ConvAcc(1.0, 0.0, 0.0, vec2<f32>(0.0, 0.0)); }
`;
  }
  // Every conv of the plan has one of `sizes`: the last is the switch's default.
  const call = ([q0, q1]: [number, number]) => `conv_taps_${q0}_${q1}(${TAP_CALL})`;
  const cases = sizes.slice(0, -1).map((q) => `    case ${q[0] * 256 + q[1]}u: { r = ${call(q)}; }`);
  const last = call(sizes[sizes.length - 1]!);
  return `const TAPS_UNROLLED: bool = true;
${fns.join('\n')}
fn conv_taps(${TAP_ARGS}) -> ConvAcc {
${
  cases.length === 0
    ? `  return ${last};`
    : `  var r: ConvAcc;
  switch (q0 * 256u + q1) {
${cases.join('\n')}
    default: { r = ${last}; }
  }
  return r;`
}
}
`;
}

/** Each op kind's call in conv_slab.wgsl's run_slab, and whether it is a layer op (else a readout). */
const OP_CALLS: Record<number, { call: string; layer: boolean }> = {
  [CONV_OP.init]: { call: 'op_init(o, lid)', layer: true },
  [CONV_OP.conv]: { call: 'op_convl(o, lid)', layer: true },
  [CONV_OP.act]: { call: 'op_actl(o, lid)', layer: true },
  [CONV_OP.copyTo]: { call: 'op_copy(o, lid, true)', layer: true },
  [CONV_OP.mix]: { call: 'op_resmix(o, lid)', layer: true },
  [CONV_OP.copyFrom]: { call: 'op_copy(o, lid, false)', layer: true },
  [CONV_OP.eq]: { call: 'op_eq(o, lid, pl)', layer: false },
  [CONV_OP.flatten]: { call: 'op_flatten(o, lid, pl)', layer: false },
  [CONV_OP.gap]: { call: 'op_gap(o, lid, pl, slab)', layer: false },
  [CONV_OP.load]: { call: 'op_state(o, lid, pl, slab, false)', layer: true },
  [CONV_OP.store]: { call: 'op_state(o, lid, pl, slab, true)', layer: true },
};

/**
 * fn run_op for conv_slab.wgsl's run_slab: a switch over the op kinds the plan has, those of them
 * that this shader runs (the global layout's layer and readout shaders each run half of them:
 * lavapipe took minutes to compile the unused conv into the readout shader). Every op compiled in
 * costs pipeline creation even where it never runs: on lavapipe cntk gap's took ~0.24 s with all
 * eleven, ~0.16 s with its four (the rest of the time is the shader's front end, not the op's code).
 */
export function runOpWgsl(ops: Uint32Array, layers: boolean, readouts: boolean): string {
  const kinds = new Set<number>();
  for (let o = 0; o < ops.length; o += CONV_REC) kinds.add(ops[o]!);
  const cases = [...kinds]
    .sort((a, b) => a - b)
    .filter((k) => (OP_CALLS[k]!.layer ? layers : readouts))
    .map((k) => `    case ${k}u: { ${OP_CALLS[k]!.call}; }`);
  return `fn run_op(o: u32, lid: u32, pl: u32, slab: u32) {
  switch ops[o] {
${cases.join('\n')}
    default: {}
  }
}
`;
}

/** Invocations per workgroup of the global layout's layer dispatch. */
const LAYER_ITEMS = 64;

/**
 * Columns of a halo tile of LAYER_ITEMS output entries on the grid (n0, n1): one row in 1-D (n0 = 1),
 * else the fewest powers of two ≥ n1 up to 8, the rest rows (8 × 8 tiles on images of 8 or more
 * columns: the least halo per entry).
 */
function tileCols(n0: number, n1: number): number {
  if (n0 === 1) return LAYER_ITEMS;
  let c = 1;
  while (c < Math.min(n1, 8)) c *= 2;
  return c;
}

/** Input entries of the halo tile of the conv at record word o (its output grid's tiles). */
function tileEntries(ops: Uint32Array, o: number): number {
  const c = tileCols(ops[o + 3]!, ops[o + 4]!);
  return ((LAYER_ITEMS / c - 1) * ops[o + 15]! + ops[o + 13]!) * ((c - 1) * ops[o + 16]! + ops[o + 14]!);
}

/** The largest halo tile (input entries) of the plan's convs; 0 without a conv. */
export function convTileEntries(ops: Uint32Array): number {
  let m = 0;
  for (let o = 0; o < ops.length; o += CONV_REC) if (ops[o] === CONV_OP.conv) m = Math.max(m, tileEntries(ops, o));
  return m;
}

/** Whether the plan's layer dispatches run in halo tiles: the global layout, with a conv, whose largest tile (vec4 entries) fits its tileBytes. */
export function convTiles(plan: Pick<ConvPlan, 'layout' | 'ops' | 'tileBytes'>): boolean {
  const t = convTileEntries(plan.ops);
  return plan.layout === 'global' && t > 0 && 16 * t <= (plan.tileBytes ?? 0);
}

/** A tiled layer dispatch (conv_slab_layer.wgsl: CP.tile1 …): tile columns, tiles per row and per slab, and the step's grid. */
export interface StepTiles {
  tile1: number;
  tilesRow: number;
  tilesSlab: number;
  grid: [number, number];
}

/**
 * The halo tiles of a global-layout step: one that begins with a conv and whose other ops are all
 * entrywise on the conv's output grid (so that a tile's invocations cover each op's entries once);
 * null for any other step (it runs its entries in runs of LAYER_ITEMS).
 */
export function stepTiles(ops: Uint32Array, st: ConvStep): StepTiles | null {
  const o = st.opStart * CONV_REC;
  if (st.readout || ops[o] !== CONV_OP.conv) return null;
  const g0 = ops[o + 3]!;
  const g1 = ops[o + 4]!;
  for (let k = st.opStart + 1; k < st.opEnd; k++) {
    const p = k * CONV_REC;
    if (ops[p + 1] !== g0 || ops[p + 2] !== g1 || ops[p + 3] !== g0 || ops[p + 4] !== g1) return null;
  }
  const c = tileCols(g0, g1);
  const row = Math.ceil(g1 / c);
  return { tile1: c, tilesRow: row, tilesSlab: Math.ceil(g0 / (LAYER_ITEMS / c)) * row, grid: [g0, g1] };
}

/**
 * The shader source for a plan (structure only: sizes and activations) and its coefficients; in
 * the 'global' layout `part` picks the layer dispatch's shader or the readout's.
 */
export function convShader(plan: ConvPlan, part: 'layer' | 'readout' = 'layer'): { code: string; coefs: Uint32Array<ArrayBuffer> } {
  const c = new Coefs();
  const chunks = new Set<string>();
  const cases = plan.acts.map((a, k) => {
    for (const s of wgslCall(a).source ?? []) chunks.add(s);
    return `    case ${k}u: { r = ${activationCall(a, c)}; }`;
  });
  const lanes = plan.layout === 'lanes';
  const blocks = pairBlocks(plan);
  const layer = plan.layout === 'global' && part === 'layer';
  // 'lanes': one invocation holds the whole slab (WG = 1 thread per slab, PER = every entry);
  // the global layer dispatch: one invocation per entry (WG = PER = 1).
  const wg = lanes || layer ? 1 : plan.threads;
  const per = layer ? 1 : Math.ceil(declaredEntries(plan.maxEntries) / wg);
  const tail =
    plan.layout === 'global'
      ? `const ITEMS: u32 = ${LAYER_ITEMS}u;\nconst TILE: u32 = ${layer && convTiles(plan) ? convTileEntries(plan.ops) : 1}u;\n${CONV_SLAB_GLOBAL_WGSL}\n${layer ? CONV_SLAB_LAYER_WGSL : CONV_SLAB_READOUT_WGSL}`
      : `${CONV_SLAB_RESIDENT_WGSL}\n${lanes ? CONV_SLAB_LANES_WGSL : CONV_SLAB_WORKGROUP_WGSL}`;
  const code = `${wgslStruct(BANK)}
${KERNEL_OPS_WGSL}
${DS_GAPS_WGSL}
${[...chunks].map((s) => `${s}\n`).join('')}
const MAXP: u32 = ${declaredEntries(plan.maxEntries)}u;
const WG: u32 = ${wg}u;
const PER: u32 = ${per}u;
const SLOTS: u32 = ${plan.slots}u;
const PRECISE: bool = ${plan.precise};
const GAP_BAD: f32 = ${CONV_GAP_BAD};
const QL: u32 = ${plan.precise ? plan.slots * declaredEntries(plan.maxEntries) : 1}u;
${lanes ? `const LANES: u32 = ${plan.threads}u;\nconst PAIR_BLOCKS: bool = ${blocks};\n` : ''}
fn act_call(c: u32, cur: Bank) -> Bank {
  var r = cur;
  switch c {
${cases.join('\n')}
    default: {}
  }
  return r;
}

${convTapsWgsl(plan.ops, blocks)}
${runOpWgsl(plan.ops, plan.layout !== 'global' || layer, plan.layout !== 'global' || !layer)}
${CONV_SLAB_WGSL}
${plan.precise ? CONV_SLAB_DS_WGSL : CONV_SLAB_DS_OFF_WGSL}
${tail}`;
  const words = new Uint32Array(Math.max(1, c.words.length));
  new Float32Array(words.buffer).set(c.words);
  return { code, coefs: words };
}

function checkDevice(ctx: GpuContext): void {
  if (ctx.lost) throw new GpuError(`the WebGPU device was lost (${ctx.lost.reason}: ${ctx.lost.message || 'no message'}); no result was returned`);
  const err = ctx.takeError();
  if (err) throw new GpuError(`WebGPU error: ${err}; no result was returned`);
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    throw reason instanceof Error ? reason : new DOMException('the computation was cancelled', 'AbortError');
  }
}

/** Refuses, before any GPU work, a plan this device cannot hold. */
export function checkConvPlan(ctx: GpuContext, plan: ConvPlan, inputs: number): void {
  const need = workgroupBytes(plan);
  const have = ctx.limits.maxComputeWorkgroupStorageSize;
  if (need > have) {
    throw new InputError(
      `a slab of ${plan.maxEntries} pixels needs ${need} bytes of workgroup memory and this WebGPU device allows ${have}: ` +
        'use smaller images or backend "cpu"',
    );
  }
  const most = Math.max(...plan.segments.map(slabCount));
  if (plan.layout !== 'lanes' && most > ctx.limits.maxComputeWorkgroupsPerDimension) {
    throw new InputError(`the ${plan.pools.length > 0 ? 'avgPool' : 'gap readout'} needs ${most} slabs per pair, more than this device dispatches in one dimension: use smaller images or backend "cpu"`);
  }
  const cap = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  if (plan.layout === 'global' && slabBatch(plan, cap) < 1) {
    throw new InputError(
      `one slab of ${plan.maxEntries} pixels and one pair's avgPool states need ${globalBytes(plan, 1)} bytes of global memory, above this device's ${cap}-byte buffers: ` +
        'use smaller images or backend "cpu"',
    );
  }
  const bytes = Math.max(plan.perInput * inputs * 4, plan.pixels0 * plan.channels * inputs * 8);
  if (bytes > cap) {
    throw new InputError(`the per-layer diagonals of ${inputs} inputs need ${bytes} bytes, above this device's ${cap}-byte buffers: use fewer inputs per call (blocks)`);
  }
}

export const slabCount = (g: Pick<ConvSegment, 'cnt'>): number => g.cnt[0] * g.cnt[1];

/** State vec4s one pair needs in each half of the state buffer (0 without avgPool). */
export function stateWordsPerPair(plan: Pick<ConvPlan, 'segments' | 'pools'>): number {
  let m = 0;
  plan.pools.forEach((pl, g) => {
    m = Math.max(m, slabCount(plan.segments[g]!) * plan.segments[g]!.entries, pl.outCnt[0] * pl.outCnt[1] * pl.outDims[0] * pl.outDims[1]);
  });
  return m;
}

/** vec4s of one slab's state in the global layout (conv_slab_global.wgsl): two halves of the current state and the other slots. */
function slabWordsOf(plan: Pick<ConvPlan, 'slots' | 'maxEntries'>): number {
  return (plan.slots + 1) * declaredEntries(plan.maxEntries);
}

/** State bytes of one pair in the global layout with `batch` slabs resident: the pools' two halves, the slab states and the bad flag. */
function globalBytes(plan: Pick<ConvPlan, 'segments' | 'pools' | 'slots' | 'maxEntries'>, batch: number): number {
  return (2 * stateWordsPerPair(plan) + batch * slabWordsOf(plan) + 1) * 16;
}

let forcedBatch: number | null = null;

/** Tests: run at most this many slabs of a pair per dispatch in the global layout (null: as many as the buffers hold). */
export function forceSlabBatchForTests(batch: number | null): void {
  forcedBatch = batch;
}

/**
 * Slabs of one pair that the global layout runs per dispatch: all of the largest segment's where
 * one pair's states fit a buffer, else as many as fit (0: not even one).
 */
export function slabBatch(plan: Pick<ConvPlan, 'segments' | 'pools' | 'slots' | 'maxEntries'>, cap: number): number {
  const most = Math.max(...plan.segments.map(slabCount));
  const fit = Math.max(0, Math.floor((cap / 16 - 2 * stateWordsPerPair(plan) - 1) / slabWordsOf(plan)));
  return Math.min(most, fit, forcedBatch ?? Infinity);
}

/** One dispatch of the global layout: op records [opStart, opEnd), a layer's or a readout's, and which half holds the state when it starts. */
export interface ConvStep {
  opStart: number;
  opEnd: number;
  readout: boolean;
  parity: number;
}

const READOUT_OPS: readonly number[] = [CONV_OP.eq, CONV_OP.flatten, CONV_OP.gap];

/**
 * The global layout's dispatches of one segment: a new one at every conv (its neighbours must all
 * be written first: the dispatch boundary is the barrier) and around every readout (a reduction
 * over the slab). `parity` is the number of convs before the segment, mod 2.
 */
export function convSteps(ops: Uint32Array, seg: Pick<ConvSegment, 'opStart' | 'opCount'>, parity: number): ConvStep[] {
  const steps: ConvStep[] = [];
  let p = parity;
  for (let k = seg.opStart; k < seg.opStart + seg.opCount; k++) {
    const kind = ops[k * CONV_REC]!;
    const readout = READOUT_OPS.includes(kind);
    const last = steps[steps.length - 1];
    if (!last || last.readout !== readout || kind === CONV_OP.conv) steps.push({ opStart: k, opEnd: k + 1, readout, parity: p });
    else last.opEnd = k + 1;
    if (kind === CONV_OP.conv) p ^= 1;
  }
  return steps;
}

/** The pool shader (shape-independent: one pipeline for every plan). */
export function poolShader(): string {
  return `${wgslStruct(BANK)}
${KERNEL_OPS_WGSL}
${DS_GAPS_WGSL}
${CONV_POOL_WGSL}`;
}

/** Invocations per workgroup of the pool shader. */
const POOL_WG = 64;
/** Bytes of the slab shader's and the pool shader's uniforms. */
const SLAB_PARAMS = 112;
const POOL_PARAMS = 128;

/**
 * A plan's pipelines, from the cache or compiled now: its slab shader (`code`, the global layout's
 * layer shader), the global layout's readout shader, and the pool's where it has avgPools.
 */
function convPipelines(device: GPUDevice, plan: ConvPlan, code: string): { pipe: Promise<GPUComputePipeline>; readPipe: Promise<GPUComputePipeline> | null; poolPipe: Promise<GPUComputePipeline> | null } {
  const global = plan.layout === 'global';
  return {
    pipe: pipelineFor(device, code, `${LABEL}: ${global ? 'layer' : 'slab'}`),
    readPipe: global ? pipelineFor(device, convShader(plan, 'readout').code, `${LABEL}: readout`) : null,
    poolPipe: plan.pools.length > 0 ? pipelineFor(device, poolShader(), `${LABEL}: avgPool`) : null,
  };
}

/**
 * Starts compiling a plan's pipelines now, ahead of runConvPairs (which finds them in the pipeline
 * cache, keyed by source: the shaders depend on the plan's structure only). Dawn compiles off the
 * main thread, so the caller's float64 pre-pass runs meanwhile. A failure surfaces in runConvPairs.
 */
export function prefetchConvPipelines(ctx: GpuContext, plan: ConvPlan): void {
  for (const made of Object.values(convPipelines(ctx.device, plan, convShader(plan).code))) made?.catch(() => {});
}

/**
 * Runs the plan on the pairs (x index, z index into the inputs), in submits bounded in work and in
 * output size. Returns one vec4 per (pair, slab, tap), in that order. With avgPool each submit runs
 * the segments in turn, their states passing through the two halves of one state buffer: a
 * segment loads half B and stores half A, the pool reads A and writes B (one binding each shader,
 * so that the slab shader keeps 8 storage buffers, the default limit).
 */
export async function runConvPairs(ctx: GpuContext, plan: ConvPlan, inputs: ConvInputs, pairs: Uint32Array, opt: ConvRunOptions = {}): Promise<Float32Array> {
  checkDevice(ctx);
  const device = ctx.device;
  const nPairs = pairs.length / 2;
  const shader = convShader(plan);
  const global = plan.layout === 'global';
  const blocks = pairBlocks(plan);
  await checkUserWgsl(device, plan.acts.flatMap((a) => wgslCall(a).check ?? []));
  let pipe: GPUComputePipeline;
  let readPipe: GPUComputePipeline | null;
  let poolPipe: GPUComputePipeline | null;
  try {
    const made = convPipelines(device, plan, shader.code);
    [pipe, readPipe, poolPipe] = await Promise.all([made.pipe, made.readPipe, made.poolPipe]);
  } catch (e) {
    throw new GpuError(`compiling the ${LABEL} shader failed: ${(e as Error).message}`);
  }
  const perPairOut = plan.slabs * plan.taps * 16;
  const cap = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  const statePerPair = stateWordsPerPair(plan);
  // Work of one pair: every slab of a segment runs its ops over at most maxEntries entries; a
  // pool reads window² states per output entry.
  let work = 0;
  for (const g of plan.segments) work += slabCount(g) * g.opCount * plan.maxEntries;
  for (const pl of plan.pools) work += pl.outCnt[0] * pl.outCnt[1] * pl.outDims[0] * pl.outDims[1] * (pl.window[0] * pl.window[1]) ** 2;
  const budget = opt.maxPairOpsPerSubmit ?? 2 ** 26;
  const maxDim = ctx.limits.maxComputeWorkgroupsPerDimension;
  // The global layout keeps every slab's state in the state buffer, after the pools' two halves,
  // and one bad flag per pair after those; its layer dispatches have an invocation per entry.
  // Where one pair's slabs do not all fit, a pair at a time and its slabs in batches.
  const batch = global ? slabBatch(plan, cap) : 0;
  const slabWords = batch * slabWordsOf(plan);
  const whole = batch === Math.max(...plan.segments.map(slabCount));
  const stateBytes = global ? globalBytes(plan, batch) : 32 * statePerPair;
  const byState = stateBytes > 0 ? Math.floor(cap / stateBytes) : Infinity;
  // The global layout's dispatches, segment by segment (the parity runs on across segments), each
  // segment's batches of slabs in turn.
  const tiled = convTiles(plan);
  const steps: (ConvStep & { slab0: number; count: number; tiles: StepTiles | null })[][] = [];
  let parity = 0;
  for (const g of global ? plan.segments : []) {
    const list = convSteps(plan.ops, g, parity).map((st) => ({ ...st, tiles: tiled ? stepTiles(plan.ops, st) : null }));
    const S = slabCount(g);
    const here: (typeof steps)[number] = [];
    for (let s0 = 0; s0 < S; s0 += batch) for (const st of list) here.push({ ...st, slab0: s0, count: Math.min(batch, S - s0) });
    steps.push(here);
    for (let k = g.opStart; k < g.opStart + g.opCount; k++) if (plan.ops[k * CONV_REC] === CONV_OP.conv) parity ^= 1;
  }
  // Layer-dispatch workgroups per slab: its entries in runs of LAYER_ITEMS, or its halo tiles.
  const runs = declaredEntries(plan.maxEntries) / LAYER_ITEMS;
  const groupsOf = (st: (typeof steps)[number][number]): number => (st.tiles ? st.tiles.tilesSlab : runs);
  let perSlab = runs;
  for (const list of steps) for (const st of list) perSlab = Math.max(perSlab, groupsOf(st));
  const byGrid = global ? Math.floor((maxDim * maxDim) / (batch * perSlab)) : maxDim * maxDim;
  const chunk = Math.max(1, Math.min(nPairs, Math.floor(cap / perPairOut), byState, Math.floor(budget / Math.max(1, work)), byGrid, global && !whole ? 1 : Infinity));
  if (perPairOut > cap) throw new InputError(`one pair's outputs need ${perPairOut} bytes, above this device's buffers: compute fewer depths`);
  if (stateBytes > cap) throw new InputError(`one pair's ${global ? 'slab' : 'avgPool'} states need ${stateBytes} bytes, above this device's ${cap}-byte buffers: use smaller images or backend "cpu"`);

  const U = GPUBufferUsage;
  const bufs = new GpuBuffers(device, LABEL);
  const buffer = bufs.buffer.bind(bufs);
  const upload = (name: string, data: ArrayBufferView<ArrayBuffer>) => {
    const b = buffer(name, data.byteLength, U.STORAGE | U.COPY_DST);
    device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  };
  const result = new Float32Array(nPairs * plan.slabs * plan.taps * 4);
  const half = chunk * statePerPair;
  const slabBase = 2 * half;
  const flagBase = slabBase + chunk * slabWords;
  const stride = Math.max(SLAB_PARAMS, ctx.limits.minUniformBufferOffsetAlignment ?? 256);
  device.pushErrorScope('validation');
  device.pushErrorScope('out-of-memory');
  try {
    const opsB = upload('ops', plan.ops);
    const diagB = upload('diagonals', inputs.diag);
    const sdiagB = upload('diagonal roots', inputs.sdiag);
    const unitB = upload('unit vectors', inputs.unit);
    const coefB = upload('coefficients', shader.coefs);
    const pairB = buffer('pairs', chunk * 8, U.STORAGE | U.COPY_DST);
    const outB = buffer('outputs', chunk * perPairOut, U.STORAGE | U.COPY_SRC);
    const stateB = buffer(global ? 'slab states' : 'pooled states', global ? chunk * stateBytes : 2 * half * 16, U.STORAGE | (global ? U.COPY_DST : 0));
    const staging = buffer('readback', chunk * perPairOut, U.MAP_READ | U.COPY_DST);
    // One uniform buffer and bind group per segment and per pool: their parameters differ within a submit.
    const segParams = plan.segments.map((_, g) => buffer(`params ${g}`, SLAB_PARAMS, U.UNIFORM | U.COPY_DST));
    const slabEntries = (params: GPUBuffer, offset = 0): GPUBindGroupEntry[] => [
      { binding: 0, resource: { buffer: params, offset, size: SLAB_PARAMS } },
      ...[opsB, diagB, sdiagB, unitB, pairB, outB, coefB, stateB].map((buffer, k) => ({ binding: k + 1, resource: { buffer } })),
    ];
    const segGroups = segParams.map((params, g) =>
      device.createBindGroup({ label: `${LABEL}: bindings ${g}`, layout: pipe.getBindGroupLayout(0), entries: slabEntries(params) }),
    );
    // Global layout: one uniform slot and bind group per dispatch (their op ranges and parities differ).
    const stepCount = steps.reduce((a, l) => a + l.length, 0);
    const stepParams = global ? buffer('step params', stepCount * stride, U.UNIFORM | U.COPY_DST) : null;
    const stepGroups: GPUBindGroup[] = [];
    for (const st of steps.flat()) {
      const k = stepGroups.length;
      const layout = (st.readout ? readPipe! : pipe).getBindGroupLayout(0);
      stepGroups.push(device.createBindGroup({ label: `${LABEL}: step ${k}`, layout, entries: slabEntries(stepParams!, k * stride) }));
    }
    const poolParams = plan.pools.map((_, g) => buffer(`avgPool params ${g}`, POOL_PARAMS, U.UNIFORM | U.COPY_DST));
    const poolGroups = poolParams.map((params, g) =>
      device.createBindGroup({
        label: `${LABEL}: avgPool bindings ${g}`,
        layout: poolPipe!.getBindGroupLayout(0),
        entries: [params, diagB, sdiagB, pairB, stateB].map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    for (let p0 = 0; p0 < nPairs; p0 += chunk) {
      checkAbort(opt.signal);
      checkDevice(ctx);
      const n = Math.min(chunk, nPairs - p0);
      const slabParams = (g: ConvSegment, opStart: number, opEnd: number, parity: number, slab0 = 0, count = slabCount(g), tiles: StepTiles | null = null): ArrayBuffer => {
        const pv = new ArrayBuffer(SLAB_PARAMS);
        const u = new Uint32Array(pv);
        const i = new Int32Array(pv);
        u.set([n, slabCount(g), plan.taps, opStart, opEnd, plan.perInput, plan.channels, plan.pixels0, g.wrap ? 1 : 0]);
        i.set([g.lo[0], g.lo[1]], 9);
        u.set([g.cnt[1], half, 0, inputs.sdiag.length / 2], 11);
        new Float32Array(pv)[15] = 1;
        u.set([parity, slabBase, flagBase, slab0, count, Math.ceil(slabCount(g) / plan.threads)], 16);
        if (tiles) u.set([tiles.tile1, tiles.tilesRow, tiles.tilesSlab, ...tiles.grid], 22);
        return pv;
      };
      plan.segments.forEach((g, k) => device.queue.writeBuffer(segParams[k]!, 0, slabParams(g, g.opStart, g.opStart + g.opCount, 0)));
      if (global) {
        const all = new Uint8Array(stepCount * stride);
        let k = 0;
        steps.forEach((list, g) => {
          for (const st of list) all.set(new Uint8Array(slabParams(plan.segments[g]!, st.opStart, st.opEnd, st.parity, st.slab0, st.count, st.tiles)), stride * k++);
        });
        device.queue.writeBuffer(stepParams!, 0, all);
      }
      plan.pools.forEach((pl, k) => {
        const pv = new ArrayBuffer(POOL_PARAMS);
        const u = new Uint32Array(pv);
        const i = new Int32Array(pv);
        u.set([n, plan.perInput, inputs.sdiag.length / 2, 0, half, ...pl.inDims, ...pl.outDims, ...pl.window, ...pl.stride, pl.din, pl.dout]);
        i.set([pl.ein, pl.eout, ...pl.inLo], 15);
        u.set(pl.inCnt, 19);
        i.set(pl.outLo, 21);
        u.set([...pl.outCnt, ...pl.outM, (pl.inWrap ? 1 : 0) | (pl.outWrap ? 2 : 0)], 23);
        new Float32Array(pv)[28] = 1;
        device.queue.writeBuffer(poolParams[k]!, 0, pv);
      });
      device.queue.writeBuffer(pairB, 0, pairs.buffer, pairs.byteOffset + p0 * 8, n * 8);
      let enc = device.createCommandEncoder({ label: LABEL });
      // The global layout's bad flags start clear in every chunk (shaders set them, never clear them).
      if (global) enc.clearBuffer(stateB, flagBase * 16, Math.ceil((n * 16) / 4) * 4);
      let pass = enc.beginComputePass({ label: LABEL });
      let stepAt = 0;
      for (const [k, g] of plan.segments.entries()) {
        const S = slabCount(g);
        if (global) {
          for (const [a, st] of steps[k]!.entries()) {
            // A pair whose slabs run in batches: one submit per batch, waited for, so that no submit
            // runs long and a cancellation lands between them.
            if (!whole && a > 0 && st.slab0 !== steps[k]![a - 1]!.slab0) {
              pass.end();
              device.queue.submit([enc.finish()]);
              await device.queue.onSubmittedWorkDone();
              checkAbort(opt.signal);
              checkDevice(ctx);
              enc = device.createCommandEncoder({ label: LABEL });
              pass = enc.beginComputePass({ label: LABEL });
            }
            pass.setPipeline(st.readout ? readPipe! : pipe);
            pass.setBindGroup(0, stepGroups[stepAt++]!);
            if (st.readout) {
              const y = Math.min(n, maxDim);
              pass.dispatchWorkgroups(st.count, y, Math.ceil(n / y));
            } else {
              const groups = n * st.count * groupsOf(st);
              layerDispatches[st.tiles ? 'tiled' : 'untiled']++;
              const x = Math.min(groups, maxDim);
              pass.dispatchWorkgroups(x, Math.ceil(groups / x));
            }
          }
        } else if (plan.layout === 'lanes') {
          pass.setPipeline(pipe);
          pass.setBindGroup(0, segGroups[k]!);
          // One pair per workgroup (PAIR_BLOCKS: ⌈S / LANES⌉ each), or LANES items packed.
          const groups = blocks ? n * Math.ceil(S / plan.threads) : Math.ceil((n * S) / plan.threads);
          const x = Math.min(groups, maxDim);
          pass.dispatchWorkgroups(x, Math.ceil(groups / x));
        } else {
          pass.setPipeline(pipe);
          pass.setBindGroup(0, segGroups[k]!);
          const y = Math.min(n, maxDim);
          pass.dispatchWorkgroups(S, y, Math.ceil(n / y));
        }
        const pl = plan.pools[k];
        if (pl) {
          const items = n * pl.outCnt[0] * pl.outCnt[1] * pl.outDims[0] * pl.outDims[1];
          const groups = Math.ceil(items / POOL_WG);
          const x = Math.min(groups, maxDim);
          pass.setPipeline(poolPipe!);
          pass.setBindGroup(0, poolGroups[k]!);
          pass.dispatchWorkgroups(x, Math.ceil(groups / x));
        }
      }
      pass.end();
      const bytes = n * perPairOut;
      enc.copyBufferToBuffer(outB, 0, staging, 0, bytes);
      device.queue.submit([enc.finish()]);
      try {
        await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      } catch (e) {
        checkDevice(ctx);
        throw new GpuError(`reading the result back failed: ${(e as Error).message}`);
      }
      result.set(new Float32Array(staging.getMappedRange(0, bytes)), p0 * plan.slabs * plan.taps * 4);
      staging.unmap();
      opt.onChunk?.(p0 + n, nPairs);
    }
  } finally {
    const oom = await device.popErrorScope();
    const val = await device.popErrorScope();
    bufs.destroy();
    if (oom) throw new GpuError(`WebGPU out of memory: ${oom.message}`);
    if (val) throw new GpuError(`WebGPU validation error: ${val.message}`);
  }
  checkDevice(ctx);
  return result;
}
