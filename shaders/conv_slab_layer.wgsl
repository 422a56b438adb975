// The global layout's layer dispatch (conv_slab_global.wgsl): one invocation per (pair, slab, entry),
// WG = PER = 1 so that run_slab's entry loops visit entry `lid` alone. It runs a conv and the
// entrywise ops after it (activation, residual copies and sums, init, load, store): each reads only
// its own entry, except the conv, which reads the other half. Prepended: ITEMS, the invocations per
// workgroup, and TILE.
//
// A workgroup runs one (pair, slab): ITEMS consecutive entries, or (CP.tilesSlab ≠ 0, a step that
// begins with a conv, src/gpu/conv.ts stepTiles) a tile of the step's grid, whose conv reads its
// input tile and halo from workgroup memory (conv_tile), the only barrier of the dispatch. The pair
// and the slab depend on the workgroup alone, so every invocation reaches that barrier; an
// invocation outside the grid has entry MAXP, past every op's entries.

var<private> red: array<vec4<f32>, WG>;
var<private> total: vec4<f32>;

fn sync() {}

@compute @workgroup_size(ITEMS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  ONE = CP.one;
  use_bindings();
  let g = wid.x + wid.y * nwg.x;
  var ps: u32;
  var e: u32;
  if (CP.tilesSlab == 0u) {
    // Items pair-major, then the batch's slabs, then entry over MAXP (a multiple of ITEMS).
    ps = (g * ITEMS) / MAXP;
    e = g * ITEMS - ps * MAXP + li;
  } else {
    ps = g / CP.tilesSlab;
    let t = g - ps * CP.tilesSlab;
    let tr = t / CP.tilesRow;
    let t1 = CP.tile1;
    tli = li;
    tl0 = li / t1;
    tl1 = li - tl0 * t1;
    to0 = tr * (ITEMS / t1);
    to1 = (t - tr * CP.tilesRow) * t1;
    let row = to0 + tl0;
    let col = to1 + tl1;
    e = select(MAXP, row * CP.grid1 + col, row < CP.grid0 && col < CP.grid1);
  }
  let pl = ps / CP.batch;
  if (pl >= CP.pairCount) { return; }
  let local = ps - pl * CP.batch;
  enter(pl, local);
  run_slab(pl, CP.slab0 + local, e);
}
