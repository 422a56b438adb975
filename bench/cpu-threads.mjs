// The float64 CPU backend against NumPy float64, whole processes, side by side in one run:
// `webntk gram --arch arora2019:depth=20` on 1 and 2 threads (both kernels written as .npy) and
// bench/numpy_ntk.py (the same recursion as a NumPy user writes it, both kernels written as one
// .npy) on the same rows, interleaved, `--reps` rounds (median per implementation), load average
// before and after. Then a phase split of webntk on one thread, in process: first layer (unit rows
// and the blocked dot products), recursion, output write. Writes bench/results/cpu-threads.json.
//
//   npm run build && node bench/cpu-threads.mjs [--n 2048] [--d 512] [--depth 20] [--reps 3]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeNpy, parseNpy, toSpec } from '../dist/index.js';
import { compile } from '../dist/program/compile.js';
import { gramCpu } from '../dist/cpu/gram.js';
import { gapsFromDot, rowDotsOf, unitRows } from '../dist/cpu/first-layer.js';
import { inputs } from './inputs.mjs';

const { values: o } = parseArgs({
  options: { n: { type: 'string', default: '2048' }, d: { type: 'string', default: '512' }, depth: { type: 'string', default: '20' }, reps: { type: 'string', default: '3' }, out: { type: 'string' } },
});
const n = Number(o.n);
const d = Number(o.d);
const depth = Number(o.depth);
const reps = Number(o.reps);
const arch = `arora2019:depth=${depth}`;
const dir = mkdtempSync(join(tmpdir(), 'webntk-cpu-threads-'));
const X = inputs(n, d);
const xPath = join(dir, 'X.npy');
writeFileSync(xPath, encodeNpy(X.data, [n, d]));
const load = () => loadavg().map((v) => Number(v.toFixed(2)));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function timed(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { seconds, stdout: r.stdout };
}

const runs = { numpy: [], webntk1: [], webntk2: [] };
let numpyInfo = null;
const loadBefore = load();
for (let r = 0; r < reps; r++) {
  const np = timed('python3', ['bench/numpy_ntk.py', '--x', xPath, '--depth', String(depth), '--dtype', 'float64', '--reps', '1', '--out', join(dir, 'np.npy')]);
  numpyInfo = JSON.parse(np.stdout.trim().split('\n').at(-1));
  runs.numpy.push(np.seconds);
  for (const t of [1, 2]) {
    const w = timed(process.execPath, ['dist/node/cli.js', 'gram', '--arch', arch, '--x1', xPath, '--get', 'nngp,ntk', '--out', join(dir, `K${t}-{kernel}.npy`), '--threads', String(t), '--json']);
    const info = JSON.parse(w.stdout);
    if (info.threads !== t) throw new Error(`asked for ${t} threads, ran ${info.threads}: ${info.threadsNote}`);
    runs[`webntk${t}`].push(w.seconds);
  }
}
const loadAfter = load();

// Same bits on 1 and 2 threads; agreement with NumPy (max |ΔK| / max |K|).
const np = parseNpy(readFileSync(join(dir, 'np.npy')));
const agreement = {};
['nngp', 'ntk'].forEach((k, idx) => {
  const a = parseNpy(readFileSync(join(dir, `K1-${k}.npy`))).data;
  const b = parseNpy(readFileSync(join(dir, `K2-${k}.npy`))).data;
  if (!a.every((v, i) => Object.is(v, b[i]))) throw new Error(`${k}: 1 and 2 threads differ`);
  let dm = 0;
  let km = 0;
  for (let i = 0; i < a.length; i++) {
    dm = Math.max(dm, Math.abs(a[i] - np.data[idx * a.length + i]));
    km = Math.max(km, Math.abs(a[i]));
  }
  agreement[k] = dm / km;
});

// Phase split, one thread, in process (after a warm-up): the whole Gram, then the first layer
// alone (unit rows, dot products, gaps); the recursion is the difference.
const p = compile(toSpec(arch));
const req = { get: ['nngp', 'ntk'], diagonal: false, allDepths: false };
gramCpu(p, inputs(128, d), null, req);
let t0 = performance.now();
const whole = gramCpu(p, X, null, req);
const gram = (performance.now() - t0) / 1000;
t0 = performance.now();
const U = unitRows(X, 1);
const rowDots = rowDotsOf(U, U);
const dots = new Float64Array(16 * n);
const gh = new Float64Array(2);
for (let i0 = 0; i0 < n; i0 += 16) {
  const i1 = Math.min(n, i0 + 16);
  rowDots(i0, i1, i0, n, dots);
  for (let i = i0; i < i1; i++) for (let j = i + 1; j < n; j++) gapsFromDot(U, i, U, j, dots[(i - i0) * (n - i0) + j - i0], gh);
}
const firstLayer = (performance.now() - t0) / 1000;
t0 = performance.now();
for (const k of ['nngp', 'ntk']) writeFileSync(join(dir, `phase-${k}.npy`), encodeNpy(whole[k], [n, n]));
const write = (performance.now() - t0) / 1000;
rmSync(dir, { recursive: true, force: true });

const m = { numpy: median(runs.numpy), webntk1: median(runs.webntk1), webntk2: median(runs.webntk2) };
const out = {
  benchmark: 'cpu-threads',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  case: { arch, n, d, kernels: 'nngp,ntk', output: 'float64 .npy' },
  note: 'whole processes (start, read, compute, write), interleaved, median of reps; NumPy = bench/numpy_ntk.py float64 with --out',
  loadBefore,
  loadAfter,
  numpy: numpyInfo && { version: numpyInfo.numpy, blas: numpyInfo.blas },
  seconds: m,
  runs,
  speedupVsNumpy: { threads1: m.numpy / m.webntk1, threads2: m.numpy / m.webntk2 },
  identicalAcrossThreads: true,
  agreementWithNumpy: agreement,
  phasesOneThread: { firstLayer, recursion: gram - firstLayer, gramTotal: gram, outputWrite: write },
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(o.out ?? new URL('./results/cpu-threads.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
console.log(`load ${loadBefore.join(' ')} → ${loadAfter.join(' ')}`);
console.log(`| implementation (N = ${n}, d = ${d}, depth ${depth}, whole process) | seconds | webntk speedup vs NumPy |\n|---|---|---|`);
console.log(`| NumPy ${numpyInfo?.numpy} float64 | ${m.numpy.toFixed(2)} | — |`);
console.log(`| webntk CPU float64, 1 thread | ${m.webntk1.toFixed(2)} | ${(m.numpy / m.webntk1).toFixed(2)}× |`);
console.log(`| webntk CPU float64, 2 threads | ${m.webntk2.toFixed(2)} | ${(m.numpy / m.webntk2).toFixed(2)}× |`);
console.log(`phases (1 thread, in process): first layer ${firstLayer.toFixed(2)} s, recursion ${(gram - firstLayer).toFixed(2)} s, output write ${write.toFixed(2)} s`);
console.log(`agreement with NumPy: nngp ${agreement.nngp.toExponential(1)}, ntk ${agreement.ntk.toExponential(1)} (max |ΔK|/max |K|)`);
