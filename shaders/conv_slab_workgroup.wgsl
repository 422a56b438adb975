// The GPU layout of conv_slab.wgsl: one workgroup per (slab, pair); its WG threads share the slab
// in workgroup memory and meet at a barrier between ops that read their neighbours' entries.

const CONV_DIRECT: bool = false;
var<workgroup> sq: array<f32, SLOTS * MAXP>;
var<workgroup> sql: array<f32, QL>;
var<workgroup> st: array<vec2<f32>, SLOTS * MAXP>;
var<workgroup> red: array<vec4<f32>, WG>;
var<workgroup> total: vec4<f32>;
var<workgroup> bad: atomic<u32>;

fn sync() { workgroupBarrier(); }
fn mark_bad() { atomicOr(&bad, 1u); }
fn bad_flag() -> u32 { return atomicLoad(&bad); }

// Workgroups: x over the slabs, y (and z, past 65 535) over the pairs.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ONE = CP.one;
  use_bindings();
  let pl = wid.y + wid.z * nwg.y;
  if (pl >= CP.pairCount) { return; }
  if (lid == 0u) { atomicStore(&bad, 0u); }
  run_slab(pl, wid.x, lid);
}
