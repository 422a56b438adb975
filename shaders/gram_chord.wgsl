// First layer of every kernel: for a block of rows A (of X1) and B (of X2), the correlation of the
// unit-normalised rows as a signed gap (see kernel_ops.wgsl): 1 − ρ0 = ‖â − b̂‖²/2 when ρ0 ≥ 0, and
// −(1 + ρ0) = −‖â + b̂‖²/2 when ρ0 < 0, written to `gap`.
//
// The rows arrive normalised in float64 on the host and split as hi + lo (two f32). The tiled main
// loop accumulates the chord of the hi parts, (a_hi − b_hi)², which is accurate to ~1e−7 absolute:
// enough wherever 1 − ρ0 ≥ 1e−2. Pairs below that (near-duplicates) and nearly antipodal pairs
// (1 − ρ0 > 1.9) are rare in practice and get a second pass over their two rows with the lo parts,
// ((a_hi − b_hi) + (a_lo − b_lo))², where the hi difference of close rows is exact: the angle keeps
// f32 relative precision down to 1e−6 rad and below, where 1 − a·b in f32 would be pure round-off.
// Both operands are rows of X (a Gram-specific "NT" product): tiles of 64 rows × 16 features are
// staged k-major in workgroup memory, each of 16×16 threads accumulates a 4×4 block in registers
// with vec4 arithmetic. In diagonal blocks of X × X only tiles on or above the
// diagonal are computed (the host mirrors them) and the diagonal itself is exactly 0.

// Composed after gram_common.wgsl.

const BK: u32 = 16u;

var<workgroup> tAh: array<f32, 1024>;  // [k][row], BK × TILE
var<workgroup> tBh: array<f32, 1024>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  // Workgroups are laid out along x over column tiles and y over row tiles (y may wrap into z).
  let tileRow = wg.y + wg.z * 65535u;
  let tileCol = wg.x;
  // Upper-triangular tiles only in diagonal blocks (uniform across the workgroup).
  if (P.diagonal == 1u && tileCol < tileRow) { return; }
  let row0 = tileRow * TILE;
  let col0 = tileCol * TILE;
  if (row0 >= P.rowsA || col0 >= P.rowsB) { return; }

  var acc: array<vec4<f32>, 4>;
  for (var r = 0u; r < 4u; r++) { acc[r] = vec4<f32>(0.0); }

  // Each of the 256 threads loads one vec4 of A and one of B (hi and lo) per k-step.
  let ldRow = li / 4u;   // 0..63
  let ldVec = li % 4u;   // which vec4 of the 16 features
  let nVec = P.vec4sPerRow;
  for (var k0 = 0u; k0 < nVec; k0 += BK / 4u) {
    let kv = k0 + ldVec;
    var ah = vec4<f32>(0.0);
    var bh = vec4<f32>(0.0);
    let ra = row0 + ldRow;
    let rb = col0 + ldRow;
    if (kv < nVec) {
      if (ra < P.rowsA) { ah = aHi[ra * nVec + kv]; }
      if (rb < P.rowsB) { bh = bHi[rb * nVec + kv]; }
    }
    for (var c = 0u; c < 4u; c++) {
      let at = (ldVec * 4u + c) * TILE + ldRow;
      tAh[at] = ah[c];
      tBh[at] = bh[c];
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let kb = k * TILE + lid.x * 4u;
      let bhv = vec4<f32>(tBh[kb], tBh[kb + 1u], tBh[kb + 2u], tBh[kb + 3u]);
      let ka = k * TILE + lid.y * 4u;
      for (var r = 0u; r < 4u; r++) {
        let d = vec4<f32>(tAh[ka + r]) - bhv;
        acc[r] = fma(d, d, acc[r]);
      }
    }
    workgroupBarrier();
  }

  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      store_gap(row0 + lid.y * 4u + r, col0 + lid.x * 4u + c, acc[r][c]);
    }
  }
}
