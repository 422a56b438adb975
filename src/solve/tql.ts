/**
 * Implicit QL with shifts on a symmetric tridiagonal matrix (tql2 of EISPACK/JAMA): on return d holds
 * the eigenvalues (unsorted) and e is destroyed. d is the diagonal, e[i] the entry (i, i+1), e[n−1]
 * unused. `onRotation(i, c, s)` sees each plane rotation of rows i, i+1 as it is made, so that a
 * caller can apply it to vectors (src/solve/ridge-eigen.ts) or skip them (eigenvalues only).
 */
const EPS = 2 ** -52;

export function tql(d: Float64Array, e: Float64Array, onRotation?: (i: number, c: number, s: number) => void, who = 'tql'): void {
  const n = d.length;
  let f = 0;
  let tst1 = 0;
  let sweeps = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]!) > EPS * tst1) m++;
    if (m > l) {
      do {
        if (++sweeps > 60 * n) throw new Error(`${who}: the QL iteration did not converge`);
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          onRotation?.(i, c, s);
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > EPS * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
}
