/**
 * The first layer's dot products with WebAssembly SIMD (f64x2), where the runtime has it: a
 * 4 rows × 2 rows kernel, hand-assembled below (no toolchain; 200 bytes).
 *
 * Order of summation, which fixes the bits: each dot product is summed in two lanes, even k and
 * odd k, each in increasing k (a product, then a sum: no fused multiply-add), then
 * lane 0 + lane 1, then the last term when d is odd. `dotTwoLane` is the same order in plain
 * JavaScript; it computes the edges and everything where WebAssembly SIMD is missing, so every
 * entry has the same value whatever computed it.
 */

/** Σ a[oa + k]·b[ob + k] in the two-lane order above. */
export function dotTwoLane(a: Float64Array, oa: number, b: Float64Array, ob: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  for (; k + 1 < d; k += 2) {
    s0 += a[oa + k]! * b[ob + k]!;
    s1 += a[oa + k + 1]! * b[ob + k + 1]!;
  }
  let s = s0 + s1;
  if (k < d) s += a[oa + k]! * b[ob + k]!;
  return s;
}

// dot42(a0, a1, a2, a3, b0, b1, evenBytes, out): byte offsets of four rows of A and two of B, the
// bytes of the even part of a row (16·⌊d/2⌋), and where the 8 results go (row-major 4 × 2).
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const load = [0xfd, 0x00, 0x03, 0x00]; // v128.load align=8 offset=0
const mul = [0xfd, 0xf2, 0x01]; // f64x2.mul
const add = [0xfd, 0xf0, 0x01]; // f64x2.add
const K = 8; // local: byte offset k
const ACC = 9; // locals 9..16: acc[r][c] at 9 + 2r + c
const VB0 = 17;
const VB1 = 18;
const VA = 19;

function body(): number[] {
  const code: number[] = [];
  code.push(0x02, 0x40); // block
  code.push(...get(6), 0x45, 0x0d, 0x00); // evenBytes == 0 → skip the loop
  code.push(0x03, 0x40); // loop
  code.push(...get(4), ...get(K), 0x6a, ...load, ...set(VB0));
  code.push(...get(5), ...get(K), 0x6a, ...load, ...set(VB1));
  for (let r = 0; r < 4; r++) {
    code.push(...get(r), ...get(K), 0x6a, ...load, ...set(VA));
    for (let c = 0; c < 2; c++) {
      const acc = ACC + 2 * r + c;
      code.push(...get(acc), ...get(VA), ...get(c === 0 ? VB0 : VB1), ...mul, ...add, ...set(acc));
    }
  }
  code.push(...get(K), 0x41, 0x10, 0x6a, 0x22, K, ...get(6), 0x49, 0x0d, 0x00); // k += 16; loop while k < evenBytes
  code.push(0x0b, 0x0b); // end loop, end block
  for (let idx = 0; idx < 8; idx++) {
    // out[idx] = lane 0 + lane 1
    code.push(...get(7), ...get(ACC + idx), 0xfd, 0x21, 0x00, ...get(ACC + idx), 0xfd, 0x21, 0x01, 0xa0, 0x39, 0x03, 8 * idx);
  }
  code.push(0x0b);
  const locals = [0x02, 0x01, 0x7f, 0x0b, 0x7b]; // 1 i32, 11 v128
  const fn = [...locals, ...code];
  return [...uleb(fn.length), ...fn];
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const str = (s: string) => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x08, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]),
    ...section(7, [0x02, ...str('mem'), 0x02, 0x00, ...str('dot42'), 0x00, 0x00]),
    ...section(10, [0x01, ...body()]),
  ]);
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module, or null where WebAssembly or its SIMD is missing. */
function simdModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  const W = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  if (!W) return null;
  const bytes = moduleBytes();
  try {
    if (W.validate(bytes)) compiled = new W.Module(bytes);
  } catch {
    compiled = null; // no SIMD: the JavaScript kernel (same bits)
  }
  return compiled;
}

/** Unit rows held in WebAssembly memory, with the 4 × 2 kernel over them. */
export interface SimdDots {
  /** Byte offset of row i of A / row j of B in the memory. */
  dot42(i0: number, j0: number, out: Float64Array): void;
}

/** Largest copy of the rows put into WebAssembly memory (beyond it, the JavaScript kernel). */
const MAX_BYTES = 2 ** 30;

/** The SIMD kernel over copies of `a` (and `b`, unless it is `a`), or null where it is not available. */
export function simdDots(a: Float64Array, b: Float64Array, d: number): SimdDots | null {
  const mod = simdModule();
  const same = a === b;
  const bytes = (a.length + (same ? 0 : b.length)) * 8 + 64;
  if (!mod || bytes > MAX_BYTES) return null;
  const inst = new WebAssembly.Instance(mod, {});
  const mem = inst.exports['mem'] as WebAssembly.Memory;
  const pages = Math.ceil(bytes / 65536);
  if (pages > 1) mem.grow(pages - 1);
  const f64 = new Float64Array(mem.buffer);
  f64.set(a, 0);
  const bBase = same ? 0 : a.length;
  if (!same) f64.set(b, bBase);
  const outAt = a.length + (same ? 0 : b.length);
  const fn = inst.exports['dot42'] as (...args: number[]) => void;
  const row = d * 8;
  const even = Math.floor(d / 2) * 16;
  const tail = d % 2 === 1;
  return {
    dot42(i0, j0, out) {
      const b0 = (bBase + j0 * d) * 8;
      fn(i0 * row, (i0 + 1) * row, (i0 + 2) * row, (i0 + 3) * row, b0, b0 + row, even, outAt * 8);
      for (let r = 0; r < 8; r++) out[r] = f64[outAt + r]!;
      if (tail) {
        const k = d - 1;
        for (let r = 0; r < 4; r++) {
          for (let c = 0; c < 2; c++) out[2 * r + c] = out[2 * r + c]! + a[(i0 + r) * d + k]! * b[(j0 + c) * d + k]!;
        }
      }
    },
  };
}
