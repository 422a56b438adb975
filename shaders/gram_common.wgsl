// Shared by the first-layer kernels (gram_chord.wgsl: tiled, for GPUs; gram_chord_direct.wgsl:
// register-blocked with direct loads, for CPU adapters): parameters, bindings, and the epilogue that
// turns an accumulated hi-part chord into the signed gap of kernel_ops.wgsl.

// struct Params is generated from CHORD_PARAMS (src/gpu/layout.ts) and precedes this file.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> aHi: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> aLo: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bHi: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bLo: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> gap: array<f32>;

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

const TILE: u32 = 64u;

// Stores the signed gap of pair (i, j) from its hi-part chord ‖â_hi − b̂_hi‖².
fn store_gap(i: u32, j: u32, acc: f32) {
  if (i >= P.rowsA || j >= P.rowsB) { return; }
  if (P.diagonal == 1u && j < i) { return; }
  var q = 0.5 * acc;
  if (q < NEAR_GAP) { q = precise_half_chord(i, j, -1.0); }
  if (q > 1.0) { q = -(anti_gap(i, j, q) + 1e-30); }  // the ρ < 0 side (kernel_ops.wgsl)
  if (P.diagonal == 1u && i == j) { q = 0.0; }
  gap[i * P.rowsB + j] = q;
}
