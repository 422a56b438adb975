// Shared by the sampled-network shaders (empirical_gemm, empirical_pointwise, empirical_accumulate, empirical_conv_gather,
// empirical_update; prepended by src/gpu/empirical.ts) and by gram_times.wgsl (src/gpu/gram-times.ts): an opaque 1.0 and identity (as in kernel_ops.wgsl) so that the
// error-free two_sum is not simplified away by the compiler.

var<private> ONE: f32 = 1.0;

fn keep(x: f32) -> f32 {
  return select(x, 0.0, ONE == 0.0);
}

fn two_sum(a: f32, b: f32) -> vec2<f32> {
  let s = keep(a + b);
  let bb = keep(s - a);
  let ap = keep(s - bb);
  return vec2<f32>(s, keep(keep(a - ap) + keep(b - bb)));
}
