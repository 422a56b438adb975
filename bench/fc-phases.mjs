// Where the time of the FC headline goes, side by side with NumPy, every contender a whole process
// (spawn to exit): `webntk gram --profile --json` on WebGPU and on the float64 CPU backend, and
// bench/numpy_ntk.py (float32 and float64) on the same rows. Writes bench/results/fc-phases.json
// and prints a markdown table (README "Where the time goes").
//
//   npm run build && node bench/fc-phases.mjs [--reps 3] [--case N,d,depth ...] [--out FILE]
//
// Cases (default): the issue-14 headline arora2019 N = 4096, d = 512, depth 20 (WebGPU, by default
// from the angle table, and again with --angle-table off, the layer recursion; NumPy float32); the same at depth 1 (the fixed cost); N = 2048 depth 20 (CPU float64 and NumPy
// float64); and the cold start, N = 64 (WebGPU and CPU). webntk writes float32 .npy where NumPy
// float32 is its peer and float64 where NumPy float64 is; NumPy writes nothing (its time is the
// process: import, generation of nothing — the rows come from the same .npy file — and the recursion).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy } from '../dist/io/npy.js';
import { CHORD_FLOPS_PER_TERM, measurePeakFma } from '../dist/gpu/bench.js';
import { dawnGpu, releaseDawn, timestampDevice } from './dawn.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const argv = process.argv.slice(2);
const opt = { reps: 3, out: join(here, 'results', 'fc-phases.json'), cases: [] };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--reps') opt.reps = Number(argv[++i]);
  else if (a === '--out') opt.out = argv[++i];
  else if (a === '--case') opt.cases.push(argv[++i].split(',').map(Number));
  else {
    console.error(`fc-phases.mjs: unknown option ${a}`);
    process.exit(2);
  }
}

/** [N, d, depth, contenders] */
const CASES = opt.cases.length
  ? opt.cases.map(([n, d, depth]) => [n, d, depth, ['webgpu', 'cpu', 'numpy32', 'numpy64']])
  : [
      [4096, 512, 20, ['webgpu', 'webgpuLayers', 'numpy32']],
      [4096, 512, 1, ['webgpu', 'numpy32']],
      [2048, 512, 20, ['cpu', 'numpy64', 'webgpu', 'numpy32']],
      [64, 512, 20, ['webgpu', 'cpu']],
    ];

const tmp = mkdtempSync(join(tmpdir(), 'webntk-fc-phases-'));

/** Deterministic rows uniform in [−1, 1), as bench/inputs.mjs makes them (one LCG). */
function rowsFile(n, d) {
  const data = new Float64Array(n * d);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = (seed / 2 ** 32) * 2 - 1;
  }
  const file = join(tmp, `x-${n}x${d}.npy`);
  writeFileSync(file, encodeNpy(data, [n, d], 'float64'));
  return file;
}

// Each contender's stderr is a file opened for appending, as `2>>log` gives it (a terminal or a
// shell pipe behaves the same): webntk filters Dawn's warnings in-process there. spawnSync's own
// 'pipe' is a socket, which would put webntk behind its child-process filter (a second Node start)
// and time what no shell user sees.
const errFile = join(tmp, 'stderr.log');

function timed(cmd, args) {
  writeFileSync(errFile, '');
  const errFd = openSync(errFile, 'a');
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', errFd] });
  const seconds = (performance.now() - t0) / 1000;
  closeSync(errFd);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${readFileSync(errFile, 'utf8')}`);
  return { seconds, stdout: r.stdout };
}

// webntk's whole-process time comes from runs without --profile (what a user runs: with it the
// WebGPU phases are timed apart by waiting after each submit, which serialises the pipelined
// blocks); its phases from one more run with --profile, after the timed ones.
function runWebntk(backend, x, depth, dtype, profile = false, extra = []) {
  const out = join(tmp, 'K.npy');
  const r = timed(process.execPath, [join(root, 'dist/node/bin.js'), 'gram', '--arch', `arora2019:depth=${depth}`, '--x1', x, '--out', out, '--backend', backend, '--dtype', dtype, '--json', ...extra, ...(profile ? ['--profile'] : [])]);
  rmSync(out, { force: true });
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1));
  return { seconds: r.seconds, adapter: j.adapter, ...(profile ? { phases: j.phases, profiledSeconds: r.seconds } : {}) };
}

function runNumpy(x, depth, dtype) {
  const r = timed('python3', [join(here, 'numpy_ntk.py'), '--x', x, '--depth', String(depth), '--dtype', dtype, '--reps', '1']);
  const j = JSON.parse(r.stdout.trim().split('\n').at(-1));
  return { seconds: r.seconds, phases: { recursion: j.seconds }, numpy: j.numpy, blas: j.blas };
}

const CONTENDERS = {
  webgpu: { label: 'webntk WebGPU (float32 .npy)', run: (x, depth) => runWebntk('webgpu', x, depth, 'float32'), profile: (x, depth) => runWebntk('webgpu', x, depth, 'float32', true) },
  // The same without the angle table (src/exec/angle-table.ts): every layer of the recursion on the device.
  webgpuLayers: {
    label: 'webntk WebGPU, layer recursion (--angle-table off)',
    run: (x, depth) => runWebntk('webgpu', x, depth, 'float32', false, ['--angle-table', 'off']),
    profile: (x, depth) => runWebntk('webgpu', x, depth, 'float32', true, ['--angle-table', 'off']),
  },
  cpu: { label: 'webntk CPU float64 (float64 .npy)', run: (x, depth) => runWebntk('cpu', x, depth, 'float64'), profile: (x, depth) => runWebntk('cpu', x, depth, 'float64', true) },
  numpy32: { label: 'NumPy float32', run: (x, depth) => runNumpy(x, depth, 'float32') },
  numpy64: { label: 'NumPy float64', run: (x, depth) => runNumpy(x, depth, 'float64') },
};

const result = {
  benchmark: 'fc-phases',
  what: 'arora2019 NTK of X × X; every contender a whole process (spawn to exit), fastest of the reps; webntk timed without --profile, its phases from one more run with `webntk gram --profile` (GPU phases timed apart by waiting after each submit; profiledSeconds is that run\'s whole process)',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  loadAverage: { before: loadavg()[0] },
  reps: opt.reps,
  cases: [],
};

for (const [n, d, depth, names] of CASES) {
  const x = rowsFile(n, d);
  const row = { n, d, depth, results: {} };
  // Interleaved reps, so that a change in the machine's load hits every contender alike.
  const runs = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < opt.reps; r++) for (const k of names) runs[k].push(CONTENDERS[k].run(x, depth));
  for (const k of names) {
    const best = runs[k].reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const profiled = CONTENDERS[k].profile?.(x, depth);
    row.results[k] = { label: CONTENDERS[k].label, ...best, ...(profiled ? { phases: profiled.phases, profiledSeconds: profiled.profiledSeconds } : {}), allSeconds: runs[k].map((v) => +v.seconds.toFixed(3)) };
  }
  const s = (k) => row.results[k]?.seconds;
  row.ratios = {
    ...(s('webgpu') && s('numpy32') ? { webgpuOverNumpy32: s('numpy32') / s('webgpu') } : {}),
    ...(s('webgpuLayers') && s('numpy32') ? { webgpuLayersOverNumpy32: s('numpy32') / s('webgpuLayers') } : {}),
    ...(s('cpu') && s('numpy64') ? { cpuOverNumpy64: s('numpy64') / s('cpu') } : {}),
    ...(s('webgpu') && s('cpu') ? { webgpuColdOverCpu: s('webgpu') / s('cpu') } : {}),
  };
  result.cases.push(row);
  console.error(`N=${n} d=${d} depth=${depth}: ${names.map((k) => `${k} ${s(k).toFixed(2)} s`).join(', ')}`);
}
// The compute phases as a share of the adapter's measured FMA peak (shaders/bench_fma.wgsl, on a
// device of the same adapter with timestamp queries where it has them), measured here after the
// contenders: the first layer's executed flops (3 per pair and feature over the upper triangle),
// and the depth's pairs (or pair-layers, for the layer recursion) per second, which have no flop
// count to compare (arc-cosines, square roots, error-free sums).
const ctx = await dawnGpu();
if (ctx) {
  const ts = await timestampDevice(ctx).catch(() => null);
  const peak = await measurePeakFma(ts ?? ctx, { targetSeconds: 0.2 });
  result.peakFma = { gflops: peak.gflops, method: peak.method };
  for (const c of result.cases) {
    const pairs = (c.n * (c.n + 1)) / 2;
    for (const [k, v] of Object.entries(c.results)) {
      if (!v.phases?.firstLayer) continue;
      const gflops = (pairs * c.d * CHORD_FLOPS_PER_TERM) / v.phases.firstLayer / 1e9;
      const layers = k === 'webgpuLayers' || !v.phases.angleTableSegments ? c.depth : 1;
      v.compute = {
        firstLayerGflops: gflops,
        firstLayerShareOfPeak: gflops / peak.gflops,
        recursionPairsPerSecond: v.phases.recursion > 0 ? pairs / v.phases.recursion : null,
        recursionPairLayersPerSecond: v.phases.recursion > 0 ? (pairs * layers) / v.phases.recursion : null,
      };
    }
  }
  await releaseDawn(ts);
}
result.loadAverage.after = loadavg()[0];
rmSync(tmp, { recursive: true, force: true });
mkdirSync(dirname(opt.out), { recursive: true });
writeFileSync(opt.out, JSON.stringify(result, null, 2) + '\n');

// The markdown table: whole-process seconds, then the phases of webntk's best run.
const PH = ['processStart', 'device', 'angleTable', 'rows', 'compile', 'upload', 'firstLayer', 'recursion', 'decode', 'kernel', 'write'];
console.log('| case | contender | whole process (s) | ' + PH.join(' | ') + ' |');
console.log('|---|---|---:|' + PH.map(() => '---:').join('|') + '|');
for (const c of result.cases) {
  for (const [k, v] of Object.entries(c.results)) {
    const cells = PH.map((p) => (v.phases?.[p] !== undefined ? v.phases[p].toFixed(2) : ''));
    console.log(`| N=${c.n} d=${c.d} L=${c.depth} | ${v.label} | ${v.seconds.toFixed(2)} | ${cells.join(' | ')} |`);
  }
}
for (const c of result.cases) console.log(`N=${c.n} L=${c.depth}: ${JSON.stringify(Object.fromEntries(Object.entries(c.ratios).map(([k, v]) => [k, +v.toFixed(2)])))}`);
if (result.peakFma) {
  console.log(`FMA peak ${result.peakFma.gflops.toFixed(1)} GFLOP/s (${result.peakFma.method})`);
  for (const c of result.cases) {
    for (const [k, v] of Object.entries(c.results)) {
      if (v.compute) console.log(`N=${c.n} L=${c.depth} ${k}: first layer ${v.compute.firstLayerGflops.toFixed(1)} GFLOP/s = ${(100 * v.compute.firstLayerShareOfPeak).toFixed(1)}% of peak; depth ${(v.compute.recursionPairsPerSecond / 1e6).toFixed(1)} M pairs/s (${(v.compute.recursionPairLayersPerSecond / 1e6).toFixed(0)} M pair-layers/s)`);
    }
  }
}
