/**
 * The first layer's dot products (src/cpu/first-layer.ts, src/cpu/simd-dots.ts): the WebAssembly
 * SIMD kernel, the JavaScript kernel and the one-by-one edge code give every entry the same bits
 * (one order of summation), whatever the tile an entry falls in; odd and even d.
 */
import { describe, expect, it } from 'vitest';
import { rowDotsOf, unitRows } from '../src/cpu/first-layer.js';
import { dotTwoLane, simdDots } from '../src/cpu/simd-dots.js';
import { Rng } from '../src/mc/rng.js';

function rows(n: number, d: number, seed: number) {
  const rng = new Rng(seed);
  return unitRows({ data: Float64Array.from({ length: n * d }, () => rng.normal()), rows: n, cols: d }, 1);
}

describe('first-layer dot products: one order of summation', () => {
  it('WebAssembly SIMD is available in Node (else this test says so)', () => {
    expect(simdDots(new Float64Array(8), new Float64Array(8), 2)).not.toBeNull();
  });
  for (const d of [1, 2, 3, 8, 65]) {
    it(`d = ${d}: SIMD, JavaScript and one-by-one agree bit for bit, on any tile`, () => {
      const A = rows(13, d, d);
      const B = rows(9, d, d + 100);
      const expected = new Float64Array(13 * 9);
      for (let i = 0; i < 13; i++) for (let j = 0; j < 9; j++) expected[i * 9 + j] = dotTwoLane(A.unit, i * d, B.unit, j * d, d);
      for (const simd of [true, false]) {
        const dots = rowDotsOf(A, B, simd);
        const whole = new Float64Array(13 * 9);
        dots(0, 13, 0, 9, whole);
        expect(whole).toEqual(expected);
        // An off-grid tile: rows 3..10, columns 1..8.
        const part = new Float64Array(7 * 7);
        dots(3, 10, 1, 8, part);
        for (let i = 3; i < 10; i++) for (let j = 1; j < 8; j++) expect(Object.is(part[(i - 3) * 7 + (j - 1)], expected[i * 9 + j])).toBe(true);
      }
    });
  }
});
