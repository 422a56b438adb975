// The benchmarks' deterministic inputs: n rows of d values uniform in [−1, 1) from one LCG
// (seed 12345), as float64 row-major { data, rows, cols }.
export function inputs(n, d) {
  let seed = 12345;
  const data = new Float64Array(n * d);
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = (seed / 2 ** 32) * 2 - 1;
  }
  return { data, rows: n, cols: d };
}
