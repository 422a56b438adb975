/**
 * Inputs and error measure of the GPU accuracy tests. Node-free, so that entries bundled for Deno
 * and Chromium (the test/runtimes entries) can import it; test/gpu/setup.ts re-exports it.
 */

/** max |a − ref| / max |ref| over two arrays of the same length (ref is the reference). */
export function maxRelDiff(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let e = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    m = Math.max(m, Math.abs(ref[i]!));
    e = Math.max(e, Math.abs(a[i]! - ref[i]!));
  }
  return e / m;
}

/**
 * max |K_gpu − K_cpu| / √(K_cpu(x,x)·K_cpu(z,z)) over a square result (diagonal inside), every tap,
 * over the entries (i, j) that `keep` accepts (all by default).
 */
export function normalisedError(cpu: Float64Array, gpu: Float64Array, n: number, taps = 1, keep: (i: number, j: number) => boolean = () => true): number {
  let e = 0;
  for (let t = 0; t < taps; t++) {
    const o = t * n * n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (!keep(i, j)) continue;
        // √a·√b, not √(a·b): deep ResNets' diagonals reach 1e200, whose product overflows to
        // Infinity and would turn every error into 0.
        const s = Math.sqrt(Math.abs(cpu[o + i * n + i]!)) * Math.sqrt(Math.abs(cpu[o + j * n + j]!));
        const diff = Math.abs(gpu[o + i * n + j]! - cpu[o + i * n + j]!);
        e = Math.max(e, s > 0 ? diff / s : diff);
      }
    }
  }
  return e;
}

/**
 * Inputs of the accuracy suite, exactly representable in float32: near-duplicates of one row at
 * 1e−6 … 1e−3 rad, exact and scaled antipodes, norms from 2e−3 to 800, a zero-free mix.
 */
export function accuracyInputs(): number[][] {
  const base = [0.3, -1.2, 0.8, 0.5, 0.1];
  const rot = (a: number[], t: number) => [Math.cos(t) * a[0]! - Math.sin(t) * a[1]!, Math.sin(t) * a[0]! + Math.cos(t) * a[1]!, a[2]!, a[3]!, a[4]!];
  const rows = [
    base,
    rot(base, 1e-6),
    rot(base, 1e-5),
    rot(base, 1e-4),
    rot(base, 1e-3),
    base.map((v) => -v),
    base.map((v) => -3 * v),
    [1.5, 0.2, -0.4, 2.0, 0.3],
    [0.001, 0.002, -0.0005, 0, 0.001],
    [400, -250, 100, 700, 10],
    [0.2, 0.1, 0.3, -0.9, 1.0],
  ];
  return rows.map((r) => r.map((v) => Math.fround(v)));
}

/**
 * Exactly parallel inputs (up to float64 rounding of the products) whose norms differ by factors
 * that are not powers of two: u, 10u, 0.1u, 100u, and 2u. For these f32 once left a Lagrange
 * term of round-off in residual sums, which κ0 amplified to 4e−5 at depth 1000 (issue 14).
 */
export function parallelInputs(): number[][] {
  const u = [0.3, -1.2, 0.8, 0.5, 0.1];
  return [1, 10, 0.1, 100, 2].map((c) => u.map((v) => c * v));
}

/**
 * Four images [4, C, ...dims]: two random ones, a copy of the first perturbed by 1e−4 of its norm,
 * and the first shifted by one pixel along the last axis (circularly).
 */
export function convImages(C: number, dims: number[], seed: number): { data: number[]; shape: number[] } {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const P = dims.reduce((a, b) => a * b, 1);
  const n = C * P;
  const a = Array.from({ length: n }, next);
  const b = Array.from({ length: n }, next);
  const dir = Array.from({ length: n }, next);
  const na = Math.hypot(...a);
  const nd = Math.hypot(...dir);
  const near = a.map((v, k) => v + (1e-4 * na * dir[k]!) / nd);
  const W = dims[dims.length - 1]!;
  const shifted = a.map((_, k) => {
    const c = Math.floor(k / P);
    const i = k % P;
    const row = i - (i % W);
    return a[c * P + row + ((i % W) + W - 1) % W]!;
  });
  return { data: [...a, ...b, ...near, ...shifted], shape: [4, C, ...dims] };
}
