/**
 * The float64 CPU executor of a compiled spatial (convolutional) program: cpu/spatial.ts on
 * images, whole or in blocks of images.
 */
import { checkSpatialRequest, gramSpatialCpu } from '../cpu/spatial.js';
import type { Images } from '../images.js';
import type { SpatialProgram } from '../program/spatial.js';
import type { GramRequest } from '../result.js';
import { syncExecutor, type RowAccess } from './blocks.js';
import type { SyncExecutor } from './executor.js';

export { checkSpatialRequest };

/** Blocks of images, as views of the channel-major data. */
export const IMAGE_ROWS: RowAccess<Images> = {
  count: (x) => x.n,
  slice: (x, r0, rows) => {
    const per = x.channels * x.pixels;
    return { ...x, n: rows, data: x.data.subarray(r0 * per, (r0 + rows) * per) };
  },
};

export function spatialDepths(p: SpatialProgram, req: GramRequest): number[] {
  return req.allDepths ? p.depths.slice() : [p.depths[p.depths.length - 1]!];
}

export function spatialCpuExecutor(p: SpatialProgram): SyncExecutor<Images> {
  return syncExecutor(
    {
      depths: (req) => spatialDepths(p, req),
      check: (x1, x2, req) => checkSpatialRequest(p, x1, x2, req),
      gram: (x1, x2, req) => gramSpatialCpu(p, x1, x2, req),
    },
    IMAGE_ROWS,
  );
}
