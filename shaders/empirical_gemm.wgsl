// One GEMM of a sampled network's forward pass, backward pass or Grams (src/gpu/empirical.ts):
// C = alpha·op(A)·op(B) + biasScale·bias + beta·C on strided row-major views (op(A) = Aᵀ for the
// weight gradient Δᵀ·diag(r)·A of gradient descent). Each invocation computes
// a 4 × 4 register tile of C (rows lid.y + 8i, columns lid.x + 8j of the workgroup's 32 × 32 tile),
// loading straight from storage (no workgroup memory: barriers are costly on CPU adapters).
// Accuracy over long sums (K up to width·depth): products are summed plainly over chunks of KC,
// and each chunk's partial sum enters a double-single accumulator (hi, lo) by an error-free
// two_sum, so the error grows like KC·ε, not K·ε.
// struct Params is generated from GEMM_PARAMS in src/gpu/layout.ts and precedes this file, with empirical_common.wgsl.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const KC: u32 = 16u;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ONE = P.one;
  let r0 = wid.y * 32u + lid.y;
  let c0 = wid.x * 32u + lid.x;
  if (r0 >= P.M || c0 >= P.N) { return; }
  // Rows and columns past the edge read the last valid one (never written back): no branch per load.
  var ra: array<u32, 4>;
  var cb: array<u32, 4>;
  // Steps in A between rows of op(A) and along k: lda and 1 for A (M × K), 1 and lda for Aᵀ.
  let rsa = select(P.lda, 1u, P.transA == 1u);
  let ka = select(1u, P.lda, P.transA == 1u);
  for (var i = 0u; i < 4u; i++) {
    ra[i] = P.offA + min(r0 + 8u * i, P.M - 1u) * rsa;
    let c = min(c0 + 8u * i, P.N - 1u);
    cb[i] = P.offB + select(c, c * P.ldb, P.transB == 1u);
  }
  // Step along k in B: 1 in a row of an N × K matrix, ldb down a K × N one.
  let kb = select(P.ldb, 1u, P.transB == 1u);
  var hi: array<f32, 16>;
  var lo: array<f32, 16>;
  for (var k0 = 0u; k0 < P.K; k0 += KC) {
    // Zeroed explicitly: a `var` declared in a loop body kept its last value on lavapipe.
    var part = array<f32, 16>();
    let kend = min(k0 + KC, P.K);
    for (var k = k0; k < kend; k++) {
      let kk0 = k * ka;
      let a = vec4<f32>(A[ra[0] + kk0], A[ra[1] + kk0], A[ra[2] + kk0], A[ra[3] + kk0]);
      let kk = k * kb;
      let b = vec4<f32>(B[cb[0] + kk], B[cb[1] + kk], B[cb[2] + kk], B[cb[3] + kk]);
      for (var i = 0u; i < 4u; i++) {
        part[i * 4u] += a[i] * b.x;
        part[i * 4u + 1u] += a[i] * b.y;
        part[i * 4u + 2u] += a[i] * b.z;
        part[i * 4u + 3u] += a[i] * b.w;
      }
    }
    for (var e = 0u; e < 16u; e++) {
      let s = two_sum(hi[e], part[e]);
      hi[e] = s.x;
      lo[e] += s.y;
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + 8u * i;
    if (r >= P.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + 8u * j;
      if (c >= P.N) { break; }
      let o = P.offC + r * P.ldc + c;
      var v = P.alpha * (hi[i * 4u + j] + lo[i * 4u + j]);
      if (P.hasBias == 1u) { v += P.biasScale * bias[P.offBias + c]; }
      if (P.beta != 0.0) { v += P.beta * C[o]; }
      C[o] = v;
    }
  }
}
