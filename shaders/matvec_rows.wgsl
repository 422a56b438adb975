// One row block of K · P for the conjugate-gradient solver: K is an f32 block of `rows` rows of an
// n × n kernel matrix, P holds the n × 4·quads right-hand sides as vec4s. One workgroup per
// (row, group of 4 right-hand sides): 64 threads stride over the row and combine in a tree.
// Only the product is done here; the host keeps the iterate, the residuals and every dot product
// in float64.
// struct Params is generated from MATVEC_PARAMS (src/gpu/layout.ts) and precedes this file.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> K: array<f32>;
@group(0) @binding(2) var<storage, read> P: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> Out: array<vec4<f32>>;

var<workgroup> part: array<vec4<f32>, 64>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  // Workgroup ids are uniform, so the early return keeps the barriers below in uniform control flow.
  let g = wg.x + wg.y * nwg.x;
  let r = g / params.quads;
  let q = g % params.quads;
  if (r >= params.rows) {
    return;
  }
  let base = r * params.n;
  var acc = vec4<f32>(0.0);
  for (var j = t; j < params.n; j += 64u) {
    acc += K[base + j] * P[j * params.quads + q];
  }
  part[t] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (t < s) {
      part[t] += part[t + s];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    Out[(params.row0 + r) * params.quads + q] = part[0];
  }
}
