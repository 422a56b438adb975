// The global layout of conv_slab.wgsl, for slabs whose state exceeds the device's workgroup memory
// (src/gpu/conv.ts: convLayout). The state of (pair, slab) lives in `state` from
// CP.slabBase + (pair · batch + slab − slab0) · (SLOTS + 1) · MAXP (a dispatch runs the slabs
// [slab0, slab0 + batch) of each pair: all of them unless one pair's exceed a buffer), one vec4 (q, Θ hi, Θ lo, q's low part) per entry:
// two halves of MAXP entries for the current state, between which a conv ping-pongs (it reads its
// neighbours from one while other workgroups write their outputs to the other; CP.parity says which
// is current when a dispatch starts), then the residual banks and the copy kept for the taps.
// Every access goes straight to global memory: no workgroup-memory tiles with a halo (on CPU
// adapters workgroup memory is ordinary memory anyway). A layer is one dispatch
// (conv_slab_layer.wgsl), a readout another (conv_slab_readout.wgsl), so the dispatch boundary is
// the barrier between layers.
//
// The bad-pair flag is one vec4 per pair at CP.flagBase: the host clears it before each submit and
// any invocation may set it to 1 (all writers write the same value); the readouts read it.

var<private> gbase: u32;
var<private> live: u32;
var<private> gpair: u32;

fn at(k: u32) -> u32 {
  if (k < MAXP) { return gbase + live * MAXP + k; }
  return gbase + MAXP + k;
}
fn gq(k: u32) -> f32 { return state[at(k)].x; }
fn gq2(k: u32) -> vec2<f32> { return state[at(k)].xw; }
fn gt(k: u32) -> vec2<f32> { return state[at(k)].yz; }
fn put(k: u32, q: vec2<f32>, t: vec2<f32>) { state[at(k)] = vec4<f32>(q.x, t, q.y); }
fn put_conv(k: u32, q: vec2<f32>, t: vec2<f32>) { state[gbase + (1u - live) * MAXP + k] = vec4<f32>(q.x, t, q.y); }
fn conv_done() { live = 1u - live; }
fn mark_bad() { state[CP.flagBase + gpair] = vec4<f32>(1.0); }
fn bad_flag() -> u32 { return select(0u, 1u, state[CP.flagBase + gpair].x != 0.0); }

// Before run_slab: where this (pair, slab of the batch) keeps its state.
fn enter(pl: u32, local: u32) {
  gpair = pl;
  live = CP.parity;
  gbase = CP.slabBase + (pl * CP.batch + local) * (SLOTS + 1u) * MAXP;
}
