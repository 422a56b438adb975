// The CPU-adapter layout of conv_slab.wgsl: each invocation runs one (pair, slab) item alone, its
// state in private memory, with no barrier (WG = 1, PER = MAXP). On lavapipe the invocations of a
// workgroup are SIMD lanes and each barrier switches between them: cntk depth 5, gap, 8×8×3,
// N = 48 took ~1.5× less CPU time this way than with 8 threads sharing a slab (flatten on 28×28
// likewise). Prepended by src/gpu/conv.ts: LANES, the items per workgroup.

var<private> sq: array<f32, SLOTS * MAXP>;
var<private> sql: array<f32, QL>;
var<private> st: array<vec2<f32>, SLOTS * MAXP>;
var<private> red: array<vec4<f32>, WG>;
var<private> total: vec4<f32>;
var<private> bad: u32;

fn sync() {}
fn mark_bad() { bad = 1u; }
fn bad_flag() -> u32 { return bad; }

// Items (pair-major: item = pair · slabs + slab) over a 2-D grid of workgroups of LANES each.
@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = CP.one;
  _ = coef[0];
  let item = (wid.x + wid.y * nwg.x) * LANES + li;
  let pl = item / CP.slabs;
  if (pl >= CP.pairCount) { return; }
  bad = 0u;
  run_slab(pl, item % CP.slabs, 0u);
}
