// One gradient-descent step on a trained network's parameters (src/gpu/train.ts): (hi, lo) += a·U,
// the parameters a double-single pair of f32 buffers (hi is what the forward pass reads), U the
// step's gradient from empirical_gemm.wgsl. The sum is error-free (two_sum) and renormalised so
// that hi = fl(hi + lo): the parameters follow the float64 trajectory to f32 rounding of each
// step's update, instead of losing ε·|W| at every one of hundreds of small steps.
// struct Params is generated from UPDATE_PARAMS in src/gpu/layout.ts and precedes this file, with empirical_common.wgsl.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read_write> Hi: array<f32>;
@group(0) @binding(3) var<storage, read_write> Lo: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = P.one;
  let e = (wid.y * nw.x + wid.x) * 64u + li;
  if (e >= P.count) { return; }
  let s = two_sum(Hi[e], P.a * U[e]);
  let t = two_sum(s.x, s.y + Lo[e]);
  Hi[e] = t.x;
  Lo[e] = t.y;
}
