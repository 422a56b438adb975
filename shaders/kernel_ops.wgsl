// Kernel-program operations on the state of one input pair, in f32 with stable numerics.
//
// A Bank holds K(x,x), K(z,z), the correlation gap g = 1 − ρ (ρ = K(x,z)/√(K(x,x)K(z,z))) and the
// NTK Θ(x,z), with K and Θ scaled by an exact power of two 2^e so that no depth overflows f32.
// Carrying g instead of ρ keeps 1 − ρ exact to relative precision where depth and near-duplicate
// inputs drive ρ to 1 (an f32 ρ cannot resolve angles below 3.5e−4); every update of g below is
// written without cancellation: sums of non-negative terms, series for small angles, and the
// Lagrange identity for sums of kernels. Θ is a sum over depth of thousands of terms, so it is
// carried as an unevaluated sum t + tl of two f32 (double-single) with error-free transformations,
// and a factor 1 − δ close to 1 (κ0 for nearly parallel pairs) is applied as t − t·δ. Mirrors
// src/program/program.ts; the float64 reference is src/cpu/interpreter.ts.

// struct Bank (K(x,x) = 2^e·(kxx + kxl), K(z,z) likewise, the signed gap g + gl, Θ = 2^e·(t + tl)) is
// generated from its schema in src/gpu/layout.ts and precedes this file.

const PI: f32 = 3.14159265358979;

// 1.0 at run time, read from a uniform, so that `keep` below is opaque to the compiler: without
// it the error-free transformations are simplified away (seen on lavapipe with Dawn and wgpu).
var<private> ONE: f32 = 1.0;

// An opaque identity: the compiler cannot see through a select on a run-time value, so it cannot
// reassociate or contract across it (plain arithmetic guards were undone on lavapipe).
fn keep(x: f32) -> f32 {
  return select(x, 0.0, ONE == 0.0);
}

fn fast_two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = keep(a + b);
  let z = keep(s - a);
  return vec2<f32>(s, keep(b - z));
}

fn two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = keep(a + b);
  let bb = keep(s - a);
  let ap = keep(s - bb);
  let ea = keep(a - ap);
  let eb = keep(b - bb);
  return vec2<f32>(s, keep(ea + eb));
}

// Dekker's split and product: a·b = p + e exactly.
fn split(a: f32) -> vec2<f32> {
  let c = keep(4097.0 * a);
  let hi = keep(c - keep(c - a));
  return vec2<f32>(hi, keep(a - hi));
}

fn two_prod(a: f32, b: f32) -> vec2<f32> {
  let p = keep(a * b);
  let x = split(a);
  let y = split(b);
  let e1 = keep(keep(x.x * y.x) - p);
  let e2 = keep(e1 + keep(x.x * y.y));
  let e3 = keep(e2 + keep(x.y * y.x));
  return vec2<f32>(p, keep(e3 + keep(x.y * y.y)));
}

// Double-single arithmetic on (hi, lo).
fn ds_mul(t: vec2<f32>, c: f32) -> vec2<f32> {
  let p = two_prod(t.x, c);
  return fast_two_sum(p.x, keep(p.y + keep(t.y * c)));
}

fn ds_add(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let s = two_sum(a.x, b.x);
  return fast_two_sum(s.x, keep(s.y + keep(a.y + b.y)));
}

// Double-single times double-single (relative error ~2^−44): for coefficients that f32 cannot
// hold (α² = 0.64, σ_w² = 1.9), whose rounding would otherwise compound over the depth.
fn ds_mul_ds(t: vec2<f32>, c: vec2<f32>) -> vec2<f32> {
  let p = two_prod(t.x, c.x);
  return fast_two_sum(p.x, keep(p.y + keep(keep(t.x * c.y) + keep(t.y * c.x))));
}

// Multiplies by a coefficient given as (hi, lo): a plain product when the caller knows it is a
// power of two (exact, lo = 0).
fn ds_scale(t: vec2<f32>, c: vec2<f32>, exact: bool) -> vec2<f32> {
  if (exact) { return t * c.x; }
  return ds_mul_ds(t, c);
}

// t·(1 − δ) = t − t·δ for δ ∈ [0, 1]: no rounding of 1 − δ when δ is tiny. The product t·δ is a
// plain f32 product (its rounding, ε·δ·|t|, is what δ itself carries); the subtraction is error-free.
fn ds_one_minus(t: vec2<f32>, delta: f32) -> vec2<f32> {
  return ds_add(t, vec2<f32>(-t.x * delta, -t.y * delta));
}

fn tv(b: Bank) -> vec2<f32> {
  return vec2<f32>(b.t, b.tl);
}

fn with_t(b: Bank, t: vec2<f32>) -> Bank {
  return Bank(b.e, b.kxx, b.kzz, b.g, t.x, t.y, b.kxl, b.kzl, b.gl);
}

fn bank_zero() -> Bank {
  return Bank(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
}

fn bank_is_zero(b: Bank) -> bool {
  return b.kxx == 0.0 && b.kzz == 0.0 && b.t == 0.0;
}

// Brings max(kxx, kzz) into [0.5, 1) by an exact power of two.
fn renorm(b: Bank) -> Bank {
  var r = b;
  let m = max(r.kxx, r.kzz);
  if (m == 0.0) {
    if (r.t == 0.0) { r.e = 0; }
    return r;
  }
  let k = frexp(m).exp;
  r.kxx = ldexp(r.kxx, -k);
  r.kzz = ldexp(r.kzz, -k);
  r.t = ldexp(r.t, -k);
  r.tl = ldexp(r.tl, -k);
  r.kxl = ldexp(r.kxl, -k);
  r.kzl = ldexp(r.kzl, -k);
  r.e = r.e + k;
  return r;
}

// asin(x) for x ∈ [0, 1] given also c = 1 − x (exact when the caller has it): Cephes asinf,
// only + * sqrt, whose accuracy WGSL specifies (the built-in asin is looser on some backends).
fn asin_c(x: f32, c: f32) -> f32 {
  if (x > 0.5) {
    let z = 0.5 * c;
    let y = sqrt(z);
    let p = (((4.2163199048e-2 * z + 2.4181311049e-2) * z + 4.5470025998e-2) * z + 7.4953002686e-2) * z + 1.6666752422e-1;
    return 1.5707963267948966 - 2.0 * (y + y * z * p);
  }
  let z = x * x;
  let p = (((4.2163199048e-2 * z + 2.4181311049e-2) * z + 4.5470025998e-2) * z + 7.4953002686e-2) * z + 1.6666752422e-1;
  return x + x * z * p;
}

// The correlation is stored as a signed gap q: q = 1 − ρ ≥ 0 when ρ ≥ 0, and q = −(1 + ρ) − TINY < 0
// when ρ < 0, so that the distance to the nearer of ρ = ±1 keeps f32 relative precision:
// near-duplicates and antipodes alike. TINY (far below any resolvable gap) keeps exact antipodes
// strictly negative: signs of zeros do not survive compilers that assume no signed zeros.
const TINY: f32 = 1e-30;
fn on_neg(q: f32) -> bool {
  return q < 0.0;
}
fn gap_h(q: f32) -> f32 {  // 1 + ρ
  return select(2.0 - q, max(-q - TINY, 0.0), on_neg(q));
}
fn gap_g(q: f32) -> f32 {  // 1 − ρ
  return select(q, 2.0 - gap_h(q), on_neg(q));
}
fn rho_of(q: f32) -> f32 {
  return select(1.0 - q, gap_h(q) - 1.0, on_neg(q));
}
fn pos_q(g: f32) -> f32 {
  return clamp(g, 0.0, 1.0);
}
fn neg_q(h: f32) -> f32 {
  return -(clamp(h, 0.0, 1.0) + TINY);
}
// Adds a difference to a double-single signed gap (q, ql), staying on its side of ρ = 0 unless the
// gap passes 1, where it changes side (with 2 − gap, accurate there).
fn q_add(q: f32, ql: f32, dq: f32) -> vec2<f32> {
  let r = ds_add(vec2<f32>(q, ql), vec2<f32>(dq, 0.0));
  if (!on_neg(q)) {
    if (r.x <= 0.0) { return vec2<f32>(0.0, 0.0); }
    if (r.x > 1.0) { return vec2<f32>(neg_q(2.0 - (r.x + r.y)), 0.0); }
    return r;
  }
  if (r.x >= -TINY) { return vec2<f32>(-TINY, 0.0); }  // ρ = −1 exactly
  if (r.x < -1.0) { return vec2<f32>(pos_q(2.0 + (r.x + r.y)), 0.0); }
  return r;
}

// The signed gap from 1 − ρ and 1 + ρ, each computed without cancellation on its own side.
fn make_q(g: f32, h: f32) -> f32 {
  return select(neg_q(h), pos_q(g), g <= h);
}

// θ = arccos ρ: 2·asin(√(g/2)) on the ρ ≥ 0 side, π − 2·asin(√(h/2)) on the other.
fn theta_of(q: f32) -> f32 {
  let x = sqrt(0.5 * select(q, gap_h(q), on_neg(q)));
  let a = 2.0 * asin_c(x, 1.0 - x);
  return select(a, PI - a, on_neg(q));
}

// π − θ, accurate near θ = π (for κ0 = (π − θ)/π on the ρ < 0 side).
fn pi_minus_theta(q: f32) -> f32 {
  if (!on_neg(q)) { return PI - theta_of(q); }
  let x = sqrt(0.5 * gap_h(q));
  return 2.0 * asin_c(x, 1.0 - x);
}

// sin θ − θ cos θ, by its series below θ = 0.5 (θ³/3 − θ⁵/30 + θ⁷/840 − θ⁹/45360 + θ¹¹/3991680).
fn s_of(theta: f32, q: f32) -> f32 {
  if (theta < 0.5) {
    let t2 = theta * theta;
    return theta * t2 * (1.0 / 3.0 + t2 * (-1.0 / 30.0 + t2 * (1.0 / 840.0 + t2 * (-1.0 / 45360.0 + t2 * (1.0 / 3991680.0)))));
  }
  return sqrt(gap_g(q) * gap_h(q)) - theta * rho_of(q);
}

// u − sin u, by its series below u = 1.
fn u_minus_sin(u: f32) -> f32 {
  if (u < 1.0) {
    let u2 = u * u;
    return u * u2 * (1.0 / 6.0 + u2 * (-1.0 / 120.0 + u2 * (1.0 / 5040.0 + u2 * (-1.0 / 362880.0 + u2 * (1.0 / 39916800.0)))));
  }
  return u - sin(u);
}

// Gap of the ReLU dual: 1 − κ1(ρ) = (1 − cos θ) − (sin θ − θ cos θ)/π = g − s(θ)/π ∈ [0, 1].
fn relu_gap(q: f32, theta: f32) -> f32 {
  return pos_q(gap_g(q) - s_of(theta, q) / PI);
}

// Dense layer: K ← w·K + b; Θ ← w·Θ + (trainable ? K_new : 0). With P = w·kxx, Q = w·kzz,
// s = √(PQ), R = √(AB) and bias β in the new scale (R − s = (β(P + Q) + β²)/(R + s)):
//   (1 − ρ') − (1 − ρ) = [β(√P − √Q)²/(R + s + β) − (1 − ρ)(R − s)]/R,
//   (1 + ρ') − (1 + ρ) = [(R − s)(1 − (1 + ρ)) + β]/R.
// Updating the gap by a difference keeps the rounding per layer at one ulp of the gap, so that
// biased networks, whose correlation drifts slowly over thousands of layers, do not accumulate
// a systematic error; the diagonals are double-single for the same reason (they grow by β per layer).
// `biased` is a compile-time constant in the generated code (the compiler drops the bias terms);
// `w_exact` (w is a power of two) is a run-time flag, uniform across the dispatch, that skips the
// error-free product where it cannot change anything.
fn op_affine(b: Bank, w: vec2<f32>, biasv: vec2<f32>, trainable: bool, w_exact: bool, biased: bool) -> Bank {
  let bias = biasv.x;
  var e = b.e;
  let m = max(b.kxx, b.kzz) * w.x;
  if (m > 0.0) { e = b.e + frexp(m).exp; } else if (bias > 0.0) { e = frexp(bias).exp; }
  if (bias > 0.0) { e = max(e, frexp(bias).exp); }
  let bb = ldexp(bias, -e);
  let bbl = ldexp(biasv.y, -e);
  let Pv = ds_scale(vec2<f32>(ldexp(b.kxx, b.e - e), ldexp(b.kxl, b.e - e)), w, w_exact);
  let Qv = ds_scale(vec2<f32>(ldexp(b.kzz, b.e - e), ldexp(b.kzl, b.e - e)), w, w_exact);
  var Av = Pv;
  var Bv = Qv;
  if (biased) {
    Av = ds_add(Pv, vec2<f32>(bb, bbl));
    Bv = ds_add(Qv, vec2<f32>(bb, bbl));
  }
  let P = Pv.x + Pv.y;
  let Q = Qv.x + Qv.y;
  let A = Av.x + Av.y;
  let B = Bv.x + Bv.y;
  let sP = sqrt(P);
  let sQ = sqrt(Q);
  let s = sP * sQ;
  let R = sqrt(A) * sqrt(B);
  // Without a bias the correlation is unchanged (ρ' = wρs/(w·s) = ρ).
  var q = vec2<f32>(b.g, b.gl);
  if (biased && R == 0.0) {
    q = vec2<f32>(1.0, 0.0);
  } else if (biased) {
    let rs = (bb * (P + Q) + bb * bb) / (R + s);
    let gap = abs(b.g + b.gl);
    if (!on_neg(b.g)) {
      // √P − √Q as (P − Q)/(√P + √Q), P − Q from the double-single parts: no cancellation
      // for nearly equal norms, where d² would otherwise be pure round-off added to the gap.
      var d = 0.0;
      if (sP + sQ > 0.0) { d = ((Pv.x - Qv.x) + (Pv.y - Qv.y)) / (sP + sQ); }
      q = q_add(b.g, b.gl, (bb * d * d / (R + s + bb) - gap * rs) / R);
    } else {
      q = q_add(b.g, b.gl, -(rs * (1.0 - gap) + bb) / R);
    }
  }
  let kxz = s * rho_of(b.g) + bb;
  var t = ds_scale(vec2<f32>(ldexp(b.t, b.e - e), ldexp(b.tl, b.e - e)), w, w_exact);
  if (trainable) { t = ds_add(t, vec2<f32>(kxz, 0.0)); }
  // No renorm: e already puts max(P, Q) in [0.5, 1] and the bias below 1, so A, B < 2. A renorm
  // here (a frexp and six ldexp per pair and layer) cost 17 % of arora2019's recursion on lavapipe.
  return Bank(e, Av.x, Bv.x, q.x, t.x, t.y, Av.y, Bv.y, q.y);
}

// Θ·κ0(ρ), with κ0 = 1 − θ/π applied as Θ − Θ·θ/π on the ρ ≥ 0 side and as Θ·(π − θ)/π on the other.
fn times_kappa0(t: vec2<f32>, q: f32, theta: f32) -> vec2<f32> {
  if (!on_neg(q)) { return ds_one_minus(t, theta / PI); }
  return ds_mul(t, pi_minus_theta(q) / PI);
}

// ReLU: K(x,x) ← K(x,x)/2, 1 − ρ ← 1 − κ1(ρ), Θ ← Θ·κ0(ρ)/2. A zero-variance side is the constant 0.
fn op_relu(b: Bank) -> Bank {
  if (b.kxx == 0.0 || b.kzz == 0.0) {
    return Bank(b.e, 0.5 * b.kxx, 0.5 * b.kzz, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0);
  }
  let theta = theta_of(b.g);
  let t = 0.5 * times_kappa0(tv(b), b.g, theta);
  return Bank(b.e, 0.5 * b.kxx, 0.5 * b.kzz, relu_gap(b.g, theta), t.x, t.y, 0.5 * b.kxl, 0.5 * b.kzl, 0.0);
}

// φ(u) = b·u (u > 0), a·u (u ≤ 0): S = ½[(a−b)²√(..)κ1 + 2ab·K(x,z)], Ṡ = ½[(a−b)²κ0 + 2ab].
// With c = (a−b)²/(a²+b²): 1 − ρ' = c(1 − κ1) + (1 − c)(1 − ρ), 1 + ρ' = c(1 + κ1) + (1 − c)(1 + ρ).
// nh + nl = ½(a² + b²) and cc = (a − b)²/(a² + b²) come from the host in float64 (ab-relu.ts): the
// diagonal is multiplied by ½(a² + b²) at every layer, so its f32 rounding would compound with depth.
fn op_abrelu(b: Bank, a: f32, c: f32, nh: f32, nl: f32, cc: f32) -> Bank {
  let n2 = a * a + c * c;
  if (b.kxx == 0.0 || b.kzz == 0.0) {
    var other = a;
    if (b.kxx > 0.0 || b.kzz > 0.0) { other = 0.5 * (a + c); }
    let t0 = ds_mul(tv(b), a * other);
    return Bank(b.e, 0.5 * n2 * b.kxx, 0.5 * n2 * b.kzz, 1.0, t0.x, t0.y, 0.0, 0.0, 0.0);
  }
  let half_n2 = vec2<f32>(nh, nl);
  let theta = theta_of(b.g);
  let gr = relu_gap(b.g, theta);
  let g = cc * gr + (1.0 - cc) * gap_g(b.g);
  let h = cc * (2.0 - gr) + (1.0 - cc) * gap_h(b.g);
  // Ṡ = ½(a² + b²)·(c·κ0 + (1 − c)) = ½(a² + b²)·(1 − c·θ/π).
  var t: vec2<f32>;
  if (!on_neg(b.g)) {
    t = ds_mul_ds(ds_one_minus(tv(b), cc * theta / PI), half_n2);
  } else {
    t = ds_mul_ds(ds_mul(tv(b), cc * pi_minus_theta(b.g) / PI + (1.0 - cc)), half_n2);
  }
  let kx = ds_mul_ds(vec2<f32>(b.kxx, b.kxl), half_n2);
  let kz = ds_mul_ds(vec2<f32>(b.kzz, b.kzl), half_n2);
  return Bank(b.e, kx.x, kz.x, make_q(g, h), t.x, t.y, kx.y, kz.y, 0.0);
}

// Step 1(u > 0): S = ½κ0 (diagonal ½), so 1 − ρ' = θ/π ∈ [0, 1]; its gradient is zero.
fn op_step(b: Bank) -> Bank {
  if (out_of_range(b)) { return b; }
  if (b.kxx == 0.0 || b.kzz == 0.0) {
    return renorm(Bank(-1, select(0.0, 1.0, b.kxx > 0.0), select(0.0, 1.0, b.kzz > 0.0), 1.0, 0.0, 0.0, 0.0, 0.0, 0.0));
  }
  return Bank(-1, 1.0, 1.0, pos_q(theta_of(b.g) / PI), 0.0, 0.0, 0.0, 0.0, 0.0);
}

// 1(u > 0)·u²: S = 1.5·K(x,x)K(z,z)·κ2, κ2 = J2(θ)/(3π) ≥ 0; Ṡ = 2√(..)κ1. The gap is
// 1 − κ2 = [3(θ − sin θ cos θ) + 2(π − θ)sin²θ]/(3π), with θ − sin θ cos θ = (u − sin u)/2, u = 2θ.
fn op_arccos2(b: Bank) -> Bank {
  if (out_of_range(b)) { return b; }
  if (b.kxx == 0.0 || b.kzz == 0.0) {
    return renorm(Bank(2 * b.e, 1.5 * b.kxx * b.kxx, 1.5 * b.kzz * b.kzz, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0));
  }
  let theta = theta_of(b.g);
  let sin2 = gap_g(b.g) * gap_h(b.g);
  let g = (1.5 * u_minus_sin(2.0 * theta) + 2.0 * pi_minus_theta(b.g) * sin2) / (3.0 * PI);
  let s = sqrt(b.kxx) * sqrt(b.kzz);
  let t = ds_one_minus(ds_mul(tv(b), 2.0 * s), relu_gap(b.g, theta));
  return renorm(Bank(2 * b.e, 1.5 * b.kxx * b.kxx, 1.5 * b.kzz * b.kzz, pos_q(g), t.x, t.y, 0.0, 0.0, 0.0));
}

// 2K/(1 + 2K) and its complement 1/(1 + 2K) for K = 2^e·k, without overflow.
fn erf_u(k: f32, e: i32) -> vec2<f32> {
  if (k == 0.0) { return vec2<f32>(0.0, 1.0); }
  if (e > 100) { return vec2<f32>(1.0, 0.0); }
  let K = ldexp(k, e);
  return vec2<f32>(2.0 * K / (1.0 + 2.0 * K), 1.0 / (1.0 + 2.0 * K));
}

// erf: S = (2/π)·asin(2K(x,z)/√((1+2K(x,x))(1+2K(z,z)))), Ṡ = (4/π)/√((1+2K(x,x))(1+2K(z,z)) − 4K(x,z)²).
// With u, v the diagonal arguments and w = √(uv), the correlation argument is ρw, and
// 1 − ρ' = [(√(asin u·asin v) − asin w) + (asin w − asin ρw)]/√(asin u·asin v), where for ρ ≥ 0
// asin w − asin ρw = asin(w·g(2−g)/(√(1 − ρ²w²) + ρ√(1 − w²))) has no cancellation.
fn op_erf(b: Bank) -> Bank {
  if (out_of_range(b)) { return b; }
  let uu = erf_u(b.kxx, b.e);
  let vv = erf_u(b.kzz, b.e);
  let AU = asin_c(uu.x, uu.y);
  let AV = asin_c(vv.x, vv.y);
  let w = sqrt(uu.x) * sqrt(vv.x);
  let one_m_uv = uu.y + vv.y - uu.y * vv.y;
  let one_m_w = one_m_uv / (1.0 + w);
  let AW = asin_c(w, one_m_w);
  let root = sqrt(AU) * sqrt(AV);
  // erf is odd, so ρ' has the sign of ρ; with r = |ρ| and its gap m = 1 − r (g or h):
  // 1 − r' = [(√(AU·AV) − asin w) + (asin w − asin rw)]/√(AU·AV), and
  // asin w − asin rw = asin(w·m(2−m)/(√(1 − r²w²) + r√(1 − w²))) has no cancellation.
  var q = 1.0;
  if (root > 0.0) {
    let m = select(b.g, gap_h(b.g), on_neg(b.g));
    let r = 1.0 - m;
    let one_m_w2 = one_m_w * (1.0 + w);
    var n1 = max((AU * AV - AW * AW) / (root + AW), 0.0);
    // √(AU·AV) − asin w when u ≈ v (a near-duplicate): AU·AV − AW², a difference of O(1) products,
    // left ~1e−7 of absolute error in 1 − ρ', which a later ReLU's √(2(1 − ρ)) made 5e−5 in the NTK.
    // With ψ(t) = ln asin(e^t): AU·AV = AW²·e^D, D = ψ(m + δ) + ψ(m − δ) − 2ψ(m), m = ln w,
    // δ = ln(u/v)/2, and D = ψ''(m)·δ² + O(δ⁴/s⁴) with ψ'' = w(AW − w·s)/(s³·AW²), s = √(1 − w²).
    // u/v − 1 = (Kx − Kz)/Kz·(1 − u) from the diagonals themselves.
    let rel = (b.kxx - b.kzz) / b.kzz * uu.y;
    if (abs(rel) < 1e-2 * one_m_w2) {
      let d = 0.5 * (rel - rel * rel * (0.5 - rel / 3.0));
      let sw = sqrt(one_m_w2);
      let D = w * (AW - w * sw) / (one_m_w2 * sw * AW * AW) * d * d;
      n1 = AW * AW * (D * (1.0 + 0.5 * D)) / (root + AW);
    }
    let mm = m * (2.0 - m);
    let one_m_r2 = one_m_w2 + w * w * mm;
    let x = w * mm / (sqrt(one_m_r2) + r * sqrt(one_m_w2));
    let n2 = asin_c(x, 1.0 - x);
    let gap = (n1 + n2) / root;
    q = select(pos_q(gap), neg_q(gap), on_neg(b.g));
  }
  // Ṡ·Θ, with the scale 2^e folded into the denominator when it is large.
  let s = sqrt(b.kxx) * sqrt(b.kzz);
  let gg = gap_g(b.g) * gap_h(b.g);  // 1 − ρ²
  var t = vec2<f32>(0.0, 0.0);
  if (b.t != 0.0) {
    if (b.e >= 0) {
      let den = ldexp(1.0, -2 * b.e) + 2.0 * (b.kxx + b.kzz) * ldexp(1.0, -b.e) + 4.0 * s * s * gg;
      t = ds_mul(tv(b), (4.0 / PI) / sqrt(den));
    } else {
      let Kx = ldexp(b.kxx, b.e);
      let Kz = ldexp(b.kzz, b.e);
      let S = ldexp(s, b.e);
      let den = 1.0 + 2.0 * (Kx + Kz) + 4.0 * S * S * gg;
      let u = ds_mul(tv(b), (4.0 / PI) / sqrt(den));
      t = vec2<f32>(ldexp(u.x, b.e), ldexp(u.y, b.e));
    }
  }
  return renorm(Bank(0, (2.0 / PI) * AU, (2.0 / PI) * AV, q, t.x, t.y, 0.0, 0.0, 0.0));
}

// ---- smooth activations by quadrature (shaders/smooth_quadrature.wgsl instantiates the rest) ----

// What the quadrature gives for one pair: E[φ(u)²], E[φ(v)²], E[φ(u)φ(v)], E[φ'(u)φ'(v)], 1 ∓ ρ'.
struct SmoothMoments {
  A: f32,
  B: f32,
  S: f32,
  sdot: f32,
  g: f32,
  h: f32,
}

// The rule, chosen by measurement against the float64 quadrature (src/activations/quadrature.ts)
// for tanh, sigmoid, softplus and GELU at variances 0.01 … 60 and ρ = ±0.999 … 0: relative error
// ≤ 2e−8 in A, S and Ṡ with H = min(0.35, 0.35/σ) and |t| ≤ 7 (H = 0.5, the float64 rule's cap,
// left 2e−5 for tanh at variance 1). At most SMOOTH_NMAX nodes per side: full accuracy up to
// variance (0.35·160/7)² ≈ 64; beyond, the grid is coarser than the rule (accuracy degrades).
const SMOOTH_T: f32 = 7.0;
const SMOOTH_H: f32 = 0.35;
const SMOOTH_NMAX: f32 = 160.0;
// Below this |u ∓ v|, φ(u) ∓ φ(v) is integrated from φ' instead of subtracted.
const SMOOTH_CLOSE: f32 = 0.25;
// 5-point Gauss–Legendre on [−1, 1].
const GL5_W0: f32 = 0.5688888888888889;
const GL5_X1: f32 = 0.5384693101056831;
const GL5_W1: f32 = 0.4786286704993665;
const GL5_X2: f32 = 0.906179845938664;
const GL5_W2: f32 = 0.2369268850561891;

// (nodes per side, step, Σ_k e^{−t_k²/2}) for the larger standard deviation σ.
fn smooth_grid(sigma: f32) -> vec3<f32> {
  var H = SMOOTH_H;
  if (sigma > 1.0) { H = SMOOTH_H / sigma; }
  let n = min(SMOOTH_NMAX, ceil(SMOOTH_T / H));
  let step = max(H, SMOOTH_T / n);
  var wsum = 0.0;
  let ni = i32(n);
  for (var k = -ni; k <= ni; k++) {
    let t = f32(k) * step;
    wsum += exp(-0.5 * t * t);
  }
  return vec3<f32>(n, step, wsum);
}

// Variances above SMOOTH_VMAX are beyond the rule's SMOOTH_NMAX nodes per side (σ·H would exceed
// 0.35): the activation then marks the pair by the exponent SMOOTH_OUT_OF_RANGE, which every later
// op keeps at or above SMOOTH_FLAG_MIN (ops that reset the exponent pass a marked bank through), and
// the host turns it into an InputError (src/gpu/gram.ts, decode). Never a silently coarse answer.
const SMOOTH_VMAX: f32 = 64.0;
const SMOOTH_OUT_OF_RANGE: i32 = 268435456;  // 2^28
const SMOOTH_FLAG_MIN: i32 = 134217728;  // 2^27
fn out_of_range(b: Bank) -> bool {
  return b.e >= SMOOTH_FLAG_MIN;
}
fn out_of_range_bank() -> Bank {
  return Bank(SMOOTH_OUT_OF_RANGE, 0.5, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0);
}

// The actual variance 2^e·k (a smooth activation is not homogeneous); e is capped so that it stays
// finite (variances that large are far outside the rule's range anyway).
fn smooth_var(k: f32, e: i32) -> f32 {
  return ldexp(k, min(e, 100));
}

// The bank after a smooth activation with new (unscaled) diagonals A, B, signed gap q and Θ·Ṡ.
fn smooth_bank(b: Bank, A: f32, B: f32, q: f32, sdot: f32) -> Bank {
  let m = max(A, B);
  var e0 = 0;
  if (m > 0.0) { e0 = frexp(m).exp; }
  var t = vec2<f32>(0.0, 0.0);
  if (b.t != 0.0 || b.tl != 0.0) {
    let u = ds_mul(tv(b), sdot);
    t = vec2<f32>(ldexp(u.x, b.e - e0), ldexp(u.y, b.e - e0));
  }
  return Bank(e0, ldexp(A, -e0), ldexp(B, -e0), q, t.x, t.y, 0.0, 0.0, 0.0);
}

// cs·skip + cb·cur (a residual sum, or a running DenseNet sum). With P_k, Q_k the weighted
// diagonals: 1 ∓ ρ' = [(√(P1Q2) − √(P2Q1))²/(√(AB) + s1 + s2) + s1(1 ∓ ρ1) + s2(1 ∓ ρ2)]/√(AB)
// (AB − (s1 + s2)² is that square: the Lagrange identity), so no term cancels.
fn op_mix(skip: Bank, cur: Bank, cs: vec2<f32>, cb: vec2<f32>, cs_exact: bool, cb_exact: bool) -> Bank {
  let zs = bank_is_zero(skip) || cs.x == 0.0;
  let zc = bank_is_zero(cur) || cb.x == 0.0;
  if (zs && zc) { return bank_zero(); }
  var e = max(skip.e, cur.e);
  if (zs) { e = cur.e; }
  if (zc) { e = skip.e; }
  let P1v = ds_scale(vec2<f32>(ldexp(skip.kxx, skip.e - e), ldexp(skip.kxl, skip.e - e)), cs, cs_exact);
  let Q1v = ds_scale(vec2<f32>(ldexp(skip.kzz, skip.e - e), ldexp(skip.kzl, skip.e - e)), cs, cs_exact);
  let P2v = ds_scale(vec2<f32>(ldexp(cur.kxx, cur.e - e), ldexp(cur.kxl, cur.e - e)), cb, cb_exact);
  let Q2v = ds_scale(vec2<f32>(ldexp(cur.kzz, cur.e - e), ldexp(cur.kzl, cur.e - e)), cb, cb_exact);
  let Av = ds_add(P1v, P2v);
  let Bv = ds_add(Q1v, Q2v);
  let P1 = P1v.x + P1v.y;
  let Q1 = Q1v.x + Q1v.y;
  let P2 = P2v.x + P2v.y;
  let Q2 = Q2v.x + Q2v.y;
  let s1 = sqrt(P1) * sqrt(Q1);
  let s2 = sqrt(P2) * sqrt(Q2);
  let rAB = sqrt(Av.x + Av.y) * sqrt(Bv.x + Bv.y);
  // As a difference from the skip's gap: R − s1 = (P1Q2 + P2Q1 + P2Q2)/(R + s1).
  var q = vec2<f32>(1.0, 0.0);
  if (rAB > 0.0) {
    let a1 = sqrt(P1) * sqrt(Q2);
    let a2 = sqrt(P2) * sqrt(Q1);
    var l = a1 - a2;
    // l = (P1Q2 − P2Q1)/(a1 + a2) with the determinant in double-single: for parallel inputs of
    // different norms (x and 10x) l is 0, but a1 − a2 in f32 leaves ~1e−7·a1, whose square enters
    // the gap as ~1e−14 per block; κ0 = 1 − θ/π with θ ≈ √(2g) turns that into ~1e−7 per block
    // in the NTK, compounding over the depth. (Below 1e−15 the products would reach f32 underflow.)
    if (a1 + a2 > 1e-15) {
      let det = ds_add(ds_mul_ds(P1v, Q2v), -ds_mul_ds(P2v, Q1v));
      l = (det.x + det.y) / (a1 + a2);
    }
    let lag = l * l / (rAB + s1 + s2);
    let rs = (P1 * Q2 + P2 * Q1 + P2 * Q2) / (rAB + s1);
    let gap = abs(skip.g + skip.gl);
    if (s1 == 0.0) {
      // Nothing to difference from (an empty running sum): the gap of the new term alone.
      q = vec2<f32>(make_q((lag + s2 * gap_g(cur.g)) / rAB, (lag + s2 * gap_h(cur.g)) / rAB), 0.0);
    } else if (!on_neg(skip.g)) {
      q = q_add(skip.g, skip.gl, (lag + s2 * gap_g(cur.g) - gap * rs) / rAB);
    } else {
      q = q_add(skip.g, skip.gl, -(lag + s2 * gap_h(cur.g) - gap * rs) / rAB);
    }
  }
  let t1 = ds_scale(vec2<f32>(ldexp(skip.t, skip.e - e), ldexp(skip.tl, skip.e - e)), cs, cs_exact);
  let t2 = ds_scale(vec2<f32>(ldexp(cur.t, cur.e - e), ldexp(cur.tl, cur.e - e)), cb, cb_exact);
  let t = ds_add(t1, t2);
  return renorm(Bank(e, Av.x, Bv.x, q.x, t.x, t.y, Av.y, Bv.y, q.y));
}

fn op_scale(b: Bank, c: vec2<f32>) -> Bank {
  let t = ds_mul_ds(tv(b), c);
  let kx = ds_mul_ds(vec2<f32>(b.kxx, b.kxl), c);
  let kz = ds_mul_ds(vec2<f32>(b.kzz, b.kzl), c);
  return renorm(Bank(b.e, kx.x, kz.x, b.g, t.x, t.y, kx.y, kz.y, b.gl));
}

// The output of a pair: (NNGP mantissa, exponent, NTK mantissa, exponent); the host multiplies
// in float64, so values beyond the f32 range survive.
fn encode(b: Bank) -> vec4<u32> {
  let k = rho_of(b.g) * sqrt(b.kxx + b.kxl) * sqrt(b.kzz + b.kzl);
  return vec4<u32>(bitcast<u32>(k), bitcast<u32>(b.e), bitcast<u32>(b.t + b.tl), bitcast<u32>(b.e));
}
