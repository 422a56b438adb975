// Pointwise special functions in f32, shared by the kernel shaders (gelu.wgsl) and sampled networks
// on WebGPU (src/gpu/empirical.ts): erfc, Φ, and φ, φ' of GELU (`geluq`, the quadrature instance's
// names) and erf. Mirrors src/activations/{special,gelu,erf}.ts.

// erfc(x) for x ≥ 0 (Numerical Recipes' Chebyshev fit, relative error < 1.2e−7 everywhere).
fn erfc_pos(x: f32) -> f32 {
  let t = 1.0 / (1.0 + 0.5 * x);
  let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-x * x + p);
}

// Φ(u) = ½·erfc(−u/√2), with full relative precision in the lower tail.
fn normal_cdf(u: f32) -> f32 {
  let r = 0.5 * erfc_pos(abs(u) * 0.7071067811865476);
  return select(1.0 - r, r, u < 0.0);
}

fn geluq_phi(u: f32) -> f32 {
  return u * normal_cdf(u);
}

fn geluq_dphi(u: f32) -> f32 {
  return normal_cdf(u) + u * 0.3989422804014327 * exp(-0.5 * u * u);
}

// erf(u): its Taylor series below |u| = 0.5 (1 − erfc cancels there), else 1 − erfc(|u|) with the sign.
fn erf_phi(u: f32) -> f32 {
  let x = abs(u);
  if (x < 0.5) {
    let x2 = u * u;
    return 1.1283791670955126 * u * (1.0 + x2 * (-1.0 / 3.0 + x2 * (1.0 / 10.0 + x2 * (-1.0 / 42.0 + x2 * (1.0 / 216.0 + x2 * (-1.0 / 1320.0))))));
  }
  return sign(u) * (1.0 - erfc_pos(x));
}

fn erf_dphi(u: f32) -> f32 {
  return 1.1283791670955126 * exp(-u * u);
}
