// bench/variants: a throughput experiment for shaders/gram_chord.wgsl (same bindings and Params),
// timed by bench/chord-variants.mjs. Not used by the library. It writes 1 − ρ for ρ ≥ 0 only
// (no anti_gap side), which is all the benchmark inputs need to compare.
//
// chord_hi: ‖a_hi − b_hi‖²/2 only: half the loads and ALU of the chord. Without the lo parts the gap
// has relative error ~ε/√gap, so pairs with gap < ~4e−3 (near-duplicates) would need the full
// chord recomputed in a fix-up pass (as anti_gap does for antipodes); not included here.

struct Params {
  rowsA: u32,
  rowsB: u32,
  vec4sPerRow: u32,   // d padded to a multiple of 4, in vec4s
  diagonal: u32,      // 1 when A and B are the same rows (a diagonal block of X × X)
  tilesB: u32,        // number of 64-wide column tiles
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> aHi: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> aLo: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bHi: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bLo: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> gap: array<f32>;

const TILE: u32 = 64u;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tileRow = wg.y + wg.z * 65535u;
  let tileCol = wg.x;
  if (P.diagonal == 1u && tileCol < tileRow) { return; }
  let row0 = tileRow * TILE;
  let col0 = tileCol * TILE;
  if (row0 >= P.rowsA || col0 >= P.rowsB) { return; }
  let n = P.vec4sPerRow;
  // Rows past the end are clamped (their results are not stored).
  let i0 = min(row0 + lid.y * 4u, P.rowsA - 1u);
  let i1 = min(row0 + lid.y * 4u + 1u, P.rowsA - 1u);
  let i2 = min(row0 + lid.y * 4u + 2u, P.rowsA - 1u);
  let i3 = min(row0 + lid.y * 4u + 3u, P.rowsA - 1u);
  let j0 = min(col0 + lid.x * 4u, P.rowsB - 1u);
  let j1 = min(col0 + lid.x * 4u + 1u, P.rowsB - 1u);
  let j2 = min(col0 + lid.x * 4u + 2u, P.rowsB - 1u);
  let j3 = min(col0 + lid.x * 4u + 3u, P.rowsB - 1u);
  // Scalar accumulators: 16 vec4 accumulators are 64 SIMD registers per lane group on llvmpipe.
  var c00 = 0.0; var c01 = 0.0; var c02 = 0.0; var c03 = 0.0;
  var c10 = 0.0; var c11 = 0.0; var c12 = 0.0; var c13 = 0.0;
  var c20 = 0.0; var c21 = 0.0; var c22 = 0.0; var c23 = 0.0;
  var c30 = 0.0; var c31 = 0.0; var c32 = 0.0; var c33 = 0.0;
  for (var k = 0u; k < n; k++) {
    let ah0 = aHi[i0 * n + k]; let ah1 = aHi[i1 * n + k]; let ah2 = aHi[i2 * n + k]; let ah3 = aHi[i3 * n + k];
    let bh0 = bHi[j0 * n + k]; let bh1 = bHi[j1 * n + k]; let bh2 = bHi[j2 * n + k]; let bh3 = bHi[j3 * n + k];
    if (k == 0xffffffffu) { c00 += aLo[0].x + bLo[0].x; }  // keeps the lo bindings in the layout
    { let e = ah0 - bh0; c00 += dot(e, e); }
    { let e = ah0 - bh1; c01 += dot(e, e); }
    { let e = ah0 - bh2; c02 += dot(e, e); }
    { let e = ah0 - bh3; c03 += dot(e, e); }
    { let e = ah1 - bh0; c10 += dot(e, e); }
    { let e = ah1 - bh1; c11 += dot(e, e); }
    { let e = ah1 - bh2; c12 += dot(e, e); }
    { let e = ah1 - bh3; c13 += dot(e, e); }
    { let e = ah2 - bh0; c20 += dot(e, e); }
    { let e = ah2 - bh1; c21 += dot(e, e); }
    { let e = ah2 - bh2; c22 += dot(e, e); }
    { let e = ah2 - bh3; c23 += dot(e, e); }
    { let e = ah3 - bh0; c30 += dot(e, e); }
    { let e = ah3 - bh1; c31 += dot(e, e); }
    { let e = ah3 - bh2; c32 += dot(e, e); }
    { let e = ah3 - bh3; c33 += dot(e, e); }
  }
  let accs = array<f32, 16>(c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33);
  for (var r = 0u; r < 4u; r++) {
    let i = row0 + lid.y * 4u + r;
    if (i >= P.rowsA) { continue; }
    for (var c = 0u; c < 4u; c++) {
      let j = col0 + lid.x * 4u + c;
      if (j >= P.rowsB) { continue; }
      if (P.diagonal == 1u && j < i) { continue; }
      let a = accs[r * 4u + c];
      var q = 0.5 * a;
      if (P.diagonal == 1u && i == j) { q = 0.0; }
      gap[i * P.rowsB + j] = q;
    }
  }
}
