// The kernels of a bias-free, positively homogeneous network from its angle table (src/exec/
// angle-table.ts): K = √(K0(x,x)·K0(z,z))·F(θ0) for every tap, with F the table's cubic on the
// segment of u = log(1 + θ0/c)/log(1 + π/c). It stands in for the generated recursion shader
// (codegen.ts) with the same bindings, parameters and output: the same depth chunks, flags and taps,
// each tap read from the table instead of computed layer by layer, so its cost is independent of
// the depth. Composed after struct Bank, kernel_ops.wgsl (theta_of), struct Params, the FLAG_*
// constants, INV_C = 1/c and pair_dispatch.wgsl (src/gpu/angle-shader.ts).
//
// The table (binding 5, 32-bit words in vec4s, so that a segment's 4 coefficients are one load):
// segments, taps, the f32 bits of 1/log(1 + π/c), the vec4 where the coefficients start, then per
// tap and kernel (NNGP, NTK) the exponent of its scale; then per segment (θ_s, w_s, 0, 0): its first
// angle and 1 over its width, the local t = (θ − θ_s)·w_s being linear in θ (so that only θ's own
// rounding enters, not log's times log(1 + π/c)); then the coefficients [tap][kernel][segment] as
// vec4s of f32 bits.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> gap: array<f32>;
@group(0) @binding(2) var<storage, read> rowScale: array<vec2<i32>>;
@group(0) @binding(3) var<storage, read_write> state: array<u32>;
@group(0) @binding(4) var<storage, read_write> outv: array<vec4<u32>>;
@group(0) @binding(5) var<storage, read> table: array<vec4<u32>>;

// log(1 + x) for x ≥ 0, with full relative precision for small x (WGSL has no log1p).
fn log1p_f(x: f32) -> f32 {
  if (x < 1e-2) { return x * (1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))); }
  return log(1.0 + x);
}

// The cubic of series j (tap·2 + kernel) on segment s at local t ∈ [0, 1].
fn series_at(j: u32, s: u32, t: f32) -> f32 {
  let c = bitcast<vec4<f32>>(table[table[0].w + j * table[0].x + s]);
  return c.x + t * (c.y + t * (c.z + t * c.w));
}

// Word k of the header.
fn word(k: u32) -> u32 {
  return table[k / 4u][k % 4u];
}

// Tap `tap` of a pair with scale 2^e·r at (segment s, t): (NNGP mantissa, exponent, NTK mantissa, exponent).
fn tap_out(tap: u32, r: f32, e: i32, s: u32, t: f32) -> vec4<u32> {
  let ek = e + bitcast<i32>(word(4u + 2u * tap));
  let et = e + bitcast<i32>(word(5u + 2u * tap));
  let k = r * series_at(2u * tap, s, t);
  let th = r * series_at(2u * tap + 1u, s, t);
  return vec4<u32>(bitcast<u32>(k), bitcast<u32>(ek), bitcast<u32>(th), bitcast<u32>(et));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  if (P.iterStart > P.iterEnd) { _ = state[0]; }  // binding 3 stays in the automatic layout
  let p = pair_index(gid, nwg);
  if (pair_skipped(p)) { return; }
  let i = p / P.cols;
  let j = p % P.cols;
  // The pair's scale √(K0(x,x)·K0(z,z)) = 2^e·r from the rows' mantissas in [0.5, 1) and exponents:
  // e = ⌊(ea + eb)/2⌋ and r = √(ma·mb·2^(ea + eb − 2e)) ∈ [0.35, 1.4), whatever the norms' ratio (the
  // recursion's init_bank puts both on the larger exponent, where a ratio beyond 2^149 underflows).
  let sa = rowScale[i];
  let sb = rowScale[select(P.rowsA + j, i, P.diagonal == 2u)];
  let ma = bitcast<f32>(sa.x);
  let mb = bitcast<f32>(sb.x);
  var e = (sa.y + sb.y) >> 1u;
  var r = sqrt(ma * mb * f32(1 + (sa.y + sb.y) - 2 * e));
  if (ma == 0.0 || mb == 0.0) {
    e = 0;
    r = 0.0;
  }
  var theta = 0.0;
  if (P.diagonal != 2u) { theta = theta_of(gap[p]); }
  let segs = table[0].x;
  let x = clamp(log1p_f(theta * INV_C) * bitcast<f32>(table[0].z), 0.0, 1.0) * f32(segs);
  let s = min(u32(x), segs - 1u);
  let b = bitcast<vec2<f32>>(table[table[0].w - segs + s].xy);
  let t = (theta - b.x) * b.y;
  let taps = (P.flags & FLAG_TAPS) != 0u;
  if (taps && (P.flags & FLAG_INIT) != 0u) { outv[p] = tap_out(0u, r, e, s, t); }
  if (taps) {
    for (var it = P.iterStart; it < P.iterEnd; it++) {
      outv[(it + 1u - P.tapBase) * P.pairCount + p] = tap_out(it + 1u, r, e, s, t);
    }
  }
  if (!taps && (P.flags & FLAG_FINAL) != 0u) { outv[p] = tap_out(table[0].y - 1u, r, e, s, t); }  // the last tap
}
