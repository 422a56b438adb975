/**
 * The float64 reference executor for spatial (convolutional) programs (program/spatial.ts).
 *
 * State of one input pair (x, z), per pixel pair (i, j): the correlation as its gaps 1 − ρ and
 * 1 + ρ (as on the FC path, gap.ts) and Θ[i, j]. The per-pixel diagonals k_x[i] = K(x,x)[i, i] of
 * every layer come from a per-input pre-pass (they are the same for every pair an input is in).
 * With state "diagonal" only the pairs (i, i) are held (slab 0: P entries); with "full" every pixel
 * pair (P² entries, the union of all offset slabs slab_δ[i] = M[i, i + δ], stored as M[i·P + j]).
 * Zero padding never maps an out-of-image pixel pair: such a pair is simply absent from the sums.
 *
 * Correlations stay exact for near-duplicate inputs: a conv output is a weighted sum of the q^D
 * shifted pairs (plus the bias), and its gaps are sums of non-negative terms (wave2.md §1.4 item 6):
 * 1 ∓ ρ' = [Lag/(R + s) + Σ_a s_a(1 ∓ ρ_a)]/R with u_a = √P_a, v_a = √Q_a, s_a = u_a·v_a, s = Σ s_a,
 * R = √(ΣP·ΣQ), and the Lagrange term Lag = Σ_{a<b}(u_a v_b − u_b v_a)² = ΣP·Σ_a(v_a − r̄u_a)²,
 * r̄ = s/ΣP (the weighted-variance form of the identity: O(q^D) per entry, and an error in r̄
 * only enters to second order). The residual sum is the same identity with two terms, the flatten
 * readout with P. Local pooling and the gap readout mix pixel pairs of different inputs' pixels and
 * carry ρ itself (not gap-stable).
 */
import { InputError } from '../errors.js';
import { checkImagePair, type Images } from '../images.js';
import { ANTI, BANK_SIZE, GAP, KXX, KZZ, NTK, type KernelProgram, type Op } from '../program/program.js';
import type { SpatialOp, SpatialProgram } from '../program/spatial.js';
import type { Activation } from '../spec/types.js';
import { actGap, type ActOut } from './gap.js';
import type { GramRequest, GramResult } from './gram.js';
import { expOf, ldexp, nngpOf, runOps } from './interpreter.js';
import { MAX_RESULT_ELEMENTS } from './gram.js';

/**
 * Largest pair state a spatial request may hold (bytes): the arrays of one pair (current, the
 * copy kept for the readout of a depth sweep, residual banks) and the pre-pass's per-layer
 * diagonals of every input. A gap readout on 64×64 images needs about 1.6 GB per pair and is refused.
 */
export const MAX_SPATIAL_STATE_BYTES = 2 ** 30;

// ---- geometry ---------------------------------------------------------------------------------

function perAxis(v: number | number[], D: number, what: string): number[] {
  if (typeof v === 'number') return new Array<number>(D).fill(v);
  if (v.length !== D) {
    throw new InputError(`${what} lists ${v.length} axes but the images have ${D} spatial ${D === 1 ? 'axis' : 'axes'}`);
  }
  return v.slice();
}

const show = (dims: readonly number[]) => dims.join('×');

/** Output size of a conv (centres s·I, I < ⌈n/s⌉) with its checks. */
function convDims(op: Extract<SpatialOp, { op: 'conv' }>, dims: number[], label: string): number[] {
  const q = perAxis(op.filter, dims.length, `${label}: filter`);
  const s = perAxis(op.stride, dims.length, `${label}: stride`);
  return dims.map((n, k) => {
    if (q[k]! > n) throw new InputError(`${label}: the filter (${q.join('×')}) is wider than the ${show(dims)} image`);
    if (s[k]! > n) throw new InputError(`${label}: the stride (${s.join('×')}) is larger than the ${show(dims)} image, so no output pixel beyond the first exists`);
    return Math.ceil(n / s[k]!);
  });
}

/** Output size of an average pool (no padding) with its checks. */
function poolDims(op: Extract<SpatialOp, { op: 'pool' }>, dims: number[], label: string): number[] {
  const w = perAxis(op.window, dims.length, `${label}: window`);
  const s = perAxis(op.stride, dims.length, `${label}: stride`);
  return dims.map((n, k) => {
    if (w[k]! > n) throw new InputError(`${label}: the window (${w.join('×')}) is wider than the ${show(dims)} image, so it leaves no output pixel`);
    return Math.floor((n - w[k]!) / s[k]!) + 1;
  });
}

/**
 * Source pixels of each output pixel: table[I·m + a] = flat input pixel read by offset a of output
 * pixel I, or −1 when zero padding puts it outside the image. Cached per op and input size.
 */
const tables = new WeakMap<SpatialOp, Map<string, { table: Int32Array; m: number; out: number[] }>>();

function sourceTable(op: Extract<SpatialOp, { op: 'conv' | 'pool' }>, dims: number[]): { table: Int32Array; m: number; out: number[] } {
  let byDims = tables.get(op);
  if (!byDims) tables.set(op, (byDims = new Map()));
  const key = dims.join(',');
  const hit = byDims.get(key);
  if (hit) return hit;
  const D = dims.length;
  const conv = op.op === 'conv';
  const out = conv ? convDims(op, dims, 'conv') : poolDims(op, dims, 'avgPool');
  const width = perAxis(conv ? op.filter : op.window, D, '');
  const stride = perAxis(op.stride, D, '');
  // Offsets per axis: −r..r for a centred filter, 0..w−1 for a pooling window.
  const offs = width.map((q) => Array.from({ length: q }, (_, a) => (conv ? a - (q - 1) / 2 : a)));
  const m = width.reduce((a, b) => a * b, 1);
  const Pout = out.reduce((a, b) => a * b, 1);
  const table = new Int32Array(Pout * m);
  const coord = new Array<number>(D).fill(0);
  for (let I = 0; I < Pout; I++) {
    let rest = I;
    for (let k = D - 1; k >= 0; k--) {
      coord[k] = rest % out[k]!;
      rest = Math.floor(rest / out[k]!);
    }
    for (let a = 0; a < m; a++) {
      let restA = a;
      let flat = 0;
      let valid = true;
      for (let k = 0; k < D; k++) {
        const stridePart = Math.floor(restA / offs.slice(k + 1).reduce((x, o) => x * o.length, 1));
        restA -= stridePart * offs.slice(k + 1).reduce((x, o) => x * o.length, 1);
        let src = stride[k]! * coord[k]! + offs[k]![stridePart]!;
        const n = dims[k]!;
        if (conv && op.padding === 'circular') src = ((src % n) + n) % n;
        else if (src < 0 || src >= n) valid = false;
        flat = flat * n + src;
      }
      table[I * m + a] = valid ? flat : -1;
    }
  }
  const entry = { table, m, out };
  byDims.set(key, entry);
  return entry;
}

/** The flat index of the eq readout's pixel, checked against the output size. */
function eqPixel(pixel: number[] | undefined, dims: number[]): number {
  if (!pixel) return 0;
  if (pixel.length !== dims.length) {
    throw new InputError(`the eq readout's pixel [${pixel.join(', ')}] has ${pixel.length} coordinates but the representation is ${dims.length}-D (${show(dims)})`);
  }
  let flat = 0;
  pixel.forEach((p, k) => {
    if (p >= dims[k]!) throw new InputError(`the eq readout's pixel [${pixel.join(', ')}] is outside the ${show(dims)} output`);
    flat = flat * dims[k]! + p;
  });
  return flat;
}

// ---- the op sequence ---------------------------------------------------------------------------

/** What runs the op sequence: the geometry check, the per-input pre-pass and the pair executor. */
interface Machine {
  op(op: SpatialOp): void;
  /** Before the ops after the depth loop: keep the state of this depth. */
  tapBegin(): void;
  /** The readout (and vector tail) of sweep entry `tap`. */
  readout(tap: number): void;
  /** Back to the kept state, for the next depth. */
  tapEnd(): void;
}

/** Runs the ops in the one order every machine (and the pre-pass cursor) relies on. */
function drive(p: SpatialProgram, allDepths: boolean, m: Machine): void {
  for (const op of p.prefix) m.op(op);
  const tap = (t: number) => {
    m.tapBegin();
    for (const op of p.suffix) m.op(op);
    m.readout(t);
    m.tapEnd();
  };
  if (!p.sweep) {
    tap(0);
    return;
  }
  if (allDepths) tap(0);
  for (let i = 0; i < p.sweep.count; i++) {
    for (const op of p.sweep.body) m.op(op);
    if (allDepths) tap(i + 1);
  }
  if (!allDepths) tap(p.sweep.count);
}

/** Dry run over the geometry: every size check before any work, and the state size. */
class GeometryMachine implements Machine {
  dims: number[];
  maxPixels: number;
  /** Pixels summed over every op executed (the pre-pass keeps one diagonal per op). */
  diagonalValues = 0;
  private banks: number[][] = [];
  private kept: number[] = [];
  private n = 0;
  constructor(private readonly p: SpatialProgram, dims: number[]) {
    this.dims = dims.slice();
    this.maxPixels = pixels(dims);
  }
  op(op: SpatialOp): void {
    this.n++;
    const label = `layer ${this.n} (${op.op === 'pool' ? 'avgPool' : op.op})`;
    switch (op.op) {
      case 'conv':
        this.dims = convDims(op, this.dims, label);
        break;
      case 'pool':
        this.dims = poolDims(op, this.dims, label);
        break;
      case 'save':
        this.banks[op.bank] = this.dims.slice();
        break;
      case 'mix': {
        const skip = this.banks[op.bank]!;
        if (skip.length !== this.dims.length || skip.some((d, k) => d !== this.dims[k])) {
          throw new InputError(`${label}: a residual branch turns the ${show(skip)} representation into ${show(this.dims)}; the skip and the branch must have the same size`);
        }
        break;
      }
      case 'act':
        break;
    }
    this.maxPixels = Math.max(this.maxPixels, pixels(this.dims));
    this.diagonalValues += pixels(this.dims);
  }
  tapBegin(): void {
    this.kept = this.dims.slice();
  }
  readout(): void {
    if (this.p.readout.type === 'eq') eqPixel(this.p.readout.pixel, this.dims);
  }
  tapEnd(): void {
    this.dims = this.kept;
  }
}

const pixels = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Bytes one pair's state needs (see MAX_SPATIAL_STATE_BYTES), from the geometry dry run. */
function pairStateBytes(p: SpatialProgram, g: GeometryMachine): number {
  const entries = p.state === 'full' ? g.maxPixels * g.maxPixels : g.maxPixels;
  // g, h, Θ per entry; the current state, its next value, the tap copy and one per residual bank.
  return 3 * 8 * entries * (p.banks + 3);
}

// ---- per-input pre-pass and per-pair state ------------------------------------------------------

/** One input's per-layer diagonals, in the order `drive` runs the ops. */
interface Side {
  images: Images;
  /** Image index within `images`. */
  index: number;
  /** Diagonal of the input covariance, and its square roots. */
  diag0: Float64Array;
  sqrt0: Float64Array;
  /** Unit channel vector of every pixel (pixel-major), for the exact first-layer gaps. */
  unit: Float64Array;
  diags: Float64Array[];
  sqrts: Float64Array[];
  /** R(K(x, x)) of the readout, per tap. */
  readouts: number[];
}

interface PairState {
  dims: number[];
  P: number;
  g: Float64Array;
  h: Float64Array;
  t: Float64Array;
  dx: Float64Array;
  dz: Float64Array;
  sx: Float64Array;
  sz: Float64Array;
}

const scratch: ActOut = { kxx: 0, kzz: 0, g: 0, h: 0, sdot: 0 };

/** The one call site of the activation's gap form (the activation registry replaces actGap). */
function activation(act: Activation, kx: number, kz: number, g: number, h: number): ActOut {
  actGap(act, kx, kz, g, h, scratch);
  return scratch;
}

function copyState(s: PairState): PairState {
  return { ...s, dims: s.dims.slice(), g: s.g.slice(), h: s.h.slice(), t: s.t.slice() };
}

/** The per-op constants of a conv layer's entries (see convEntry). */
interface ConvTerms {
  m: number;
  table: Int32Array;
  ux: Float64Array;
  vz: Float64Array;
  Pin: number;
  b: number;
  sb: number;
  w: number;
  trainable: boolean;
}

/**
 * One conv output entry (I, J): the q^D shifted pairs and the bias, summed in the gap form.
 * U and V are the output diagonals k_x[I], k_z[J] (the same sums, done once per pixel).
 */
function convEntry(c: ConvTerms, I: number, J: number, U: number, V: number, full: boolean, s: PairState, G: Float64Array, H: Float64Array, T: Float64Array, e: number): void {
  const { m, table, ux, vz, Pin, b } = c;
  const { g, h, t } = s;
  const oi = I * m;
  const oj = J * m;
  let sum = b;
  let sg = 0;
  let sh = 2 * b;
  let st = 0;
  for (let a = 0; a < m; a++) {
    const si = table[oi + a]!;
    const sj = table[oj + a]!;
    if (si >= 0 && sj >= 0) {
      const src = full ? si * Pin + sj : si;
      const sa = ux[oi + a]! * vz[oj + a]!;
      sum += sa;
      sg += sa * g[src]!;
      sh += sa * h[src]!;
      st += t[src]!;
    }
  }
  const R = Math.sqrt(U) * Math.sqrt(V);
  if (R > 0) {
    const r = sum / U;
    let lag = 0;
    for (let a = 0; a < m; a++) {
      const dv = vz[oj + a]! - r * ux[oi + a]!;
      lag += dv * dv;
    }
    const db = c.sb - r * c.sb;
    lag = (U * (lag + db * db)) / (R + sum);
    G[e] = Math.min(2, (lag + sg) / R);
    H[e] = Math.min(2, (lag + sh) / R);
  } else {
    G[e] = 1;
    H[e] = 1;
  }
  T[e] = c.w * st + (c.trainable ? 0.5 * (sh - sg) : 0);
}

/**
 * Runs the ops on one pair. With `build`, x and z are the same side and its diagonals are computed
 * (and appended) op by op: the pre-pass is this machine on the pair (x, x); the full state is
 * kept only where pooling or a gap readout needs the off-diagonal pairs of (x, x).
 */
class PairMachine implements Machine {
  private s: PairState;
  private banks: PairState[] = [];
  private kept: PairState | null = null;
  private cursor = 0;
  private tapCursor = 0;
  private readonly full: boolean;
  private readonly track: boolean;
  constructor(
    private readonly p: SpatialProgram,
    private readonly x: Side,
    private readonly z: Side,
    dims: number[],
    private readonly build: boolean,
    private readonly onReadout: (tap: number, kx: number, kz: number, g: number, h: number, t: number) => void,
  ) {
    this.full = p.state === 'full';
    this.track = !build || this.full;
    const P = pixels(dims);
    const n = this.track ? (this.full ? P * P : P) : 0;
    this.s = {
      dims: dims.slice(),
      P,
      g: new Float64Array(n),
      h: new Float64Array(n),
      t: new Float64Array(n),
      dx: x.diag0,
      dz: z.diag0,
      sx: x.sqrt0,
      sz: z.sqrt0,
    };
    if (this.track) this.init();
  }

  /** First-layer gaps from the chords ‖x̂_i ∓ ẑ_j‖²/2 (no cancellation), Θ0 = 0. */
  private init(): void {
    const { P, g, h } = this.s;
    const C = this.x.images.channels;
    const ux = this.x.unit;
    const uz = this.z.unit;
    const cols = this.full ? P : 1;
    for (let i = 0; i < P; i++) {
      for (let jj = 0; jj < cols; jj++) {
        const j = this.full ? jj : i;
        const e = this.full ? i * P + j : i;
        if (!(this.s.dx[i]! > 0 && this.s.dz[j]! > 0)) {
          g[e] = 1;
          h[e] = 1;
          continue;
        }
        let cm = 0;
        let cp = 0;
        for (let c = 0; c < C; c++) {
          const a = ux[i * C + c]!;
          const b = uz[j * C + c]!;
          cm += (a - b) * (a - b);
          cp += (a + b) * (a + b);
        }
        g[e] = Math.min(2, 0.5 * cm);
        h[e] = Math.min(2, 0.5 * cp);
      }
    }
  }

  /** The diagonals after the current op: computed (build) or read from the pre-pass. */
  private next(compute: () => Float64Array): { dx: Float64Array; dz: Float64Array; sx: Float64Array; sz: Float64Array } {
    const at = this.cursor++;
    if (this.build) {
      const d = compute();
      for (let i = 0; i < d.length; i++) {
        if (!Number.isFinite(d[i]!)) {
          throw new InputError('the kernel overflows float64 inside the network: reduce the depth, the variances or α, or rescale the inputs');
        }
      }
      this.x.diags.push(d);
      this.x.sqrts.push(d.map(Math.sqrt));
    }
    return { dx: this.x.diags[at]!, dz: this.z.diags[at]!, sx: this.x.sqrts[at]!, sz: this.z.sqrts[at]! };
  }

  op(op: SpatialOp): void {
    switch (op.op) {
      case 'conv':
        return this.conv(op);
      case 'act':
        return this.act(op.act);
      case 'pool':
        return this.pool(op);
      case 'save': {
        const d = this.next(() => this.s.dx);
        this.banks[op.bank] = this.track ? copyState(this.s) : { ...this.s };
        Object.assign(this.s, d);
        return;
      }
      case 'mix':
        return this.mix(this.banks[op.bank]!, op.skip, op.branch);
    }
  }

  private conv(op: Extract<SpatialOp, { op: 'conv' }>): void {
    const { table, m, out } = sourceTable(op, this.s.dims);
    const Pin = this.s.P;
    const Pout = pixels(out);
    const w = op.weightVar / m;
    const cw = Math.sqrt(w);
    const b = op.biasVar;
    const sb = Math.sqrt(b);
    const { dx, dz, sx, sz } = this.s;
    const d = this.next(() => {
      const o = new Float64Array(Pout);
      for (let I = 0; I < Pout; I++) {
        let U = 0;
        for (let a = 0; a < m; a++) {
          const si = table[I * m + a]!;
          U += si >= 0 ? w * dx[si]! : 0;
        }
        o[I] = U + b;
      }
      return o;
    });
    if (!this.track) {
      this.s = { ...this.s, dims: out, P: Pout, ...d };
      return;
    }
    // Per output pixel: each offset's √P_a (x side) and √Q_a (z side), zero outside the image.
    const ux = new Float64Array(Pout * m);
    const vz = new Float64Array(Pout * m);
    for (let k = 0; k < Pout * m; k++) {
      const src = table[k]!;
      ux[k] = src >= 0 ? cw * sx[src]! : 0;
      vz[k] = src >= 0 ? cw * sz[src]! : 0;
    }
    const n = this.full ? Pout * Pout : Pout;
    const G = new Float64Array(n);
    const H = new Float64Array(n);
    const T = new Float64Array(n);
    const terms: ConvTerms = { m, table, ux, vz, Pin, b, sb, w, trainable: op.trainable };
    if (this.full) {
      for (let I = 0; I < Pout; I++) {
        for (let J = 0; J < Pout; J++) convEntry(terms, I, J, d.dx[I]!, d.dz[J]!, true, this.s, G, H, T, I * Pout + J);
      }
    } else {
      for (let I = 0; I < Pout; I++) convEntry(terms, I, I, d.dx[I]!, d.dz[I]!, false, this.s, G, H, T, I);
    }
    this.s = { dims: out, P: Pout, g: G, h: H, t: T, ...d };
  }

  private act(act: Activation): void {
    const { dx, dz } = this.s;
    const d = this.next(() => dx.map((k) => activation(act, k, k, 0, 2).kxx));
    if (this.track) {
      const { g, h, t, P } = this.s;
      const cols = this.full ? P : 1;
      for (let i = 0; i < P; i++) {
        for (let jj = 0; jj < cols; jj++) {
          const j = this.full ? jj : i;
          const e = this.full ? i * P + j : i;
          const o = activation(act, dx[i]!, dz[j]!, g[e]!, h[e]!);
          g[e] = o.g;
          h[e] = o.h;
          t[e] = o.sdot * t[e]!;
        }
      }
    }
    Object.assign(this.s, d);
  }

  /** Residual sum β²·skip + α²·branch per pixel pair (the two-term Lagrange identity). */
  private mix(skip: PairState, cs: number, cb: number): void {
    const cur = this.s;
    const d = this.next(() => {
      const o = new Float64Array(cur.P);
      for (let i = 0; i < cur.P; i++) o[i] = cs * skip.dx[i]! + cb * cur.dx[i]!;
      return o;
    });
    if (this.track) {
      const P = cur.P;
      const cols = this.full ? P : 1;
      for (let i = 0; i < P; i++) {
        for (let jj = 0; jj < cols; jj++) {
          const j = this.full ? jj : i;
          const e = this.full ? i * P + j : i;
          const P1 = cs * skip.dx[i]!;
          const Q1 = cs * skip.dz[j]!;
          const P2 = cb * cur.dx[i]!;
          const Q2 = cb * cur.dz[j]!;
          const s1 = Math.sqrt(P1) * Math.sqrt(Q1);
          const s2 = Math.sqrt(P2) * Math.sqrt(Q2);
          const R = Math.sqrt(P1 + P2) * Math.sqrt(Q1 + Q2);
          let g = 1;
          let h = 1;
          if (R > 0) {
            const l = Math.sqrt(P1) * Math.sqrt(Q2) - Math.sqrt(P2) * Math.sqrt(Q1);
            const lag = (l * l) / (R + s1 + s2);
            g = Math.min(2, (lag + s1 * skip.g[e]! + s2 * cur.g[e]!) / R);
            h = Math.min(2, (lag + s1 * skip.h[e]! + s2 * cur.h[e]!) / R);
          }
          cur.g[e] = g;
          cur.h[e] = h;
          cur.t[e] = cs * skip.t[e]! + cb * cur.t[e]!;
        }
      }
    }
    Object.assign(cur, d);
  }

  /** Average pooling (full state only): K and Θ averaged over the doubled window; ρ carried as is. */
  private pool(op: Extract<SpatialOp, { op: 'pool' }>): void {
    const { table, m, out } = sourceTable(op, this.s.dims);
    const { g, h, t, dx, dz, P: Pin } = this.s;
    const Pout = pixels(out);
    const c = 1 / (m * m);
    const K = new Float64Array(Pout * Pout);
    const T = new Float64Array(Pout * Pout);
    for (let I = 0; I < Pout; I++) {
      for (let J = 0; J < Pout; J++) {
        let k = 0;
        let th = 0;
        for (let a = 0; a < m; a++) {
          const si = table[I * m + a]!;
          for (let b = 0; b < m; b++) {
            const sj = table[J * m + b]!;
            const e = si * Pin + sj;
            k += 0.5 * (h[e]! - g[e]!) * Math.sqrt(dx[si]! * dz[sj]!);
            th += t[e]!;
          }
        }
        K[I * Pout + J] = c * k;
        T[I * Pout + J] = c * th;
      }
    }
    // The pooled diagonal of (x, x) is the diagonal of this very state in the pre-pass.
    const d = this.next(() => Float64Array.from({ length: Pout }, (_, I) => K[I * Pout + I]!));
    const G = new Float64Array(Pout * Pout);
    const H = new Float64Array(Pout * Pout);
    const same = this.x === this.z;
    for (let I = 0; I < Pout; I++) {
      for (let J = 0; J < Pout; J++) {
        const e = I * Pout + J;
        const R = Math.sqrt(d.dx[I]!) * Math.sqrt(d.dz[J]!);
        const rho = R > 0 ? Math.max(-1, Math.min(1, K[e]! / R)) : 0;
        G[e] = same && I === J ? 0 : 1 - rho;
        H[e] = same && I === J ? 2 : 1 + rho;
      }
    }
    this.s = { dims: out, P: Pout, g: G, h: H, t: T, ...d };
  }

  tapBegin(): void {
    this.kept = this.track ? copyState(this.s) : { ...this.s };
  }

  tapEnd(): void {
    this.s = this.kept!;
  }

  readout(tap: number): void {
    const { P, dx, dz, g, h, t } = this.s;
    const type = this.p.readout.type;
    if (this.build) {
      let v: number;
      if (type === 'eq') v = dx[eqPixel(this.p.readout.pixel, this.s.dims)]!;
      else if (type === 'flatten') {
        v = 0;
        for (let i = 0; i < P; i++) v += dx[i]! / P;
      } else {
        v = 0;
        for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) v += 0.5 * (h[i * P + j]! - g[i * P + j]!) * Math.sqrt(dx[i]! * dx[j]!);
        v /= P * P;
      }
      this.x.readouts.push(v);
      return;
    }
    const kx = this.x.readouts[this.tapCursor]!;
    const kz = this.z.readouts[this.tapCursor]!;
    this.tapCursor++;
    const diag = (i: number) => (this.full ? i * P + i : i);
    if (type === 'eq') {
      const e = diag(eqPixel(this.p.readout.pixel, this.s.dims));
      this.onReadout(tap, kx, kz, g[e]!, h[e]!, t[e]!);
      return;
    }
    if (type === 'flatten') {
      // Σ_i of the pairs (i, i) with weights 1/P: the Lagrange form with P terms.
      let s = 0;
      let sg = 0;
      let sh = 0;
      let st = 0;
      let U = 0;
      for (let i = 0; i < P; i++) {
        const sa = Math.sqrt(dx[i]! / P) * Math.sqrt(dz[i]! / P);
        s += sa;
        sg += sa * g[diag(i)]!;
        sh += sa * h[diag(i)]!;
        st += t[diag(i)]! / P;
        U += dx[i]! / P;
      }
      const R = Math.sqrt(kx) * Math.sqrt(kz);
      let G = 1;
      let H = 1;
      if (R > 0) {
        const r = s / U;
        let lag = 0;
        for (let i = 0; i < P; i++) {
          const dv = Math.sqrt(dz[i]! / P) - r * Math.sqrt(dx[i]! / P);
          lag += dv * dv;
        }
        lag = (U * lag) / (R + s);
        G = Math.min(2, (lag + sg) / R);
        H = Math.min(2, (lag + sh) / R);
      }
      this.onReadout(tap, kx, kz, G, H, st);
      return;
    }
    // gap: the mean over all pixel pairs; ρ from the pooled values.
    let k = 0;
    let th = 0;
    for (let i = 0; i < P; i++) {
      for (let j = 0; j < P; j++) {
        const e = i * P + j;
        k += 0.5 * (h[e]! - g[e]!) * Math.sqrt(dx[i]! * dz[j]!);
        th += t[e]!;
      }
    }
    k /= P * P;
    th /= P * P;
    const same = this.x === this.z;
    const R = Math.sqrt(kx) * Math.sqrt(kz);
    const rho = R > 0 ? Math.max(-1, Math.min(1, k / R)) : 0;
    this.onReadout(tap, kx, kz, same ? 0 : 1 - rho, same ? 2 : 1 + rho, th);
  }
}

// ---- the vector tail ----------------------------------------------------------------------------

function runSteps(p: KernelProgram, s: Float64Array): void {
  for (const step of p.prefix) {
    if (step.kind === 'ops') runOps(step.ops, s, 0);
    else for (let i = 0; i < step.count; i++) runOps(step.body, s, i);
  }
}

/** Runs the FC tail from the readout's pooled state; onTap per depth of the tail's own sweep. */
function runTail(
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

function prepareSide(p: SpatialProgram, images: Images, index: number, allDepths: boolean): Side {
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
