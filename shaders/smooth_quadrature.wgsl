// The dual of a smooth activation by quadrature, in f32: the WGSL twin of
// src/activations/quadrature.ts (read its header for the derivation). A template: codegen
// instantiates it once per activation by replacing the identifier ACTNAME (src/activations/wgsl-smooth.ts),
// and the instance comes with `fn ACTNAME_phi(u: f32) -> f32` and `fn ACTNAME_dphi(u: f32) -> f32`.
//
// The pair is u = σx(α·a + β·b), v = σz(α·a − β·b) with a, b independent N(0, 1), α = √(h/2),
// β = √(g/2), so the gaps g = 1 − ρ, h = 1 + ρ enter directly. Both output gaps are means of squares:
//   1 ∓ ρ' = ½·E[(φ(u)/√A ∓ φ(v)/√B)²],
// with φ(u) ∓ φ(v) integrated from φ' (5-point Gauss–Legendre) when u ∓ v is small (u − v formed
// from σx − σz and β, never by subtracting u and v), and 1/√A − 1/√B from B − A by the same device.
// Variances above SMOOTH_VMAX mark the pair instead (kernel_ops.wgsl: out_of_range_bank).
// The rule (SMOOTH_* in kernel_ops.wgsl): the trapezoidal rule on t_k = k·H, |t| ≤ 7, over the disc
// a² + b² ≤ 49, H = min(0.35, 0.35/σ) (σ the larger standard deviation); row sums are accumulated
// separately before the total (a cheap pairwise sum, so f32 rounding grows like the row count).

fn ACTNAME_diff(lo: f32, width: f32) -> f32 {
  let half = 0.5 * width;
  let mid = lo + half;
  var s = GL5_W0 * ACTNAME_dphi(mid);
  s += GL5_W1 * (ACTNAME_dphi(mid + half * GL5_X1) + ACTNAME_dphi(mid - half * GL5_X1));
  s += GL5_W2 * (ACTNAME_dphi(mid + half * GL5_X2) + ACTNAME_dphi(mid - half * GL5_X2));
  return half * s;
}

// The moments of φ for actual variances kx, kz (not scaled) and the signed gap q.
fn ACTNAME_moments(kx: f32, kz: f32, q: f32) -> SmoothMoments {
  let sx = sqrt(kx);
  let sz = sqrt(kz);
  let grid = smooth_grid(max(sx, sz));
  let n = i32(grid.x);
  let step = grid.y;
  let wsum = grid.z;
  // σx − σz without cancellation.
  var dS = 0.0;
  if (sx + sz > 0.0) { dS = (kx - kz) / (sx + sz); }
  var A = 0.0;
  var B = 0.0;
  var BmA = 0.0;
  for (var k = -n; k <= n; k++) {
    let t = f32(k) * step;
    let w = exp(-0.5 * t * t);
    let fx = ACTNAME_phi(sx * t);
    let fz = ACTNAME_phi(sz * t);
    A += w * fx * fx;
    B += w * fz * fz;
    let width = -dS * t;
    var diff = fz - fx;
    if (abs(width) < SMOOTH_CLOSE) { diff = ACTNAME_diff(sx * t, width); }
    BmA += w * diff * (fz + fx);
  }
  A = A / wsum;
  B = B / wsum;
  BmA = BmA / wsum;
  let g = gap_g(q);
  let h = gap_h(q);
  let alpha = sqrt(0.5 * h);
  let beta = sqrt(0.5 * g);
  let rA = sqrt(A);
  let rB = sqrt(B);
  let usable = rA > 0.0 && rB > 0.0;
  var cA = 0.0;
  var iA = 0.0;
  var iB = 0.0;
  if (usable) {
    cA = BmA / (rA * rB * (rA + rB));
    iA = 1.0 / rA;
    iB = 1.0 / rB;
  }
  // The split (φ(u) − φ(v))/√A + φ(v)·(1/√A − 1/√B) removes the cancellation of 1/√A − 1/√B when
  // A ≈ B, but itself cancels when A ≪ B (both terms ≈ ±φ(v)/√A): in f32 that cost 2e−5 for a pair
  // with A/B ≈ 1e−5 (the float64 quadrature.ts can afford it). Far from A = B, the plain
  // φ(u)/√A ∓ φ(v)/√B has no systematic cancellation (1 − ρ' is then not small).
  let split = usable && rA < 2.0 * rB && rB < 2.0 * rA;
  let r2 = SMOOTH_T * SMOOTH_T;
  var S = 0.0;
  var sdot = 0.0;
  var gm = 0.0;
  var gp = 0.0;
  for (var i = -n; i <= n; i++) {
    let a = f32(i) * step;
    let wa = exp(-0.5 * a * a);
    let pa = alpha * a;
    var rS = 0.0;
    var rD = 0.0;
    var rM = 0.0;
    var rP = 0.0;
    for (var j = -n; j <= n; j++) {
      let b = f32(j) * step;
      if (a * a + b * b > r2) { continue; }
      let wb = exp(-0.5 * b * b);
      let pb = beta * b;
      let u = sx * (pa + pb);
      let v = sz * (pa - pb);
      let fu = ACTNAME_phi(u);
      let fv = ACTNAME_phi(v);
      rS += wb * fu * fv;
      rD += wb * ACTNAME_dphi(u) * ACTNAME_dphi(v);
      if (usable) {
        // u − v and u + v from their parts: exact for near-duplicate and near-antipodal pairs.
        let uMinusV = dS * pa + (sx + sz) * pb;
        let uPlusV = (sx + sz) * pa + dS * pb;
        var minus = fu - fv;
        if (abs(uMinusV) < SMOOTH_CLOSE) { minus = ACTNAME_diff(v, uMinusV); }
        var plus = fu + fv;
        if (abs(uPlusV) < SMOOTH_CLOSE) { plus = ACTNAME_diff(-v, uPlusV) + (fv + ACTNAME_phi(-v)); }
        var dm = fu * iA - fv * iB;
        var dp = fu * iA + fv * iB;
        if (split) {
          dm = minus * iA + fv * cA;
          dp = plus * iA - fv * cA;
        }
        rM += wb * dm * dm;
        rP += wb * dp * dp;
      }
    }
    S += wa * rS;
    sdot += wa * rD;
    gm += wa * rM;
    gp += wa * rP;
  }
  let w2 = wsum * wsum;
  var outG = 1.0;
  var outH = 1.0;
  if (usable) {
    outG = min(0.5 * gm / w2, 2.0);
    outH = min(0.5 * gp / w2, 2.0);
  }
  return SmoothMoments(A, B, S / w2, sdot / w2, outG, outH);
}

// The activation on a bank: diagonals, the signed gap and Θ ← Ṡ·Θ from the quadrature.
fn op_ACTNAME(b: Bank) -> Bank {
  let kx = smooth_var(b.kxx + b.kxl, b.e);
  let kz = smooth_var(b.kzz + b.kzl, b.e);
  if (out_of_range(b) || max(kx, kz) > SMOOTH_VMAX) { return out_of_range_bank(); }
  let m = ACTNAME_moments(kx, kz, b.g);
  return smooth_bank(b, m.A, m.B, make_q(m.g, m.h), m.sdot);
}
