// The double-single gap paths of conv_slab.wgsl, for the ops that carry their gap as hi + lo (in_ds:
// PRECISE and the record's word 23, src/exec/spatial-plan.ts markPrecise): layer 0's gap, a conv's,
// a ReLU's (ds_gaps.wgsl relu_gap_ds) and a residual sum's. Appended by src/gpu/conv.ts where the
// plan is PRECISE; elsewhere conv_slab_ds_off.wgsl, whose stubs are never called. Compiling these
// bodies into a shader that never runs them cost lavapipe's pipeline creation ~0.05 s of ~0.16 s.

// Layer 0's gap of the pixel pair (e, j) from the chords ‖x̂ ∓ ẑ‖²/2 of the unit vectors' hi + lo.
fn init_gap_ds(e: u32, j: u32) -> vec2<f32> {
  let C = CP.channels;
  var cm = vec2<f32>(0.0, 0.0);
  var cp = vec2<f32>(0.0, 0.0);
  for (var c = 0u; c < C; c++) {
    let a = unit[xu + e * C + c];
    let b = unit[zu + j * C + c];
    let dm = ds_add(a, -b);
    let dp = ds_add(a, b);
    cm = ds_add(cm, ds_mul_ds(dm, dm));
    cp = ds_add(cp, ds_mul_ds(dp, dp));
  }
  return make_q_ds(0.5 * cm, 0.5 * cp);
}

// A ReLU's gap (op_actl).
fn act_gap_ds(q: vec2<f32>) -> vec2<f32> {
  return relu_gap_ds(q);
}

// The gap of the conv (record o) output entry (I, J) in double-single from the double-single gaps
// of its inputs: op_convl's Lagrange form with u_a, v_a from the roots' hi + lo and √w, b as hi + lo
// (words 24 and 25: f32 roundings of them are changes of the bias against the weights, which move
// the off-diagonal gaps by ~1e−9, the size of a near-duplicate's pooled gap), every sum and product
// error-free to ~2^−44, and the bias as the tap √b of both sides (b(1 − r)² for its Lagrange term).
fn conv_gap_ds(o: u32, h: Head, I: u32, J: u32) -> ConvDs {
  let q0 = i32(ops[o + 13u]);
  let q1 = i32(ops[o + 14u]);
  let zero = (ops[o + 17u] & 1u) != 0u;
  let cw = vec2<f32>(rf(o + 18u), rf(o + 24u));
  let b = vec2<f32>(rf(o + 20u), rf(o + 25u));
  let n0 = i32(h.in0);
  let n1 = i32(h.in1);
  let Iq = div_u(I, h.out1);
  let Jq = div_u(J, h.out1);
  let I0 = i32(Iq * ops[o + 15u]) - q0 / 2;
  let I1 = i32((I - Iq * h.out1) * ops[o + 16u]) - q1 / 2;
  let J0 = i32(Jq * ops[o + 15u]) - q0 / 2;
  let J1 = i32((J - Jq * h.out1) * ops[o + 16u]) - q1 / 2;
  var U = b;
  var V = b;
  var sum = b;
  var sg = vec2<f32>(0.0, 0.0);
  var sh = 2.0 * b;
  var tt = vec2<f32>(0.0, 0.0);
  var kt = vec2<f32>(0.0, 0.0);
  for (var ph = 0u; ph < 2u; ph++) {
    var rr = vec2<f32>(0.0, 0.0);
    if (ph == 1u) { rr = ds_div(sum, U); }
    var lag = vec2<f32>(0.0, 0.0);
    for (var a0 = 0; a0 < q0; a0++) {
      for (var a1 = 0; a1 < q1; a1++) {
        let tp = tap_pair(I0, I1, J0, J1, a0, a1, n0, n1, zero);
        let xv = tp.xv;
        let zv = tp.zv;
        var u = vec2<f32>(0.0, 0.0);
        var v = vec2<f32>(0.0, 0.0);
        if (xv) {
          let i = xb + h.din + u32(tp.xi);
          u = ds_mul_ds(vec2<f32>(sdiag[i], sdiag[CP.sdiagLo + i]), cw);
        }
        if (zv) {
          let i = zb + h.din + u32(tp.zi);
          v = ds_mul_ds(vec2<f32>(sdiag[i], sdiag[CP.sdiagLo + i]), cw);
        }
        if (ph == 0u) {
          U = ds_add(U, ds_mul_ds(u, u));
          V = ds_add(V, ds_mul_ds(v, v));
          if (xv && zv) {
            let sa = ds_mul_ds(u, v);
            let gh = gaps_ds(cq2(u32(tp.xi), a0, a1));
            sum = ds_add(sum, sa);
            sg = ds_add(sg, ds_mul_ds(sa, gh.xy));
            sh = ds_add(sh, ds_mul_ds(sa, gh.zw));
            tt = ds_add(tt, ct(u32(tp.xi), a0, a1));
          }
        } else {
          let dv = ds_add(v, -ds_mul_ds(rr, u));
          lag = ds_add(lag, ds_mul_ds(dv, dv));
        }
      }
    }
    if (ph == 1u) {
      let R = ds_mul_ds(ds_sqrt(U), ds_sqrt(V));
      let db = ds_add(vec2<f32>(1.0, 0.0), -rr);
      lag = ds_mul_ds(ds_add(lag, ds_mul_ds(ds_mul_ds(db, db), b)), ds_div(U, ds_add(R, sum)));
      return ConvDs(make_q_ds(ds_div(ds_add(lag, sg), R), ds_div(ds_add(lag, sh), R)), tt, kt);
    }
    kt = 0.5 * ds_add(sh, -sg);
    if (U.x <= 0.0 || V.x <= 0.0) { return ConvDs(vec2<f32>(1.0, 0.0), tt, kt); }
  }
  return ConvDs(vec2<f32>(1.0, 0.0), tt, kt);
}

fn sroot_ds(i: u32) -> vec2<f32> {
  return vec2<f32>(sdiag[i], sdiag[CP.sdiagLo + i]);
}

// The residual sum's gap (op_resmix) in double-single, from the double-single gaps of its two terms
// and the diagonals' roots as hi + lo: P1 = cs·k_bank(x), Q1 = cs·k_bank(z), P2 = cb·k(x), Q2 = cb·k(z)
// in the output's scale, s1 = √P1·√Q1, s2 = √P2·√Q2, R = √(P1 + P2)·√(Q1 + Q2) and the Lagrange term
// l²/(R + s1 + s2), l = √P1·√Q2 − √P2·√Q1. A skip path whose gaps the readout sums (one-channel images
// through a linear stem and small α: rescnn depth 100, γ = 1) lost 2e−5 of a gap readout to the f32
// gap here. cs and cb stay f32: their rounding scales each term's sum, it does not round its entries.
fn resmix_gap_ds(o: u32, h: Head, e: u32, j: u32) -> vec2<f32> {
  let k = ops[o + 13u] * MAXP;
  let cs = rf(o + 14u);
  let cb = rf(o + 15u);
  let dsk = ops[o + 16u];
  let esk = ri(o + 17u);
  let rx1 = sroot_ds(xb + dsk + e);
  let rz1 = sroot_ds(zb + dsk + j);
  let rx2 = sroot_ds(xb + h.din + e);
  let rz2 = sroot_ds(zb + h.din + j);
  let P1 = ds_mul(scaled(ds_mul_ds(rx1, rx1), esk - h.eout), cs);
  let Q1 = ds_mul(scaled(ds_mul_ds(rz1, rz1), esk - h.eout), cs);
  let P2 = ds_mul(scaled(ds_mul_ds(rx2, rx2), h.ein - h.eout), cb);
  let Q2 = ds_mul(scaled(ds_mul_ds(rz2, rz2), h.ein - h.eout), cb);
  let R = ds_mul_ds(ds_sqrt(ds_add(P1, P2)), ds_sqrt(ds_add(Q1, Q2)));
  if (R.x <= 0.0) { return vec2<f32>(1.0, 0.0); }
  let a1 = ds_sqrt(P1);
  let b1 = ds_sqrt(Q1);
  let a2 = ds_sqrt(P2);
  let b2 = ds_sqrt(Q2);
  let s1 = ds_mul_ds(a1, b1);
  let s2 = ds_mul_ds(a2, b2);
  let l = ds_add(ds_mul_ds(a1, b2), -ds_mul_ds(a2, b1));
  let lag = ds_div(ds_mul_ds(l, l), ds_add(R, ds_add(s1, s2)));
  let gs = gaps_ds(gq2(k + e));
  let gc = gaps_ds(gq2(e));
  let g = ds_div(ds_add(lag, ds_add(ds_mul_ds(s1, gs.xy), ds_mul_ds(s2, gc.xy))), R);
  let hh = ds_div(ds_add(lag, ds_add(ds_mul_ds(s1, gs.zw), ds_mul_ds(s2, gc.zw))), R);
  return make_q_ds(g, hh);
}
