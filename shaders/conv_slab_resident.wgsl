// The state accessors of conv_slab.wgsl for a slab resident in one workgroup (conv_slab_workgroup.wgsl)
// or one invocation (conv_slab_lanes.wgsl): entry k of slot k / MAXP in the arrays sq and st. A
// conv writes its output in place after its barrier (op_convl keeps it in registers until then).

fn gq(k: u32) -> f32 { return sq[k]; }
fn gt(k: u32) -> vec2<f32> { return st[k]; }
fn put(k: u32, q: f32, t: vec2<f32>) {
  sq[k] = q;
  st[k] = t;
}
fn put_conv(k: u32, q: f32, t: vec2<f32>) { put(k, q, t); }
fn conv_done() {}
