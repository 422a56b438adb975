// K·P inside a Gram run, for matrix-free conjugate gradients (src/gpu/gram-times.ts): after the
// recursion has written a block's outputs (mantissa and exponent per pair, kernel_ops.wgsl
// `encode`), the block is multiplied into the right-hand sides on the device, so that the kernel
// never leaves it and only K·P (n × 4·quads) comes back, once per product.
//
// P comes as double-single pairs (the float64 iterate to 2^-48) and each term entry·P is formed
// exactly (Dekker's product; WGSL's fma may be unfused), so the sum is the float64 product of the
// f32 kernel entries to about 2^-44: the operator CG sees is one fixed matrix, whatever P is.
//
// One workgroup per (row, group of 4 right-hand sides) of the block, and for an off-diagonal block
// of X × X one more per (column, group): the transposed block's product. 64 threads stride over the
// row (column) and sum in double-single; the tree combines the pairs and the block's sum is added to
// that global row's running double-single total in Y. The dispatches of one product are ordered and
// each writes disjoint rows of Y, so nothing is atomic but the fault flags.
// Faults (bits of flags[0]): 1 a smooth activation out of the quadrature's range (the recursion's
// SMOOTH_FLAG_MIN exponent), 2 a non-finite value, 4 a value beyond 2^±100 (outside what f32
// products may hold).
// Prepended: struct Params from GRAM_TIMES_PARAMS (src/gpu/layout.ts), then empirical_common.wgsl.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> outv: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> Pm: array<vec4<f32>>;  // (hi, lo) per (row, quad)
@group(0) @binding(3) var<storage, read_write> Y: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> flags: array<atomic<u32>>;

var<workgroup> part_hi: array<vec4<f32>, 64>;
var<workgroup> part_lo: array<vec4<f32>, 64>;

fn keep4(x: vec4<f32>) -> vec4<f32> {
  return select(x, vec4<f32>(0.0), ONE == 0.0);
}

// (a_hi, a_lo) + (b_hi, b_lo) in double-single, renormalised.
fn ds_add4(ah: vec4<f32>, al: vec4<f32>, bh: vec4<f32>, bl: vec4<f32>) -> array<vec4<f32>, 2> {
  let s = keep4(ah + bh);
  let bb = keep4(s - ah);
  let err = keep4(keep4(ah - keep4(s - bb)) + keep4(bh - bb));
  let lo = err + al + bl;
  let h = keep4(s + lo);
  return array<vec4<f32>, 2>(h, keep4(lo - keep4(h - s)));
}

// Dekker's split of an f32 into two halves of 12 significant bits (exact while |x| < 2^115).
fn split4(x: vec4<f32>) -> array<vec4<f32>, 2> {
  let c = keep4(4097.0 * x);
  let h = keep4(c - keep4(c - x));
  return array<vec4<f32>, 2>(h, keep4(x - h));
}

// a·(bh + bl) as a double-single pair: a·bh exactly (two-product by splitting), plus a·bl.
fn times_ds(a: f32, bh: vec4<f32>, bl: vec4<f32>) -> array<vec4<f32>, 2> {
  let av = vec4<f32>(a);
  let p = keep4(av * bh);
  let as_ = split4(av);
  let bs = split4(bh);
  let err = keep4(keep4(keep4(keep4(as_[0] * bs[0]) - p) + keep4(as_[0] * bs[1]) + keep4(as_[1] * bs[0])) + keep4(as_[1] * bs[1]));
  return array<vec4<f32>, 2>(p, err + av * bl);
}

// The block's entry (i, j) as f32, scaled by 2^shift.
fn entry(i: u32, j: u32) -> f32 {
  var idx = i * params.cols + j;
  if (params.diagBlock == 1u && j < i) {
    idx = j * params.cols + i;
  }
  let w = outv[idx];
  let m = bitcast<f32>(w[params.comp]);
  let e = bitcast<i32>(w[params.comp + 1u]);
  if (e >= 134217728) {  // SMOOTH_FLAG_MIN = 2^27
    atomicOr(&flags[0], 1u);
    return 0.0;
  }
  if ((bitcast<u32>(m) & 0x7f800000u) == 0x7f800000u) {
    atomicOr(&flags[0], 2u);
    return 0.0;
  }
  if (m == 0.0) {
    return 0.0;
  }
  let s = e + params.shift;
  if (s > 100 || s < -100) {
    atomicOr(&flags[0], 4u);
    return 0.0;
  }
  return ldexp(m, s);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  ONE = params.one;
  // Workgroup ids are uniform, so the early return keeps the barriers below in uniform control flow.
  let g = wg.x + wg.y * nwg.x;
  let q = g % params.quads;
  var line = g / params.quads;
  let byRow = line < params.rows;
  if (!byRow) {
    line -= params.rows;
    if (params.transposed == 0u || line >= params.cols) {
      return;
    }
  }
  // The row's entries times P's rows at the columns, or the column's entries times P's rows at the rows.
  let count = select(params.rows, params.cols, byRow);
  let pBase = select(params.r0, params.c0, byRow);
  var hi = vec4<f32>(0.0);
  var lo = vec4<f32>(0.0);
  for (var u = t; u < count; u += 64u) {
    var e: f32;
    if (byRow) {
      e = entry(line, u);
    } else {
      e = entry(u, line);
    }
    let at = 2u * ((pBase + u) * params.quads + q);
    let term = times_ds(e, Pm[at], Pm[at + 1u]);
    let r = ds_add4(hi, lo, term[0], term[1]);
    hi = r[0];
    lo = r[1];
  }
  part_hi[t] = hi;
  part_lo[t] = lo;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (t < s) {
      let r = ds_add4(part_hi[t], part_lo[t], part_hi[t + s], part_lo[t + s]);
      part_hi[t] = r[0];
      part_lo[t] = r[1];
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    let row = select(params.c0, params.r0, byRow) + line;
    let at = 2u * (row * params.quads + q);
    let r = ds_add4(Y[at], Y[at + 1u], part_hi[0], part_lo[0]);
    Y[at] = r[0];
    Y[at + 1u] = r[1];
  }
}
