// Nyström kernel regression (predict --solver nystrom), whole processes through the CLI:
// 1. the issue-16 goal: N = 100 000 training points, d = 10, M = 1000 landmarks,
//    arora2019:depth=3, NNGP mean on WebGPU: wall time and peak memory (GNU time's max RSS);
// 2. the approximation against exact kernel ridge regression where the exact solve fits
//    (N = 4000): test RMSE of direct and of nystrom with M = 250, 500, 1000, 2000.
// Data: x uniform on [−1, 1]^d, y = sin(3x₀) + x₁x₂ + 0.1·noise; 2000 test points.
// Writes bench/results/nystrom.json (or --out).
//
//   npm run build && node bench/nystrom.mjs [--n 100000] [--small 4000] [--backend webgpu]
//
// With --landmark-study: only the comparison at N = --small, for each landmark choice (uniform,
// pivoted-cholesky, rp-cholesky) and M = 100, 250, 500, 1000, on the CPU backend; writes
// bench/results/nystrom-landmarks.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { regressionData, rmse } from './regression-data.mjs';
import { parseNpy } from '../dist/index.js';

const { values: o } = parseArgs({
  options: {
    'landmark-study': { type: 'boolean', default: false },
    n: { type: 'string', default: '100000' },
    small: { type: 'string', default: '4000' },
    backend: { type: 'string', default: 'webgpu' },
    landmarks: { type: 'string', default: '1000' },
    out: { type: 'string', default: 'bench/results/nystrom.json' },
  },
});
const d = 10;
const dir = mkdtempSync(join(tmpdir(), 'webntk-nystrom-'));
const { dataset } = regressionData(dir, d);
const test = dataset(2000, 'test', 0);

function run(train, extra) {
  const out = join(dir, 'P.npy');
  const args = ['-f', '%e %M', process.execPath, 'dist/node/cli.js', 'predict', '--arch', 'arora2019:depth=3', '--train', train.X, '--targets', train.y, '--test', test.X, '--kernel', 'nngp', '--ridge-rel', '1e-3', '--out', out, '--json', ...extra];
  // GNU time gives the peak memory; without it (a bare GPU machine) the wall time is taken here.
  const gnuTime = existsSync('/usr/bin/time');
  const t0 = performance.now();
  const r = gnuTime ? spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 1 << 24 }) : spawnSync(args[2], args.slice(3), { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`predict ${extra.join(' ')} failed (${r.status}): ${r.stderr}`);
  const [wall, kb] = gnuTime ? r.stderr.trim().split('\n').at(-1).split(' ').map(Number) : [(performance.now() - t0) / 1000, NaN];
  const j = JSON.parse(r.stdout);
  const pred = Array.from(parseNpy(readFileSync(out)).data);
  return { seconds: wall, peakMB: Number.isFinite(kb) ? Math.round(kb / 1024) : null, rmse: rmse(pred, test.yv), solver: j.solver, nystrom: j.nystrom ?? null, backend: j.backend };
}

if (o['landmark-study']) {
  const small = dataset(Number(o.small), 'small', 0.1);
  const study = { date: new Date().toISOString(), loadBefore: loadavg(), d, n: Number(o.small), test: 2000, arch: 'arora2019:depth=3', kernel: 'nngp', ridgeRel: 1e-3, backend: 'cpu' };
  study.direct = run(small, ['--solver', 'direct', '--backend', 'cpu']);
  study.rows = [];
  for (const choice of ['uniform', 'pivoted-cholesky', 'rp-cholesky']) {
    for (const M of [100, 250, 500, 1000]) {
      const r = run(small, ['--solver', 'nystrom', '--landmarks', String(M), '--landmark-choice', choice, '--backend', 'cpu']);
      study.rows.push({ choice, M, ...r });
      console.log(choice, M, r.rmse, r.seconds, r.nystrom.residualTrace);
    }
  }
  study.loadAfter = loadavg();
  writeFileSync('bench/results/nystrom-landmarks.json', JSON.stringify(study, null, 1) + '\n');
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

const result = { date: new Date().toISOString(), loadBefore: loadavg(), d, test: 2000, arch: 'arora2019:depth=3', kernel: 'nngp', ridgeRel: 1e-3 };
const small = dataset(Number(o.small), 'small', 0.1);
result.small = { n: Number(o.small), direct: run(small, ['--solver', 'direct', '--backend', 'cpu']), nystrom: [] };
for (const M of [250, 500, 1000, 2000].filter((m) => m <= Number(o.small))) result.small.nystrom.push({ M, ...run(small, ['--solver', 'nystrom', '--landmarks', String(M), '--backend', 'cpu']) });
console.log(JSON.stringify(result.small, null, 1));
const big = dataset(Number(o.n), 'big', 0.1);
result.goal = { n: Number(o.n), M: Number(o.landmarks), ...run(big, ['--solver', 'nystrom', '--landmarks', o.landmarks, '--backend', o.backend]) };
console.log(JSON.stringify(result.goal, null, 1));
result.loadAfter = loadavg();
mkdirSync('bench/results', { recursive: true });
writeFileSync(o.out, JSON.stringify(result, null, 1) + '\n');
rmSync(dir, { recursive: true, force: true });
