// Convolutional kernels: one workgroup runs one offset slab of one input pair (x, z) through the
// whole network (wave2.md §1.4). The slab with offset δ holds the pixel pairs (i, i + δ) of K and Θ;
// conv, activations and residual sums never mix slabs, so with stride 1 a slab evolves on its own,
// reading only the per-pixel diagonals k_x[i] and k_z[i + δ] of the layer (from the float64
// pre-ph, src/exec/spatial-webgpu.ts). eq and flatten need slab 0 only; gap needs every slab,
// each writing its partial sums (summed on the host in float64: no float atomics).
//
// Per entry the state is the signed correlation gap q (kernel_ops.wgsl: 1 − ρ, or −(1 + ρ) on the
// ρ < 0 side) and Θ as a double-single (hi, lo), in units of 2^E, E the layer's exact power-of-two
// scale chosen on the host (the diagonals arrive scaled by the same 2^−E). A conv entry is the
// Lagrange gap form of src/cpu/spatial-pair.ts (convEntry): no cancellation near ρ = ±1.
//
// With avgPool the records are split into segments (src/exec/spatial-plan.ts), one dispatch each on
// its own rectangle of slab offsets (CP.lo0/lo1/cnt1): OP_STORE ends a segment that a pool follows
// (its slabs' states to `state`), OP_LOAD begins the next (the pooled states, conv_pool.wgsl).
// The ops whose gap a pool reads, or a gap readout in a program with a pool or a nonlinearity after
// the readout, carry it in double-single (word 23 of their records, src/exec/spatial-plan.ts
// markPrecise; ds_gaps.wgsl): init, conv and ReLU compute its low part, the state keeps it
// (PRECISE: some op does), the copies pass it on and the other ops reset it to 0.
//
// The ops come as records in `ops` (an interpreter: one pipeline per structure, depth 1000 is
// data). Prepended by src/gpu/conv.ts: struct Bank, kernel_ops.wgsl, ds_gaps.wgsl, the activations' WGSL,
// the constants MAXP (entries of the largest slab), WG (threads sharing a slab, a power of two),
// PER (entries per thread), SLOTS (current state, residual banks, the copy kept for the depth
// taps), PRECISE, GAP_BAD (a gap readout's output for a
// bad pair: src/gpu/conv.ts CONV_GAP_BAD), fn act_call(c, bank) (the program's
// activations by case number), TAPS_UNROLLED and fn conv_taps (a conv entry's taps, unrolled for the
// plan's filter sizes), fn run_op (a switch over the plan's op kinds that this shader runs).
// Appended: conv_slab_ds.wgsl (the double-single gap paths) or, unless PRECISE, its stubs
// (conv_slab_ds_off.wgsl), and one of three layouts, which hold the state behind gq/gq2/gt (read an entry's q, q as hi + lo, and Θ),
// put (write both, q as hi + lo),
// put_conv and conv_done (a conv's output), cq/cq2/ct (a conv tap's read of its input entry) with
// TILED and conv_tile (the global layout's halo tiles; stubs elsewhere), and declare red, total,
// sync(), the bad-pair flag and main:
//   conv_slab_workgroup.wgsl — WG threads of a workgroup share one slab in workgroup memory (GPUs);
//   conv_slab_lanes.wgsl — one invocation runs one whole slab in private memory, WG = 1 (CPU
//     adapters, where a barrier is an invocation switch and workgroup memory is ordinary memory);
//     both with conv_slab_resident.wgsl (the accessors of a resident slab);
//   conv_slab_global.wgsl — slabs above the workgroup-memory limit: the state in `state` (two
//     halves that a conv ping-pongs between), one dispatch per layer (conv_slab_layer.wgsl: one
//     invocation per entry) and one per readout (conv_slab_readout.wgsl: a workgroup per slab).

struct ConvParams {
  pairCount: u32,
  slabs: u32,        // slabs of this segment (per pair)
  taps: u32,
  opStart: u32,      // this segment's op records: [opStart, opEnd)
  opEnd: u32,
  perInput: u32,     // diagonal words per input (every op's diagonal, in op order)
  channels: u32,
  pixels0: u32,      // input pixels (unit vectors per input: pixels0 · channels)
  wrap: u32,         // 1: slab offsets δ mod n (a gap readout's circular partition); 0: masked, no wrap-around
  lo0: i32,          // the slab offsets at the segment's end grid: lo + (slab / cnt1, slab % cnt1)
  lo1: i32,
  cnt1: u32,
  loadBase: u32,     // vec4 index in `state` where OP_LOAD reads and OP_STORE writes (src/gpu/conv.ts)
  storeBase: u32,
  sdiagLo: u32,      // where the low parts of the diagonals' roots start in sdiag
  one: f32,          // 1.0, opaque to the compiler (kernel_ops.wgsl: keep)
  // The global layout only (conv_slab_global.wgsl): which half holds the current state, where the
  // slab states and the per-pair bad flags start in `state` (vec4 index), and the dispatch's batch
  // of slabs of each pair, [slab0, slab0 + batch), where one pair's slabs exceed a buffer.
  parity: u32,
  slabBase: u32,
  flagBase: u32,
  slab0: u32,
  batch: u32,
  // The lanes layout with PAIR_BLOCKS (conv_slab_lanes.wgsl): workgroups per pair, ⌈slabs / LANES⌉.
  blocks: u32,
  // The global layout's layer dispatch in halo tiles (conv_slab_layer.wgsl; tilesSlab 0: entries in
  // runs of ITEMS instead): tiles of (ITEMS / tile1) × tile1 entries of the step's grid (grid0, grid1),
  // tilesRow per row of tiles, tilesSlab per slab.
  tile1: u32,
  tilesRow: u32,
  tilesSlab: u32,
  grid0: u32,
  grid1: u32,
}

@group(0) @binding(0) var<uniform> CP: ConvParams;
@group(0) @binding(1) var<storage, read> ops: array<u32>;
@group(0) @binding(2) var<storage, read> diag: array<f32>;
@group(0) @binding(3) var<storage, read> sdiag: array<f32>;
@group(0) @binding(4) var<storage, read> unit: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read> pairs: array<vec2<u32>>;
@group(0) @binding(6) var<storage, read_write> outv: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> coef: array<u32>;
// Per (pair, slab, entry): (q, Θ hi, Θ lo, bad-pair flag) of a segment that an avgPool ends or begins.
@group(0) @binding(8) var<storage, read_write> state: array<vec4<f32>>;

fn cf(k: u32) -> f32 { return bitcast<f32>(coef[k]); }

// Every binding, used statically: each main calls this first, so that the automatic layout keeps
// them all (one bind group for every shader of a plan) whichever ops run_op leaves out.
fn use_bindings() {
  _ = &ops;
  _ = &diag;
  _ = &sdiag;
  _ = &unit;
  _ = &pairs;
  _ = &outv;
  _ = &coef;
  _ = &state;
}

// Op records (src/exec/spatial-plan.ts writes them): REC words each.
const REC: u32 = 28u;
// Word 0 of a record is its op kind (src/gpu/conv.ts CONV_OP), on which run_op switches.

// Whether the op at record o carries the gap in double-single (a pool or a gap readout reads it).
fn in_ds(o: u32) -> bool {
  return PRECISE && ops[o + 23u] != 0u;
}

// How many of n entries thread lid runs (lid, lid + WG, …): a run-time bound for the loops around
// the double-single code, which the compiler cannot unroll (on lavapipe, one unrolled copy per entry
// took a minute to compile).
fn entries_of(n: u32, lid: u32) -> u32 {
  return select(0u, (n + WG - 1u - lid) / WG, lid < n);
}

// Per workgroup: the pair's diagonal bases and the final slab offset.
var<private> xb: u32;
var<private> zb: u32;
var<private> xu: u32;
var<private> zu: u32;
var<private> df0: i32;
var<private> df1: i32;
// Whether the pair is (x, x): its pixel pairs (i, i) have ρ = 1 exactly.
var<private> same: bool;

fn rf(o: u32) -> f32 { return bitcast<f32>(ops[o]); }
fn ri(o: u32) -> i32 { return bitcast<i32>(ops[o]); }

// a mod n for a ∈ [−n, 2n): offsets never exceed the image (filters and slab offsets are smaller),
// and a vector integer modulo is costly on CPU adapters (lavapipe scalarises it).
fn wrap(a: i32, n: i32) -> i32 {
  return select(select(a, a - n, a >= n), a + n, a < 0);
}

// The input pixels under tap (a0, a1) of a conv for output pixel (I0, I1) of x and (J0, J1) of z:
// their flat indices (wrapped for circular padding) and whether each lies inside the image.
struct TapPair {
  xi: i32,
  zi: i32,
  xv: bool,
  zv: bool,
}

fn tap_pair(I0: i32, I1: i32, J0: i32, J1: i32, a0: i32, a1: i32, n0: i32, n1: i32, zero: bool) -> TapPair {
  var x0 = I0 + a0;
  var x1 = I1 + a1;
  var z0 = J0 + a0;
  var z1 = J1 + a1;
  if (!zero) {
    x0 = wrap(x0, n0);
    x1 = wrap(x1, n1);
    z0 = wrap(z0, n0);
    z1 = wrap(z1, n1);
  }
  let xv = x0 >= 0 && x0 < n0 && x1 >= 0 && x1 < n1;
  let zv = z0 >= 0 && z0 < n0 && z1 >= 0 && z1 < n1;
  return TapPair(x0 * n1 + x1, z0 * n1 + z1, xv, zv);
}

// a / b for a < 2^23, b ≥ 1, with no integer division: LLVM has no vector integer division, so on
// lavapipe every lane divided on its own (x86 div, 8 per SIMD batch, per entry). The float quotient
// is within one of the integer's there, and the correction makes it exact.
fn div_u(a: u32, b: u32) -> u32 {
  var q = u32(f32(a) / f32(b));
  if (q * b > a) { q -= 1u; } else if ((q + 1u) * b <= a) { q += 1u; }
  return q;
}

// The partner j of entry i at dims (n0, n1) in the slab with offset (d0, d1): its flat index, or −1
// when it lies outside the image (masked slabs only).
fn partner(i: u32, n0: u32, n1: u32, d0: i32, d1: i32) -> i32 {
  if (d0 == 0 && d1 == 0) { return i32(i); }
  let a = i32(n0);
  let b = i32(n1);
  let i0 = div_u(i, n1);
  var j0 = i32(i0) + d0;
  var j1 = i32(i - i0 * n1) + d1;
  if (CP.wrap != 0u) {
    j0 = wrap(j0, a);
    j1 = wrap(j1, b);
  } else if (j0 < 0 || j0 >= a || j1 < 0 || j1 >= b) {
    return -1;
  }
  return j0 * b + j1;
}

// Record fields shared by every op.
struct Head {
  in0: u32,
  in1: u32,
  out0: u32,
  out1: u32,
  din: u32,
  dout: u32,
  ein: i32,
  eout: i32,
  // slab offsets at the input and the output dims
  di0: i32,
  di1: i32,
  do0: i32,
  do1: i32,
}

fn head(o: u32) -> Head {
  return Head(ops[o + 1u], ops[o + 2u], ops[o + 3u], ops[o + 4u], ops[o + 5u], ops[o + 6u], ri(o + 7u), ri(o + 8u),
    ri(o + 9u) * df0, ri(o + 10u) * df1, ri(o + 11u) * df0, ri(o + 12u) * df1);
}

fn scaled(t: vec2<f32>, k: i32) -> vec2<f32> {
  return vec2<f32>(ldexp(t.x, k), ldexp(t.y, k));
}

// Layer 0: K0[i, j] = x_i·z_j/C as gaps from the chords ‖x̂_i ∓ ẑ_j‖²/2 of unit vectors (hi + lo), Θ0 = 0.
fn op_init(o: u32, lid: u32) {
  let h = head(o);
  let n = h.out0 * h.out1;
  let C = CP.channels;
  for (var r = 0u; r < PER; r++) {
    let e = lid + r * WG;
    if (e >= n) { break; }
    let j = partner(e, h.out0, h.out1, h.do0, h.do1);
    var q = vec2<f32>(1.0, 0.0);
    if (j >= 0 && diag[xb + h.dout + e] > 0.0 && diag[zb + h.dout + u32(j)] > 0.0) {
      if (in_ds(o)) {
        q = init_gap_ds(e, u32(j));
      } else {
        var cm = 0.0;
        var cp = 0.0;
        for (var c = 0u; c < C; c++) {
          let a = unit[xu + e * C + c];
          let b = unit[zu + u32(j) * C + c];
          let dm = (a.x - b.x) + (a.y - b.y);
          let dp = (a.x + b.x) + (a.y + b.y);
          cm += dm * dm;
          cp += dp * dp;
        }
        q.x = make_q(min(0.5 * cm, 2.0), min(0.5 * cp, 2.0));
      }
    }
    put(e, q, vec2<f32>(0.0, 0.0));
  }
}

// One conv output entry's taps (op_convl): the output gap q, the sums Σ s_a g(q_a) and Σ s_a h(q_a)
// (with the bias), and Σ Θ_a. Where TAPS_UNROLLED (the lanes layout with PAIR_BLOCKS: a gap readout,
// src/gpu/conv.ts convTapsWgsl) conv_taps computes them with op_convl's loops unrolled for the plan's
// filter sizes: the same operations in the same order (the same bits), each tap's roots loaded once
// and kept in registers for the second sum, the tap offsets constants. Elsewhere the loops stay
// inline (conv_taps is a stub): an out-of-line copy made the flatten shader slower to create.
struct ConvAcc {
  q: f32,
  sg: f32,
  sh: f32,
  tt: vec2<f32>,
}

// Θ of a conv output entry in the input's scale: w·Σ Θ_a and, for a trained conv, its K term kt.
fn conv_theta(tt: vec2<f32>, kt: vec2<f32>, w: f32, wl: f32, trainable: bool) -> vec2<f32> {
  // w as hi + lo: an f32 w = 2/9 alone biased Θ by its rounding at every layer (1e−5 at depth 1000).
  let t = ds_add(ds_mul(tt, w), vec2<f32>(tt.x * wl, 0.0));
  return select(t, ds_add(t, kt), trainable);
}

// One conv layer. An output entry (I, J) sums the q^D shifted input entries (I + a, J + a) and the
// bias: 1 ∓ ρ' = [Lag/(R + s) + Σ s_a(1 ∓ ρ_a)]/R with u_a = √(w k_x[I + a]), v_a = √(w k_z[J + a]),
// s_a = u_a v_a, s = b + Σ s_a, R = √(UV) and Lag = U·[Σ (v_a − r u_a)² + (√b − r√b)²], r = s/U
// (src/cpu/spatial-pair.ts, convEntry). Computed in the input's scale 2^ein; Θ leaves in 2^eout.
fn op_convl(o: u32, lid: u32) {
  let h = head(o);
  let nOut = h.out0 * h.out1;
  let q0 = ops[o + 13u];
  let q1 = ops[o + 14u];
  let s0 = ops[o + 15u];
  let s1 = ops[o + 16u];
  let zero = (ops[o + 17u] & 1u) != 0u;
  let trainable = (ops[o + 17u] & 2u) != 0u;
  let cw = rf(o + 18u);
  let w = rf(o + 19u);
  let b = rf(o + 20u);
  let sb = rf(o + 21u);
  let wl = rf(o + 22u);
  let r0 = i32(q0 / 2u);
  let r1 = i32(q1 / 2u);
  let n0 = i32(h.in0);
  let n1 = i32(h.in1);
  var nq: array<vec2<f32>, PER>;
  var nt: array<vec2<f32>, PER>;
  sync();
  // The global layout's tiled layer dispatch: the workgroup's input tile with its halo into
  // workgroup memory (conv_slab_global.wgsl), read by cq/ct/cq2 below.
  if (TILED) {
    if (CP.tilesSlab != 0u) { conv_tile(q0, q1, s0, s1, zero, n0, n1); }
  }
  for (var r = 0u; r < PER; r++) {
    let I = lid + r * WG;
    if (I >= nOut) { break; }
    let J = partner(I, h.out0, h.out1, h.do0, h.do1);
    if (J < 0) {
      if (CONV_DIRECT) {
        put_conv(I, vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 0.0));
      } else {
        nq[r] = vec2<f32>(1.0, 0.0);
        nt[r] = vec2<f32>(0.0, 0.0);
      }
      continue;
    }
    let Iq = div_u(I, h.out1);
    let Jq = i32(div_u(u32(J), h.out1));
    let I0 = i32(Iq) * i32(s0) - r0;
    let I1 = i32(I - Iq * h.out1) * i32(s1) - r1;
    let J0 = Jq * i32(s0) - r0;
    let J1 = (J - Jq * i32(h.out1)) * i32(s1) - r1;
    var acc: ConvAcc;
    if (TAPS_UNROLLED) {
      acc = conv_taps(q0, q1, I0, I1, J0, J1, n0, n1, zero, cw, b, sb, h.din);
    } else {
      // U and V as the same f32 sums as s, so that the identity holds exactly: the pair (x, x) keeps
      // 1 − ρ = 0 on slab 0 (the float64 diagonals, rounded apart, left a gap of ~1e−14 whose
      // θ = √(2g) ~ 1e−7 biased κ0 and Θ(x, x) by 1e−5 over 100 layers).
      var U = b;
      var V = b;
      var sum = b;
      var sg = 0.0;
      var sh = 2.0 * b;
      var tt = vec2<f32>(0.0, 0.0);
      for (var a0 = 0; a0 < i32(q0); a0++) {
        for (var a1 = 0; a1 < i32(q1); a1++) {
          let tp = tap_pair(I0, I1, J0, J1, a0, a1, n0, n1, zero);
          let xv = tp.xv;
          let zv = tp.zv;
          var u = 0.0;
          var v = 0.0;
          if (xv) { u = cw * sdiag[xb + h.din + u32(tp.xi)]; }
          if (zv) { v = cw * sdiag[zb + h.din + u32(tp.zi)]; }
          U += u * u;
          V += v * v;
          if (xv && zv) {
            let src = u32(tp.xi);
            let sa = u * v;
            let q = cq(src, a0, a1);
            sum += sa;
            sg += sa * gap_g(q);
            sh += sa * gap_h(q);
            tt = ds_add(tt, ct(src, a0, a1));
          }
        }
      }
      let R = sqrt(U) * sqrt(V);
      var q = 1.0;
      if (R > 0.0) {
        let rr = sum / U;
        var lag = 0.0;
        for (var a0 = 0; a0 < i32(q0); a0++) {
          for (var a1 = 0; a1 < i32(q1); a1++) {
            let tp = tap_pair(I0, I1, J0, J1, a0, a1, n0, n1, zero);
            var u = 0.0;
            var v = 0.0;
            if (tp.xv) { u = cw * sdiag[xb + h.din + u32(tp.xi)]; }
            if (tp.zv) { v = cw * sdiag[zb + h.din + u32(tp.zi)]; }
            let dv = v - rr * u;
            lag += dv * dv;
          }
        }
        let db = sb - rr * sb;
        lag = (U / (R + sum)) * (lag + db * db);
        q = make_q(min((lag + sg) / R, 2.0), min((lag + sh) / R, 2.0));
      }
      acc = ConvAcc(q, sg, sh, tt);
    }
    let t = scaled(conv_theta(acc.tt, vec2<f32>(0.5 * (acc.sh - acc.sg), 0.0), w, wl, trainable), h.ein - h.eout);
    if (CONV_DIRECT) {
      put_conv(I, vec2<f32>(acc.q, 0.0), t);
    } else {
      nq[r] = vec2<f32>(acc.q, 0.0);
      nt[r] = t;
    }
  }
  if (in_ds(o)) {
    // A loop bound the compiler cannot unroll (on lavapipe an unrolled copy per entry took minutes to compile).
    for (var r = 0u; r < min(entries_of(nOut, lid), PER); r++) {
      let I = lid + r * WG;
      if (I >= nOut) { break; }
      let J = partner(I, h.out0, h.out1, h.do0, h.do1);
      if (J >= 0) {
        let d = conv_gap_ds(o, h, I, u32(J));
        // Θ again, with the trained conv's K term in double-single (its terms may cancel in a gap
        // readout as K's do); the same tt as above.
        let t = scaled(conv_theta(d.tt, d.kt, w, wl, trainable), h.ein - h.eout);
        if (CONV_DIRECT) {
          put_conv(I, d.q, t);
        } else {
          nq[r] = d.q;
          nt[r] = t;
        }
      }
    }
  }
  if (!CONV_DIRECT) {
    sync();
    for (var r = 0u; r < PER; r++) {
      let I = lid + r * WG;
      if (I >= nOut) { break; }
      put_conv(I, nq[r], nt[r]);
    }
  }
  conv_done();
}

// A conv output entry's gap in double-single (conv_slab_ds.wgsl: conv_gap_ds).
struct ConvDs {
  q: vec2<f32>,
  // Σ Θ_a (as op_convl sums it) and the trained conv's K term (sh − sg)/2 = b + Σ s_a ρ_a.
  tt: vec2<f32>,
  kt: vec2<f32>,
}

// An activation, entrywise, through the FC path's own gap-form function on (k_x[i], k_z[j], q, Θ).
fn op_actl(o: u32, lid: u32) {
  let h = head(o);
  let n = h.in0 * h.in1;
  let c = ops[o + 13u];
  // Word 14: a ReLU; where the op carries the gap in double-single its gap is computed again so.
  let relu_ds = in_ds(o) && ops[o + 14u] != 0u;
  for (var r = 0u; r < select(PER, min(entries_of(n, lid), PER), relu_ds); r++) {
    let e = lid + r * WG;
    if (e >= n) { break; }
    let j = partner(e, h.in0, h.in1, h.di0, h.di1);
    if (j < 0) { continue; }
    let t = gt(e);
    let a = act_call(c, Bank(h.ein, diag[xb + h.din + e], diag[zb + h.din + u32(j)], gq(e), t.x, t.y, 0.0, 0.0, 0.0));
    if (out_of_range(a)) { mark_bad(); }
    // The pixel pairs (i, i) of one input have ρ = 1 exactly; an activation's f32 gap form leaves
    // noise there (erf: ~1e−7, from √u·√u ≠ u), which a later ReLU's θ = √(2g) would amplify.
    var q = vec2<f32>(a.g, 0.0);
    if (relu_ds && diag[xb + h.din + e] > 0.0 && diag[zb + h.din + u32(j)] > 0.0) {
      q = act_gap_ds(gq2(e));
    }
    if (same && u32(j) == e && diag[xb + h.din + e] > 0.0) { q = vec2<f32>(0.0, 0.0); }
    put(e, q, scaled(vec2<f32>(a.t, a.tl), a.e - h.eout));
  }
}

// Copies the current state to slot k (a residual bank, or the copy kept for the depth taps) or back.
fn op_copy(o: u32, lid: u32, to: bool) {
  let h = head(o);
  let n = h.out0 * h.out1;
  let k = ops[o + 13u] * MAXP;
  for (var r = 0u; r < PER; r++) {
    let e = lid + r * WG;
    if (e >= n) { break; }
    if (to) {
      put(k + e, gq2(e), gt(e));
    } else {
      put(e, gq2(k + e), gt(k + e));
    }
  }
}

// cs·bank + cb·current (a residual sum) with the two-term Lagrange identity, in the output's scale.
fn op_resmix(o: u32, lid: u32) {
  let h = head(o);
  let n = h.in0 * h.in1;
  let k = ops[o + 13u] * MAXP;
  let cs = rf(o + 14u);
  let cb = rf(o + 15u);
  let dsk = ops[o + 16u];
  let esk = ri(o + 17u);
  // Where the op carries the gap in double-single, a run-time loop bound (as op_actl's).
  let mix_ds = in_ds(o);
  for (var r = 0u; r < select(PER, min(entries_of(n, lid), PER), mix_ds); r++) {
    let e = lid + r * WG;
    if (e >= n) { break; }
    let j = partner(e, h.in0, h.in1, h.di0, h.di1);
    if (j < 0) { continue; }
    let P1 = cs * ldexp(diag[xb + dsk + e], esk - h.eout);
    let Q1 = cs * ldexp(diag[zb + dsk + u32(j)], esk - h.eout);
    let P2 = cb * ldexp(diag[xb + h.din + e], h.ein - h.eout);
    let Q2 = cb * ldexp(diag[zb + h.din + u32(j)], h.ein - h.eout);
    let s1 = sqrt(P1) * sqrt(Q1);
    let s2 = sqrt(P2) * sqrt(Q2);
    let R = sqrt(P1 + P2) * sqrt(Q1 + Q2);
    let qs = gq(k + e);
    let qc = gq(e);
    var q = 1.0;
    if (R > 0.0) {
      let l = sqrt(P1) * sqrt(Q2) - sqrt(P2) * sqrt(Q1);
      let lag = l * (l / (R + s1 + s2));
      q = make_q(min((lag + s1 * gap_g(qs) + s2 * gap_g(qc)) / R, 2.0), min((lag + s1 * gap_h(qs) + s2 * gap_h(qc)) / R, 2.0));
    }
    var q2 = vec2<f32>(q, 0.0);
    if (mix_ds) { q2 = resmix_gap_ds(o, h, e, u32(j)); }
    put(e, q2, ds_add(ds_mul(scaled(gt(k + e), esk - h.eout), cs), ds_mul(scaled(gt(e), h.ein - h.eout), cb)));
  }
}


// Sum over the workgroup, by one thread in a fixed order (the same every run): two barriers, not a
// tree's log2(WG) (barriers are what costs on CPU adapters). The next call writes `red` before its
// first barrier and `total` only after it, when every thread has read this one.
fn reduce4(v: vec4<f32>, lid: u32) -> vec4<f32> {
  red[lid] = v;
  sync();
  if (lid == 0u) {
    var s = vec4<f32>(0.0);
    for (var k = 0u; k < WG; k++) { s += red[k]; }
    total = s;
  }
  sync();
  return total;
}

fn out_at(pl: u32, slab: u32, tap: u32) -> u32 {
  return (pl * CP.slabs + slab) * CP.taps + tap;
}

// eq: (q, Θ hi, Θ lo, flag) of one pixel of slab 0.
fn op_eq(o: u32, lid: u32, pl: u32) {
  let tap = ops[o + 13u];
  let e = ops[o + 14u];
  sync();
  let flag = f32(bad_flag());
  if (lid == e % WG) {
    let t = gt(e);
    outv[out_at(pl, 0u, tap)] = vec4<f32>(gq(e), t.x, t.y, flag);
  }
}

// flatten: the mean of slab 0 with weights 1/P, in the Lagrange form with P terms: (1 − ρ, 1 + ρ, Θ, flag).
fn op_flatten(o: u32, lid: u32, pl: u32) {
  let h = head(o);
  let n = h.in0 * h.in1;
  let tap = ops[o + 13u];
  sync();
  var a = vec4<f32>(0.0);
  var b = vec4<f32>(0.0);
  for (var r = 0u; r < PER; r++) {
    let e = lid + r * WG;
    if (e >= n) { break; }
    let sa = sdiag[xb + h.din + e] * sdiag[zb + h.din + e];
    let q = gq(e);
    let sx = sdiag[xb + h.din + e];
    let sz = sdiag[zb + h.din + e];
    a += vec4<f32>(sa, sx * sx, sz * sz, sa * gap_g(q));
    let t = gt(e);
    b += vec4<f32>(sa * gap_h(q), t.x + t.y, 0.0, 0.0);
  }
  let A = reduce4(a, lid);
  let B = reduce4(b, lid);
  let s = A.x;
  let U = A.y;
  let R = sqrt(A.y) * sqrt(A.z);
  let rr = s / U;
  var l = 0.0;
  for (var r = 0u; r < PER; r++) {
    let e = lid + r * WG;
    if (e >= n) { break; }
    let dv = sdiag[zb + h.din + e] - rr * sdiag[xb + h.din + e];
    l += dv * dv;
  }
  let L = reduce4(vec4<f32>(l, 0.0, 0.0, 0.0), lid).x;
  let flag = f32(bad_flag());
  if (lid == 0u) {
    var g = 1.0;
    var hh = 1.0;
    if (R > 0.0) {
      let lag = (U / (R + s)) * L;
      g = min((lag + A.w) / R, 2.0);
      hh = min((lag + B.x) / R, 2.0);
    }
    outv[out_at(pl, 0u, tap)] = vec4<f32>(g, hh, B.y / f32(n), flag);
  }
}

// gap: this slab's partial sums Σ K[i, i + δ] and Σ Θ[i, i + δ], both double-single (GAP_BAD in
// place of them for a bad pair); the host sums the slabs in float64. Θ's terms may cancel as K's do
// (a linear stem on one-channel images: ρ0 = ±1): f32 sums of them missed 4e−5 of such a readout.
// The pooled ρ = K(x, z)/√(R(K(x, x))·R(K(z, z))) is a ratio of such sums, not gap-stable: with f32 sums a near-duplicate's 1 − ρ ~ 1e−8 drowned in rounding, and a ReLU after
// the readout read 7e−5 off in the NTK. Each term is ρ·√k_x·√k_z from the gap and the roots as
// hi + lo (ds_gaps.wgsl: k_term_ds). In a program with a pool, or with a nonlinearity after the
// readout, the states before it carry the gap in double-single too (the same off-diagonal rounding
// as before a pool: a ReLU after the readout read 6.2e−5 with f32 states); otherwise they are f32
// (the readout's ρ is then only multiplied).
fn op_gap(o: u32, lid: u32, pl: u32, slab: u32) {
  let h = head(o);
  let n = h.in0 * h.in1;
  let tap = ops[o + 13u];
  sync();
  var acc = vec2<f32>(0.0, 0.0);
  var tacc = vec2<f32>(0.0, 0.0);
  for (var r = 0u; r < PER; r++) {
    let e = lid + r * WG;
    if (e >= n) { break; }
    let j = partner(e, h.in0, h.in1, h.di0, h.di1);
    if (j < 0) { continue; }
    let ix = xb + h.din + e;
    let iz = zb + h.din + u32(j);
    acc = ds_add(acc, k_term_ds(roots_ds(sdiag[ix], sdiag[CP.sdiagLo + ix], sdiag[iz], sdiag[CP.sdiagLo + iz]), gq2(e)));
    tacc = ds_add(tacc, gt(e));
  }
  red[lid] = vec4<f32>(acc, tacc);
  sync();
  let flag = bad_flag();
  if (lid == 0u) {
    var s = vec2<f32>(0.0, 0.0);
    var t = vec2<f32>(0.0, 0.0);
    for (var k = 0u; k < WG; k++) {
      s = ds_add(s, red[k].xy);
      t = ds_add(t, red[k].zw);
    }
    outv[out_at(pl, slab, tap)] = select(vec4<f32>(s, t), vec4<f32>(GAP_BAD, 0.0, 0.0, 0.0), flag != 0u);
  }
  sync();
}

// A segment's state from or to the state buffer (an avgPool between segments, conv_pool.wgsl):
// entry e of slab `slab` of pair `pl` at (pl · slabs + slab) · n + e.
fn op_state(o: u32, lid: u32, pl: u32, slab: u32, store: bool) {
  let h = head(o);
  let n = h.out0 * h.out1;
  let at = (pl * CP.slabs + slab) * n;
  sync();
  // w is the gap's low part, or STATE_BAD: the bad-pair flag (a smooth activation out of range)
  // travels there, so that the readout reports it.
  let flagged = bad_flag() != 0u;
  for (var r = 0u; r < PER; r++) {
    let e = lid + r * WG;
    if (e >= n) { break; }
    if (store) {
      let t = gt(e);
      let q = gq2(e);
      state[CP.storeBase + at + e] = vec4<f32>(q.x, t.x, t.y, select(q.y, STATE_BAD, flagged));
    } else {
      let v = state[CP.loadBase + at + e];
      let bad = v.w >= STATE_BAD;
      put(e, vec2<f32>(v.x, select(v.w, 0.0, bad)), v.yz);
      if (bad) { mark_bad(); }
    }
  }
}

// One slab of one pair through the segment's ops (main has found them and cleared the bad-pair flag).
fn run_slab(pl: u32, slab: u32, lid: u32) {
  let pr = pairs[pl];
  xb = pr.x * CP.perInput;
  zb = pr.y * CP.perInput;
  same = pr.x == pr.y;
  xu = pr.x * CP.pixels0 * CP.channels;
  zu = pr.y * CP.pixels0 * CP.channels;
  df0 = CP.lo0 + i32(slab / CP.cnt1);
  df1 = CP.lo1 + i32(slab % CP.cnt1);
  for (var k = CP.opStart; k < CP.opEnd; k++) {
    run_op(k * REC, lid, pl, slab);
  }
}
