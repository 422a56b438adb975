// The CPU-adapter layout of conv_slab.wgsl: each invocation runs one (pair, slab) item alone, its
// state in private memory, with no barrier (WG = 1, PER = MAXP). On lavapipe the invocations of a
// workgroup are SIMD lanes and each barrier switches between them: cntk depth 5, gap, 8×8×3,
// N = 48 took ~1.5× less CPU time this way than with 8 threads sharing a slab (flatten on 28×28
// likewise). Prepended by src/gpu/conv.ts: LANES, the items per workgroup, and PAIR_BLOCKS.

// One slot more than the plan's: a conv's output goes to the spare one (conv_slab_resident.wgsl).
const CONV_DIRECT: bool = true;
var<private> sq: array<f32, (SLOTS + 1u) * MAXP>;
var<private> sql: array<f32, select(1u, (SLOTS + 1u) * MAXP, PRECISE)>;
var<private> st: array<vec2<f32>, (SLOTS + 1u) * MAXP>;
var<private> red: array<vec4<f32>, WG>;
var<private> total: vec4<f32>;
var<private> bad: u32;

fn sync() {}
fn mark_bad() { bad = 1u; }
fn bad_flag() -> u32 { return bad; }

// Items over a 2-D grid of workgroups of LANES each. Packed (PAIR_BLOCKS false: eq, flatten, few
// slabs): item = pair · slabs + slab, so a workgroup's lanes run different pairs. PAIR_BLOCKS (a gap
// readout, slabs ≥ the SIMD width): each workgroup runs LANES slabs of one pair (CP.blocks
// workgroups per pair), so that the pair and every address that depends only on it and on the entry
// (the x side of a conv's taps, the state's index) are the same in every lane: lavapipe loads such
// a value once, where it runs a load whose address differs per lane as a loop over the lanes.
@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = CP.one;
  use_bindings();
  let g = wid.x + wid.y * nwg.x;
  // One call of run_slab (two made the pipeline slower to create, though PAIR_BLOCKS is a constant).
  var pl: u32;
  var slab: u32;
  if (PAIR_BLOCKS) {
    pl = g / CP.blocks;
    slab = (g - pl * CP.blocks) * LANES + li;
  } else {
    let item = g * LANES + li;
    pl = item / CP.slabs;
    slab = item - pl * CP.slabs;
  }
  if (pl >= CP.pairCount || slab >= CP.slabs) { return; }
  bad = 0u;
  run_slab(pl, slab, 0u);
}
