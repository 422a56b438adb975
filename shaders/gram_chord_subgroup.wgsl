// First layer on llvmpipe with subgroups: the same chords as gram_chord_direct.wgsl, bit for bit
// (each pair sums dot(a − b, a − b) over the vec4s in the same order), with a tenth of its loads.
// On llvmpipe every load whose address differs per lane is a per-lane scalar load with its own
// bounds check (8 of them per f32 of a SIMD row), and those loads, not the arithmetic, bound the
// direct kernel. Here each of a subgroup's SG lanes loads 2 rows of A and 2 of B per vec4 step, and
// subgroupBroadcast (a register shuffle, no memory) hands every lane the A rows of all the others:
// a lane computes 2·SG rows × its 2 columns, a 2·SG × 2·SG sub-tile per subgroup, 4·SG chords per
// lane from 4 loads (the direct kernel: 32 chords from 12). Measured on lavapipe, N = 2048,
// d = 512: 0.10–0.18 s against 0.26–0.47 s (bench/chord-variants.mjs has the table).
//
// A template: src/gpu/first-layer.ts (chordSubgroupSource) sets SG (the subgroup size, a constant
// of the device) and generates the unrolled parts at the markers, since a broadcast's lane must be
// a constant expression. The workgroup is one subgroup; it walks the 64 × 64 tile of
// gram_chord_direct.wgsl's dispatch in sub-tiles, skipping those below a diagonal block's diagonal.
// Composed after `enable subgroups;`, the Params struct and gram_common.wgsl.

const SPAN: u32 = TILE / (2u * SG);  // sub-tiles per tile side

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
  let tileRow = wg.y + wg.z * 65535u;
  let tileCol = wg.x;
  if (P.diagonal == 1u && tileCol < tileRow) { return; }
  let n = P.vec4sPerRow;
  for (var st = 0u; st < SPAN * SPAN; st++) {
    // Every condition below is uniform across the subgroup (workgroup id, loop counter, P).
    let sr = tileRow * TILE + (st / SPAN) * 2u * SG;
    let sc = tileCol * TILE + (st % SPAN) * 2u * SG;
    if (sr >= P.rowsA || sc >= P.rowsB) { continue; }
    if (P.diagonal == 1u && sc + 2u * SG <= sr) { continue; }
    // Rows past the end are clamped (their results are not stored).
    let i0 = min(sr + 2u * lane, P.rowsA - 1u) * n;
    let i1 = min(sr + 2u * lane + 1u, P.rowsA - 1u) * n;
    let j0 = min(sc + 2u * lane, P.rowsB - 1u) * n;
    let j1 = min(sc + 2u * lane + 1u, P.rowsB - 1u) * n;
    /*ACCUMULATORS*/
    for (var k = 0u; k < n; k++) {
      let a0 = aHi[i0 + k];
      let a1 = aHi[i1 + k];
      let b0 = bHi[j0 + k];
      let b1 = bHi[j1 + k];
      /*BROADCASTS*/
    }
    // Accumulator m is row sr + m / 2 (lane m / 4's row m / 2 % 2), column sc + 2·lane + m % 2.
    // One call site in a loop (see gram_chord_direct.wgsl: inlined copies of store_gap are slow to compile).
    let acc = array<f32, 4u * SG>(/*ACC_LIST*/);
    for (var m = 0u; m < 4u * SG; m++) { store_gap(sr + m / 2u, sc + 2u * lane + m % 2u, acc[m]); }
  }
}
