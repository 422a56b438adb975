/// <reference types="@webgpu/types" preserve="true" />
/**
 * The first-layer kernel (shaders/gram_common.wgsl + gram_chord*.wgsl): its source per adapter
 * kind and its parameters, packed from the same schema that declares them in WGSL.
 */
import { isCpuAdapter, isLlvmpipe, type AdapterSummary } from './device.js';
import { CHORD_PARAMS, packStruct, wgslStruct } from './layout.js';
import { GRAM_CHORD_DIRECT_WGSL, GRAM_CHORD_SUBGROUP_WGSL, GRAM_CHORD_WGSL, GRAM_COMMON_WGSL } from './shaders.generated.js';

/** Rows per first-layer tile (and the granularity of Gram blocks). */
export const TILE = 64;

export type FirstLayerKind = 'tiled' | 'direct' | 'subgroup';

/** Subgroup sizes the subgroup kernel is generated for (a 2·SG sub-tile must divide the 64-row tile). */
export const CHORD_SUBGROUP_SIZES: readonly number[] = [4, 8, 16];

/**
 * The first-layer source: 'tiled' (workgroup-memory tiles, for GPUs), 'direct' (register loads,
 * for CPU adapters) or 'subgroup' (register loads shared by subgroup broadcasts, for llvmpipe;
 * `subgroupSize` is the device's fixed subgroup size).
 */
export function firstLayerSource(kind: FirstLayerKind, subgroupSize?: number): string {
  if (kind === 'subgroup') return chordSubgroupSource(subgroupSize ?? 0);
  return wgslStruct(CHORD_PARAMS) + GRAM_COMMON_WGSL + (kind === 'tiled' ? GRAM_CHORD_WGSL : GRAM_CHORD_DIRECT_WGSL);
}

/**
 * shaders/gram_chord_subgroup.wgsl for subgroups of `sg` lanes: the accumulators, the broadcasts
 * (a broadcast's source lane must be a constant expression, so they are unrolled here) and the
 * list handed to the store loop. Accumulator m is row m / 2 of the sub-tile (source lane m / 4,
 * its row m / 2 % 2) against the lane's column m % 2.
 */
export function chordSubgroupSource(sg: number): string {
  if (!CHORD_SUBGROUP_SIZES.includes(sg)) throw new RangeError(`no subgroup first-layer kernel for subgroups of ${sg} lanes`);
  const n = 4 * sg;
  const acc = (m: number) => `c${m}`;
  const decl = Array.from({ length: n }, (_, m) => `var ${acc(m)} = 0.0;`).join(' ');
  const body: string[] = [];
  for (let q = 0; q < sg; q++) {
    for (let r = 0; r < 2; r++) {
      const m = (2 * q + r) * 2;
      body.push(`{ let x = subgroupBroadcast(a${r}, ${q}u); { let e = x - b0; ${acc(m)} += dot(e, e); } { let e = x - b1; ${acc(m + 1)} += dot(e, e); } }`);
    }
  }
  const kernel = GRAM_CHORD_SUBGROUP_WGSL.replace('/*ACCUMULATORS*/', decl)
    .replace('/*BROADCASTS*/', body.join('\n      '))
    .replace('/*ACC_LIST*/', Array.from({ length: n }, (_, m) => acc(m)).join(', '));
  return `enable subgroups;\n\nconst SG: u32 = ${sg}u;\n` + wgslStruct(CHORD_PARAMS) + GRAM_COMMON_WGSL + kernel;
}

/**
 * The first-layer kernel for an adapter: workgroup-memory tiles on GPUs; on CPU adapters
 * (lavapipe, SwiftShader), where staging through workgroup memory and its barriers costs more than
 * it saves, direct loads into registers, or on llvmpipe with a fixed subgroup size (the device
 * then has the 'subgroups' feature, device.ts) the subgroup kernel that shares those loads.
 */
export function firstLayerShader(ctx: { adapter?: AdapterSummary; subgroupSize?: number | null }): string {
  const a = ctx.adapter;
  const cpu = a !== undefined && isCpuAdapter(a);
  if (!cpu) return firstLayerSource('tiled');
  const sg = ctx.subgroupSize;
  return sg && isLlvmpipe(a) && CHORD_SUBGROUP_SIZES.includes(sg) ? firstLayerSource('subgroup', sg) : firstLayerSource('direct');
}

/** Parameters of one first-layer dispatch over a rows × cols block. */
export function chordParams(rows: number, cols: number, vec4s: number, diagonalBlock: boolean): ArrayBuffer {
  return packStruct(CHORD_PARAMS, { rowsA: rows, rowsB: cols, vec4sPerRow: vec4s, diagonal: diagonalBlock ? 1 : 0, tilesB: Math.ceil(cols / TILE) });
}

/** Workgroups of a first-layer dispatch: column tiles along x, row tiles along y (wrapping into z). */
export function chordDispatch(pass: GPUComputePassEncoder, rows: number, cols: number): void {
  const tilesA = Math.ceil(rows / TILE);
  pass.dispatchWorkgroups(Math.ceil(cols / TILE), Math.min(tilesA, 65535), Math.ceil(tilesA / 65535));
}
