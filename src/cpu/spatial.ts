/**
 * The float64 reference executor for spatial (convolutional) programs (program/spatial.ts):
 * checks (spatial-geometry.ts), the per-input pre-pass and the pair runs (spatial-pair.ts), the
 * vector tail after the readout (the FC interpreter), and the Gram matrices.
 */
import { InputError } from '../errors.js';
import { checkImagePair, type Images } from '../images.js';
import { ANTI, BANK_SIZE, GAP, KXX, KZZ, NTK, type KernelProgram, type Op } from '../program/program.js';
import type { SpatialProgram } from '../program/spatial.js';
import { MAX_RESULT_ELEMENTS, type GramRequest, type GramResult } from '../result.js';
import { expOf, ldexp, nngpOf, runOps } from './interpreter.js';
import { drive, GeometryMachine, pairStateBytes } from './spatial-geometry.js';
import { PairMachine, type Side } from './spatial-pair.js';

/**
 * Largest pair state a spatial request may hold (bytes): the arrays of one pair (current, the
 * copy kept for the readout of a depth sweep, residual banks) and the pre-pass's per-layer
 * diagonals of every input. A gap readout on 64×64 images needs about 1.6 GB per pair and is refused.
 */
export const MAX_SPATIAL_STATE_BYTES = 2 ** 30;


// ---- the vector tail ----------------------------------------------------------------------------

function runSteps(p: KernelProgram, s: Float64Array): void {
  for (const step of p.prefix) {
    if (step.kind === 'ops') runOps(step.ops, s, 0);
    else for (let i = 0; i < step.count; i++) runOps(step.body, s, i);
  }
}

/** Runs the FC tail from the readout's pooled state; onTap per depth of the tail's own sweep. */
export function runTail(
  p: KernelProgram,
  init: { kx: number; kz: number; g: number; h: number; t: number },
  allDepths: boolean,
  onTap: (tap: number, nngp: number, ntk: number, exp: number) => void,
): void {
  const state = new Float64Array(p.banks * BANK_SIZE + 1);
  const work = new Float64Array(state.length);
  state[KXX] = init.kx;
  state[KZZ] = init.kz;
  state[GAP] = init.g;
  state[ANTI] = init.h;
  state[NTK] = init.t;
  runSteps(p, state);
  const tap = (t: number, suffix: readonly Op[]) => {
    work.set(state);
    runOps(suffix, work, 0);
    onTap(t, nngpOf(work), work[NTK]!, expOf(work));
  };
  if (!p.sweep) return tap(0, p.suffix);
  if (allDepths) tap(0, p.suffix);
  for (let i = 0; i < p.sweep.count; i++) {
    runOps(p.sweep.body, state, i);
    if (allDepths) tap(i + 1, p.suffix);
  }
  if (!allDepths) tap(p.sweep.count, p.suffix);
}

// ---- entry points -------------------------------------------------------------------------------

/** Everything checkable before any work: request, inputs against the spec, sizes, memory. */
export function checkSpatialRequest(p: SpatialProgram, x1: Images, x2: Images | null, req: GramRequest): void {
  if (req.get.length === 0) throw new InputError('nothing to compute: ask for nngp and/or ntk');
  for (const k of req.get) {
    if (k !== 'nngp' && k !== 'ntk') throw new InputError(`unknown kernel "${String(k)}" (use nngp or ntk)`);
  }
  if (req.diagonal && x2) throw new InputError('the diagonal is defined for x1 × x1 only (omit x2)');
  checkImagePair(x1, x2);
  const geo = new GeometryMachine(p, x1.dims);
  drive(p, req.allDepths, geo);
  const n = x1.n + (x2 ? x2.n : 0);
  const pair = pairStateBytes(p, geo);
  const prepass = 2 * 8 * geo.diagonalValues * n;
  if (pair > MAX_SPATIAL_STATE_BYTES || prepass > MAX_SPATIAL_STATE_BYTES) {
    const what = pair > MAX_SPATIAL_STATE_BYTES
      ? `one pair's ${p.state === 'full' ? `full pixel-pair state (${geo.maxPixels}² pairs, needed by ${p.readout.type === 'gap' ? 'the gap readout' : 'avgPool'})` : 'state'} needs ${(pair / 2 ** 30).toFixed(2)} GiB`
      : `the per-layer diagonals of the ${n} inputs need ${(prepass / 2 ** 30).toFixed(2)} GiB`;
    throw new InputError(`${what}, above the limit of ${MAX_SPATIAL_STATE_BYTES / 2 ** 30} GiB: use smaller images${p.state === 'full' ? ', an eq or flatten readout' : ''} or fewer inputs per call`);
  }
  const taps = req.allDepths ? p.depths.length : 1;
  const plane = req.diagonal ? x1.n : x1.n * (x2 ?? x1).n;
  if (taps * plane > MAX_RESULT_ELEMENTS) {
    throw new InputError(`the result needs ${((taps * plane * 8) / 2 ** 30).toFixed(1)} GiB of float64 per kernel (limit ${(MAX_RESULT_ELEMENTS * 8) / 2 ** 30} GiB): compute fewer depths or smaller blocks`);
  }
}

/** The per-input pre-pass (exported for bench/conv-cpu.ts, which times the phases apart). */
export function prepareSide(p: SpatialProgram, images: Images, index: number, allDepths: boolean): Side {
  const { channels: C, pixels: P } = images;
  const scale = p.inputScale === 'dim' ? 1 / C : 1;
  const diag0 = new Float64Array(P);
  const unit = new Float64Array(P * C);
  for (let i = 0; i < P; i++) {
    let ss = 0;
    for (let c = 0; c < C; c++) {
      const v = images.data[(index * C + c) * P + i]!;
      ss += v * v;
    }
    diag0[i] = ss * scale;
    const norm = Math.sqrt(ss);
    if (norm > 0) for (let c = 0; c < C; c++) unit[i * C + c] = images.data[(index * C + c) * P + i]! / norm;
  }
  if (!diag0.every(Number.isFinite)) throw new InputError('the input covariance overflows float64: rescale the inputs');
  const side: Side = { images, index, diag0, sqrt0: diag0.map(Math.sqrt), unit, diags: [], sqrts: [], readouts: [] };
  drive(p, allDepths, new PairMachine(p, side, side, images.dims, true, () => undefined));
  return side;
}

/**
 * NNGP/NTK Gram matrices of a spatial program on images, in float64: X1 × X2, or X1 × X1 (exactly
 * symmetric) when x2 is null, or only the diagonal K(x_i, x_i). Every check runs before any work.
 */
export function gramSpatialCpu(p: SpatialProgram, x1: Images, x2: Images | null, req: GramRequest): GramResult {
  checkSpatialRequest(p, x1, x2, req);
  const sides1 = Array.from({ length: x1.n }, (_, i) => prepareSide(p, x1, i, req.allDepths));
  const sides2 = x2 ? Array.from({ length: x2.n }, (_, i) => prepareSide(p, x2, i, req.allDepths)) : sides1;
  const n1 = x1.n;
  const n2 = req.diagonal ? 1 : sides2.length;
  const taps = req.allDepths ? p.depths.length : 1;
  const plane = req.diagonal ? n1 : n1 * n2;
  const wantK = req.get.includes('nngp');
  const wantT = req.get.includes('ntk');
  const nngp = wantK ? new Float64Array(taps * plane) : undefined;
  const ntk = wantT ? new Float64Array(taps * plane) : undefined;
  const lastTap = p.depths.length - 1;

  const pair = (a: Side, b: Side, at: number) => {
    const m = new PairMachine(p, a, b, x1.dims, false, (tap, kx, kz, g, h, t) => {
      runTail(p.tail, { kx, kz, g, h, t }, req.allDepths, (tailTap, km, tm, e) => {
        // The depth loop is in the image part (tap) or in the tail (tailTap), never both.
        const depth = p.sweep ? tap : tailTap;
        const k = ldexp(km, e);
        const th = ldexp(tm, e);
        if (!Number.isFinite(k) || !Number.isFinite(th)) {
          throw new InputError(`the kernel overflows float64 at depth ${p.depths[depth]}; reduce the depth, the variances or α, or rescale the inputs`);
        }
        const o = (req.allDepths ? depth : 0) * plane + at;
        if (nngp) nngp[o] = k;
        if (ntk) ntk[o] = th;
      });
    });
    drive(p, req.allDepths, m);
  };

  const symmetric = !x2 && !req.diagonal;
  if (req.diagonal) {
    for (let i = 0; i < n1; i++) pair(sides1[i]!, sides1[i]!, i);
  } else if (symmetric) {
    for (let i = 0; i < n1; i++) for (let j = i; j < n1; j++) pair(sides1[i]!, sides1[j]!, i * n1 + j);
    for (const out of [nngp, ntk]) {
      if (!out) continue;
      for (let t = 0; t < taps; t++) {
        for (let i = 0; i < n1; i++) for (let j = 0; j < i; j++) out[t * plane + i * n1 + j] = out[t * plane + j * n1 + i]!;
      }
    }
  } else {
    for (let i = 0; i < n1; i++) for (let j = 0; j < n2; j++) pair(sides1[i]!, sides2[j]!, i * n2 + j);
  }
  const base = req.diagonal ? [n1] : [n1, n2];
  return {
    ...(nngp ? { nngp } : {}),
    ...(ntk ? { ntk } : {}),
    shape: req.allDepths ? [taps, ...base] : base,
    depths: req.allDepths ? p.depths.slice() : [p.depths[lastTap]!],
    symmetric,
    diagonal: req.diagonal,
    sweep: req.allDepths,
  };
}
