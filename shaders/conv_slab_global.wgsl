// The global layout of conv_slab.wgsl, for slabs whose state exceeds the device's workgroup memory
// (src/gpu/conv.ts: convLayout). The state of (pair, slab) lives in `state` from
// CP.slabBase + (pair · batch + slab − slab0) · (SLOTS + 1) · MAXP (a dispatch runs the slabs
// [slab0, slab0 + batch) of each pair: all of them unless one pair's exceed a buffer), one vec4 (q, Θ hi, Θ lo, q's low part) per entry:
// two halves of MAXP entries for the current state, between which a conv ping-pongs (it reads its
// neighbours from one while other workgroups write their outputs to the other; CP.parity says which
// is current when a dispatch starts), then the residual banks and the copy kept for the taps.
// A layer is one dispatch (conv_slab_layer.wgsl), a readout another (conv_slab_readout.wgsl), so the
// dispatch boundary is the barrier between layers. On GPUs a conv's taps read a halo tile that its
// workgroup first copies into workgroup memory (conv_tile below); on CPU adapters, where workgroup
// memory is ordinary memory and the copy and its barrier only add work (lavapipe: gap on 28×28
// forced into this layout, 1.21 s tiled against 1.04 s), every access goes straight to `state`.
//
// The bad-pair flag is one vec4 per pair at CP.flagBase: the host clears it before each submit and
// any invocation may set it to 1 (all writers write the same value); the readouts read it.

var<private> gbase: u32;
var<private> live: u32;
var<private> gpair: u32;

// A conv's output leaves through op_convl's registers and put_conv, after the taps (CONV_DIRECT false).
const CONV_DIRECT: bool = false;

fn at(k: u32) -> u32 {
  if (k < MAXP) { return gbase + live * MAXP + k; }
  return gbase + MAXP + k;
}
fn gq(k: u32) -> f32 { return state[at(k)].x; }
fn gq2(k: u32) -> vec2<f32> { return state[at(k)].xw; }
fn gt(k: u32) -> vec2<f32> { return state[at(k)].yz; }
fn put(k: u32, q: vec2<f32>, t: vec2<f32>) { state[at(k)] = vec4<f32>(q.x, t, q.y); }
fn put_conv(k: u32, q: vec2<f32>, t: vec2<f32>) { state[gbase + (1u - live) * MAXP + k] = vec4<f32>(q.x, t, q.y); }
fn conv_done() {
  live = 1u - live;
  tiling = false;
}
fn mark_bad() { state[CP.flagBase + gpair] = vec4<f32>(1.0); }
fn bad_flag() -> u32 { return select(0u, 1u, state[CP.flagBase + gpair].x != 0.0); }

// Halo tiles (the layer dispatch with CP.tilesSlab ≠ 0: conv_slab_layer.wgsl). A workgroup runs a
// tile of (ITEMS / CP.tile1) × CP.tile1 output entries of one slab, whose origin is (to0, to1) and
// in which this invocation is (tl0, tl1). A conv first copies the input entries under the tile's
// taps, the tile and its halo ((T0 − 1)·s0 + q0 rows by (T1 − 1)·s1 + q1 columns from the origin's
// first tap, wrapped for circular padding; zero outside the image, where no tap reads), from the
// live half into workgroup memory, once per workgroup instead of q0·q1 global reads per entry;
// then its taps read them there (cq, cq2, ct): the same values, so the same bits as the untiled
// dispatch. TILE (prepended): the largest tile of the plan's convs.
const TILED: bool = true;
var<workgroup> tile: array<vec4<f32>, TILE>;
var<private> tiling: bool;
var<private> tli: u32;
var<private> tl0: u32;
var<private> tl1: u32;
var<private> to0: u32;
var<private> to1: u32;
var<private> tw: u32;
var<private> tbase: u32;

// The conv's filter (q0, q1), stride (s0, s1), padding and input grid (n0, n1), as op_convl reads them.
fn conv_tile(q0: u32, q1: u32, s0: u32, s1: u32, zero: bool, n0: i32, n1: i32) {
  let t1 = CP.tile1;
  let th = (ITEMS / t1 - 1u) * s0 + q0;
  tw = (t1 - 1u) * s1 + q1;
  let b0 = i32(to0 * s0) - i32(q0 / 2u);
  let b1 = i32(to1 * s1) - i32(q1 / 2u);
  for (var k = tli; k < th * tw; k += ITEMS) {
    let ty = k / tw;
    var y = b0 + i32(ty);
    var x = b1 + i32(k - ty * tw);
    if (!zero) {
      y = wrap(y, n0);
      x = wrap(x, n1);
    }
    var v = vec4<f32>(0.0);
    if (y >= 0 && y < n0 && x >= 0 && x < n1) { v = state[at(u32(y * n1 + x))]; }
    tile[k] = v;
  }
  workgroupBarrier();
  tbase = tl0 * s0 * tw + tl1 * s1;
  tiling = true;
}

fn tile_at(a0: i32, a1: i32) -> u32 { return tbase + u32(a0) * tw + u32(a1); }
fn cq(k: u32, a0: i32, a1: i32) -> f32 {
  if (tiling) { return tile[tile_at(a0, a1)].x; }
  return gq(k);
}
fn cq2(k: u32, a0: i32, a1: i32) -> vec2<f32> {
  if (tiling) { return tile[tile_at(a0, a1)].xw; }
  return gq2(k);
}
fn ct(k: u32, a0: i32, a1: i32) -> vec2<f32> {
  if (tiling) { return tile[tile_at(a0, a1)].yz; }
  return gt(k);
}

// Before run_slab: where this (pair, slab of the batch) keeps its state.
fn enter(pl: u32, local: u32) {
  gpair = pl;
  live = CP.parity;
  gbase = CP.slabBase + (pl * CP.batch + local) * (SLOTS + 1u) * MAXP;
}
