// Matrix-free conjugate gradients (predict --solver cg-matfree), whole processes through the CLI:
// 1. time per CG iteration (one pass over the blocks of K_XX, computed and multiplied in float64)
//    against N² for N = 1500, 3000, 6000 (runs capped at 2 iterations: 3 passes each);
// 2. the issue-16 goal: N = 12 000, d = 10, arora2019:depth=3, NNGP mean, solved to --cg-tol:
//    iterations, wall time and peak memory (GNU time's max RSS; K_XX alone would be N²·4 = 576 MB
//    in f32, 1152 MB in float64); its time per iteration is the last point of the scaling plot.
// Data: x uniform on [−1, 1]^d, y = sin(3x₀) + x₁x₂ + 0.1·noise; 500 test points.
// Writes bench/results/cg-matfree.json (cpu) or cg-matfree-webgpu.json (webgpu: each block multiplied
// on the device) and docs/figures/cg-matfree-scaling.svg (every backend with a results file).
//
//   npm run build && nice -n 10 node bench/cg-matfree.mjs [--n 12000] [--sizes 1500,3000,6000] [--backend cpu] [--tol 1e-4]
//   node bench/cg-matfree.mjs --plot-only   # redraw the figure from bench/results/cg-matfree.json
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { regressionData, rmse } from './regression-data.mjs';
import { parseNpy } from '../dist/index.js';
import { renderSvg } from '../dist/plot/chart.js';

const { values: o } = parseArgs({
  options: {
    n: { type: 'string', default: '12000' },
    sizes: { type: 'string', default: '1500,3000,6000' },
    backend: { type: 'string', default: 'cpu' },
    tol: { type: 'string', default: '1e-4' },
    'ridge-rel': { type: 'string', default: '1e-2' },
    'plot-only': { type: 'boolean', default: false },
  },
});
const d = 10;
const dir = mkdtempSync(join(tmpdir(), 'webntk-matfree-'));
const { dataset } = regressionData(dir, d);
const test = dataset(500, 'test', 0);

function run(train, n, extra) {
  const out = join(dir, 'P.npy');
  const args = ['-f', '%e %M', process.execPath, 'dist/node/cli.js', 'predict', '--arch', 'arora2019:depth=3', '--train', train.X, '--targets', train.y, '--test', test.X, '--kernel', 'nngp', '--ridge-rel', o['ridge-rel'], '--out', out, '--json', '--backend', o.backend, '--solver', 'cg-matfree', ...extra];
  const loadBefore = loadavg()[0];
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`predict ${extra.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [wall, kb] = r.stderr.trim().split('\n').at(-1).split(' ').map(Number);
  const j = JSON.parse(r.stdout);
  const pred = Array.from(parseNpy(readFileSync(out)).data);
  return {
    n,
    seconds: wall,
    peakMB: Math.round(kb / 1024),
    kernelF32MB: Math.round((n * n * 4) / 2 ** 20),
    iterations: j.cg.iterations,
    converged: j.cg.converged,
    relativeResidual: j.cg.relativeResidual,
    preconditioner: j.cg.preconditioner,
    preconditionerSeconds: j.cg.preconditionerSeconds,
    kernelPasses: j.kernelPasses,
    secondsPerIteration: j.kernelPassSeconds / j.kernelPasses,
    rmse: rmse(pred, test.yv),
    backend: j.backend,
    load1: [loadBefore, loadavg()[0]],
  };
}

const resultsFile = (backend) => `bench/results/cg-matfree${backend === 'cpu' ? '' : `-${backend}`}.json`;

async function plot(result) {
  // Time per iteration against N²: a pass computes the N(N + 1)/2 pairs of the upper triangle and multiplies N² entries.
  const series = [];
  for (const backend of ['cpu', 'webgpu']) {
    const r = backend === result.backend ? result : existsSync(resultsFile(backend)) ? JSON.parse(readFileSync(resultsFile(backend), 'utf8')) : null;
    if (!r) continue;
    const pts = [...r.scaling, ...(r.goal ? [r.goal] : [])];
    const x = pts.map((p) => p.n * p.n);
    const y = pts.map((p) => p.secondsPerIteration);
    const last = pts.length - 1;
    series.push({ name: `${backend}, measured`, x, y, mark: 'line+points' });
    series.push({ name: `${backend}, ∝ N² through the largest N`, x, y: x.map((v) => (y[last] * v) / x[last]), mark: 'line' });
  }
  const svg = await renderSvg({
    title: `cg-matfree: seconds per CG iteration against N² (arora2019:depth=3, d = ${result.d}, NNGP, ${result.cpus} shared cores)`,
    panels: [
      {
        title: 'one pass over the blocks of K_XX per iteration',
        x: { title: 'N² (training inputs squared)', scale: 'log' },
        y: { title: 'seconds per iteration', scale: 'log' },
        series,
      },
    ],
  });
  mkdirSync('docs/figures', { recursive: true });
  writeFileSync('docs/figures/cg-matfree-scaling.svg', svg + '\n');
}

if (o['plot-only']) {
  await plot(JSON.parse(readFileSync(resultsFile(o.backend), 'utf8')));
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const result = { date: new Date().toISOString(), cpus: cpus().length, loadBefore: loadavg(), d, test: 500, arch: 'arora2019:depth=3', kernel: 'nngp', ridgeRel: Number(o['ridge-rel']), backend: o.backend, scaling: [] };
const save = () => {
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(resultsFile(o.backend), JSON.stringify(result, null, 1) + '\n');
};
for (const n of o.sizes.split(',').map(Number)) {
  const r = run(dataset(n, `n${n}`, 0.1), n, ['--cg-max-iter', '2']);
  result.scaling.push(r);
  console.log(JSON.stringify(r));
  save();
}
const n = Number(o.n);
result.goal = { tol: Number(o.tol), ...run(dataset(n, 'goal', 0.1), n, ['--cg-tol', o.tol, '--cg-max-iter', '300']) };
console.log(JSON.stringify(result.goal));
result.loadAfter = loadavg();
save();

await plot(result);
rmSync(dir, { recursive: true, force: true });
