// The global layout's layer dispatch (conv_slab_global.wgsl): one invocation per (pair, slab, entry),
// WG = PER = 1 so that run_slab's entry loops visit entry `lid` alone. It runs a conv and the
// entrywise ops after it (activation, residual copies and sums, init, load, store): each reads only
// its own entry, except the conv, which reads the other half. No barrier: no invocation shares a
// slab through memory within the dispatch. Prepended: ITEMS, the invocations per workgroup.

var<private> red: array<vec4<f32>, WG>;
var<private> total: vec4<f32>;

fn sync() {}

// Items (pair-major, then the batch's slabs, then entry over MAXP) over a 2-D grid of workgroups.
@compute @workgroup_size(ITEMS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = CP.one;
  _ = coef[0];
  let item = (wid.x + wid.y * nwg.x) * ITEMS + li;
  let ps = item / MAXP;
  let pl = ps / CP.batch;
  if (pl >= CP.pairCount) { return; }
  let local = ps - pl * CP.batch;
  enter(pl, local);
  run_slab(pl, CP.slab0 + local, item - ps * MAXP);
}
