// The state accessors of conv_slab.wgsl for a slab resident in one workgroup (conv_slab_workgroup.wgsl)
// or one invocation (conv_slab_lanes.wgsl): entry k of slot k / MAXP in the arrays sq (the gap),
// sql (its low part, held where PRECISE; QL entries) and st. In the workgroup layout a conv writes
// its output in place after its barrier (op_convl keeps it in registers until then). In the lanes
// layout (CONV_DIRECT) slot 0, the current state, lives at `cur`, 0 or the spare slot SLOTS·MAXP: a
// conv writes each output entry straight into the other one and conv_done flips them. Copying the
// output in from registers after the taps took 17 % of lavapipe's time on cntk gap: llvmpipe stores
// to a private array entry by entry and lane by lane, even where the index is the same in every lane.

var<private> cur: u32;

fn at(k: u32) -> u32 {
  if (CONV_DIRECT) { return select(k, k + cur, k < MAXP); }
  return k;
}
fn gq(k: u32) -> f32 { return sq[at(k)]; }
fn gq2(k: u32) -> vec2<f32> {
  let i = at(k);
  if (PRECISE) { return vec2<f32>(sq[i], sql[i]); }
  return vec2<f32>(sq[i], 0.0);
}
fn gt(k: u32) -> vec2<f32> { return st[at(k)]; }
fn put_at(i: u32, q: vec2<f32>, t: vec2<f32>) {
  sq[i] = q.x;
  if (PRECISE) { sql[i] = q.y; }
  st[i] = t;
}
fn put(k: u32, q: vec2<f32>, t: vec2<f32>) { put_at(at(k), q, t); }
fn put_conv(k: u32, q: vec2<f32>, t: vec2<f32>) {
  if (CONV_DIRECT) {
    put_at(SLOTS * MAXP - cur + k, q, t);
  } else {
    put(k, q, t);
  }
}
fn conv_done() {
  if (CONV_DIRECT) { cur = SLOTS * MAXP - cur; }
}
// A conv's reads of its input entry k, under tap (a0, a1): the slab itself (no tiles: conv_slab_global.wgsl).
const TILED: bool = false;
fn conv_tile(q0: u32, q1: u32, s0: u32, s1: u32, zero: bool, n0: i32, n1: i32) {}
fn cq(k: u32, a0: i32, a1: i32) -> f32 { return gq(k); }
fn cq2(k: u32, a0: i32, a1: i32) -> vec2<f32> { return gq2(k); }
fn ct(k: u32, a0: i32, a1: i32) -> vec2<f32> { return gt(k); }
