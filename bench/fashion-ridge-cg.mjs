// How the ridge sets the CG iterations cg-matfree needs on Fashion-MNIST, and what the iterates are
// worth before convergence: on the first --train-per-class training images of each class and the
// whole test set (10 000), the f32 kernel of mlp:depth=3 (NNGP, WebGPU) is computed once and
// stored, and for each relative ridge the same preconditioned CG as cg-matfree (pivoted Cholesky
// of rank --cg-rank, bound 1e8; solve/cg.ts) runs on it with the products on the host in float64:
// approximately the iterates cg-matfree produces (the same f32 kernel; cg-matfree multiplies it on
// the device in double-single, to ~2⁻⁴⁴, and takes its diagonal from a separate call). At
// each iteration in --at, the test accuracy of the iterate; at the end, iterations to --cg-tol.
// Writes bench/results/fashion-ridge-cg.json.
//
//   npm run build && node bench/fashion-ridge-cg.mjs [--train-per-class 1200] [--ridges 1e-4,1e-3,1e-2,1e-1]
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { accuracy, kernel, oneHot } from '../dist/index.js';
import { fashionSplits } from '../dist/node/demo.js';
import { useNodeWebGPU } from '../dist/node/index.js';
import { solveCg } from '../dist/solve/cg.js';
import { addBlockProduct } from '../dist/exec/times.js';
import { MATFREE_MAX_BOUND } from '../dist/predict-matfree.js';

const { values: o } = parseArgs({
  options: {
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    'train-per-class': { type: 'string', default: '1200' },
    'test-per-class': { type: 'string', default: '1000' },
    ridges: { type: 'string', default: '1e-4,1e-3,1e-2,1e-1' },
    'cg-rank': { type: 'string', default: '1000' },
    'cg-tol': { type: 'string', default: '1e-3' },
    'max-iter': { type: 'string', default: '400' },
    at: { type: 'string', default: '5,10,20,30,40,60,80,100,150,200,300,400' },
    arch: { type: 'string', default: 'mlp:depth=3' },
    out: { type: 'string', default: 'bench/results/fashion-ridge-cg.json' },
  },
});
const { train, test } = fashionSplits(o.data, Number(o['train-per-class']), Number(o['test-per-class']));
const d = train.X.length / train.n;
const n = train.n;
const m = test.n;
const k = 10;
useNodeWebGPU();
const t0 = performance.now();
const X = { data: train.X, shape: [n, d] };
const T = { data: test.X, shape: [m, d] };
const K = Float64Array.from((await kernel(o.arch, X, null, { get: 'nngp', backend: 'webgpu' })).nngp);
const Ks = Float64Array.from((await kernel(o.arch, T, X, { get: 'nngp', backend: 'webgpu' })).nngp);
const kernelSeconds = (performance.now() - t0) / 1000;
console.log(`n = ${n}, m = ${m}: kernels in ${kernelSeconds.toFixed(0)} s`);
let md = 0;
for (let i = 0; i < n; i++) md += K[i * n + i];
md /= n;
const Y = oneHot(train.labels, k).data;

// out (rows × k) = A (rows × n) · P (n × k), float64: the host product of cg-matfree's CPU path.
const times = (A, rows, P) => {
  const out = new Float64Array(rows * k);
  addBlockProduct(out, A, 0, 0, rows, n, P, k);
  return out;
};
const at = new Set(o.at.split(',').map(Number));
const rows = [];
for (const rel of o.ridges.split(',').map(Number)) {
  const curve = [];
  const t1 = performance.now();
  const r = await solveCg(n, k, Y, rel * md, K, async (P) => times(K, n, P), {
    tol: Number(o['cg-tol']),
    rank: Number(o['cg-rank']),
    maxBound: MATFREE_MAX_BOUND,
    maxIterations: Number(o['max-iter']),
    onIteration: (s) => {
      if (!at.has(s.iteration)) return;
      curve.push({ iteration: s.iteration, recursiveResidual: Math.max(...s.residuals), accuracy: accuracy(times(Ks, m, s.x), [m, k], test.labels) });
    },
  });
  const row = {
    relativeRidge: rel,
    iterations: r.iterations,
    converged: r.converged,
    trueRelativeResidual: r.relativeResidual,
    conditionEstimate: r.conditionEstimate,
    accuracy: accuracy(times(Ks, m, r.x), [m, k], test.labels),
    seconds: (performance.now() - t1) / 1000,
    curve,
  };
  rows.push(row);
  console.log(
    `ridge ${rel} × mean diag: ${row.iterations} iterations (${row.converged ? 'converged' : 'not converged'}, residual ${row.trueRelativeResidual.toExponential(2)}, ` +
      `condition ~${row.conditionEstimate.toExponential(1)}), accuracy ${(100 * row.accuracy).toFixed(2)} %; ` +
      curve.map((c) => `${c.iteration}: ${(100 * c.accuracy).toFixed(1)}`).join(', '),
  );
}
writeFileSync(
  o.out,
  JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, load1: loadavg()[0], arch: o.arch, kernel: 'nngp', n, m, d, cgRank: Number(o['cg-rank']), cgTol: Number(o['cg-tol']), kernelSeconds, meanDiagonal: md, rows }, null, 2) + '\n',
);
console.log(`wrote ${o.out}`);
