// Stubs of conv_slab_ds.wgsl for a plan that is not PRECISE: in_ds is then false, so conv_slab.wgsl
// never calls them, and the shader compiles without the double-single paths' bodies.

fn init_gap_ds(e: u32, j: u32) -> vec2<f32> { return vec2<f32>(1.0, 0.0); }
fn act_gap_ds(q: vec2<f32>) -> vec2<f32> { return q; }
fn conv_gap_ds(o: u32, h: Head, I: u32, J: u32) -> ConvDs { return ConvDs(vec2<f32>(1.0, 0.0), vec2<f32>(0.0, 0.0), vec2<f32>(0.0, 0.0)); }
fn resmix_gap_ds(o: u32, h: Head, e: u32, j: u32) -> vec2<f32> { return vec2<f32>(1.0, 0.0); }
