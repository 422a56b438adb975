// GELU, φ(u) = u·Φ(u): the closed-form duals of src/activations/gelu.ts in f32 for the diagonals
// and Ṡ, and the gap 1 − ρ' by the quadrature (the instance `geluq` of smooth_quadrature.wgsl)
// below g = 1/4, where the closed form's S/√(AB) cancels; above, ρ' = S/√(AB).

// erfc_pos, normal_cdf and geluq_phi/geluq_dphi are in special_pointwise.wgsl (the pointwise φ
// and φ' are shared with sampled networks on WebGPU).

// asin(x) for x ∈ [−1, 1] (odd extension of asin_c).
fn asin_signed(x: f32) -> f32 {
  let a = min(abs(x), 1.0);
  return sign(x) * asin_c(a, 1.0 - a);
}

// S for variances a, b, covariance c, P = (1 + a)(1 + b), D = P − c² and gh = (1 − ρ)(1 + ρ), all
// given without cancellation. The last term's numerator ab + c²(1 − ab)/P is written as
// [ab(1 + a + b) + (ab)²·gh + c²]/P (ab − c² = ab·gh): positive terms only, where the plain form
// cancels for large variances.
fn gelu_s(a: f32, b: f32, c: f32, P: f32, D: f32, gh: f32) -> f32 {
  let ab = a * b;
  let num = (ab * (1.0 + a + b) + ab * ab * gh + c * c) / P;
  return c / 4.0 + c * asin_signed(c / sqrt(P)) / (2.0 * PI) + num / (2.0 * PI * sqrt(D));
}

// Ṡ = ∂S/∂c; its last factor 3 + a + b − c²(2 + a + b)/P is [(3 + a + b)·D + c²]/P.
fn gelu_sdot(a: f32, b: f32, c: f32, P: f32, D: f32) -> f32 {
  let f = ((3.0 + a + b) * D + c * c) / P;
  return 0.25 + asin_signed(c / sqrt(P)) / (2.0 * PI) + c * f / (2.0 * PI * D * sqrt(D));
}

fn gelu_diag(a: f32) -> f32 {
  return gelu_s(a, a, a, (1.0 + a) * (1.0 + a), 1.0 + 2.0 * a, 0.0);
}

fn op_gelu(b: Bank) -> Bank {
  if (out_of_range(b)) { return b; }
  let a = smooth_var(b.kxx + b.kxl, b.e);
  let z = smooth_var(b.kzz + b.kzl, b.e);
  let g = gap_g(b.g);
  let h = gap_h(b.g);
  let P = (1.0 + a) * (1.0 + z);
  // c² = az·ρ², so D = 1 + a + z + az·(1 − ρ)(1 + ρ): positive terms only.
  let D = 1.0 + a + z + a * z * g * h;
  let c = 0.5 * (h - g) * sqrt(a) * sqrt(z);
  let A = gelu_diag(a);
  let B = gelu_diag(z);
  let sdot = gelu_sdot(a, z, c, P, D);
  var q = 1.0;
  if (A > 0.0 && B > 0.0) {
    if (g < 0.25) {
      // Only the quadrature has a range (the closed forms hold at any variance).
      if (max(a, z) > SMOOTH_VMAX) { return out_of_range_bank(); }
      let m = geluq_moments(a, z, b.g);
      q = pos_q(m.g);
    } else {
      let rho = gelu_s(a, z, c, P, D, g * h) / (sqrt(A) * sqrt(B));
      q = make_q(1.0 - rho, 1.0 + rho);
    }
  }
  return smooth_bank(b, A, B, q, sdot);
}
