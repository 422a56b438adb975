// WebGPU Gram-matrix benchmark, side by side in one run: end-to-end kernel(..., {backend: 'webgpu'}),
// the float64 CPU reference (only where it finishes quickly), the first-layer kernel alone against a
// peak-FMA microbenchmark of the same adapter, and NumPy (float32 and float64, bench/numpy_ntk.py)
// on the headline case. Writes bench/results/gpu-gram.json and prints Markdown tables.
//
//   npm run bench:gpu                         quick grid (a few minutes on a 2-core software adapter)
//   npm run bench:gpu -- --full               N ∈ {1024, 4096, 16384} × d ∈ {64, 784, 3072} × depth ∈ {1, 10, 100}
//   npm run bench:gpu -- --case densenet,4096,784,10 [--case …]   chosen cases only
//   options: --no-headline, --headline-only, --reps R (end-to-end runs, ≥ 2), --cpu-max-n N (1024),
//            --out FILE (default bench/results/gpu-gram.json)
//
// Units: entries = N² (both triangles of X × X), layers = depth; first-layer GFLOP/s counts 2·N²·d
// (the whole square, as BLAS would); "executed" flops are what the inner loop runs (upper
// triangle, 5 flops per pair and feature, d padded to 16). Inputs are deterministic (uniform in
// [−1, 1), one LCG). Times are medians; every number is this machine's, measured in this run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem, type as osType } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeAdapter, kernel, kernelCpu, toSpec } from '../dist/index.js';
import { compile } from '../dist/program/compile.js';
import { opsPerPair as programOpsPerPair } from '../dist/program/program.js';
import { angleTableChosen, isAngleProgram } from '../dist/exec/angle-table.js';
import { inputs } from './inputs.mjs';
import { dawnGpu, releaseDawn, timestampDevice } from './dawn.mjs';
import { CHORD_FLOPS_PER_TERM, measurePeakFma, timeChordGemm } from '../dist/gpu/bench.js';
import { encodeNpy, parseNpy } from '../dist/io/npy.js';

const here = dirname(fileURLToPath(import.meta.url));

// ---- arguments ----------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const values = (name) => argv.flatMap((a, i) => (a === name && i + 1 < argv.length ? [argv[i + 1]] : []));
const value = (name, dflt) => values(name).at(-1) ?? dflt;
for (const a of argv) {
  if (a.startsWith('--') && !['--full', '--case', '--no-headline', '--headline-only', '--reps', '--cpu-max-n', '--out'].includes(a)) {
    console.error(`unknown option ${a}`);
    process.exit(2);
  }
}
const REPS = Math.max(2, Number(value('--reps', 2)));
const CPU_MAX_N = Number(value('--cpu-max-n', 1024));
const OUT = resolve(value('--out', join(here, 'results', 'gpu-gram.json')));
const PRESETS = ['arora2019', 'tirer2021', 'densenet'];
const DEPTHS = [1, 10, 100];
const HEADLINE = { preset: 'arora2019', n: 4096, d: 512, depth: 20 };

function grid() {
  const cases = [];
  const add = (ns, ds, presets = PRESETS, depths = DEPTHS) => {
    for (const n of ns) for (const d of ds) for (const preset of presets) for (const depth of depths) cases.push({ preset, n, d, depth });
  };
  const picked = values('--case');
  if (picked.length > 0) {
    for (const c of picked) {
      const [preset, n, d, depth] = c.split(',');
      if (!preset || !(Number(n) > 0) || !(Number(d) > 0) || !(Number(depth) >= 0)) {
        console.error(`--case wants preset,N,d,depth (e.g. arora2019,4096,512,20), got "${c}"`);
        process.exit(2);
      }
      cases.push({ preset, n: Number(n), d: Number(d), depth: Number(depth) });
    }
    return cases;
  }
  if (flag('--headline-only')) return [];
  if (flag('--full')) {
    add([1024, 4096, 16384], [64, 784, 3072]);
    return cases;
  }
  // Quick grid: every preset and depth at N = 1024 (d = 64, 784) and N = 4096 (d = 64); the
  // first layer at N = 4096, d = 784 costs ~20 s per run on a 2-core software adapter, so there
  // only one preset and depth.
  add([1024], [64, 784]);
  add([4096], [64]);
  add([4096], [784], ['arora2019'], [10]);
  return cases;
}

// ---- helpers ------------------------------------------------------------------------------------

const rowsOf = (x, n) => ({ data: x.data.subarray(0, n * x.cols), rows: n, cols: x.cols });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const now = () => performance.now() / 1000;
const log = (...a) => console.error(...a);

function maxRelDiff(a, b) {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return { maxAbsDiff: diff, maxAbs: scale, relative: scale > 0 ? diff / scale : diff };
}

// ---- NumPy --------------------------------------------------------------------------------------

const NUMPY_SCRIPT = join(here, 'numpy_ntk.py');
const numpyProbe = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
const numpyVersion = numpyProbe.status === 0 ? numpyProbe.stdout.trim() : null;
const tmp = mkdtempSync(join(tmpdir(), 'webntk-bench-'));

function runNumpy(x, depth, dtype, extra = []) {
  const file = join(tmp, `x-${x.rows}x${x.cols}.npy`);
  writeFileSync(file, encodeNpy(x.data, [x.rows, x.cols], 'float64'));
  const r = spawnSync('python3', [NUMPY_SCRIPT, '--x', file, '--depth', String(depth), '--dtype', dtype, ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`numpy_ntk.py failed: ${r.stderr || r.error}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/** NumPy's recursion against webntk's float64 CPU reference on a small case. */
function checkNumpy() {
  const x = inputs(96, 20);
  const depth = HEADLINE.depth;
  const ref = kernelCpu(`arora2019:depth=${depth}`, x);
  const out = {};
  for (const dtype of ['float64', 'float32']) {
    const file = join(tmp, `check-${dtype}.npy`);
    runNumpy(x, depth, dtype, ['--reps', '1', '--out', file]);
    const arr = parseNpy(readFileSync(file));
    const plane = x.rows * x.rows;
    out[dtype] = {
      nngp: maxRelDiff(arr.data.subarray(0, plane), ref.nngp),
      ntk: maxRelDiff(arr.data.subarray(plane, 2 * plane), ref.ntk),
    };
  }
  return { case: `arora2019:depth=${depth}`, n: x.rows, d: x.cols, ...out };
}

// ---- devices ------------------------------------------------------------------------------------

// Dawn, as useNodeWebGPU() sets it up (bench/dawn.mjs keeps the instance for a second device).
const ctx = await dawnGpu();
if (!ctx) {
  console.error('no WebGPU adapter in this process (install the optional "webgpu" package and a Vulkan driver)');
  process.exit(1);
}
// The microbenchmarks run on a second device of the same adapter with timestamp queries when the
// adapter has them (the library's device is created without optional features); else on ctx.
let tsDev = null;
try {
  tsDev = await timestampDevice(ctx);
} catch (e) {
  log(`no timestamp-query device (${e.message}); the microbenchmarks use the wall clock`);
}
// The microbenchmarks pick the first-layer kernel the library would use on this adapter.
const micro = tsDev ?? ctx;
const microNote = tsDev ? 'a second device of the same adapter with timestamp-query' : 'the library device (wall clock)';

const result = {
  benchmark: 'gpu-gram',
  date: new Date().toISOString(),
  node: process.version,
  os: `${osType()} ${release()}`,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  loadAverageAtStart: loadavg(),
  adapter: describeAdapter(ctx.adapter),
  adapterInfo: ctx.adapter,
  runtime: ctx.runtime,
  adapterFeatures: ctx.features,
  limits: {
    maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize,
    maxBufferSize: ctx.limits.maxBufferSize,
    maxComputeWorkgroupsPerDimension: ctx.limits.maxComputeWorkgroupsPerDimension,
  },
  microbenchmarkDevice: microNote,
  numpy: numpyVersion ?? 'numpy not present',
  units: {
    entriesPerLayerPerSecond: 'N² (both triangles) × depth / end-to-end seconds',
    firstLayerGflops: '2·N²·d / seconds of the first-layer kernel alone (useful flops, whole square)',
    executedGflops: `flops the first-layer inner loop executes (upper-triangle tiles, ${CHORD_FLOPS_PER_TERM} per pair and feature, d padded to 16) / seconds`,
    gemmFractionOfPeak: 'firstLayerGflops / peak FMA GFLOP/s measured next to it on the same device',
    endToEnd: 'kernel(spec, X, null, {backend: "webgpu"}), both kernels, float64 result in host memory; median of the runs after a warm-up on 64 rows (pipeline compilation)',
    cpu: 'kernelCpu, float64, one thread; "not run" where N > cpuMaxN (no extrapolation)',
  },
  cpuMaxN: CPU_MAX_N,
  peaks: [],
  gemm: [],
  cases: [],
  headline: null,
  numpyCheck: null,
};

function save() {
  result.loadAverageAtEnd = loadavg();
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
}

// ---- the first layer alone, next to a peak measurement --------------------------------------------

const gemmCache = new Map();
async function gemmFor(x) {
  const key = `${x.rows}x${x.cols}`;
  if (gemmCache.has(key)) return gemmCache.get(key);
  // The blocks gram.ts uses for a one-bank program (arora2019): b ≤ √(cap/36), b·d·16 ≤ cap.
  const cap = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  const vec4s = Math.ceil(x.cols / 4);
  const blockRows = Math.max(64, Math.min(Math.floor(Math.sqrt(cap / 36) / 64) * 64, Math.floor(cap / (vec4s * 16) / 64) * 64));
  const t0 = now();
  const peak = await measurePeakFma(micro, { targetSeconds: 0.2 });
  const cheap = 2 * x.rows * x.rows * x.cols < 2e10;
  const g = await timeChordGemm(micro, x, { blockRows, reps: cheap ? 3 : 2, warmup: cheap ? 1 : 0 });
  const entry = {
    n: x.rows,
    d: x.cols,
    seconds: g.seconds,
    method: g.method,
    wallSeconds: g.wallSeconds,
    gpuSeconds: g.gpuSeconds,
    blockRows: g.blockRows,
    blocks: g.blocks,
    tiles: g.tiles,
    usefulFlops: g.usefulFlops,
    executedFlops: g.executedFlops,
    usefulGflops: g.usefulGflops,
    executedGflops: g.executedGflops,
    peakGflops: peak.gflops,
    fractionOfPeak: g.usefulGflops / peak.gflops,
    executedFractionOfPeak: g.executedGflops / peak.gflops,
  };
  result.peaks.push({ next: key, gflops: peak.gflops, method: peak.method, best: { workgroups: peak.workgroups, iters: peak.iters }, configs: peak.configs.map((c) => ({ workgroups: c.workgroups, iters: c.iters, gflops: c.gflops, wallGflops: c.wallGflops })) });
  result.gemm.push(entry);
  log(`  first layer ${key}: ${g.seconds.toFixed(3)} s, ${g.usefulGflops.toFixed(1)} GFLOP/s useful (${(100 * entry.fractionOfPeak).toFixed(1)}% of ${peak.gflops.toFixed(1)}), ${(now() - t0).toFixed(1)} s`);
  gemmCache.set(key, entry);
  return entry;
}

// ---- one case ---------------------------------------------------------------------------------------

async function runCase(c, extra = {}) {
  const ref = `${c.preset}:depth=${c.depth}`;
  const x = inputs(c.n, c.d);
  const t0 = now();
  log(`${ref} N=${c.n} d=${c.d}`);
  const gemm = await gemmFor(x);
  await kernel(ref, rowsOf(x, 64), null, { backend: 'webgpu' }); // compiles the pipelines
  const times = [];
  let gpu = null;
  for (let r = 0; r < REPS; r++) {
    gpu = null; // let the previous result go before the next run
    const s = now();
    gpu = await kernel(ref, x, null, { backend: 'webgpu' });
    times.push(now() - s);
  }
  const seconds = median(times);
  const entries = c.n * c.n;
  const row = {
    preset: c.preset,
    spec: ref,
    n: c.n,
    d: c.d,
    depth: c.depth,
    opsPerPair: opsPerPair(ref),
    // How the depth was computed: from the angle table (bias-free ReLU networks from 2^17 pairs) or layer by layer.
    recursion: isAngleProgram(compile(toSpec(ref))) && angleTableChosen(undefined, c.n, null, false) ? 'angle table' : 'layers',
    webgpu: { seconds, runs: times, entriesLayersPerSecond: (entries * c.depth) / seconds },
    firstLayer: { seconds: gemm.seconds, gflops: gemm.usefulGflops, executedGflops: gemm.executedGflops, fractionOfPeak: gemm.fractionOfPeak, shareOfEndToEnd: gemm.seconds / seconds },
    cpu: 'not run',
    ...extra,
  };
  if (c.n <= CPU_MAX_N) {
    kernelCpu(ref, rowsOf(x, 64)); // JIT warm-up
    const ct = [];
    let cpu = null;
    while (ct.length < 3) {
      const s = now();
      cpu = kernelCpu(ref, x);
      ct.push(now() - s);
      if (ct.length >= 1 && ct.reduce((a, b) => a + b) > 2) break; // slow: one or two runs
    }
    const cs = median(ct);
    row.cpu = {
      seconds: cs,
      runs: ct,
      entriesLayersPerSecond: (entries * c.depth) / cs,
      webgpuSpeedup: cs / seconds,
      webgpuVsCpu: { nngp: maxRelDiff(gpu.nngp, cpu.nngp).relative, ntk: maxRelDiff(gpu.ntk, cpu.ntk).relative },
    };
  }
  gpu = null;
  log(`  end to end ${seconds.toFixed(3)} s (runs ${times.map((t) => t.toFixed(2)).join(', ')})` + (typeof row.cpu === 'object' ? `, cpu ${row.cpu.seconds.toFixed(2)} s` : '') + `; case took ${(now() - t0).toFixed(1)} s`);
  return row;
}

function opsPerPair(ref) {
  return programOpsPerPair(compile(toSpec(ref))); // the program's ops: internal, from dist/program
}

// ---- run ----------------------------------------------------------------------------------------------

const started = now();
try {
  // Pipeline compilation of the microbenchmarks, untimed.
  await timeChordGemm(micro, inputs(128, 16), { reps: 1, warmup: 0 });

  if (!flag('--no-headline') && values('--case').length === 0) {
    const h = HEADLINE;
    const x = inputs(h.n, h.d);
    const extra = {};
    if (numpyVersion) {
      log('NumPy check against the CPU reference (small case)');
      result.numpyCheck = checkNumpy();
      save();
    }
    const row = await runCase(h);
    if (numpyVersion) {
      for (const dtype of ['float32', 'float64']) {
        log(`  NumPy ${dtype} N=${h.n} d=${h.d} depth=${h.depth}`);
        const np = runNumpy(x, h.depth, dtype, ['--reps', String(REPS)]);
        extra[dtype] = { seconds: np.seconds, runs: np.allSeconds, webgpuSpeedup: np.seconds / row.webgpu.seconds };
        extra.numpyVersion = np.numpy;
        extra.blas = np.blas;
        log(`    ${np.seconds.toFixed(2)} s (webntk WebGPU is ${(np.seconds / row.webgpu.seconds).toFixed(2)}× faster)`);
      }
    }
    result.headline = { ...row, numpy: numpyVersion ? extra : 'numpy not present', target: 'webntk on WebGPU ≥ 3× faster end to end than NumPy float32' };
    save();
  }

  for (const c of grid()) {
    result.cases.push(await runCase(c));
    save();
  }
} finally {
  result.totalSeconds = now() - started;
  save();
  rmSync(tmp, { recursive: true, force: true });
  await releaseDawn(tsDev);
}

// ---- tables -------------------------------------------------------------------------------------------

const f = (v, digits = 2) => (typeof v === 'number' ? v.toFixed(digits) : v);
const si = (v) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)} G` : v >= 1e6 ? `${(v / 1e6).toFixed(1)} M` : `${(v / 1e3).toFixed(1)} k`);
console.log(`\n${result.adapter}; ${result.runtime}; ${result.cpu}, ${result.cores} cores; ${result.date}\n`);
if (result.headline) {
  const h = result.headline;
  console.log(`Headline ${h.spec}, N = ${h.n}, d = ${h.d} (both kernels):\n`);
  console.log('| implementation | seconds | webntk WebGPU speedup |\n|---|---|---|');
  console.log(`| webntk WebGPU (end to end) | ${f(h.webgpu.seconds)} | 1 |`);
  if (typeof h.numpy === 'object') {
    console.log(`| NumPy ${h.numpy.numpyVersion} float32 | ${f(h.numpy.float32.seconds)} | ${f(h.numpy.float32.webgpuSpeedup)}× |`);
    console.log(`| NumPy ${h.numpy.numpyVersion} float64 | ${f(h.numpy.float64.seconds)} | ${f(h.numpy.float64.webgpuSpeedup)}× |`);
  } else console.log('| NumPy | numpy not present | |');
  console.log(`| webntk CPU reference | not run | |\n`);
  console.log(`first layer alone: ${f(h.firstLayer.seconds)} s = ${f(100 * h.firstLayer.shareOfEndToEnd, 0)}% of end to end, ${f(h.firstLayer.gflops, 1)} GFLOP/s = ${f(100 * h.firstLayer.fractionOfPeak, 1)}% of the FMA peak\n`);
}
if (result.numpyCheck) {
  const k = result.numpyCheck;
  console.log(`NumPy vs webntk CPU reference (${k.case}, N = ${k.n}, d = ${k.d}), max |diff| / max |K|: float64 NNGP ${k.float64.nngp.relative.toExponential(1)}, NTK ${k.float64.ntk.relative.toExponential(1)}; float32 NNGP ${k.float32.nngp.relative.toExponential(1)}, NTK ${k.float32.ntk.relative.toExponential(1)}\n`);
}
if (result.cases.length > 0) {
  console.log('| preset | N | d | depth | depth computed | WebGPU s | entries×layers/s | CPU s | WebGPU speedup vs CPU | 1st layer s | 1st-layer GFLOP/s | % of FMA peak | 1st layer share |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of result.cases) {
    const cpu = typeof r.cpu === 'object' ? r.cpu : null;
    console.log(
      `| ${r.preset} | ${r.n} | ${r.d} | ${r.depth} | ${r.recursion} | ${f(r.webgpu.seconds, 3)} | ${si(r.webgpu.entriesLayersPerSecond)} | ${cpu ? f(cpu.seconds, 3) : 'not run'} | ${cpu ? f(cpu.webgpuSpeedup) + '×' : '—'} | ${f(r.firstLayer.seconds, 3)} | ${f(r.firstLayer.gflops, 1)} | ${f(100 * r.firstLayer.fractionOfPeak, 1)}% | ${f(100 * r.firstLayer.shareOfEndToEnd, 0)}% |`,
    );
  }
}
console.log(`\npeak FMA (best per measurement): ${result.peaks.map((p) => f(p.gflops, 1)).join(', ')} GFLOP/s (${result.peaks[0]?.method ?? 'n/a'}); total ${f(result.totalSeconds, 0)} s; written ${OUT}`);
