/**
 * The streaming .npy writer (src/node/npy-writer.ts): blocks in any order, gathered in row buffers
 * and written as whole rows, or piecewise once the buffers pass their budget, give the same file
 * as the array written at once; nothing appears at the target before commit, and abort leaves none.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../src/io/npy.js';
import { NpyBlockWriter } from '../src/node/npy-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'webntk-npy-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic values, distinct per element (and not exact in float32). */
const valueAt = (k: number) => Math.sin(k * 0.7311) * 1000 + k / 3;

/** The blocks of a [taps, n1, n2] array in b1 × b2 tiles, shuffled by a fixed seed. */
function tiles(taps: number, n1: number, n2: number, b1: number, b2: number, seed: number) {
  const out: { row0: number; col0: number; rows: number; cols: number; values: Float64Array }[] = [];
  for (let r = 0; r < n1; r += b1) {
    for (let c = 0; c < n2; c += b2) {
      const rows = Math.min(b1, n1 - r);
      const cols = Math.min(b2, n2 - c);
      const values = new Float64Array(taps * rows * cols);
      for (let t = 0; t < taps; t++) {
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) values[(t * rows + i) * cols + j] = valueAt((t * n1 + r + i) * n2 + c + j);
      }
      out.push({ row0: r, col0: c, rows, cols, values });
    }
  }
  let s = seed;
  for (let k = out.length - 1; k > 0; k--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const m = s % (k + 1);
    [out[k], out[m]] = [out[m]!, out[k]!];
  }
  return out;
}

describe('NpyBlockWriter', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    for (const [label, budget] of [
      ['rows held until complete', undefined],
      ['a budget of three rows (piecewise writes, rows started again)', 3 * 37 * 8],
    ] as const) {
      it(`${dtype}, 2 taps of 29 × 37 in shuffled 8 × 5 tiles, ${label}`, () => {
        const [taps, n1, n2] = [2, 29, 37];
        const path = join(dir, `m-${dtype}-${budget ?? 'all'}.npy`);
        const w = new NpyBlockWriter(path, [taps, n1, n2], dtype, false, budget !== undefined ? { budget } : {});
        for (const b of tiles(taps, n1, n2, 8, 5, 99)) w.writeBlock(b.values, 0, taps, b.row0, b.col0, b.rows, b.cols);
        expect(existsSync(path)).toBe(false);
        w.commit();
        const want = new Float64Array(taps * n1 * n2).map((_, k) => valueAt(k));
        const bytes = readFileSync(path);
        expect(Buffer.compare(bytes, Buffer.from(encodeNpy(want, [taps, n1, n2], dtype)))).toBe(0);
        expect(parseNpy(bytes).shape).toEqual([taps, n1, n2]);
      });
    }
  }

  it('whole-row blocks and the diagonal go straight to the file', () => {
    const path = join(dir, 'rows.npy');
    const w = new NpyBlockWriter(path, [6, 4], 'float32');
    for (const r of [4, 0, 2]) w.writeBlock(new Float64Array(8).map((_, k) => valueAt(r * 4 + k)), 0, 1, r, 0, 2, 4);
    w.commit();
    expect(parseNpy(readFileSync(path)).data).toEqual(new Float64Array(24).map((_, k) => Math.fround(valueAt(k))));
    const dpath = join(dir, 'diag.npy');
    const d = new NpyBlockWriter(dpath, [3, 10], 'float64', true);
    for (const r0 of [5, 0]) d.writeBlock(new Float64Array(15).map((_, k) => valueAt(Math.floor(k / 5) * 10 + r0 + (k % 5))), 0, 3, r0, 0, 5, 1);
    d.commit();
    expect(parseNpy(readFileSync(dpath)).data).toEqual(new Float64Array(30).map((_, k) => valueAt(k)));
  });

  it('abort leaves nothing at the target, held rows included', () => {
    const path = join(dir, 'aborted.npy');
    const w = new NpyBlockWriter(path, [4, 4], 'float32');
    w.writeBlock(new Float64Array(4).fill(1), 0, 1, 0, 0, 2, 2);
    w.abort();
    expect(existsSync(path)).toBe(false);
  });
});
