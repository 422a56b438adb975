// Double-single correlation gaps, for the pixel pairs that an avgPool or a gap readout followed by
// a nonlinearity reads (conv_slab.wgsl, the ops marked by src/exec/spatial-plan.ts markPrecise, and
// conv_pool.wgsl). A pooled correlation mixes pixel pairs
// (i, j ≠ i) whose gaps are O(0.1–1); the pooled gap of a near-duplicate pair (~1e−8) is as small
// as their f32 rounding, so that a ReLU after the pool read it to tens of percent (its κ0 = 1 − θ/π
// has dθ/dg = 1/θ ~ 1e4): 2e−5 … 1e−4 in the NTK (scripts/pool-gap-floor.ts: half an ulp of f32 on
// those gaps alone is 1.1e−5 after a pool and a depth-3 sweep). Those segments carry the signed gap
// q (kernel_ops.wgsl) as hi + lo through init, conv and ReLU, each computed here to ~2^−44:
// error-free sums and products, one Newton step for θ = arccos ρ, and a series for sin.
// Prepended after kernel_ops.wgsl (two_sum, two_prod, ds_add, ds_mul, ds_mul_ds, asin_c, TINY).

const PI_DS: vec2<f32> = vec2<f32>(3.14159274101257, -8.742277657e-8);
const INV_PI_DS: vec2<f32> = vec2<f32>(0.318309873342514, 1.284127649e-8);
const THIRD_DS: vec2<f32> = vec2<f32>(0.333333343267441, -9.934107759e-9);

// The w of a stored state (conv_slab.wgsl OP_STORE, conv_pool.wgsl) is the gap's low part (below
// 2^−24 in magnitude), or this where the pair is flagged bad (a smooth activation out of range).
const STATE_BAD: f32 = 4.0;

// t / d for an f32 d.
fn ds_div_f(t: vec2<f32>, d: f32) -> vec2<f32> {
  let q1 = t.x / d;
  let p = two_prod(q1, d);
  let r = keep(keep(keep(t.x - p.x) - p.y) + t.y);
  return fast_two_sum(q1, r / d);
}

// a / b.
fn ds_div(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let q1 = a.x / b.x;
  let r = ds_add(a, -ds_mul(b, q1));
  return fast_two_sum(q1, r.x / b.x);
}

// √a (0 for a ≤ 0): the f32 root and one Newton step on the double-single residual.
fn ds_sqrt(a: vec2<f32>) -> vec2<f32> {
  if (a.x <= 0.0) { return vec2<f32>(0.0, 0.0); }
  let s = sqrt(a.x);
  let r = ds_add(a, -two_prod(s, s));
  return fast_two_sum(s, r.x / (2.0 * s));
}

// sin x for an f32 x ∈ [0, π/2], by its Taylor series in double-single (the 23rd-order term is
// below 2^−48 there).
fn ds_sin(x: f32) -> vec2<f32> {
  let x2 = two_prod(x, x);
  var t = vec2<f32>(x, 0.0);
  var s = t;
  for (var k = 1u; k <= 11u; k++) {
    t = ds_div_f(ds_mul_ds(t, x2), f32((2u * k) * (2u * k + 1u)));
    if ((k & 1u) == 1u) { s = ds_add(s, -t); } else { s = ds_add(s, t); }
  }
  return s;
}

// 1 − ρ and 1 + ρ of a double-single signed gap (q, ql), as (g, gl, h, hl): the gap held, and 2
// minus it for the other (kernel_ops.wgsl: gap_g, gap_h).
fn gaps_ds(q: vec2<f32>) -> vec4<f32> {
  if (!on_neg(q.x)) {
    return vec4<f32>(q, ds_add(vec2<f32>(2.0, 0.0), -q));
  }
  var h = vec2<f32>(0.0, 0.0);
  if (-q.x - TINY > 0.0) { h = vec2<f32>(-q.x - TINY, -q.y); }
  return vec4<f32>(ds_add(vec2<f32>(2.0, 0.0), -h), h);
}

// √k_x·√k_z from the roots' high and low parts (a, al) and (b, bl).
fn roots_ds(a: f32, al: f32, b: f32, bl: f32) -> vec2<f32> {
  return ds_add(two_prod(a, b), vec2<f32>(a * bl + al * b, 0.0));
}

// K = √k_x·√k_z·ρ from the roots' product r and a double-single signed gap q, with no rounding of
// ρ itself: r − r·(1 − ρ), or r·(1 + ρ) − r on the ρ < 0 side (the pool's and the gap readout's terms).
fn k_term_ds(r: vec2<f32>, q: vec2<f32>) -> vec2<f32> {
  let gh = gaps_ds(q);
  if (on_neg(q.x)) { return ds_add(ds_mul_ds(r, gh.zw), -r); }
  return ds_add(r, -ds_mul_ds(r, gh.xy));
}

// Whether a double-single value exceeds 1 (hi = 1 with a negative lo is below it).
fn ds_above_one(a: vec2<f32>) -> bool {
  return a.x > 1.0 || (a.x == 1.0 && a.y > 0.0);
}

// The signed gap from 1 − ρ and 1 + ρ, each without cancellation on its side (make_q in double-single).
fn make_q_ds(g: vec2<f32>, h: vec2<f32>) -> vec2<f32> {
  if (g.x <= h.x) {
    if (g.x <= 0.0) { return vec2<f32>(0.0, 0.0); }
    if (ds_above_one(g)) { return vec2<f32>(1.0, 0.0); }
    return g;
  }
  if (h.x <= 0.0) { return vec2<f32>(-TINY, 0.0); }
  if (ds_above_one(h)) { return vec2<f32>(-1.0 - TINY, 0.0); }
  return vec2<f32>(-(h.x + TINY), -h.y);
}

// θ = arccos(1 − g) ∈ [0, π/2] for g ∈ [0, 1]: the f32 angle θ0 = 2·asin √(g/2), then one Newton
// step on 1 − cos θ = 2 sin²(θ/2) = g with sin(θ0/2) in double-single (θ0's error, a few ulps,
// leaves its square, ~1e−14).
fn theta_ds(g: vec2<f32>) -> vec2<f32> {
  if (g.x <= 0.0) { return vec2<f32>(0.0, 0.0); }
  let x = sqrt(0.5 * min(g.x, 1.0));
  let t0 = 2.0 * asin_c(x, 1.0 - x);
  let sn = ds_sin(0.5 * t0);
  let r = ds_add(g, -2.0 * ds_mul_ds(sn, sn));
  return fast_two_sum(t0, r.x / sqrt(g.x * (2.0 - g.x)));
}

// The ReLU's gap 1 − κ1(ρ) = (1 − ρ) − (sin θ − θ cos θ)/π of a double-single signed gap, in
// double-single (relu_gap in kernel_ops.wgsl): sin θ = √((1 − ρ)(1 + ρ)), cos θ = ρ, and below
// θ = 0.1 the series θ³/3 − θ⁵/30 + … (its tail past θ³/3 is below 1/900 of it: f32 there; the
// direct form loses at most a factor 300 to cancellation above).
fn relu_gap_ds(q: vec2<f32>) -> vec2<f32> {
  let gh = gaps_ds(q);
  let g = gh.xy;
  let h = gh.zw;
  // θ from the smaller gap: θ = arccos(1 − g), or π − arccos(1 − h) on the ρ < 0 side.
  let neg = on_neg(q.x);
  let a = theta_ds(select(g, h, neg));
  let theta = select(a, ds_add(PI_DS, -a), neg);
  var s: vec2<f32>;
  if (theta.x < 0.1) {
    let t2 = theta.x * theta.x;
    let t3 = ds_mul_ds(ds_mul_ds(theta, theta), theta);
    let c = t2 * (-1.0 / 30.0 + t2 * (1.0 / 840.0 + t2 * (-1.0 / 45360.0 + t2 * (1.0 / 3991680.0))));
    s = ds_add(ds_mul_ds(t3, THIRD_DS), vec2<f32>(t3.x * c, 0.0));
  } else {
    let rho = ds_add(vec2<f32>(1.0, 0.0), -g);
    s = ds_add(ds_sqrt(ds_mul_ds(g, h)), -ds_mul_ds(theta, rho));
  }
  let r = ds_add(g, -ds_mul_ds(s, INV_PI_DS));
  if (r.x <= 0.0) { return vec2<f32>(0.0, 0.0); }
  if (ds_above_one(r)) { return vec2<f32>(1.0, 0.0); }
  return r;
}
