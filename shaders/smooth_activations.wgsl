// φ and φ' of the built-in smooth activations in f32, without overflow in the tails and with full
// relative precision near 0 (the quadrature of smooth_quadrature.wgsl integrates φ' to form
// differences, so φ' must not cancel either). Mirrors src/activations/{tanh,sigmoid,softplus}.ts.

// tanh: its series below |u| = 0.25 (the exp form cancels there), else (1 − e)/(1 + e), e = e^{−2|u|}.
fn tanh_phi(u: f32) -> f32 {
  let x = abs(u);
  if (x < 0.25) {
    let x2 = u * u;
    return u * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0)))));
  }
  let e = exp(-2.0 * x);
  return sign(u) * (1.0 - e) / (1.0 + e);
}

// 1/cosh²(u) = 4e/(1 + e)², e = e^{−2|u|}: no cancellation in the tails, unlike 1 − tanh².
fn tanh_dphi(u: f32) -> f32 {
  let e = exp(-2.0 * abs(u));
  return 4.0 * e / ((1.0 + e) * (1.0 + e));
}

// The logistic sigmoid through e^{−|u|}, so neither tail overflows or cancels.
fn sigmoid_phi(u: f32) -> f32 {
  let e = exp(-abs(u));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), u >= 0.0);
}

fn sigmoid_dphi(u: f32) -> f32 {
  let e = exp(-abs(u));
  return e / ((1.0 + e) * (1.0 + e));
}

// log(1 + x) for x ≥ 0 with full relative precision for small x: log(y)·x/(y − 1), y = 1 + x
// (Goldberg's trick; `keep` stops the compiler from folding y − 1 into x).
fn log1p_pos(x: f32) -> f32 {
  let y = keep(1.0 + x);
  let d = keep(y - 1.0);
  if (d == 0.0) { return x; }
  return log(y) * (x / d);
}

// Softplus: max(u, 0) + log1p(e^{−|u|}); its derivative is the sigmoid.
fn softplus_phi(u: f32) -> f32 {
  return max(u, 0.0) + log1p_pos(exp(-abs(u)));
}

fn softplus_dphi(u: f32) -> f32 {
  return sigmoid_phi(u);
}
