/// <reference types="@webgpu/types" preserve="true" />
/**
 * The first-layer kernel (shaders/gram_common.wgsl + gram_chord*.wgsl): its source per adapter
 * kind and its parameters, packed from the same schema that declares them in WGSL.
 */
import { isCpuAdapter, type AdapterSummary } from './device.js';
import { CHORD_PARAMS, packStruct, wgslStruct } from './layout.js';
import { GRAM_CHORD_DIRECT_WGSL, GRAM_CHORD_WGSL, GRAM_COMMON_WGSL } from './shaders.generated.js';

/** Rows per first-layer tile (and the granularity of Gram blocks). */
export const TILE = 64;

export type FirstLayerKind = 'tiled' | 'direct';

/** The first-layer source: 'tiled' (workgroup-memory tiles, for GPUs) or 'direct' (register loads, for CPU adapters). */
export function firstLayerSource(kind: FirstLayerKind): string {
  return wgslStruct(CHORD_PARAMS) + GRAM_COMMON_WGSL + (kind === 'tiled' ? GRAM_CHORD_WGSL : GRAM_CHORD_DIRECT_WGSL);
}

/**
 * The first-layer kernel for an adapter: workgroup-memory tiles on GPUs, direct loads into
 * registers on CPU adapters (lavapipe, SwiftShader), where staging through workgroup memory and its
 * barriers costs more than it saves.
 */
export function firstLayerShader(ctx: { adapter?: AdapterSummary }): string {
  const a = ctx.adapter;
  const cpu = a !== undefined && isCpuAdapter(a);
  return firstLayerSource(cpu ? 'direct' : 'tiled');
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
