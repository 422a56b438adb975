// One webntk contender of the conv speed harness (bench/conv-gpu.ts, bench/gpu-h200-conv.sh), run as
// its own process so that its whole start-up and memory are counted: plain Node on the built
// package (dist/), as a user of webntk runs it; no tsx, so it also runs from the GPU bundle.
//
//   node bench/conv-run.mjs --backend cpu|webgpu --depth 5 --readout gap --c 3 --h 8 --n 48
//        [--w W] [--n2 M] [--pad zero|circular] [--reps R] [--x X.npy [--x2 X2.npy]] [--tiles on|off]
//     Gram of n deterministic images uniform in [−1, 1) (or the [N, C, H, W] float64 .npy files,
//     which then set the shape), × a second set of M images with --n2 / --x2, else X × X; prints one JSON line:
//     kernel seconds (first call; with --reps R > 1 also warmSeconds, the median of the R − 1 later calls), max RSS,
//     the global conv layout's layer dispatches tiled and not (--tiles forces its halo tiles on or off;
//     by default GPUs tile and CPU adapters do not),
//     backend, adapter, checksums. A failure prints { error, name } and exits 2 (InputError:
//     e.g. conv specs not supported on WebGPU yet), 3 (GpuError) or 1 (anything else).
//   node bench/conv-run.mjs --reference [--out FILE]
//     webntk's float64 CPU values of small cases, for `python3 bench/conv_numpy.py --check FILE`.
import { writeFileSync } from 'node:fs';
import { GpuError, InputError, kernel, kernelCpu } from '../dist/index.js';
import { exitNodeWebGPU, readNpy, releaseNodeWebGPU, useNodeWebGPU } from '../dist/node/index.js';

const argv = process.argv.slice(2);
const OPTIONS = ['--backend', '--depth', '--readout', '--c', '--h', '--w', '--n', '--n2', '--pad', '--reps', '--out', '--x', '--x2', '--tiles'];
const opt = {};
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--reference') opt.reference = true;
  else if (OPTIONS.includes(a) && i + 1 < argv.length) opt[a.slice(2)] = argv[++i];
  else fail(new Error(`conv-run.mjs: unknown option or missing value: ${a}`), 2);
}

function fail(e, code) {
  console.log(JSON.stringify({ error: e.message, name: e.name }));
  process.exit(code);
}

/** Deterministic images uniform in [−1, 1) (one LCG per seed), shape [n, C, H, W]. */
function images(n, C, H, W, seed) {
  const data = new Float64Array(n * C * H * W);
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    data[i] = (seed / 2 ** 32) * 2 - 1;
  }
  return { data, shape: [n, C, H, W] };
}

const posInt = (name, dflt) => {
  const v = opt[name] ?? dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(new Error(`conv-run.mjs: --${name} must be a positive integer, got ${v}`), 2);
  return n;
};

const sum = (a) => a.reduce((s, v) => s + v, 0);

if (opt.reference) {
  // Small cases that cover both paddings, every readout, non-square images and both state forms of
  // the NumPy script (gap: full; flatten and eq: diagonal and full).
  const cases = [];
  for (const [depth, readout, pad, [N, C, H, W]] of [
    [5, 'gap', 'zero', [4, 3, 8, 8]],
    [3, 'gap', 'circular', [3, 2, 5, 6]],
    [5, 'flatten', 'zero', [4, 3, 8, 8]],
    [4, 'flatten', 'circular', [3, 2, 6, 5]],
    [3, 'eq', 'zero', [3, 1, 5, 7]],
    [20, 'gap', 'zero', [3, 3, 6, 6]],
  ]) {
    const arch = `cntk:depth=${depth},readout=${readout},pad=${pad}`;
    const x = images(N, C, H, W, 777 + cases.length);
    const r = kernelCpu(arch, x);
    cases.push({ arch, depth, readout, pad, filter: 3, images: { data: Array.from(x.data), shape: x.shape }, nngp: Array.from(r.nngp), ntk: Array.from(r.ntk) });
  }
  const json = JSON.stringify({ generator: 'node bench/conv-run.mjs --reference', webntk: 'kernelCpu (float64)', cases }) + '\n';
  if (opt.out) writeFileSync(opt.out, json);
  else process.stdout.write(json);
  process.exit(0);
}

const backend = opt.backend ?? 'cpu';
if (backend !== 'cpu' && backend !== 'webgpu') fail(new Error(`conv-run.mjs: --backend must be cpu or webgpu, got ${backend}`), 2);
const depth = posInt('depth', 5);
const readout = opt.readout ?? 'gap';
const pad = opt.pad ?? 'zero';
const C = posInt('c', 3);
const H = posInt('h', 8);
const W = posInt('w', H);
const n = posInt('n', 48);
const n2 = opt.n2 === undefined ? null : posInt('n2');
const reps = posInt('reps', 1);
const arch = `cntk:depth=${depth},readout=${readout},pad=${pad}`;
const fromFile = (path) => {
  try {
    const a = readNpy(path);
    return { data: Float64Array.from(a.data, Number), shape: a.shape };
  } catch (e) {
    fail(e, 2);
  }
};
const x1 = opt.x ? fromFile(opt.x) : images(n, C, H, W, 12345);
const x2 = opt.x2 ? fromFile(opt.x2) : n2 === null ? null : images(n2, C, H, W, 54321);

const tiles = opt.tiles ?? 'auto';
if (!['on', 'off', 'auto'].includes(tiles)) fail(new Error(`conv-run.mjs: --tiles must be on, off or auto, got ${tiles}`), 2);
// Test hooks of the built package (dist/gpu/conv.js): the halo tiles forced, the dispatches counted.
const convHooks = await import('../dist/gpu/conv.js');
if (tiles !== 'auto') convHooks.forceConvTilesForTests(tiles === 'on');
convHooks.layerDispatchesForTests();
if (backend === 'webgpu') useNodeWebGPU();
try {
  const times = [];
  let r;
  for (let k = 0; k < reps; k++) {
    const t0 = performance.now();
    r = await kernel(arch, x1, x2, { backend });
    times.push((performance.now() - t0) / 1000);
  }
  for (const v of [...r.nngp, ...r.ntk]) if (!Number.isFinite(v)) throw new Error('conv-run.mjs: the result is not finite');
  const warm = times.slice(1).sort((a, b) => a - b);
  const out = {
    implementation: `webntk ${backend === 'webgpu' ? 'WebGPU' : 'CPU float64'}`,
    backend: r.backend,
    adapter: r.adapter ?? null,
    arch,
    shape: x1.shape,
    n2: x2 ? x2.shape[0] : null,
    entries: x1.shape[0] * (x2 ? x2.shape[0] : x1.shape[0]),
    symmetric: r.symmetric,
    kernelSeconds: times[0],
    warmSeconds: warm.length ? (warm[(warm.length - 1) >> 1] + warm[warm.length >> 1]) / 2 : null,
    allSeconds: times,
    maxRss: process.resourceUsage().maxRSS * 1024,
    processSeconds: performance.now() / 1000,
    checksum: [sum(r.nngp), sum(r.ntk)],
    tiles,
    layerDispatches: convHooks.layerDispatchesForTests(),
  };
  console.log(JSON.stringify(out));
  // Ends as the webntk CLI does, without Dawn's ~80 ms teardown at Node's own exit.
  if (backend === 'webgpu') await exitNodeWebGPU(0);
} catch (e) {
  if (backend === 'webgpu') await releaseNodeWebGPU().catch(() => {});
  fail(e, e instanceof GpuError ? 3 : e instanceof InputError ? 2 : 1);
}
