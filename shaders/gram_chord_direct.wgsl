// First layer, for CPU adapters (lavapipe, SwiftShader): the same result as gram_chord.wgsl, with
// each of 16×16 threads reading its 4 + 4 rows straight from memory into 16 scalar accumulators.
// On a CPU "workgroup memory" is ordinary memory and every barrier is a context switch, so staging
// tiles costs more than it saves (measured by bench/chord-variants.mjs). Composed after
// gram_common.wgsl.

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
  var c00 = 0.0; var c01 = 0.0; var c02 = 0.0; var c03 = 0.0;
  var c10 = 0.0; var c11 = 0.0; var c12 = 0.0; var c13 = 0.0;
  var c20 = 0.0; var c21 = 0.0; var c22 = 0.0; var c23 = 0.0;
  var c30 = 0.0; var c31 = 0.0; var c32 = 0.0; var c33 = 0.0;
  for (var k = 0u; k < n; k++) {
    let a0 = aHi[i0 * n + k]; let a1 = aHi[i1 * n + k]; let a2 = aHi[i2 * n + k]; let a3 = aHi[i3 * n + k];
    let b0 = bHi[j0 * n + k]; let b1 = bHi[j1 * n + k]; let b2 = bHi[j2 * n + k]; let b3 = bHi[j3 * n + k];
    { let e = a0 - b0; c00 += dot(e, e); }
    { let e = a0 - b1; c01 += dot(e, e); }
    { let e = a0 - b2; c02 += dot(e, e); }
    { let e = a0 - b3; c03 += dot(e, e); }
    { let e = a1 - b0; c10 += dot(e, e); }
    { let e = a1 - b1; c11 += dot(e, e); }
    { let e = a1 - b2; c12 += dot(e, e); }
    { let e = a1 - b3; c13 += dot(e, e); }
    { let e = a2 - b0; c20 += dot(e, e); }
    { let e = a2 - b1; c21 += dot(e, e); }
    { let e = a2 - b2; c22 += dot(e, e); }
    { let e = a2 - b3; c23 += dot(e, e); }
    { let e = a3 - b0; c30 += dot(e, e); }
    { let e = a3 - b1; c31 += dot(e, e); }
    { let e = a3 - b2; c32 += dot(e, e); }
    { let e = a3 - b3; c33 += dot(e, e); }
  }
  let r = row0 + lid.y * 4u;
  let c = col0 + lid.x * 4u;
  store_gap(r, c, c00); store_gap(r, c + 1u, c01); store_gap(r, c + 2u, c02); store_gap(r, c + 3u, c03);
  store_gap(r + 1u, c, c10); store_gap(r + 1u, c + 1u, c11); store_gap(r + 1u, c + 2u, c12); store_gap(r + 1u, c + 3u, c13);
  store_gap(r + 2u, c, c20); store_gap(r + 2u, c + 1u, c21); store_gap(r + 2u, c + 2u, c22); store_gap(r + 2u, c + 3u, c23);
  store_gap(r + 3u, c, c30); store_gap(r + 3u, c + 1u, c31); store_gap(r + 3u, c + 2u, c32); store_gap(r + 3u, c + 3u, c33);
}
