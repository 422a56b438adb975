// Peak-FMA microbenchmark (bench only; src/gpu/bench.ts): every invocation runs ACC independent
// vec4 fma chains, acc ← acc·a + b, for P.iters rounds. a and b come from a uniform so that nothing
// folds at compile time; with a = 1 − 2^−12 and b = 2^−12 every chain stays in [0, 1] (no
// overflow, no denormals). The sum of the chains is written per invocation, so no chain is dead.
// Flops per invocation: iters · ACC · 4 lanes · 2 (one multiply and one add per lane).

struct Params {
  iters: u32,
  a: f32,
  b: f32,
  seed: f32,
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> sink: array<f32>;

const ACC: u32 = 8u;  // independent vec4 chains per invocation (keep in sync with FMA_CHAINS)

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let id = gid.x + gid.y * nwg.x * 256u;
  let a = vec4<f32>(P.a);
  let b = vec4<f32>(P.b);
  let s = P.seed * f32(id & 1023u);
  var c0 = vec4<f32>(s, s + 0.01, s + 0.02, s + 0.03);
  var c1 = c0 + vec4<f32>(0.1);
  var c2 = c0 + vec4<f32>(0.2);
  var c3 = c0 + vec4<f32>(0.3);
  var c4 = c0 + vec4<f32>(0.4);
  var c5 = c0 + vec4<f32>(0.5);
  var c6 = c0 + vec4<f32>(0.6);
  var c7 = c0 + vec4<f32>(0.7);
  for (var i = 0u; i < P.iters; i++) {
    // Unrolled by 4 so that the loop overhead is small next to 32 vec4 fmas.
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
    c0 = fma(c0, a, b); c1 = fma(c1, a, b); c2 = fma(c2, a, b); c3 = fma(c3, a, b);
    c4 = fma(c4, a, b); c5 = fma(c5, a, b); c6 = fma(c6, a, b); c7 = fma(c7, a, b);
  }
  let t = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7));
  sink[id] = t.x + t.y + t.z + t.w;
}
