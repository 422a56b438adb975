// avgPool between two segments of the slab shader (conv_slab.wgsl; src/exec/spatial-plan.ts plans
// the segments): one invocation per (pair, output slab, output entry) reads the stored input slabs
// of its pair and writes the pooled state that the next segment loads. The float64 reference is
// src/cpu/spatial-pair.ts (pool): with window m (m = w0·w1 pixels) and stride s,
//   K'[I, J] = (1/m²)·Σ_{a,b} ρ[sI + a, sJ + b]·√k_x[sI + a]·√k_z[sJ + b],   Θ' likewise of Θ,
// and ρ' = K'/√(k'_x[I]·k'_z[J]) with the pooled diagonals of the float64 pre-pass; the pixel pairs
// (I, I) of a pair (x, x) get ρ' = 1 exactly. No padding: windows never leave the image. Output
// slab t holds the pairs (I, I + δ'), or (I, (I + δ') mod n) when the next segment's slabs are the
// circular partition (it has a circular conv, or it is a gap readout's). The
// pooled correlation is a ratio of sums, not gap-stable (the CPU path carries ρ itself here too):
// K' is summed in double-single with each term √k_x·√k_z·ρ = r − r·q (or −r + r·(1 + ρ) on the
// ρ < 0 side) for the double-single gap q of the input state (ds_gaps.wgsl: the segments before a
// pool carry it so) and the roots as hi + lo, and 1 ∓ ρ' = (m²R' ∓ m²K')/(m²R') with m² exact, as
// a double-single gap for the next segment. What reaches ρ' is the input gaps' own error (~2^−44).
//
// The states' w is the gap's low part, or STATE_BAD (a smooth activation out of range: the pair's
// bad flag, passed on to the next segment; its gaps no longer matter).
//
// Prepended by src/gpu/conv.ts: struct Bank, kernel_ops.wgsl (double-single arithmetic, gaps) and
// ds_gaps.wgsl.

struct PoolParams {
  pairCount: u32,
  perInput: u32,
  sdiagLo: u32,
  inBase: u32,       // vec4 index of the input states (the previous segment's stores) in `state`
  outBase: u32,      // and of the output states (the next segment's loads)
  in0: u32,
  in1: u32,
  out0: u32,
  out1: u32,
  w0: u32,
  w1: u32,
  s0: u32,
  s1: u32,
  din: u32,          // word offsets of the input and output diagonals within an input's block
  dout: u32,
  ein: i32,          // their scale exponents
  eout: i32,
  inLo0: i32,        // the input slab rectangle (offsets at the input grid)
  inLo1: i32,
  inCnt0: u32,
  inCnt1: u32,
  outLo0: i32,       // the output slab rectangle (at the next segment's end grid) ...
  outLo1: i32,
  outCnt0: u32,
  outCnt1: u32,
  outM0: u32,        // ... and its offsets' multipliers at the pool's output grid
  outM1: u32,
  wraps: u32,        // bit 0: the input slabs are the circular partition (offsets mod n); bit 1: the output slabs
  one: f32,
}

@group(0) @binding(0) var<uniform> PP: PoolParams;
@group(0) @binding(1) var<storage, read> diag: array<f32>;
@group(0) @binding(2) var<storage, read> sdiag: array<f32>;
@group(0) @binding(3) var<storage, read> pairs: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> state: array<vec4<f32>>;

fn scaled2(t: vec2<f32>, k: i32) -> vec2<f32> {
  return vec2<f32>(ldexp(t.x, k), ldexp(t.y, k));
}

// √k_x·√k_z as a double-single from the roots' high and low parts.
fn root_prod(ix: u32, iz: u32) -> vec2<f32> {
  return roots_ds(sdiag[ix], sdiag[PP.sdiagLo + ix], sdiag[iz], sdiag[PP.sdiagLo + iz]);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = PP.one;
  _ = diag[0];
  let item = (wid.x + wid.y * nwg.x) * 64u + li;
  let nOut = PP.out0 * PP.out1;
  let S = PP.outCnt0 * PP.outCnt1;
  if (item >= PP.pairCount * S * nOut) { return; }
  let I = item % nOut;
  let rest = item / nOut;
  let t = rest % S;
  let pl = rest / S;
  let I0 = i32(I / PP.out1);
  let I1 = i32(I % PP.out1);
  var J0 = I0 + (PP.outLo0 + i32(t / PP.outCnt1)) * i32(PP.outM0);
  var J1 = I1 + (PP.outLo1 + i32(t % PP.outCnt1)) * i32(PP.outM1);
  if ((PP.wraps & 2u) != 0u) {
    J0 = J0 % i32(PP.out0);
    J1 = J1 % i32(PP.out1);
  }
  let dst = PP.outBase + item;
  if (J0 < 0 || J0 >= i32(PP.out0) || J1 < 0 || J1 >= i32(PP.out1)) {
    state[dst] = vec4<f32>(1.0, 0.0, 0.0, 0.0);
    return;
  }
  let J = u32(J0) * PP.out1 + u32(J1);
  let pr = pairs[pl];
  let xb = pr.x * PP.perInput;
  let zb = pr.y * PP.perInput;
  let nIn = PP.in0 * PP.in1;
  let inS = PP.inCnt0 * PP.inCnt1;
  let slabBase = PP.inBase + pl * inS * nIn;
  var K = vec2<f32>(0.0, 0.0);
  var T = vec2<f32>(0.0, 0.0);
  var flag = 0.0;
  for (var a0 = 0u; a0 < PP.w0; a0++) {
    for (var a1 = 0u; a1 < PP.w1; a1++) {
      let x0 = PP.s0 * u32(I0) + a0;
      let x1 = PP.s1 * u32(I1) + a1;
      let xi = x0 * PP.in1 + x1;
      for (var b0 = 0u; b0 < PP.w0; b0++) {
        for (var b1 = 0u; b1 < PP.w1; b1++) {
          let z0 = PP.s0 * u32(J0) + b0;
          let z1 = PP.s1 * u32(J1) + b1;
          let zi = z0 * PP.in1 + z1;
          // The input pair (xi, zi) lies in the slab with offset z − x (mod n for circular slabs), at entry xi.
          var d0 = i32(z0) - i32(x0);
          var d1 = i32(z1) - i32(x1);
          if ((PP.wraps & 1u) != 0u) {
            d0 = select(d0, d0 + i32(PP.in0), d0 < 0);
            d1 = select(d1, d1 + i32(PP.in1), d1 < 0);
          }
          let si = u32(d0 - PP.inLo0) * PP.inCnt1 + u32(d1 - PP.inLo1);
          let v = state[slabBase + si * nIn + xi];
          let bad = v.w >= STATE_BAD;
          let r = root_prod(xb + PP.din + xi, zb + PP.din + zi);
          K = ds_add(K, k_term_ds(r, vec2<f32>(v.x, select(v.w, 0.0, bad))));
          T = ds_add(T, v.yz);
          if (bad) { flag = STATE_BAD; }
        }
      }
    }
  }
  let m = f32(PP.w0 * PP.w1);
  let m2 = m * m;
  let Ks = scaled2(K, PP.ein - PP.eout);
  let R = ds_mul(root_prod(xb + PP.dout + I, zb + PP.dout + J), m2);
  var q = vec2<f32>(1.0, 0.0);
  if (R.x > 0.0) {
    q = make_q_ds(ds_div(ds_add(R, -Ks), R), ds_div(ds_add(R, Ks), R));
  }
  if (pr.x == pr.y && I == J && diag[xb + PP.dout + I] > 0.0) { q = vec2<f32>(0.0, 0.0); }
  let th = ds_div_f(scaled2(T, PP.ein - PP.eout), m2);
  state[dst] = vec4<f32>(q.x, th.x, th.y, select(q.y, STATE_BAD, flag != 0.0));
}
