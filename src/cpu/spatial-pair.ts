/**
 * The pixel-pair state of one input pair (x, z) and the machine that runs a spatial program's ops
 * on it; the same machine on the pair (x, x) is the per-input pre-pass.
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
import type { Images } from '../images.js';
import type { SpatialOp, SpatialProgram } from '../program/spatial.js';
import type { Activation } from '../spec/types.js';
import { actGap, type ActOut } from '../activations/registry.js';
import { eqPixel, pixels, sourceTable, type Machine } from './spatial-geometry.js';

/** One input's per-layer diagonals, in the order `drive` runs the ops. */
export interface Side {
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
 * A gap 1 ∓ ρ from its Lagrange form: at most 2, beyond it only by rounding (then 2). Anything
 * not finite is an overflow of the kernel, an error, never a value (min(2, ∞) used to give ρ = 0).
 */
function gapOf(v: number): number {
  if (v <= 2) return v;
  if (Number.isFinite(v)) return 2;
  throw new InputError('the kernel overflows float64 inside the network: reduce the depth, the variances or α, or rescale the inputs');
}

/** ρ = K/R of a pooled value: within [−1, 1] but for rounding; an overflowed K or R is an error. */
function pooledRho(k: number, R: number): number {
  if (!Number.isFinite(k) || !Number.isFinite(R)) gapOf(Infinity);
  return R > 0 ? Math.max(-1, Math.min(1, k / R)) : 0;
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
    // U/(R + sum) first: U·lag would overflow where the kernel passes 1e154.
    lag = (U / (R + sum)) * (lag + db * db);
    G[e] = gapOf((lag + sg) / R);
    H[e] = gapOf((lag + sh) / R);
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
export class PairMachine implements Machine {
  private s: PairState;
  private banks: PairState[] = [];
  private kept: PairState | null = null;
  private cursor = 0;
  private tapCursor = 0;
  private readonly full: boolean;
  private readonly track: boolean;
  /** The activation's output, reused per entry (owned by this machine: no state shared between runs). */
  private readonly out: ActOut = { kxx: 0, kzz: 0, g: 0, h: 0, sdot: 0 };
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
    const d = this.next(() => dx.map((k) => this.activation(act, k, k, 0, 2).kxx));
    if (this.track) {
      const { g, h, t, P } = this.s;
      const cols = this.full ? P : 1;
      for (let i = 0; i < P; i++) {
        for (let jj = 0; jj < cols; jj++) {
          const j = this.full ? jj : i;
          const e = this.full ? i * P + j : i;
          const o = this.activation(act, dx[i]!, dz[j]!, g[e]!, h[e]!);
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
            const lag = l * (l / (R + s1 + s2));
            g = gapOf((lag + s1 * skip.g[e]! + s2 * cur.g[e]!) / R);
            h = gapOf((lag + s1 * skip.h[e]! + s2 * cur.h[e]!) / R);
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
            k += 0.5 * (h[e]! - g[e]!) * (Math.sqrt(dx[si]!) * Math.sqrt(dz[sj]!));
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
        const rho = pooledRho(K[e]!, R);
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

  /** The one call site of the activation's gap form. */
  private activation(act: Activation, kx: number, kz: number, g: number, h: number): ActOut {
    actGap(act, kx, kz, g, h, this.out);
    return this.out;
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
        for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) v += 0.5 * (h[i * P + j]! - g[i * P + j]!) * (Math.sqrt(dx[i]!) * Math.sqrt(dx[j]!));
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
        lag = (U / (R + s)) * lag;
        G = gapOf((lag + sg) / R);
        H = gapOf((lag + sh) / R);
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
        k += 0.5 * (h[e]! - g[e]!) * (Math.sqrt(dx[i]!) * Math.sqrt(dz[j]!));
        th += t[e]!;
      }
    }
    k /= P * P;
    th /= P * P;
    const same = this.x === this.z;
    const R = Math.sqrt(kx) * Math.sqrt(kz);
    const rho = pooledRho(k, R);
    this.onReadout(tap, kx, kz, same ? 0 : 1 - rho, same ? 2 : 1 + rho, th);
  }
}

