// The global layout's readout dispatch (conv_slab_global.wgsl): eq, flatten or gap, one workgroup
// of WG threads per (slab, pair) as in conv_slab_workgroup.wgsl, reading the state from global memory.

var<workgroup> red: array<vec4<f32>, WG>;
var<workgroup> total: vec4<f32>;

fn sync() { workgroupBarrier(); }

// Workgroups: x over the batch's slabs, y (and z, past 65 535) over the pairs.
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ONE = CP.one;
  use_bindings();
  let pl = wid.y + wid.z * nwg.y;
  if (pl >= CP.pairCount) { return; }
  enter(pl, wid.x);
  run_slab(pl, CP.slab0 + wid.x, lid);
}
