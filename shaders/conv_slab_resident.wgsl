// The state accessors of conv_slab.wgsl for a slab resident in one workgroup (conv_slab_workgroup.wgsl)
// or one invocation (conv_slab_lanes.wgsl): entry k of slot k / MAXP in the arrays sq (the gap),
// sql (its low part, held where PRECISE; QL entries) and st. A conv writes its output in place after
// its barrier (op_convl keeps it in registers until then).

fn gq(k: u32) -> f32 { return sq[k]; }
fn gq2(k: u32) -> vec2<f32> {
  if (PRECISE) { return vec2<f32>(sq[k], sql[k]); }
  return vec2<f32>(sq[k], 0.0);
}
fn gt(k: u32) -> vec2<f32> { return st[k]; }
fn put(k: u32, q: vec2<f32>, t: vec2<f32>) {
  sq[k] = q.x;
  if (PRECISE) { sql[k] = q.y; }
  st[k] = t;
}
fn put_conv(k: u32, q: vec2<f32>, t: vec2<f32>) { put(k, q, t); }
fn conv_done() {}
// A conv's reads of its input entry k, under tap (a0, a1): the slab itself (no tiles: conv_slab_global.wgsl).
const TILED: bool = false;
fn conv_tile(q0: u32, q1: u32, s0: u32, s1: u32, zero: bool, n0: i32, n1: i32) {}
fn cq(k: u32, a0: i32, a1: i32) -> f32 { return gq(k); }
fn cq2(k: u32, a0: i32, a1: i32) -> vec2<f32> { return gq2(k); }
fn ct(k: u32, a0: i32, a1: i32) -> vec2<f32> { return gt(k); }
