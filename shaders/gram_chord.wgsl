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
const BK: u32 = 16u;

var<workgroup> tAh: array<f32, 1024>;  // [k][row], BK × TILE
var<workgroup> tBh: array<f32, 1024>;

// Below this 1 − ρ0 the chord is recomputed with the lo parts.
const NEAR_GAP: f32 = 1e-2;

// ‖â ∓ b̂‖²/2 of rows i (of A) and j (of B) with the lo parts: sign −1 gives 1 − ρ0, +1 gives 1 + ρ0.
fn precise_half_chord(i: u32, j: u32, sign: f32) -> f32 {
  var acc = 0.0;
  let n = P.vec4sPerRow;
  for (var k = 0u; k < n; k++) {
    let s = (aHi[i * n + k] + sign * bHi[j * n + k]) + (aLo[i * n + k] + sign * bLo[j * n + k]);
    acc += dot(s, s);
  }
  return 0.5 * acc;
}

// 1 + ρ0 given g = 1 − ρ0 > 1: 2 − g is accurate enough up to g = 1.9; beyond, directly.
fn anti_gap(i: u32, j: u32, g: f32) -> f32 {
  if (g <= 1.9) { return 2.0 - g; }
  return precise_half_chord(i, j, 1.0);
}

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
    let i = row0 + lid.y * 4u + r;
    if (i >= P.rowsA) { continue; }
    for (var c = 0u; c < 4u; c++) {
      let j = col0 + lid.x * 4u + c;
      if (j >= P.rowsB) { continue; }
      if (P.diagonal == 1u && j < i) { continue; }
      var q = 0.5 * acc[r][c];
      if (q < NEAR_GAP) { q = precise_half_chord(i, j, -1.0); }
      if (q > 1.0) { q = -(anti_gap(i, j, q) + 1e-30); }  // the ρ < 0 side (kernel_ops.wgsl)
      if (P.diagonal == 1u && i == j) { q = 0.0; }
      gap[i * P.rowsB + j] = q;
    }
  }
}
