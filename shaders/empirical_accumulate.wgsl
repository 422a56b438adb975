// One layer's term of a sampled network's empirical kernel (src/gpu/empirical.ts), elementwise over
// the n1 × n2 block: NTK, T += wfac·(ΔΔᵀ) ⊙ (AAᵀ) + bfac·ΔΔᵀ with T a double-single pair (hi, lo)
// summed by an error-free two_sum, so the sum over layers loses nothing beyond each term's own
// rounding; NNGP, T = wfac·AAᵀ + bfac. D = ΔΔᵀ, Gm = AAᵀ (from empirical_gemm.wgsl).
// struct Params is generated from ACCUMULATE_PARAMS in src/gpu/layout.ts and precedes this file, with empirical_common.wgsl.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> D: array<f32>;
@group(0) @binding(2) var<storage, read> Gm: array<f32>;
@group(0) @binding(3) var<storage, read_write> T: array<vec2<f32>>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = P.one;
  let e = (wid.y * nw.x + wid.x) * 64u + li;
  if (e >= P.count) { return; }
  if (P.op == 1u) {
    T[e] = vec2<f32>(P.wfac * Gm[e] + P.bfac, 0.0);
    return;
  }
  let d = D[e];
  let term = P.wfac * d * Gm[e] + P.bfac * d;
  let t = T[e];
  let s = two_sum(t.x, term);
  T[e] = vec2<f32>(s.x, t.y + s.y);
}
