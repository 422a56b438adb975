// Elementwise ops of a sampled network on strided row-major views (src/gpu/empirical.ts): the
// activation forward Y = φ(X), its backward Y = b·Y + G ⊙ φ′(X) (b = 1 accumulates the gradients
// a denseBlock layer receives from every later layer), the residual combination Y = a·X + b·G, and
// the row scaling Y = a·X ⊙ g of gradient descent (g a column, one value per input: the residual r).
// A template: the host prepends `fn act_phi(u: f32, p: vec2<f32>) -> f32` and `act_dphi` from the
// activation's WgslPointwise (src/activations/entry.ts), the generated struct Params and empirical_common.wgsl.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = P.one;
  let idx = (wid.y * nw.x + wid.x) * 64u + li;
  if (idx >= P.rows * P.cols) { return; }
  let r = idx / P.cols;
  let c = idx % P.cols;
  let x = X[P.offX + r * P.ldX + c];
  let y = P.offY + r * P.ldY + c;
  let p = vec2<f32>(P.p0, P.p1);
  switch P.op {
    case 0u: {
      Y[y] = act_phi(x, p);
    }
    case 1u: {
      let g = G[P.offG + r * P.ldG + c] * act_dphi(x, p);
      // b = 0 overwrites without reading (Y may hold anything there).
      Y[y] = select(g, P.b * Y[y] + g, P.b != 0.0);
    }
    case 2u: {
      Y[y] = P.a * x + P.b * G[P.offG + r * P.ldG + c];
    }
    default: {
      Y[y] = P.a * x * G[P.offG + r * P.ldG];
    }
  }
}
