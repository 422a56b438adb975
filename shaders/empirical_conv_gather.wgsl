// The index moves of a sampled conv network on WebGPU (src/gpu/empirical-conv.ts). A representation
// of the batch is one row-major [N·P, C] matrix (row n·P + i: pixel i of input n; column: channel),
// so the convolution itself is a GEMM with the weights (empirical_gemm.wgsl). Two ops, both gathers
// (every output written by one invocation, no atomics: the same values run to run):
// op 0, im2col: Out[n·Pout + I, c·A + a] = In[n·Pin + map[a·Pout + I], c], 0 where map is −1
//   (zero padding; circular padding is already folded into the map by conv-geometry.ts).
// op 1, a sparse sum over a list per output row (CSR: idx[r] .. idx[r + 1] index the entries
//   src = idx[srcOff + e], tap = idx[tapOff + e]):
//   Out[n·Rout + r, c] = scale·Σ_e In[n·Rin + src_e, c·cstride + tap_e], summed error-free (two_sum)
//   into a double-single pair. It is the backward im2col (col2im, through the inverse maps), the
//   avgPool forward and backward, the gap/eq readouts and their backward, and Σ_I δ[I, :] (bias gradient).
// struct Params is generated from CONV_GATHER_PARAMS in src/gpu/layout.ts and precedes this file, with empirical_common.wgsl.

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> In: array<f32>;
@group(0) @binding(2) var<storage, read_write> Out: array<f32>;
@group(0) @binding(3) var<storage, read> idx: array<i32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nw: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = P.one;
  let e = (wid.y * nw.x + wid.x) * 64u + li;
  // Out rows: N·Rout; columns: C·A (op 0) or C (op 1).
  let cols = select(P.C, P.C * P.A, P.op == 0u);
  if (e >= P.N * P.Rout * cols) { return; }
  let row = e / cols;
  let col = e % cols;
  let n = row / P.Rout;
  let r = row % P.Rout;
  let o = P.offOut + row * P.ldOut + col;
  if (P.op == 0u) {
    let c = col / P.A;
    let a = col % P.A;
    let u = idx[a * P.Rout + r];
    Out[o] = select(0.0, In[P.offIn + (n * P.Rin + u32(max(u, 0))) * P.ldIn + c], u >= 0);
    return;
  }
  var hi = 0.0;
  var lo = 0.0;
  let e0 = u32(idx[r]);
  let e1 = u32(idx[r + 1u]);
  for (var k = e0; k < e1; k++) {
    let src = u32(idx[P.srcOff + k]);
    let tap = u32(idx[P.tapOff + k]);
    let s = two_sum(hi, In[P.offIn + (n * P.Rin + src) * P.ldIn + col * P.cstride + tap]);
    hi = s.x;
    lo += s.y;
  }
  Out[o] = P.scale * (hi + lo);
}
