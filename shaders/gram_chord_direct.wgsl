// First layer, for CPU adapters (lavapipe, SwiftShader): the same result as gram_chord.wgsl, with
// each of 16×8 threads reading its 8 + 4 rows straight from memory into 32 scalar accumulators.
// On a CPU "workgroup memory" is ordinary memory and every barrier is a context switch, so staging
// tiles costs more than it saves (measured by bench/chord-variants.mjs), and each load whose address
// differs per invocation is a per-lane loop: 8 × 4 per thread (12 vec4 loads for 32 chords per
// feature vec4) took 0.52–0.83 s where 4 × 4 (8 loads for 16) took 0.80–0.97 s and 8 × 8 0.94–1.07 s
// (2048 × 1024, lavapipe, interleaved runs). Composed after gram_common.wgsl.

@compute @workgroup_size(16, 8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tileRow = wg.y + wg.z * 65535u;
  let tileCol = wg.x;
  if (P.diagonal == 1u && tileCol < tileRow) { return; }
  let row0 = tileRow * TILE;
  let col0 = tileCol * TILE;
  if (row0 >= P.rowsA || col0 >= P.rowsB) { return; }
  let n = P.vec4sPerRow;
  // Rows past the end are clamped (their results are not stored).
  let i0 = min(row0 + lid.y * 8u + 0u, P.rowsA - 1u) * n;
  let i1 = min(row0 + lid.y * 8u + 1u, P.rowsA - 1u) * n;
  let i2 = min(row0 + lid.y * 8u + 2u, P.rowsA - 1u) * n;
  let i3 = min(row0 + lid.y * 8u + 3u, P.rowsA - 1u) * n;
  let i4 = min(row0 + lid.y * 8u + 4u, P.rowsA - 1u) * n;
  let i5 = min(row0 + lid.y * 8u + 5u, P.rowsA - 1u) * n;
  let i6 = min(row0 + lid.y * 8u + 6u, P.rowsA - 1u) * n;
  let i7 = min(row0 + lid.y * 8u + 7u, P.rowsA - 1u) * n;
  let j0 = min(col0 + lid.x * 4u + 0u, P.rowsB - 1u) * n;
  let j1 = min(col0 + lid.x * 4u + 1u, P.rowsB - 1u) * n;
  let j2 = min(col0 + lid.x * 4u + 2u, P.rowsB - 1u) * n;
  let j3 = min(col0 + lid.x * 4u + 3u, P.rowsB - 1u) * n;
  var c00 = 0.0; var c01 = 0.0; var c02 = 0.0; var c03 = 0.0;
  var c10 = 0.0; var c11 = 0.0; var c12 = 0.0; var c13 = 0.0;
  var c20 = 0.0; var c21 = 0.0; var c22 = 0.0; var c23 = 0.0;
  var c30 = 0.0; var c31 = 0.0; var c32 = 0.0; var c33 = 0.0;
  var c40 = 0.0; var c41 = 0.0; var c42 = 0.0; var c43 = 0.0;
  var c50 = 0.0; var c51 = 0.0; var c52 = 0.0; var c53 = 0.0;
  var c60 = 0.0; var c61 = 0.0; var c62 = 0.0; var c63 = 0.0;
  var c70 = 0.0; var c71 = 0.0; var c72 = 0.0; var c73 = 0.0;
  for (var k = 0u; k < n; k++) {
    let b0 = bHi[j0 + k]; let b1 = bHi[j1 + k]; let b2 = bHi[j2 + k]; let b3 = bHi[j3 + k];
    let a0 = aHi[i0 + k];
    { let e = a0 - b0; c00 += dot(e, e); }
    { let e = a0 - b1; c01 += dot(e, e); }
    { let e = a0 - b2; c02 += dot(e, e); }
    { let e = a0 - b3; c03 += dot(e, e); }
    let a1 = aHi[i1 + k];
    { let e = a1 - b0; c10 += dot(e, e); }
    { let e = a1 - b1; c11 += dot(e, e); }
    { let e = a1 - b2; c12 += dot(e, e); }
    { let e = a1 - b3; c13 += dot(e, e); }
    let a2 = aHi[i2 + k];
    { let e = a2 - b0; c20 += dot(e, e); }
    { let e = a2 - b1; c21 += dot(e, e); }
    { let e = a2 - b2; c22 += dot(e, e); }
    { let e = a2 - b3; c23 += dot(e, e); }
    let a3 = aHi[i3 + k];
    { let e = a3 - b0; c30 += dot(e, e); }
    { let e = a3 - b1; c31 += dot(e, e); }
    { let e = a3 - b2; c32 += dot(e, e); }
    { let e = a3 - b3; c33 += dot(e, e); }
    let a4 = aHi[i4 + k];
    { let e = a4 - b0; c40 += dot(e, e); }
    { let e = a4 - b1; c41 += dot(e, e); }
    { let e = a4 - b2; c42 += dot(e, e); }
    { let e = a4 - b3; c43 += dot(e, e); }
    let a5 = aHi[i5 + k];
    { let e = a5 - b0; c50 += dot(e, e); }
    { let e = a5 - b1; c51 += dot(e, e); }
    { let e = a5 - b2; c52 += dot(e, e); }
    { let e = a5 - b3; c53 += dot(e, e); }
    let a6 = aHi[i6 + k];
    { let e = a6 - b0; c60 += dot(e, e); }
    { let e = a6 - b1; c61 += dot(e, e); }
    { let e = a6 - b2; c62 += dot(e, e); }
    { let e = a6 - b3; c63 += dot(e, e); }
    let a7 = aHi[i7 + k];
    { let e = a7 - b0; c70 += dot(e, e); }
    { let e = a7 - b1; c71 += dot(e, e); }
    { let e = a7 - b2; c72 += dot(e, e); }
    { let e = a7 - b3; c73 += dot(e, e); }
  }
  let r = row0 + lid.y * 8u;
  let c = col0 + lid.x * 4u;
  // One call site in a loop: 32 inlined copies of store_gap (each with its precise-chord loop) made
  // LLVM take 140-200 ms for this pipeline on lavapipe (12-40 ms so), most of a cold start.
  let acc = array<f32, 32>(c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33,
                           c40, c41, c42, c43, c50, c51, c52, c53, c60, c61, c62, c63, c70, c71, c72, c73);
  for (var q = 0u; q < 32u; q++) { store_gap(r + q / 4u, c + q % 4u, acc[q]); }
}
