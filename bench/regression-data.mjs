// The regression data of the solver benchmarks (bench/nystrom.mjs, bench/cg-matfree.mjs): x uniform
// on [−1, 1]^d, y = sin(3x₀) + x₁x₂ + noise·N(0, 1), from one LCG stream (seed 12345) shared by every
// set a script draws, in the order it draws them; each set is written as X.npy and y.npy under `dir`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeNpy } from '../dist/index.js';

export function regressionData(dir, d) {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const f = (x) => Math.sin(3 * x[0]) + x[1] * x[2];
  /** n points named `name`: their file paths and the targets. */
  function dataset(n, name, noise) {
    const X = new Float64Array(n * d);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = Array.from({ length: d }, () => 2 * rnd() - 1);
      X.set(x, i * d);
      y[i] = f(x) + noise * gauss();
    }
    writeFileSync(join(dir, `${name}-X.npy`), encodeNpy(X, [n, d]));
    writeFileSync(join(dir, `${name}-y.npy`), encodeNpy(y, [n]));
    return { X: join(dir, `${name}-X.npy`), y: join(dir, `${name}-y.npy`), yv: y };
  }
  return { dataset };
}

/** Root-mean-square error of predictions against targets. */
export const rmse = (pred, y) => Math.sqrt(pred.reduce((a, v, i) => a + (v - y[i]) ** 2, 0) / y.length);
