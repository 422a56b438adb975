// The pair of a per-pair dispatch (the recursion shader of src/gpu/codegen.ts, gram_angle.wgsl):
// 256-wide workgroups over the block's pairs, in x and then y (gram.ts dispatch2d), pair p being
// row p / cols and column p % cols of the block. Composed after struct Params (RECURSION_PARAMS)
// and its binding P.

fn pair_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// Whether pair p is past the block, or below the diagonal of a diagonal block of X × X (mirrored on the host).
fn pair_skipped(p: u32) -> bool {
  return p >= P.pairCount || (P.diagonal == 1u && p % P.cols < p / P.cols);
}
