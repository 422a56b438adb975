/**
 * The first-layer kernels on CPU adapters: on llvmpipe with subgroups the device gets the
 * 'subgroups' feature and the first layer runs gram_chord_subgroup.wgsl, which must give every
 * entry the bits of gram_chord_direct.wgsl (the same sums in the same order, its loads shared by
 * subgroup broadcasts): X × X with diagonal and off-diagonal blocks, X1 × X2, ragged sizes (rows
 * not a multiple of a sub-tile, d not a multiple of 4), near-duplicates, antipodes and scaled rows,
 * NNGP and NTK at every depth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kernel, type GpuContext } from '../src/index.js';
import { chordSubgroupSource, CHORD_SUBGROUP_SIZES, firstLayerShader, firstLayerSource } from '../src/gpu/first-layer.js';
import { Rng } from '../src/mc/rng.js';
import { accuracyInputs, releaseGpuForTests, requireGpu } from './gpu/setup.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await requireGpu();
});
afterAll(releaseGpuForTests);

/** Random rows with the accuracy suite's rows (near-duplicates, antipodes, norms 2e−3 … 800) spread among them. */
function rows(n: number, d: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const out = Array.from({ length: n }, () => Array.from({ length: d }, () => Math.fround(rng.normal())));
  const special = accuracyInputs();
  special.forEach((r, k) => {
    const at = (k * 37 + seed) % n;
    out[at] = Array.from({ length: d }, (_, c) => r[c % r.length]! * (c < r.length ? 1 : 0.5));
  });
  // A near-duplicate and an antipode of row 0 in another block.
  out[n - 2] = out[0]!.map((v, c) => Math.fround(v * (1 + 1e-5 * ((c % 3) - 1))));
  out[n - 1] = out[0]!.map((v) => -v);
  return out;
}

function same(a: Float64Array, b: Float64Array): number {
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) bad++;
  return bad;
}

describe('first layer on llvmpipe: the subgroup kernel', () => {
  it('Node’s lavapipe has subgroups of a fixed size, and the first layer uses them', () => {
    expect(ctx.adapter.description).toMatch(/llvmpipe/);
    expect(ctx.subgroupSize).not.toBeNull();
    expect(CHORD_SUBGROUP_SIZES).toContain(ctx.subgroupSize);
    expect(firstLayerShader(ctx)).toBe(firstLayerSource('subgroup', ctx.subgroupSize!));
    // Without subgroups (or elsewhere than llvmpipe) the direct kernel.
    expect(firstLayerShader({ ...ctx, subgroupSize: null })).toBe(firstLayerSource('direct'));
    expect(firstLayerShader({ ...ctx, adapter: { ...ctx.adapter, description: 'SwiftShader Device (Subzero)', device: '' } })).toBe(firstLayerSource('direct'));
    expect(() => chordSubgroupSource(32)).toThrow(/32 lanes/);
  });

  const cases: [string, number, number, number | null, number][] = [
    ['X × X, one block', 150, 37, null, 1],
    ['X × X, 64-row blocks (diagonal and off-diagonal)', 203, 9, null, 2],
    ['X1 × X2, 64-row blocks', 97, 16, 130, 3],
  ];
  for (const [name, n, d, n2, seed] of cases) {
    it(`${name}: n = ${n}${n2 ? ` × ${n2}` : ''}, d = ${d}, bit for bit against the direct kernel`, async () => {
      const X1 = rows(n, d, seed);
      const X2 = n2 ? rows(n2, d, seed + 10) : null;
      const opts = { backend: 'webgpu' as const, blockRows: 64, depths: 'all' as const, get: ['nngp', 'ntk'] as ('nngp' | 'ntk')[] };
      const spec = 'arora2019:depth=3';
      const withSubgroups = await kernel(spec, X1, X2, opts);
      const saved = ctx.subgroupSize;
      try {
        (ctx as { subgroupSize: number | null }).subgroupSize = null;
        const direct = await kernel(spec, X1, X2, opts);
        expect(same(withSubgroups.nngp!, direct.nngp!)).toBe(0);
        expect(same(withSubgroups.ntk!, direct.ntk!)).toBe(0);
        expect(withSubgroups.nngp!.length).toBe(n * (n2 ?? n) * 4);
      } finally {
        (ctx as { subgroupSize: number | null }).subgroupSize = saved;
      }
    });
  }
});
