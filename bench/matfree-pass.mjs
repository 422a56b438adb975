// One pass of matrix-free CG (the product K_XX·P, K never stored) on Fashion-MNIST-sized inputs
// (d = 784: the first N training images of Debian's dataset-fashion-mnist, [0, 1] and centred as
// the demo does, or Gaussian rows when it is not installed), P with 10 columns (one per class),
// side by side in one process:
//   webgpu-device: kernelTimes on WebGPU, each block multiplied on the device (gpu/gram-times.ts);
//   webgpu-host:   the same blocks streamed to the host (kernelBlocks) and multiplied there in
//                  float64 (the design before the fused pass);
//   cpu:           kernelTimes on the float64 CPU backend (worker threads, host product).
// Each is timed after one warm-up pass at the smallest N (pipelines compiled). Seconds per pass
// scale as N², so the last column extrapolates to the full 60 000 training images.
// Writes bench/results/matfree-pass.json.
//
//   npm run build && nice node bench/matfree-pass.mjs [--sizes 1024,2048,4096] [--arch mlp:depth=3] [--no-cpu]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { getGpu, kernelBlocks, kernelTimes } from '../dist/index.js';
import { addBlockProduct } from '../dist/exec/times.js';
import { useNodeWebGPU } from '../dist/node/index.js';
import { describeAdapter } from '../dist/gpu/device.js';
import { Rng } from '../dist/mc/rng.js';

const { values: o } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1024,2048,4096' },
    arch: { type: 'string', default: 'mlp:depth=3' },
    kernel: { type: 'string', default: 'nngp' },
    'no-cpu': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/matfree-pass.json' },
  },
});
const sizes = o.sizes.split(',').map(Number);
const k = 10;
const d = 784;
const FM = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';

function inputs(n) {
  const X = new Float64Array(n * d);
  if (existsSync(FM)) {
    const bytes = gunzipSync(readFileSync(FM)).subarray(16);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += bytes[i * d + j] / 255 / n;
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) X[i * d + j] = bytes[i * d + j] / 255 - mean[j];
  } else {
    const rng = new Rng(1);
    for (let i = 0; i < X.length; i++) X[i] = rng.normal();
  }
  return { data: X, rows: n, cols: d };
}

useNodeWebGPU();
const ctx = await getGpu();
if (!ctx) throw new Error('no WebGPU adapter');
const get = o.kernel;
const variants = {
  'webgpu-device': async (X, P) => (await kernelTimes(o.arch, X, null, P, k, { get, backend: 'webgpu' })).product,
  'webgpu-host': async (X, P) => {
    const out = new Float64Array(X.rows * k);
    for await (const b of kernelBlocks(o.arch, X, null, { get, backend: 'webgpu', reuseBlocks: true })) addBlockProduct(out, b[get], b.row0, b.col0, b.rows, b.cols, P, k);
    return out;
  },
  ...(o['no-cpu'] ? {} : { cpu: async (X, P) => (await kernelTimes(o.arch, X, null, P, k, { get, backend: 'cpu' })).product }),
};
const rng = new Rng(2);
const rows = [];
const warm = inputs(sizes[0]);
const Pw = Float64Array.from({ length: sizes[0] * k }, () => rng.normal());
for (const f of Object.values(variants)) await f(warm, Pw);
for (const n of sizes) {
  const X = inputs(n);
  const P = Float64Array.from({ length: n * k }, () => rng.normal());
  const row = { n, load: loadavg()[0] };
  let ref = null;
  for (const [name, f] of Object.entries(variants)) {
    const t0 = performance.now();
    const y = await f(X, P);
    const s = (performance.now() - t0) / 1000;
    row[name] = s;
    if (ref) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < y.length; i++) {
        num += (y[i] - ref[i]) ** 2;
        den += ref[i] ** 2;
      }
      row[`${name}VsDevice`] = Math.sqrt(num / den);
    } else ref = y;
    console.log(`N = ${n}: ${name} ${s.toFixed(2)} s (${((s * (60000 / n) ** 2) / 60).toFixed(1)} min per pass at N = 60 000)`);
  }
  rows.push(row);
}
const result = {
  what: 'one matrix-free product K_XX·P (P: N × 10), seconds per pass',
  arch: o.arch,
  kernel: get,
  d,
  data: existsSync(FM) ? 'Fashion-MNIST training images (first N)' : 'Gaussian rows',
  adapter: describeAdapter(ctx.adapter),
  cores: cpus().length,
  date: new Date().toISOString(),
  rows,
};
writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
console.log(`wrote ${o.out}`);
process.exit(0);
