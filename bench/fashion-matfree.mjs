// Matrix-free CG against Nyström on a Fashion-MNIST subset that this machine can finish:
// the first --train-per-class images of each class (12 000 by default; K_XX alone would be 576 MB
// in f32, 1152 MB in float64), --test-per-class test images, mlp:depth=3, on WebGPU. Each solver
// runs in its own process (peak memory = its maxRSS): cg-matfree (the exact kernel, never stored;
// each CG iteration one pass over it, multiplied into the iterate on the device) and Nyström on
// --landmarks uniform landmarks. Needs Debian's dataset-fashion-mnist.
// Writes bench/results/fashion-matfree.json.
//
//   npm run build && nice node bench/fashion-matfree.mjs [--train-per-class 1200] [--test-per-class 200]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { accuracy, predict } from '../dist/index.js';
import { fashionSplits } from '../dist/node/demo.js';
import { useNodeWebGPU } from '../dist/node/index.js';

const { values: o } = parseArgs({
  options: {
    data: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    'train-per-class': { type: 'string', default: '1200' },
    'test-per-class': { type: 'string', default: '200' },
    arch: { type: 'string', default: 'mlp:depth=3' },
    kernel: { type: 'string', default: 'nngp' },
    backend: { type: 'string', default: 'webgpu' },
    'cg-tol': { type: 'string', default: '1e-4' },
    'cg-rank': { type: 'string', default: '1000' },
    landmarks: { type: 'string', default: '2000' },
    one: { type: 'string' },
  },
});
const RIDGE = 1e-4; // the demo's relative ridge

if (o.one) {
  // One solver, in this process.
  const { train, test } = fashionSplits(o.data, Number(o['train-per-class']), Number(o['test-per-class']));
  if (o.backend !== 'cpu') useNodeWebGPU();
  const solver = o.one === 'cg-matfree' ? { solver: 'cg-matfree', cgTol: Number(o['cg-tol']), cgRank: Number(o['cg-rank']) } : { solver: 'nystrom', landmarks: Number(o.landmarks) };
  const t0 = performance.now();
  const r = await predict(o.arch, { data: train.X, shape: [train.n, 784] }, train.labels, { data: test.X, shape: [test.n, 784] }, {
    kernel: o.kernel,
    relativeRidge: RIDGE,
    classes: 10,
    backend: o.backend,
    ...solver,
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      solver: o.one,
      n: train.n,
      m: test.n,
      accuracy: accuracy(r.mean[0], r.shape, test.labels),
      seconds,
      peakMB: Math.round(process.resourceUsage().maxRSS / 1024),
      backend: r.backend,
      ...(r.cg ? { cg: r.cg, kernelPasses: r.kernelPasses, secondsPerPass: r.kernelPassSeconds / r.kernelPasses, kernelProduct: r.kernelProduct } : {}),
      ...(r.nystrom ? { nystrom: r.nystrom } : {}),
      warnings: r.warnings,
    }),
  );
  process.exit(0);
}

const result = {
  date: new Date().toISOString(),
  cpus: cpus().length,
  arch: o.arch,
  kernel: o.kernel,
  relativeRidge: RIDGE,
  trainPerClass: Number(o['train-per-class']),
  testPerClass: Number(o['test-per-class']),
  rows: [],
};
for (const solver of ['cg-matfree', 'nystrom']) {
  const load = loadavg()[0];
  const argv = process.argv.slice(2);
  const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, ...argv, '--one', solver], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${solver} failed (${r.status}): ${r.stderr}`);
  const row = { ...JSON.parse(r.stdout.trim().split('\n').at(-1)), load1: [load, loadavg()[0]] };
  result.rows.push(row);
  console.log(JSON.stringify(row));
  writeFileSync('bench/results/fashion-matfree.json', JSON.stringify(result, null, 1) + '\n');
}
