// WebGPU against the float64 CPU path on convolutional kernels, side by side in one process:
// `cntk` depth 5, NNGP and NTK, the symmetric Gram X × X (n(n + 1)/2 pairs) of random images,
// with gap on 8×8×3 and flatten on 28×28×1. The GPU is timed warm (after one run that compiles the
// pipeline) and the first (cold) run is reported apart; the largest normalised difference from the
// CPU result is reported too. Run: npx tsx bench/conv-gpu.ts [n]. Writes bench/results/conv-gpu.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { kernel, kernelCpu } from '../src/index.js';
import { releaseNodeWebGPU, useNodeWebGPU } from '../src/node/webgpu.js';

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const images = (n: number, C: number, H: number) => ({ data: Float64Array.from({ length: n * C * H * H }, rand), shape: [n, C, H, H] });

const n = Number(process.argv[2] ?? 16);
useNodeWebGPU();
const rows: Record<string, unknown>[] = [];
const cases: [string, number, number][] = [['gap', 3, 8], ['flatten', 1, 28]];
for (const [readout, C, H] of cases) {
  const arch = `cntk:depth=5,readout=${readout}`;
  const X = images(n, C, H);
  const pairs = (n * (n + 1)) / 2;
  let t = performance.now();
  const cpu = kernelCpu(arch, X);
  const cpuSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  await kernel(arch, X, null, { backend: 'webgpu' });
  const coldSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const gpu = await kernel(arch, X, null, { backend: 'webgpu' });
  const gpuSeconds = (performance.now() - t) / 1000;
  let err = 0;
  for (const k of ['nngp', 'ntk'] as const) {
    const a = cpu[k]!;
    const b = gpu[k]!;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) err = Math.max(err, Math.abs(a[i * n + j]! - b[i * n + j]!) / Math.sqrt(a[i * n + i]! * a[j * n + j]!));
  }
  const row = {
    case: `cntk depth 5, ${readout}, ${H}×${H}×${C}, n = ${n} (${pairs} pairs)`,
    cpuPairsPerSecond: pairs / cpuSeconds,
    gpuPairsPerSecond: pairs / gpuSeconds,
    ratio: cpuSeconds / gpuSeconds,
    gpuColdSeconds: coldSeconds,
    maxNormalisedDifference: err,
    adapter: gpu.adapter,
  };
  rows.push(row);
  console.log(
    `${row.case}: CPU float64 ${row.cpuPairsPerSecond.toFixed(1)} pairs/s, WebGPU ${row.gpuPairsPerSecond.toFixed(1)} pairs/s ` +
      `(×${row.ratio.toFixed(2)}; first run with compile ${coldSeconds.toFixed(2)} s), max normalised difference ${err.toExponential(1)}`,
  );
}
await releaseNodeWebGPU();
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/conv-gpu.json', import.meta.url),
  `${JSON.stringify({ date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, rows }, null, 2)}\n`,
);
